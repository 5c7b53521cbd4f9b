# torch .bin checkpoints through the CLI: convert, inspect, score from .bin modules, and
# hostile files refused with exit code 1 and no side effect.
set(BIN ${FIXTURES}/bin)
set(T5 ${FIXTURES}/t5)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)

expect(convert 0 "converted: .*dtypes.safetensors" convert ${BIN}/dtypes.bin ${WORK}/dtypes.safetensors)
file(SHA256 ${WORK}/dtypes.safetensors ours)
file(SHA256 ${BIN}/dtypes.safetensors theirs)
if(NOT ours STREQUAL theirs)
  message(SEND_ERROR "lorahub convert did not write the bytes safetensors.torch.save_file wrote")
endif()
expect(inspect_bin 0 "torch checkpoint \\(read without unpickling code\\), 14 tensors" inspect ${BIN}/dtypes.bin)
expect(inspect_adapter_bin 0 "PEFT LoRA adapter.*r 16, lora_alpha 32, scaling 2" inspect ${BIN}/lorahub-layout)

# the same composition scored from .bin and from safetensors modules prints the same numbers
expect(score_safetensors 0 "^loss=" score --model ${T5}/flan-odd --lora ${T5}/pool-0 --lora ${T5}/pool-1 --lora ${T5}/pool-2
       --examples ${T5}/examples.jsonl --weights 0.5,-0.25,1.5)
set(from_safetensors "${last_output}")
expect(score_bin 0 "^loss=" score --model ${T5}/flan-odd --lora ${BIN}/pool-0 --lora ${BIN}/pool-1 --lora ${BIN}/pool-2
       --examples ${T5}/examples.jsonl --weights 0.5,-0.25,1.5)
if(NOT last_output STREQUAL from_safetensors)
  message(SEND_ERROR "scores differ: .bin modules ${last_output}, safetensors modules ${from_safetensors}")
endif()

file(REMOVE /tmp/lorahub-pickle-was-executed)
expect(hostile_os_system 1 "^error: [^\n]*os_system.bin: dtypes/data.pkl: pickle byte [0-9]+: global posix.system is not allowed"
       inspect ${BIN}/hostile/os_system.bin)
expect(hostile_convert 1 "^error: [^\n]*eval.bin: .*__builtin__.eval is not allowed" convert ${BIN}/hostile/eval.bin ${WORK}/never.safetensors)
expect(hostile_compressed 1 "^error: [^\n]*compressed.bin: ZIP entry .* is compressed" inspect ${BIN}/hostile/compressed.bin)
if(EXISTS /tmp/lorahub-pickle-was-executed OR EXISTS ${WORK}/never.safetensors)
  message(SEND_ERROR "a hostile .bin file had an effect")
endif()
