#!/usr/bin/env python3
"""PyTorch peer of bench/step_bench.cpp: one LoraHub step as upstream LoraHub runs it, on a
random T5 of Flan-T5-large shape with HF transformers + PEFT: compose 20 rank-16 q/v LoRA
modules (upstream's get_final_weights: A = sum w_i A_i, B = sum w_i B_i, key by key), load
the result with set_peft_model_state_dict, and compute the loss of the same five examples
(117, 534, 301, 412 and 272 input tokens; 5, 2, 7, 3, 4 label tokens) as one padded batch
under torch.no_grad. Prints the median seconds per step for fp32 and bf16.

    python bench/peers/torch_step.py [--threads 2] [--repeats 3] [--base]
"""
import argparse
import statistics
import time

import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from transformers import T5Config, T5ForConditionalGeneration

INPUTS = [117, 534, 301, 412, 272]
LABELS = [5, 2, 7, 3, 4]
MODULES = 20


def median_step_seconds(model, modules, batch, repeats):
    """The median seconds of one step, as upstream runs it: compose the modules' state dicts key by
    key with weights 0.05 (get_final_weights), set_peft_model_state_dict, the loss of `batch` under
    no_grad. One warm-up step first."""
    weights = [0.05] * len(modules)

    def step():
        final = {}
        for i, state in enumerate(modules):  # upstream's get_final_weights
            for key in state:
                final[key] = weights[i] * state[key] if i == 0 else final[key] + weights[i] * state[key]
        set_peft_model_state_dict(model, final)
        with torch.no_grad():
            return model(**batch).loss.item()

    step()
    times = []
    for _ in range(repeats):
        begun = time.perf_counter()
        step()
        times.append(time.perf_counter() - begun)
    return statistics.median(times)


def step_seconds(dtype, args):
    large = not args.base
    config = T5Config(vocab_size=32128, d_model=1024 if large else 768, d_kv=64, d_ff=2816 if large else 2048,
                      num_layers=24 if large else 12, num_heads=16 if large else 12, feed_forward_proj="gated-gelu",
                      tie_word_embeddings=False, dropout_rate=0.0, decoder_start_token_id=0)
    torch.manual_seed(1)
    model = T5ForConditionalGeneration(config).eval()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=["q", "v"], task_type="SEQ_2_SEQ_LM"))
    model = model.to(dtype).eval()
    template = get_peft_model_state_dict(model)
    modules = [{key: torch.randn_like(value) * 0.02 for key, value in template.items()} for _ in range(MODULES)]
    generator = torch.Generator().manual_seed(7)
    inputs = [torch.randint(3, 32000, (n,), generator=generator) for n in INPUTS]
    labels = [torch.randint(3, 32000, (n,), generator=generator) for n in LABELS]
    longest_in, longest_out = max(INPUTS), max(LABELS)
    input_ids = torch.zeros(len(INPUTS), longest_in, dtype=torch.long)
    attention_mask = torch.zeros(len(INPUTS), longest_in, dtype=torch.long)
    label_ids = torch.full((len(LABELS), longest_out), -100, dtype=torch.long)
    for row, (ids, out) in enumerate(zip(inputs, labels)):
        input_ids[row, : len(ids)] = ids
        attention_mask[row, : len(ids)] = 1
        label_ids[row, : len(out)] = out

    return median_step_seconds(model, modules, dict(input_ids=input_ids, attention_mask=attention_mask, labels=label_ids), args.repeats)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base", action="store_true", help="Flan-T5-base's shape instead of large")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        print(f"{name}: {step_seconds(dtype, args) * 1e3:.0f} ms per step")


if __name__ == "__main__":
    main()
