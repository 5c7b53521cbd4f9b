#!/usr/bin/env bash
# First contact, repeated: purges the project's build packages (as on a fresh machine),
# clones the committed HEAD into a temporary directory, and runs the README's two Quick start
# commands there, exactly as the README states them. Exits non-zero if either fails.
# Needs root (it purges and installs Debian packages); uncommitted changes are not tested.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "check-fresh-machine: run as root (it purges packages)" >&2; exit 1; }

build_packages=(
  ninja-build pkg-config
  libeigen3-dev xtensor-dev nlohmann-json3-dev libsentencepiece-dev
  libzip-dev zipcmp zipmerge ziptool libnlopt-dev libnlopt-cxx-dev libcli11-dev
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers opencl-headers
  catch2 libbenchmark-dev
)
installed=()
for package in "${build_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" && installed+=("$package")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#installed[@]} -gt 0 ]; then
  echo "purging: ${installed[*]}"
  apt-get purge -y -qq "${installed[@]}" >/dev/null
  apt-get autoremove -y -qq --purge >/dev/null
fi

work=$(mktemp -d /tmp/lorahub-fresh.XXXXXX)
git clone -q . "$work/lorahub"
echo "fresh clone of $(git rev-parse --short HEAD) in $work/lorahub"
cd "$work/lorahub"

# the commands of the README's Quick start, as written there
mapfile -t commands < <(python3 - <<'PY'
import re
text = open("README.md", encoding="utf-8").read()
section = re.split(r"^## ", text.split("## Quick start", 1)[1], flags=re.M)[0]
for block in re.findall(r"```sh\n(.*?)```", section, re.S):
    for line in block.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            print(line.strip())
PY
)
[ ${#commands[@]} -eq 2 ] || { echo "check-fresh-machine: the Quick start has ${#commands[@]} commands, not 2" >&2; exit 1; }
for command in "${commands[@]}"; do
  echo "== $command"
  started=$SECONDS
  bash -c "$command"
  echo "== passed in $((SECONDS - started)) s: $command"
done
echo "check-fresh-machine: both Quick start commands passed on a fresh clone after the purge"
