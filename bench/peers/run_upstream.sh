#!/usr/bin/env bash
# Upstream LoraHub side by side with this project's CLI on the demo hub.
# Makes a virtualenv with upstream's pinned versions (bench/peers/upstream-requirements.txt),
# then runs bench/peers/upstream_side_by_side.py. Build the CLI first (scripts/quickstart.sh).
#   bench/peers/run_upstream.sh [--task NAME] [--seeds 5] [--markdown FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${LORAHUB_UPSTREAM_VENV:-.venv-upstream}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/peers/upstream-requirements.txt
fi
[ -x build/release/examples/lorahub ] || { echo "build the CLI first: scripts/quickstart.sh" >&2; exit 1; }
exec "$venv/bin/python" bench/peers/upstream_side_by_side.py "$@"
