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
  catch2 libbenchmark-dev libomp-dev libomp-14-dev
  libopenmpi-dev openmpi-bin libhwy-dev
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

# the commands of the README's Quick start, as written there: the non-comment lines of its
# ```sh blocks, up to the next section
mapfile -t commands < <(awk '
  /^## / { in_section = ($0 ~ /^## Quick start/); next }
  in_section && /^```sh/ { in_block = 1; next }
  in_block && /^```/ { in_block = 0; next }
  in_section && in_block && NF && $1 !~ /^#/ { sub(/^[ \t]+/, ""); print }
' README.md)
[ ${#commands[@]} -eq 2 ] || { echo "check-fresh-machine: the Quick start has ${#commands[@]} commands, not 2" >&2; exit 1; }
for command in "${commands[@]}"; do
  echo "== $command"
  started=$SECONDS
  bash -c "$command"
  echo "== passed in $((SECONDS - started)) s: $command"
done
echo "check-fresh-machine: both Quick start commands passed on a fresh clone after the purge"
