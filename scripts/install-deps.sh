#!/usr/bin/env bash
# Installs the Debian packages lorahub builds, tests and benchmarks with, when any is missing.
# Packages are installed with their recommendations: some -dev packages' CMake configs need
# what the package only recommends (libdnnl-dev's dnnl-config.cmake requires OpenCL, from
# ocl-icd-opencl-dev), and those are listed here too so that a purged one is noticed.
# `install-deps.sh python` also installs what building the Python package needs (a venv and
# Python's headers); the C++ library and the CLI never need Python. `install-deps.sh mpi` also
# installs Open MPI, with which the CLI's eval runs as an MPI job (optional: the build works
# without it, and its MPI test then reports itself skipped). Both may be given.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libeigen3-dev xtensor-dev nlohmann-json3-dev libsentencepiece-dev
  libzip-dev zipcmp zipmerge ziptool   # libzip's CMake config checks for its three tools
  libnlopt-dev libnlopt-cxx-dev libcli11-dev
  libpcre2-dev libicu-dev              # tokenizer.json: pre-tokenizer regexes, Unicode normalization
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers  # dnnl-config.cmake: find_package(OpenCL REQUIRED)
  libhwy-dev                           # Highway: the SIMD merge kernels and dtype conversions
  catch2 libbenchmark-dev
  clang libclang-rt-dev libomp-dev  # libFuzzer for scripts/fuzz.sh; LLVM OpenMP + Archer for scripts/tsan.sh
)
for extra in "$@"; do
  case "$extra" in
    python) packages+=(python3-dev python3-venv) ;;
    mpi) packages+=(libopenmpi-dev openmpi-bin) ;;
    *) echo "install-deps.sh: unknown extra \"$extra\" (python, mpi)" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
