# The CLI as a careless or hostile user meets it (docs/reliability.md has the table): existing
# outputs are not lost, sizes from files and flags are checked before anything is allocated,
# side files do not leave the model folder, non-finite weights and mismatched modules are
# named, and a write leaves nothing behind. The crafted inputs are tests/fixtures/hostile/,
# made by tests/fixtures/make_hostile_fixtures.py from the T5 fixtures.
set(T5 ${FIXTURES}/t5)
set(HOSTILE ${FIXTURES}/hostile)
set(pool --lora ${T5}/pool-0 --lora ${T5}/pool-1 --lora ${T5}/pool-2)
set(on_model --model ${T5}/flan-odd --examples ${T5}/examples.jsonl)
include(${CMAKE_CURRENT_LIST_DIR}/expect.cmake)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# expect_bounded(...): expect() with the address space capped at 4 GiB, so that an allocation
# sized by a hostile field fails inside lorahub (or is refused) instead of taking the host;
# not under AddressSanitizer, whose shadow memory alone reserves terabytes of address space
function(expect_bounded name code pattern)
  set(saved ${LORAHUB})
  if(NOT SANITIZED)
    set(LORAHUB /bin/sh -c "ulimit -v 4194304 && exec \"$0\" \"$@\"" ${saved})
  endif()
  expect(${name} ${code} "${pattern}" ${ARGN})
  set(last_error "${last_error}" PARENT_SCOPE)
endfunction()

function(require_absent path why)
  if(EXISTS ${path} OR IS_SYMLINK ${path})
    message(SEND_ERROR "${why}: ${path} exists")
  endif()
endfunction()

# --- existing outputs: refused unless --force, and --force replaces only lorahub's own
file(WRITE ${WORK}/notes/keep.txt "mine")
expect(refuse_nonempty 1 "error: .*/notes: exists and is not empty: refusing to replace it \\(--force" combine ${pool} --weights 1,1,1 --out ${WORK}/notes)
expect(refuse_foreign_even_forced 1 "error: .*/notes: is not a directory lorahub wrote" combine ${pool} --weights 1,1,1 --out ${WORK}/notes --force)
if(NOT EXISTS ${WORK}/notes/keep.txt)
  message(SEND_ERROR "a refused write removed ${WORK}/notes/keep.txt")
endif()
expect(first_write 0 "combined 3 modules" combine ${pool} --weights 1,1,1 --out ${WORK}/combined)
if(NOT EXISTS ${WORK}/combined/.lorahub-output)
  message(SEND_ERROR "a written adapter has no .lorahub-output marker")
endif()
expect(second_write_refused 1 "combined: exists and is not empty" combine ${pool} --weights 1,1,1 --out ${WORK}/combined)
expect(second_write_forced 0 "combined 3 modules" combine ${pool} --weights 0.5,1,1 --out ${WORK}/combined --force)
expect(out_is_input 1 "combined: is an input of this command" combine --lora ${WORK}/combined --lora ${T5}/pool-1 --weights 1,1 --out ${WORK}/combined --force)
expect(out_holds_input 1 "is an input of this command" combine --lora ${WORK}/combined --lora ${T5}/pool-1 --weights 1,1 --out ${WORK} --force)
file(COPY ${FIXTURES}/bin/pool-0/adapter_model.bin DESTINATION ${WORK}/convert)
file(SIZE ${WORK}/convert/adapter_model.bin bin_size)
expect(convert_onto_input 1 "adapter_model.bin: is an input of this command" convert ${WORK}/convert/adapter_model.bin ${WORK}/convert/adapter_model.bin)
file(SIZE ${WORK}/convert/adapter_model.bin bin_size_after)
if(NOT bin_size EQUAL bin_size_after)
  message(SEND_ERROR "convert IN IN changed its input")
endif()
file(COPY ${T5}/flan-odd DESTINATION ${WORK})
expect(merge_onto_model 1 "flan-odd: is an input of this command" merge --model ${WORK}/flan-odd --adapter ${T5}/pool-0 --out ${WORK}/flan-odd --force)
# outputs are checked before the work: a report under a file, a read-only report
file(WRITE ${WORK}/a-file "x")
expect(report_under_file 1 "cannot be created: .*a-file is not a directory" learn ${on_model} ${pool} --budget 2 --report ${WORK}/a-file/report.json)
if(last_error MATCHES "lorahub learn: 3 modules")
  message(SEND_ERROR "learn loaded the model before finding that its --report cannot be written")
