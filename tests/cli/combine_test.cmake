# Runs `lorahub combine` (PEFT's add_weighted_adapter): the folder it writes loads as an
# adapter of the combined rank; bad combinations fail with the reason and leave nothing.
set(T5 ${FIXTURES}/t5)
set(modules --lora ${T5}/pool-0 --lora ${T5}/pool-1 --lora ${T5}/pool-2)
include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

expect(svd 0 "combined 3 modules with svd into .*\\(rank 3\\)" combine ${modules} --weights 0.7,0.4,1.3 --combination svd --svd-rank 3 --out ${WORK}/svd)
expect(svd_inspect 0 "r 3, lora_alpha 3, scaling 1\\.0.*16 LoRA layers" inspect ${WORK}/svd)
expect(cat 0 "\\(rank 12\\)" combine ${modules} --weights 0.7,-0.4,1.3 --combination cat --out ${WORK}/cat)
expect(ties 0 "\\(rank 4\\)" combine ${modules} --weights 0.7,0.4,1.3 --combination ties --density 0.5 --majority-sign frequency --out ${WORK}/ties)
# the combined adapter scores like any module
expect(score_combined 0 "^loss=[0-9.]+ objective=" score --model ${T5}/flan-odd --lora ${WORK}/ties --examples ${T5}/examples.jsonl --weights 1)

expect(negative 1 "error: linear: takes sqrt\\(weight x scaling\\) as PEFT does; module 2's is negative" combine ${modules} --weights 0.7,-0.4,1.3 --combination linear --out ${WORK}/negative)
if(EXISTS ${WORK}/negative)
  message(SEND_ERROR "a failed combine left ${WORK}/negative behind")
endif()
expect(density 1 "error: ties: density must be in \\[0, 1\\]" combine ${modules} --weights 0.7,0.4,1.3 --combination ties --density 2 --out ${WORK}/density)
expect(count 1 "error: --weights: 2 weights for 3 modules" combine ${modules} --weights 0.7,0.4 --out ${WORK}/count)
expect(unknown 1 "^error: --combination: average not in" combine ${modules} --weights 0.7,0.4,1.3 --combination average --out ${WORK}/unknown)
