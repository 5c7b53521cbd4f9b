# Runs inspect, score, learn, infer and merge on Llama-family models: the CLI picks the model
# family from config.json's model_type.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(L ${FIXTURES}/llama)
set(pool --model ${L}/gqa-untied --lora ${L}/pool-0 --lora ${L}/pool-1 --lora ${L}/pool-2 --examples ${L}/examples.jsonl)

include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)

expect(inspect 0 "Llama-family causal LM \\(llama, untied head\\).*hidden 48, heads 6 \\(key/value 2, head_dim 8\\).*in 7 file\\(s\\).*LoRA-targetable linear layers: 14.*tokenizer.model, 384 pieces"
       inspect ${L}/gqa-untied)
expect(inspect_mistral 0 "\\(mistral, untied head\\).*head_dim 12.*rope_theta 1000000" inspect ${L}/mistral-headdim)
expect(inspect_scaling 0 "tied head.*linear scaling 2" inspect ${L}/mha-tied-linear)
expect(inspect_json 0 "\"kind\": \"llama-model\"" inspect --json ${L}/gqa-untied)

# upstream's objective on a causal LM (make_llama_fixtures.py: HF + PEFT, state dicts summed with weights)
expect(score 0 "^loss=1\\.24884[0-9]* objective=1\\.28634[0-9]*\n$" score ${pool} --weights 0.5,-0.25,1.5)
expect(score_batches 0 "^loss=3\\.73875[0-9]* objective=3\\.77625[0-9]*\n$" score ${pool} --weights 0.5,-0.25,1.5 --batch-size 2)
expect(score_bf16 0 "^loss=1\\.2[3-6][0-9]* objective=" score ${pool} --weights 0.5,-0.25,1.5 --precision bf16)

expect(learn 0 "objective=[0-9.]+ loss=[0-9.]+ evaluations=12 .*composed adapter:" learn ${pool} --budget 12 --optimizer cma-es
       --out ${WORK}/learned --report ${WORK}/report.json --quiet)
expect(learned_adapter 0 "PEFT LoRA adapter.*r 4.*4 LoRA layers" inspect ${WORK}/learned)
expect(infer_adapter 0 "accuracy=0\\.00% \\(5 examples\\)" infer --model ${L}/gqa-untied --adapter ${WORK}/learned
       --examples ${L}/examples.jsonl --max-new-tokens 6)
set(with_adapter "${last_output}")
expect(infer_weights 0 "accuracy=" infer ${pool} --weights 0.5,-0.25,1.5 --max-new-tokens 6)

# eval runs the paper's comparison on a causal LM as on T5
expect(eval 0 "\\| zero-shot \\| [0-9.]+.*\\| ICL \\(2 examples\\) \\|.*\\| uniform \\|.*\\| LoraHub cobyla/6 \\|" eval --model ${L}/gqa-untied --lora ${L}/pool-0 --lora ${L}/pool-1
       --lora ${L}/pool-2 --few-shot ${L}/examples.jsonl --test ${L}/examples.jsonl --budgets 6 --seeds 1 --icl 2 --max-new-tokens 4 --quiet)

# merging: the merged model predicts what the base model with the adapter predicts
expect(merge 0 "merged model: " merge --model ${L}/gqa-untied --adapter ${WORK}/learned --out ${WORK}/merged)
expect(infer_merged 0 "accuracy=0\\.00% \\(5 examples\\)" infer --model ${WORK}/merged --examples ${L}/examples.jsonl --max-new-tokens 6)
if(NOT last_output STREQUAL with_adapter)
  message(SEND_ERROR "merged model predictions differ from runtime LoRA:\n${last_output}\nvs\n${with_adapter}")
endif()
expect(inspect_merged 0 "Llama-family causal LM.*in 1 file\\(s\\).*tokenizer.model" inspect ${WORK}/merged)

# errors: a family we do not run, a tokenizer we do not read, a module for another model
file(MAKE_DIRECTORY ${WORK}/gpt2)
file(WRITE ${WORK}/gpt2/config.json "{\"model_type\": \"gpt2\"}")
expect(unknown_family 1 "error: [^\n]*gpt2/config.json: model_type \"gpt2\" is not a model lorahub runs" score --model ${WORK}/gpt2
       --lora ${L}/pool-0 --examples ${L}/examples.jsonl --weights 1)
file(MAKE_DIRECTORY ${WORK}/json-tokenizer)
file(COPY ${L}/mha-tied-linear/config.json ${L}/mha-tied-linear/model.safetensors DESTINATION ${WORK}/json-tokenizer)
file(WRITE ${WORK}/json-tokenizer/tokenizer.json "{}")
expect(tokenizer_json 1 "error: [^\n]*json-tokenizer/tokenizer.json: has no \"model\"" infer --model ${WORK}/json-tokenizer --examples ${L}/examples.jsonl)

# tokenize: a tokenizer.json folder's ids as pip tokenizers gives them, and back
set(K ${FIXTURES}/tokenizer_json)
file(COPY ${K}/mistral-v03/tokenizer.json ${K}/mistral-v03/tokenizer_config.json DESTINATION ${WORK}/json-tokenizer)
file(READ ${K}/expected.json kinds)
string(JSON hello_text GET "${kinds}" kinds mistral-v03 cases 0 text)
string(JSON hello_ids GET "${kinds}" kinds mistral-v03 cases 0 ids)
string(REGEX REPLACE "[][ \n]" "" hello_ids "${hello_ids}")
string(REPLACE "," " " hello_ids "${hello_ids}")
expect(tokenize 0 "^${hello_ids}\n$" tokenize --model ${WORK}/json-tokenizer "${hello_text}")
string(REPLACE " " "," hello_list "${hello_ids}")
expect(tokenize_decode 0 "^${hello_text}\n$" tokenize --model ${WORK}/json-tokenizer --decode "${hello_list}")
expect(tokenize_json 0 "\"ids\": \\[" tokenize --model ${WORK}/json-tokenizer --json "${hello_text}")
expect(tokenize_bad_ids 1 "error: --decode: \"x1\" is not a token id" tokenize --model ${WORK}/json-tokenizer --decode "1,x1")
expect(other_base 1 "error: .*pool-0: was trained on \".*gqa-untied\", not on the model at .*mha-tied-linear" score
       --model ${L}/mha-tied-linear --lora ${L}/pool-0 --examples ${L}/examples.jsonl --weights 1)
expect(wrong_model 1 "error: composed LoRA: LoRA module \"model.layers.0.self_attn.q_proj\" maps 48 -> 48 features" score
       --model ${L}/mha-tied-linear --lora ${L}/pool-0 --examples ${L}/examples.jsonl --weights 1 --allow-base-mismatch)
