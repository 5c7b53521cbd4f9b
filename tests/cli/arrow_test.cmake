# Arrow routing from the CLI (infer --route arrow, eval's Arrow row) and per-layer / per-target
# weights (learn --granularity, eval --granularities). The numerics against PEFT are in
# tests/lora/arrow_test.cpp; here: what the flags do, one property each, and the errors.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(A ${FIXTURES}/arrow)
set(T5 ${FIXTURES}/t5)
set(L ${FIXTURES}/llama)
include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)

set(t5_tasks --lora ${A}/t5/task-0 --lora ${A}/t5/task-1 --lora ${A}/t5/task-2 --lora ${A}/t5/task-3)
set(t5_infer --model ${T5}/flan-odd --examples ${T5}/examples.jsonl --max-new-tokens 8 --json)

# routing among one module, top 1: its coefficient is 1, so the module's own LoRA
expect(arrow_one 0 "\"predictions\"" infer ${t5_infer} --lora ${A}/t5/task-1 --route arrow --top-k 1)
set(routed_one "${last_output}")
expect(composed_one 0 "\"predictions\"" infer ${t5_infer} --lora ${A}/t5/task-1 --weights 1)
if(NOT routed_one STREQUAL last_output)
  message(SEND_ERROR "Arrow over one module differs from that module alone:\n${routed_one}\n${last_output}")
endif()
# among four, top 2, and with GenKnowSub: other predictions than any single module's
expect(arrow_four 0 "\"predictions\"" infer ${t5_infer} ${t5_tasks} --route arrow --top-k 2)
expect(arrow_gks 0 "\"predictions\"" infer ${t5_infer} ${t5_tasks} --route arrow --top-k 3 --temperature 0.5
       --general ${A}/t5/general-0 --general ${A}/t5/general-1)
expect(arrow_llama 0 "accuracy=" infer --model ${L}/gqa-untied --examples ${L}/examples.jsonl --max-new-tokens 4 --summary
       --lora ${A}/llama/task-0 --lora ${A}/llama/task-1 --lora ${A}/llama/task-2 --route arrow)

expect(arrow_top_k 1 "^error: Arrow top-k: 5 exceeds the 4 modules it routes among\n$" infer ${t5_infer} ${t5_tasks} --route arrow --top-k 5)
expect(arrow_zero_k 1 "^error: --top-k: 0 is less than 1\n$" infer ${t5_infer} ${t5_tasks} --route arrow --top-k 0)
expect(arrow_temperature 1 "^error: --temperature: must be a finite number above 0\n$" infer ${t5_infer} ${t5_tasks} --route arrow --temperature -1)
expect(arrow_weights 1 "^error: --route: arrow routes the --lora modules: give no --weights or --adapter\n$"
       infer ${t5_infer} ${t5_tasks} --route arrow --weights 1,1,1,1)
expect(arrow_general_alone 1 "^error: --general: is Arrow's GenKnowSub: give it with --route arrow\n$"
       infer ${t5_infer} ${t5_tasks} --weights 1,1,1,1 --general ${A}/t5/general-0)
expect(arrow_general_family 1 "^error: .*llama/general-0: is a CAUSAL_LM adapter"
       infer ${t5_infer} ${t5_tasks} --route arrow --general ${A}/llama/general-0)
expect(arrow_route_name 1 "--route: arrow not in \\{arrow\\}|--route: .*arrow" infer ${t5_infer} ${t5_tasks} --route moe)

# eval: the Arrow row among the whole pool, and LoraHub per layer
set(own --model ${T5}/flan-odd --lora ${T5}/pool-0 --lora ${T5}/pool-1 --lora ${T5}/pool-2 --few-shot ${T5}/examples.jsonl
        --test ${T5}/examples.jsonl --max-new-tokens 6 --budgets 6 --seeds 1 --quiet)
expect(eval_arrow 0 "\\| uniform \\|[^\n]*\n\\| Arrow \\(zero-shot, top 2\\) \\| [0-9.]+ \\|.*\\| LoraHub cobyla/6 \\|.*\\| LoraHub cobyla/6 per layer \\|.*\\| LoraHub cobyla/6 per target \\|"
       eval ${own} --arrow-top-k 2 --granularities module,layer,target --markdown ${WORK}/eval.md)
file(READ ${WORK}/eval.md document)
foreach(said "\\*Arrow \\(zero-shot\\)\\*: no examples" "\\*per layer\\* / \\*per target\\*: one weight per module and transformer block")
  if(NOT document MATCHES "${said}")
    message(SEND_ERROR "eval's document does not say '${said}'")
  endif()
endforeach()
expect(eval_select_by 0 "\| LoraHub cobyla/6 select 2 \|.*\| LoraHub cobyla/6 select 2 by routing \|" eval ${own} --select 2 --select-by loss,routing)
expect(eval_no_oracle 0 "\| Arrow \(zero-shot, top 3\) \|[^
]*
\| LoraHub cobyla/6 \|" eval ${own} --no-oracle)
expect(eval_default_k 0 "\\| Arrow \\(zero-shot, top 3\\) \\|" eval ${own})
expect(eval_no_arrow 0 "\\| uniform \\|[^\n]*\n\\| best single module" eval ${own} --arrow-top-k 0)
expect(eval_arrow_k 1 "^error: evaluation: Arrow's top-k 4 exceeds the pool's 3 modules\n$" eval ${own} --arrow-top-k 4)
expect(eval_granularity 1 "^error: --granularities: block not in \\{module,layer,target\\}" eval ${own} --granularities module,block)

# learn per layer: N x G weights named module@block, the penalty their mean |w|
set(pool --model ${T5}/flan-odd --lora ${T5}/pool-0 --lora ${T5}/pool-1 --lora ${T5}/pool-2 --examples ${T5}/examples.jsonl)
expect(learn_layer 0 "evaluations=20 .*pool-0@decoder.block.0\n.*pool-2@encoder.block.1\n" learn ${pool} --budget 20 --granularity layer --quiet
       --report ${WORK}/layer.json --out ${WORK}/layer-adapter)
file(READ ${WORK}/layer.json report)
string(JSON weights LENGTH "${report}" weights)
string(JSON granularity GET "${report}" granularity)
if(NOT weights EQUAL 15 OR NOT granularity STREQUAL "layer")
  message(SEND_ERROR "learn --granularity layer reported ${weights} weights at '${granularity}', expected 3 modules x 5 blocks")
endif()
expect(learn_layer_adapter 0 "PEFT LoRA adapter.*r 4" inspect ${WORK}/layer-adapter)
expect(learn_select_routing 0 "evaluations=6 " learn ${pool} --budget 6 --select 2 --select-by routing --quiet --report ${WORK}/routing.json)
file(READ ${WORK}/routing.json report)
string(JSON usage LENGTH "${report}" routing_usage)
string(JSON singles LENGTH "${report}" single_losses)
if(NOT usage EQUAL 3 OR NOT singles EQUAL 0)
  message(SEND_ERROR "learn --select-by routing reported ${usage} routing totals and ${singles} single losses, expected 3 and 0")
endif()
expect(learn_target 0 "evaluations=8 " learn ${pool} --budget 8 --granularity target --optimizer cma-es --quiet)
expect(learn_granularity_composer 1 "^error: --granularity: weighs modules per layer with LoraHub's rule \\(--composer weighted-ab\\) only\n$"
       learn ${pool} --granularity layer --composer delta-sum)
expect(learn_granularity_select 1 "^error: --granularity: per target searches every module: give no --select\n$"
       learn ${pool} --granularity target --select 2)
