# Runs `lorahub inspect` on good and bad inputs and checks exit codes and messages.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)

expect(model 0 "T5 model \\(gated-gelu, untied head\\).*d_model 32, d_kv 8, heads 4.*layers 2\\+3.*90 pieces" inspect
       ${FIXTURES}/io/tiny-t5)
expect(adapter 0 "PEFT LoRA adapter.*r 4, lora_alpha 8, scaling 2.*16 LoRA layers" inspect ${FIXTURES}/io/adapters/qv-r4)
expect(adapter_json 0 "\"kind\": \"peft-lora-adapter\".*\"use_rslora\": true" inspect --json ${FIXTURES}/io/adapters/rslora-ff)
expect(safetensors 0 "12 tensors.*bf16  BF16 \\[26\\]" inspect ${FIXTURES}/io/dtypes.safetensors)
expect(several_json 0 "^\\[.*safetensors.*t5-model" inspect --json ${FIXTURES}/io/dtypes.safetensors ${FIXTURES}/io/tiny-t5)

file(WRITE ${WORK}/short.safetensors "abc")
expect(short 1 "error: [^\n]*short.safetensors: file is 3 bytes" inspect ${WORK}/short.safetensors)
file(WRITE ${WORK}/huge-header.safetensors "99999999{}")  # "99999999" read as a u64 is ~4e18
expect(huge_header 1 "error: [^\n]*huge-header.safetensors: header length [0-9]+ exceeds" inspect ${WORK}/huge-header.safetensors)
file(MAKE_DIRECTORY ${WORK}/empty-dir)
expect(empty_dir 1 "error: [^\n]*empty-dir: is neither a model directory" inspect ${WORK}/empty-dir)
expect(missing 1 "error: [^\n]*nothing-here: does not exist" inspect ${WORK}/nothing-here)
file(COPY ${FIXTURES}/io/tiny-t5 DESTINATION ${WORK})
file(WRITE ${WORK}/tiny-t5/config.json "{\"d_model\": 32, \"d_model\": 64}")
expect(duplicate_key 1 "error: [^\n]*tiny-t5/config.json: duplicate JSON key \"d_model\"" inspect ${WORK}/tiny-t5)
expect(partial_failure 1 "12 tensors.*error: [^\n]*nothing-here" inspect ${FIXTURES}/io/dtypes.safetensors ${WORK}/nothing-here)
execute_process(COMMAND mkfifo ${WORK}/pipe.safetensors)
expect(fifo 1 "error: [^\n]*pipe.safetensors: not a regular file" inspect ${WORK}/pipe.safetensors)
