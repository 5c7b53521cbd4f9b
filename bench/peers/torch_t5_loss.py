#!/usr/bin/env python3
"""PyTorch peer of bench/t5_bench.cpp: one LoraHub objective evaluation (teacher-forced loss of
5 examples, 150 input and 8 label tokens each, rank-16 q/v LoRA on every layer) on a random
T5 of Flan-T5-base shape with HF transformers + PEFT, the way upstream LoraHub runs it
(padded batch, torch.no_grad, float32). Prints the median seconds per evaluation.

    python bench/peers/torch_t5_loss.py [--threads 2] [--large]
"""
import argparse
import statistics
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import T5Config, T5ForConditionalGeneration


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    large = args.large
    config = T5Config(vocab_size=32128, d_model=1024 if large else 768, d_kv=64, d_ff=2816 if large else 2048,
                      num_layers=24 if large else 12, num_heads=16 if large else 12, feed_forward_proj="gated-gelu",
                      tie_word_embeddings=False, dropout_rate=0.0, decoder_start_token_id=0)
    torch.manual_seed(1)
    model = T5ForConditionalGeneration(config).eval()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=["q", "v"], task_type="SEQ_2_SEQ_LM")).eval()
    inputs = torch.randint(3, 32000, (5, 150))
    labels = torch.randint(3, 32000, (5, 8))
    mask = torch.ones_like(inputs)
    times = []
    with torch.no_grad():
        model(input_ids=inputs, attention_mask=mask, labels=labels)  # warm-up
        for _ in range(args.repeats):
            start = time.perf_counter()
            model(input_ids=inputs, attention_mask=mask, labels=labels).loss.item()
            times.append(time.perf_counter() - start)
    print(f"torch {torch.__version__}, {args.threads} threads, {'large' if large else 'base'} shape: "
          f"median {statistics.median(times) * 1000:.0f} ms per evaluation ({len(times)} runs)")


if __name__ == "__main__":
    main()
