# Runs `lorahub learn`, `infer` and `merge` end to end on the fixtures and checks their
# outputs, their machine-readable formats, and their errors.
set(T5 ${FIXTURES}/t5)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(pool --model ${T5}/flan-odd --lora ${T5}/pool-0 --lora ${T5}/pool-1 --lora ${T5}/pool-2 --examples ${T5}/examples.jsonl)

include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)

expect(learn 0 "objective=[0-9.]+ loss=[0-9.]+ evaluations=40.*pool-0.*composed adapter"
    learn ${pool} --out ${WORK}/adapter --report ${WORK}/report.json --plot ${WORK}/plot.svg)
foreach(file adapter/adapter_config.json adapter/adapter_model.safetensors report.json plot.svg)
  if(NOT EXISTS ${WORK}/${file})
    message(SEND_ERROR "learn did not write ${file}")
  endif()
endforeach()
file(READ ${WORK}/report.json report)
foreach(key modules weights objective loss optimizer seed trace)
  string(JSON value ERROR_VARIABLE missing GET "${report}" ${key})
  if(missing)
    message(SEND_ERROR "report.json has no \"${key}\"")
  endif()
endforeach()
string(JSON evaluations LENGTH "${report}" trace)
if(NOT evaluations EQUAL 40)
  message(SEND_ERROR "report.json trace has ${evaluations} entries, expected 40")
endif()
file(READ ${WORK}/plot.svg svg)
if(NOT svg MATCHES "^<svg .*</svg>")
  message(SEND_ERROR "plot.svg is not an SVG document")
endif()

expect(learn_cma 0 "evaluations=25" learn ${pool} --optimizer cma-es --composer delta-sum --budget 25 --seed 3 --quiet)
expect(learn_bad_optimizer 105 "--optimizer" learn ${pool} --optimizer simplex)
expect(infer_adapter 0 "^{\"predictions\":\\[\"[^]]*\\],\"accuracy\":[0-9.]+}\n$"
    infer --model ${T5}/flan-odd --adapter ${WORK}/adapter --examples ${T5}/examples.jsonl --max-new-tokens 6 --json)
expect(infer_weights 0 "accuracy=[0-9.]+% \\(5 examples\\)"
    infer ${pool} --weights 0.2,0,-0.1 --max-new-tokens 6)
expect(infer_zero_shot 0 "accuracy=" infer --model ${T5}/flan-odd --examples ${T5}/examples.jsonl --max-new-tokens 6)
file(WRITE ${WORK}/unlabelled.jsonl "{\"input\": \"the house\"}\n{\"input\": \"apples\", \"output\": \"\"}\n")
expect(infer_no_answers 0 "\"accuracy\":null" infer --model ${T5}/flan-odd --examples ${WORK}/unlabelled.jsonl --max-new-tokens 4 --json)
expect(infer_both 1 "error: lorahub infer: give --adapter or --lora/--weights, not both"
    infer ${pool} --adapter ${WORK}/adapter --weights 1,1,1)

expect(merge 0 "merged model" merge --model ${T5}/flan-odd --adapter ${WORK}/adapter --out ${WORK}/merged)
expect(merged_inspect 0 "T5 model" inspect ${WORK}/merged)
expect(merge_mismatch 1 "error: .*flan-odd.all: LoRA module" merge --model ${T5}/t5-relu --adapter ${T5}/flan-odd.all --out ${WORK}/bad-merge)
if(EXISTS ${WORK}/bad-merge)
  message(SEND_ERROR "a failed merge left ${WORK}/bad-merge behind")
endif()
file(GLOB leftovers ${WORK}/.*partial*)
if(leftovers)
  message(SEND_ERROR "staging directories left behind: ${leftovers}")
endif()

expect(learn_bad_examples 1 "error: .*broken.jsonl:2: invalid JSON"
    learn --model ${T5}/flan-odd --lora ${T5}/pool-0 --examples ${FIXTURES}/cli/broken.jsonl --out ${WORK}/never)
if(EXISTS ${WORK}/never)
  message(SEND_ERROR "a failed learn left ${WORK}/never behind")
endif()
set(ENV{LORAHUB_DEMO_HUB} ${WORK}/no-hub-here)
expect(no_hub 1 "error: lorahub: --model, --lora and --examples are required \\(no demo hub at .*no-hub-here\\)" learn)

# the embedded demo hub supplies every default
unset(ENV{LORAHUB_DEMO_HUB})
if(EXISTS ${DEMO_HUB}/hub.json)
  set(ENV{LORAHUB_DEMO_HUB} ${DEMO_HUB})
  expect(demo_learn 0 "objective=.*evaluations=12" learn --budget 12 --quiet --out ${WORK}/demo-adapter)
  expect(demo_infer 0 "^accuracy=[0-9.]+% \\(100 examples\\)\n$" infer --adapter ${WORK}/demo-adapter --summary)
  expect(demo_task 0 "accuracy=" infer --task sort_words --summary --max-new-tokens 16)
  expect(demo_bad_task 1 "error: .*hub.json: has no task \"nope\"" learn --task nope)
endif()
