# Runs `lorahub score` and checks its two output formats and its errors.
set(T5 ${FIXTURES}/t5)
set(args --model ${T5}/flan-odd --lora ${T5}/pool-0 --lora ${T5}/pool-1 --lora ${T5}/pool-2 --examples ${T5}/examples.jsonl)

include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)

# upstream get_score gives loss 3.30230827 and objective 3.33980827 for these weights
expect(text 0 "^loss=3\\.30230[0-9]* objective=3\\.33980[0-9]*\n$" score ${args} --weights 0.5,-0.25,1.5)
expect(json 0 "^{\"loss\":3\\.30230[0-9]*,\"objective\":3\\.33980[0-9]*}\n$" score ${args} --weights 0.5,-0.25,1.5 --json)
expect(batches 0 "^loss=9\\.2936[01][0-9]*" score ${args} --weights 0.5,-0.25,1.5 --batch-size 2)
expect(blanks 0 "^loss=3\\.30230[0-9]* objective=3\\.33980[0-9]*\n$" score ${args} --weights " 0.5, -0.25 ,1.5")
expect(count 1 "error: --weights: 2 weights for 3 modules" score ${args} --weights 0.5,1)
expect(nan 1 "error: --weights: \"nan\" is not a finite number" score ${args} --weights 0.5,nan,1)
expect(mismatch 1 "error: .*pool-0 and .*flan-odd.all: target different layers" score
       --model ${T5}/flan-odd --lora ${T5}/pool-0 --lora ${T5}/flan-odd.all --examples ${T5}/examples.jsonl --weights 1,1)
expect(other_base 1 "error: .*pool-0: was trained on \".*flan-odd\", not on the model at .*t5-relu" score
       --model ${T5}/t5-relu --lora ${T5}/pool-0 --examples ${T5}/examples.jsonl --weights 1)
expect(wrong_model 1 "error: composed LoRA: LoRA module" score
       --model ${T5}/t5-relu --lora ${T5}/pool-0 --examples ${T5}/examples.jsonl --weights 1 --allow-base-mismatch)
expect(no_examples 1 "error: .*absent.jsonl: cannot open" score --model ${T5}/flan-odd --lora ${T5}/pool-0 --examples ${T5}/absent.jsonl --weights 1)
# the bf16 compute mode stays within 1e-2 of upstream's float32 loss (3.3023); other precisions are refused
expect(bf16 0 "^loss=3\\.(2[7-9]|3[0-3])[0-9]* objective=" score ${args} --weights 0.5,-0.25,1.5 --precision bf16)
expect(bad_precision 1 "^error: --precision: fp16 not in" score ${args} --weights 0.5,-0.25,1.5 --precision fp16)
# --device cuda without a usable CUDA path: exit 1 with the reason (no device here, or a build without CUDA), never a crash
expect(cuda_device 1 "^error: --device cuda: (no CUDA device is visible|this lorahub was built without CUDA|the CLI's models do not run on the CUDA backend yet)" score ${args} --weights 0.5,-0.25,1.5 --device cuda)
expect(bad_device 1 "^error: --device: tpu not in" score ${args} --weights 0.5,-0.25,1.5 --device tpu)
