#!/usr/bin/env python3
"""PyTorch peer of bench/llama_step_bench.cpp: one LoraHub step on a random causal LM of
TinyLlama-1.1B's shape with HF transformers + PEFT, as upstream LoraHub's procedure would run it
on a decoder-only model: compose 20 rank-16 q_proj/v_proj LoRA modules (A = sum w_i A_i,
B = sum w_i B_i, key by key as upstream's get_final_weights), load them with
set_peft_model_state_dict, and compute the loss of the same five examples (prompts of 117, 534,
301, 412 and 272 tokens; completions of 5, 2, 7, 3 and 4) as one right-padded batch with labels
-100 on prompts and padding, under torch.no_grad. Prints the median seconds per step.

    python bench/peers/torch_llama_step.py [--threads 2] [--repeats 2]
"""
import argparse
import sys
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_step import median_step_seconds  # noqa: E402

PROMPTS = [117, 534, 301, 412, 272]
COMPLETIONS = [5, 2, 7, 3, 4]
MODULES = 20


def step_seconds(dtype, args):
    config = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                         num_key_value_heads=4, max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(1)
    model = LlamaForCausalLM(config).eval()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    model = model.to(dtype).eval()
    template = get_peft_model_state_dict(model)
    modules = [{key: torch.randn_like(value) * 0.02 for key, value in template.items()} for _ in range(MODULES)]
    generator = torch.Generator().manual_seed(7)
    width = max(p + c for p, c in zip(PROMPTS, COMPLETIONS))
    input_ids = torch.zeros(len(PROMPTS), width, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    labels = torch.full_like(input_ids, -100)
    for row, (p, c) in enumerate(zip(PROMPTS, COMPLETIONS)):
        ids = torch.randint(3, 32000, (p + c,), generator=generator)
        ids[0] = 1
        ids[-1] = 2
        input_ids[row, : p + c] = ids
        attention_mask[row, : p + c] = 1
        labels[row, p: p + c] = ids[p:]

    return median_step_seconds(model, modules, dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels), args.repeats)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        print(f"{name}: {step_seconds(dtype, args) * 1e3:.0f} ms per step")


if __name__ == "__main__":
    main()