endif()
file(WRITE ${WORK}/read-only.json "{}")
file(CHMOD ${WORK}/read-only.json PERMISSIONS OWNER_READ GROUP_READ WORLD_READ)
expect(read_only_report 1 "read-only.json: is read-only: not replaced" learn ${on_model} ${pool} --budget 2 --report ${WORK}/read-only.json)
expect(two_outputs_one_path 1 "is given as two outputs of one command" learn ${on_model} ${pool} --budget 2 --report ${WORK}/same.json --plot ${WORK}/same.json)

# --- sizes from files and flags, under a 4 GiB address space (--allow-base-mismatch as below)
expect_bounded(billion_layers 1 "flan-odd-billion-layers/config.json: \"num_layers\" is 1000000000, but the weights hold 66 tensors"
               score --model ${HOSTILE}/flan-odd-billion-layers --examples ${T5}/examples.jsonl ${pool} --weights 1,1,1 --allow-base-mismatch)
expect_bounded(billion_layers_inspect 1 "\"num_layers\" is 1000000000" inspect ${HOSTILE}/flan-odd-billion-layers)
expect_bounded(population 1 "error: --population: 1000000000 points per generation is more than the limit of 10000"
               learn ${on_model} ${pool} --optimizer cma-es --population 1000000000)
expect_bounded(budget 1 "error: --budget: 2147483648 evaluations is more than the limit of 1000000" learn ${on_model} ${pool} --budget 2147483648)
expect_bounded(eval_budget 1 "evaluation budget: 4294967296 evaluations is more than the limit" eval --budgets 4294967296 --task sum --quiet)
expect(seed_beyond_int64 1 "--seed: .*18446744073709551616.* is out of range" learn ${on_model} ${pool} --seed 18446744073709551616)

# --- side files stay inside the model folder; a symlink loop is named
file(COPY ${T5}/flan-odd DESTINATION ${WORK}/linked)
file(WRITE ${WORK}/outside.json "{\"secret\": 1}")
file(REMOVE ${WORK}/linked/flan-odd/generation_config.json)
file(CREATE_LINK ${WORK}/outside.json ${WORK}/linked/flan-odd/generation_config.json SYMBOLIC)
expect(side_file_leaves_model 1 "generation_config.json: is a symbolic link to .*outside.json, outside the model directory"
       merge --model ${WORK}/linked/flan-odd --adapter ${T5}/pool-0 --out ${WORK}/merged-linked)
require_absent(${WORK}/merged-linked "a refused merge left its output")
file(CREATE_LINK ${WORK}/loop-b ${WORK}/loop-a SYMBOLIC)
file(CREATE_LINK ${WORK}/loop-a ${WORK}/loop-b SYMBOLIC)
expect(symlink_loop 1 "^error: .*loop-a.*: .*[Tt]oo many levels of symbolic links" score --model ${WORK}/loop-a --examples ${T5}/examples.jsonl ${pool} --weights 1,1,1)

# --- NaN and infinity in weights: named at load, nothing written (the crafted model's folder
# name is not the modules' base model's: --allow-base-mismatch lets the load go on)
set(inf_message "flan-odd-inf/model.safetensors: tensor \"encoder.block.1.layer.1.DenseReluDense.wo.weight\" holds an infinity at element 7")
expect(inf_model_score 1 "${inf_message}" score --model ${HOSTILE}/flan-odd-inf --examples ${T5}/examples.jsonl ${pool} --weights 1,1,1 --allow-base-mismatch)
expect(inf_model_infer 1 "${inf_message}" infer --model ${HOSTILE}/flan-odd-inf --examples ${T5}/examples.jsonl)
expect(inf_model_merge 1 "${inf_message}" merge --model ${HOSTILE}/flan-odd-inf --adapter ${T5}/pool-0 --out ${WORK}/merged-inf --allow-base-mismatch)
require_absent(${WORK}/merged-inf "a merge of a model holding an infinity wrote")
set(nan_message "pool-0-nan/adapter_model.safetensors: tensor \"base_model.model.decoder.block.0.layer.0.SelfAttention.q.lora_B.weight\" holds NaN at element 3")
expect(nan_adapter_score 1 "${nan_message}" score ${on_model} --lora ${HOSTILE}/pool-0-nan --lora ${T5}/pool-1 --weights 1,1)
expect(nan_adapter_combine 1 "${nan_message}" combine --lora ${HOSTILE}/pool-0-nan --lora ${T5}/pool-1 --weights 1,1 --out ${WORK}/combined-nan)
require_absent(${WORK}/combined-nan "a combine of a NaN module wrote")
expect(nan_adapter_merge 1 "${nan_message}" merge --model ${T5}/flan-odd --adapter ${HOSTILE}/pool-0-nan --out ${WORK}/merged-nan)
require_absent(${WORK}/merged-nan "a merge of a NaN adapter wrote")

