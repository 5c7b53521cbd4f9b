# Runs `lorahub export --format gguf` on the Llama-family fixtures: each file is byte for byte
# what gguf-py's GGUFWriter writes for the numpy reference of tests/fixtures/make_gguf_fixtures.py
# (its sha256 in the case's expected.json), header fields as GGUF v3 says; learn and combine --gguf
# write the export of their adapter; bad inputs fail with the reason and leave nothing.
include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)
set(L ${FIXTURES}/llama)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(expect_same name first second)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${first} ${second} RESULT_VARIABLE differ)
  if(NOT differ EQUAL 0)
    message(SEND_ERROR "${name}: ${first} and ${second} differ")
  endif()
endfunction()

function(expect_absent name path)
  if(EXISTS ${path})
    message(SEND_ERROR "${name}: a failed command left ${path} behind")
  endif()
endfunction()

file(GLOB cases ${FIXTURES}/gguf/*.expected.json)
list(LENGTH cases count)
if(count LESS 5)
  message(SEND_ERROR "expected 5 GGUF fixture cases, found ${count}")
endif()
foreach(json ${cases})
  file(READ ${json} text)
  string(JSON adapter GET ${text} adapter)
  string(JSON model GET ${text} model)
  string(JSON outtype GET ${text} outtype)
  string(JSON reference GET ${text} gguf_py_sha256)
  string(JSON tensors LENGTH ${text} tensors)
  math(EXPR pairs "${tensors} / 2")
  get_filename_component(case ${json} NAME)
  string(REPLACE ".expected.json" "" case ${case})
  expect(${case} 0 "gguf: ${pairs} LoRA pairs for (llama|qwen2) " export --format gguf --model ${FIXTURES}/${model} --outtype ${outtype}
         ${FIXTURES}/${adapter} ${WORK}/${case}.gguf)
  file(SHA256 ${WORK}/${case}.gguf written)
  if(NOT written STREQUAL reference)
    message(SEND_ERROR "${case}: the export is not the file gguf-py writes for the numpy reference (sha256 ${written}, expected ${reference})")
  endif()
endforeach()

# the header: "GGUF", version 3, 28 tensors (14 pairs), 6 metadata entries, little-endian
file(READ ${WORK}/gqa-untied.all.gguf header LIMIT 24 HEX)
if(NOT header STREQUAL "47475546030000001c000000000000000600000000000000")
  message(SEND_ERROR "gqa-untied.all.gguf: header ${header}")
endif()
expect(inspect 0 "GGUF v3, 28 tensors, [0-9]+ parameters \\(F32\\).*general.type = adapter.*adapter.lora.alpha = 8.*blk.0.attn_q.weight.lora_b  F32 \\[48,4\\]"
       inspect ${WORK}/gqa-untied.all.gguf)
# the converter's default name is the adapter's folder; --name sets it; the same input gives the same bytes
expect(again 0 "gguf: 14 LoRA pairs" export --model ${L}/gqa-untied --name gqa-untied.all ${L}/gqa-untied.all ${WORK}/again.gguf)
expect_same(again ${WORK}/gqa-untied.all.gguf ${WORK}/again.gguf)
expect(rslora_folded 0 "9 with their scaling folded into lora_b" export --model ${L}/mha-tied-linear ${L}/mha-tied-linear.mlp-rslora ${WORK}/rslora.gguf)

# outputs: an existing file is refused; --force replaces a GGUF LoRA adapter and nothing else
expect(exists 1 "error: .*again.gguf: exists: refusing to replace it \\(--force replaces a GGUF LoRA adapter\\)"
       export --model ${L}/gqa-untied ${L}/gqa-untied.qv ${WORK}/again.gguf)
expect_same(exists_kept ${WORK}/gqa-untied.all.gguf ${WORK}/again.gguf)
expect(force 0 "gguf: 4 LoRA pairs" export --model ${L}/gqa-untied --force ${L}/gqa-untied.qv ${WORK}/again.gguf)
file(WRITE ${WORK}/notes.gguf "my notes\n")
expect(force_other 1 "error: .*notes.gguf: is not a GGUF LoRA adapter: refusing to replace it"
       export --model ${L}/gqa-untied --force ${L}/gqa-untied.qv ${WORK}/notes.gguf)
file(READ ${WORK}/notes.gguf notes)
if(NOT notes STREQUAL "my notes\n")
  message(SEND_ERROR "force_other: notes.gguf was changed")
endif()
expect(input 1 "error: .*gqa-untied.qv: is (an input of this command|a directory)" export --model ${L}/gqa-untied ${L}/gqa-untied.all ${L}/gqa-untied.qv)

# models and adapters llama.cpp's LoRA cannot take
expect(t5 1 "error: .*flan-odd/config.json: model_type \"t5\": GGUF export writes llama.cpp LoRA adapters of Llama-family models"
       export --model ${FIXTURES}/t5/flan-odd ${FIXTURES}/t5/flan-odd.qv ${WORK}/t5.gguf)
expect_absent(t5 ${WORK}/t5.gguf)
expect(wrong_model 1 "error: .*gqa-untied.all: module \"model.layers.0.mlp.down_proj\" maps 88 -> 48 features, but the model's takes 60 -> 36 \\(wrong --model\\?\\)"
       export --model ${L}/mistral-headdim ${L}/gqa-untied.all ${WORK}/wrong.gguf)
expect_absent(wrong_model ${WORK}/wrong.gguf)
expect(no_model 1 "error: .*gqa-untied.qv/adapter_config.json: base_model_name_or_path \"\" is not a local model directory: give the base model's directory with --model"
       export ${L}/gqa-untied.qv ${WORK}/no-model.gguf)
expect(format 1 "^error: --format: .*not in" export --format safetensors --model ${L}/gqa-untied ${L}/gqa-untied.qv ${WORK}/format.gguf)
expect_absent(no_model ${WORK}/no-model.gguf)
# the adapter's base_model_name_or_path, when it is a local directory, is the default --model
file(COPY ${L}/gqa-untied.qv DESTINATION ${WORK})
file(READ ${WORK}/gqa-untied.qv/adapter_config.json config)
string(JSON config SET ${config} base_model_name_or_path "\"${L}/gqa-untied\"")
file(WRITE ${WORK}/gqa-untied.qv/adapter_config.json ${config})
expect(default_model 0 "gguf: 4 LoRA pairs for llama" export ${WORK}/gqa-untied.qv ${WORK}/default-model.gguf)

# learn and combine write the export of the adapter they write
set(pool --lora ${L}/pool-0 --lora ${L}/pool-1 --lora ${L}/pool-2)
expect(combine 0 "combined 3 modules with cat .*\ngguf: 4 LoRA pairs for llama \\(F32\\)" combine ${pool} --weights 0.7,-0.4,1.3 --combination cat
       --model ${L}/gqa-untied --out ${WORK}/cat --gguf ${WORK}/cat.gguf)
expect(combine_export 0 "gguf: 4 LoRA pairs" export --model ${L}/gqa-untied --name cat ${WORK}/cat ${WORK}/cat-export.gguf)
expect_same(combine ${WORK}/cat.gguf ${WORK}/cat-export.gguf)
expect(combine_gguf_only 0 "gguf: 4 LoRA pairs" combine ${pool} --weights 0.7,-0.4,1.3 --combination cat --model ${L}/gqa-untied --gguf ${WORK}/cat-only.gguf)
expect(combine_nothing 1 "error: combine: give --out \\(a PEFT folder\\), --gguf \\(a llama.cpp GGUF\\) or both" combine ${pool} --weights 0.7,-0.4,1.3)
expect(learn 0 "composed adapter: .*\ngguf: 4 LoRA pairs for llama" learn --model ${L}/gqa-untied ${pool} --examples ${L}/examples.jsonl --budget 4 --quiet
       --out ${WORK}/learned --gguf ${WORK}/learned.gguf)
expect(learn_export 0 "gguf: 4 LoRA pairs" export --model ${L}/gqa-untied --name learned ${WORK}/learned ${WORK}/learned-export.gguf)
expect_same(learn ${WORK}/learned.gguf ${WORK}/learned-export.gguf)
expect(learn_t5 1 "error: .*config.json: model_type \"t5\": GGUF export writes" learn --model ${FIXTURES}/t5/flan-odd --lora ${FIXTURES}/t5/pool-0
       --examples ${FIXTURES}/t5/examples.jsonl --budget 2 --gguf ${WORK}/learn-t5.gguf)
expect_absent(learn_t5 ${WORK}/learn-t5.gguf)
