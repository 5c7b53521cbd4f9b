#!/usr/bin/env bash
# `lorahub eval` as a sweep gives the serial run's report, every number: in two shares gathered
# by --from-runs, killed mid-sweep and resumed, and (mode mpi) under mpirun with 2 and 3
# processes, alone or with shares and stored runs. Only the learning times (learn_seconds)
# and the document's closing sentence on time may differ.
# Usage: sweep_test.sh LORAHUB INPUTS WORK shards|mpi [MPI_BUILT [small]]; exits 77 (skipped)
# for mpi without mpirun or without an MPI build of the CLI. INPUTS is the demo hub, or with
# `small` the test fixtures: a tiny model, three modules and five examples (for the sanitized
# build, where a run takes twenty times longer; it skips the killed sweep, which needs runs
# long enough to be killed among).
set -euo pipefail
lorahub=$1 inputs=$2 work=$3 mode=$4 mpi_built=${5:-OFF} size=${6:-full}
if [ "$mode" = mpi ]; then
  command -v mpirun >/dev/null || { echo "skipped: no mpirun (apt-get install openmpi-bin libopenmpi-dev)"; exit 77; }
  case "$mpi_built" in ON|on|1|TRUE|true) ;; *) echo "skipped: the CLI was built without MPI"; exit 77 ;; esac
fi
rm -rf "$work"
mkdir -p "$work"
cd "$work"
if [ "$size" = small ]; then
  t5=$inputs/t5
  own=(--model "$t5/flan-odd" --lora "$t5/pool-0" --lora "$t5/pool-1" --lora "$t5/pool-2" --few-shot "$t5/examples.jsonl"
       --test "$t5/examples.jsonl" --max-new-tokens 6 --optimizers cobyla --budgets 4 --select 0,2 --quiet)
  plan=("${own[@]}" --seeds 2)
  runs_total=11  # 3 baselines + Arrow + 3 modules + 2 selections x 2 seeds
  other_plan=("${own[@]}" --seeds 1)
else
  # two of the hub's four tasks and no oracle: shares and resumes are tested as well on 34 runs as
  # on the whole hub's 68 (or 116 with the oracle's inference runs), which cost CI time
  tasks=(--task letter_count --task sum)
  plan=(--hub "$inputs" "${tasks[@]}" --select 0,3 --seeds 3 --optimizers cobyla,cma-es --no-oracle --quiet)
  runs_total=34  # 2 tasks x (3 baselines + Arrow + 2 optimizers x 2 selections x 3 seeds) + 2 task LoRAs
  other_plan=(--hub "$inputs" "${tasks[@]}" --select 0,3 --seeds 2 --optimizers cobyla,cma-es --no-oracle --quiet)
fi
half=$((runs_total / 2))
first_share=$(((runs_total + 1) / 2))  # share 0 of 2 takes runs 0, 2, 4, ...
fail() { echo "FAIL: $*" >&2; exit 1; }

"$lorahub" eval "${plan[@]}" --json serial.json --svg serial.svg > serial.md
grep -q "LoraHub cobyla/4.* select" serial.md || fail "the serial table lacks its LoraHub rows"
grep -v '"learn_seconds"' serial.json > serial.numbers

# the same report as the serial run's: the table, the chart and every number but learning times
same_as_serial() {
  local name=$1
  diff serial.md "$name.md" > /dev/null || fail "$name: the table differs from the serial run's: $(diff serial.md "$name.md" | head -5)"
  diff serial.svg "$name.svg" > /dev/null || fail "$name: the chart differs from the serial run's"
  grep -v '"learn_seconds"' "$name.json" > "$name.numbers"
  diff serial.numbers "$name.numbers" > /dev/null || fail "$name: numbers differ from the serial run's: $(diff serial.numbers "$name.numbers" | head -5)"
  echo "ok: $name equals the serial run"
}
results_in() { find "$1/runs" -name '*.json' 2>/dev/null | wc -l; }

if [ "$mode" = shards ]; then
  "$lorahub" eval "${plan[@]}" --shard 0/2 --runs-dir shares | grep -q "share 0 of 2: $first_share of the sweep's $runs_total runs" || fail "share 0/2"
  "$lorahub" eval --from-runs shares 2> missing.err && fail "--from-runs with half the runs succeeded"
  grep -q "error: shares: $half of $runs_total runs have no result yet" missing.err || fail "missing runs: $(cat missing.err)"
  "$lorahub" eval "${plan[@]}" --shard 1/2 --runs-dir shares > /dev/null
  "$lorahub" eval --from-runs shares --json shares.json --svg shares.svg --markdown shares-document.md > shares.md
  same_as_serial shares
  grep -q "The runs took [0-9]* s in all, summed over runs" shares-document.md || fail "the document does not say how long the runs took"

  # killed with SIGKILL once some runs are stored, then the same command again
  [ "$size" = small ] || {
  "$lorahub" eval "${plan[@]}" --runs-dir killed > /dev/null &
  sweep=$!
  for _ in $(seq 1200); do
    [ "$(results_in killed)" -ge "$half" ] && break
    sleep 0.05
  done
  kill -KILL "$sweep" 2> /dev/null || true
  wait "$sweep" 2> /dev/null || true
  stored=$(results_in killed)
  [ "$stored" -lt "$runs_total" ] || fail "the sweep ended before it could be killed"
  echo "killed with $stored of $runs_total runs stored"
  "$lorahub" eval "${plan[@]}" --runs-dir killed --json killed.json --svg killed.svg > killed.md
  same_as_serial killed
  [ "$(results_in killed)" -eq "$runs_total" ] || fail "the resumed sweep did not store every run"
  }

  # a directory of another sweep is not resumed
  "$lorahub" eval "${other_plan[@]}" --runs-dir shares 2> other.err && fail "another sweep resumed in shares/"
  grep -q "records another sweep (/runs/plan/seeds differs)" other.err || fail "another sweep: $(cat other.err)"
else
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI runs as root
  for processes in 2 3; do
    mpirun --oversubscribe -np "$processes" "$lorahub" eval "${plan[@]}" --json "mpi$processes.json" --svg "mpi$processes.svg" > "mpi$processes.md"
    same_as_serial "mpi$processes"
  done
  # an MPI job resuming a directory that one process half filled
  "$lorahub" eval "${plan[@]}" --shard 1/2 --runs-dir resumed > /dev/null
  mpirun --oversubscribe -np 2 "$lorahub" eval "${plan[@]}" --runs-dir resumed --json resumed.json --svg resumed.svg > resumed.md
  same_as_serial resumed
  # an MPI job as one share of a Slurm-style split, the other share run alone
  mpirun --oversubscribe -np 3 "$lorahub" eval "${plan[@]}" --shard 0/2 --runs-dir split > /dev/null
  "$lorahub" eval "${plan[@]}" --shard 1/2 --runs-dir split > /dev/null
  "$lorahub" eval --from-runs split --json split.json --svg split.svg > split.md
  same_as_serial split
fi
echo "$mode: every report equals the serial run's"