# --- mixed modules: scalings, base model, task type, duplicates
set(mixed ${on_model} --lora ${T5}/pool-0 --lora ${HOSTILE}/pool-1-alpha-x4 --weights 0.5,0.7)
expect(alpha_warning 0 "warning: modules differ in lora_alpha / r: pool-1-alpha-x4 \\(8\\) are composed with the scaling of pool-0 \\(2\\), upstream's rule; --scaling per-module"
       score ${mixed})
expect(alpha_per_module 0 "^loss=" score ${mixed} --scaling per-module)
if(last_error MATCHES "warning")
  message(SEND_ERROR "--scaling per-module still warns: ${last_error}")
endif()
expect(causal_adapter_on_t5 1 "pool-2-causal: is a CAUSAL_LM adapter; the model at .*flan-odd takes SEQ_2_SEQ_LM \\(--allow-base-mismatch composes it anyway\\)"
       score ${on_model} --lora ${T5}/pool-0 --lora ${HOSTILE}/pool-2-causal --weights 1,1)
expect(causal_adapter_allowed 0 "^loss=.*warning: .*pool-2-causal: is a CAUSAL_LM adapter"
       score ${on_model} --lora ${T5}/pool-0 --lora ${HOSTILE}/pool-2-causal --weights 1,1 --allow-base-mismatch)
expect(other_base_model 1 "pool-2-other-base: was trained on \"google/flan-t5-xl\", not on the model at"
       score ${on_model} --lora ${T5}/pool-0 --lora ${HOSTILE}/pool-2-other-base --weights 1,1)
expect(duplicate_module 0 "^loss=.*warning: .*pool-0: is the same module as .*pool-0; it is composed twice"
       score ${on_model} --lora ${T5}/pool-0 --lora ${T5}/pool-0 --weights 1,1)
file(COPY ${T5}/pool-1 DESTINATION ${WORK}/copies)
expect(identical_module 0 "warning: .*copies/pool-1: is the same module as .*t5/pool-1 \\(identical weights\\)"
       score ${on_model} --lora ${T5}/pool-1 --lora ${WORK}/copies/pool-1 --weights 1,1)
# three of one module among others: one warning per repeat, each naming the first; distinct modules none
expect(thrice_module 0 "warning: .*copies/pool-1: is the same module as .*t5/pool-1 \\(identical weights\\); it is composed twice\nwarning: .*t5/pool-1: is the same module as .*t5/pool-1; it is composed twice\n"
       score ${on_model} --lora ${T5}/pool-1 --lora ${T5}/pool-0 --lora ${WORK}/copies/pool-1 --lora ${T5}/pool-2 --lora ${T5}/pool-1 --weights 1,1,1,1,1)
string(REGEX MATCHALL "is the same module" repeats "${last_error}")
list(LENGTH repeats repeat_count)
if(NOT repeat_count EQUAL 2)
  message(SEND_ERROR "thrice_module: ${repeat_count} duplicate warnings, expected 2:\n${last_error}")
endif()

# --- what a killed writer left is cleaned by the next write; modes follow the umask
file(WRITE ${WORK}/.fresh.partial-AbC123/adapter_model.safetensors "half")
file(MAKE_DIRECTORY ${WORK}/.fresh.old-XyZ789/content)
expect(stale_cleaned 0 "combined 3 modules" combine ${pool} --weights 1,1,1 --out ${WORK}/fresh)
require_absent(${WORK}/.fresh.partial-AbC123 "a stale staging folder survived the next write")
require_absent(${WORK}/.fresh.old-XyZ789 "a stale set-aside folder survived the next write")
require_absent(${WORK}/.fresh.lock "a write left its lock file")
set(saved ${LORAHUB})
set(LORAHUB /bin/sh -c "umask 027 && exec \"$0\" \"$@\"" ${saved})
expect(umask_027 0 "combined 3 modules" combine ${pool} --weights 1,1,1 --out ${WORK}/masked)
set(LORAHUB ${saved})
execute_process(COMMAND stat -c %a ${WORK}/masked ${WORK}/masked/adapter_config.json ${WORK}/masked/adapter_model.safetensors
                OUTPUT_VARIABLE modes OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "\n" " " modes "${modes}")
if(NOT modes STREQUAL "750 640 640")
  message(SEND_ERROR "under umask 027 the adapter folder and files got modes ${modes}, expected 750 640 640")
endif()
