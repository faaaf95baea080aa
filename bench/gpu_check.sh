#!/usr/bin/env bash
# The CUDA check, in one call on a GPU machine (no internet there: torch, numpy, scipy, pillow, safetensors and
# tifffile are in its image; pypng travels as a wheel, see bench/gpu_env.sh). Prints the README's CUDA rows;
# exit status 0 when every check passes.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/gpu_env.sh
"$PY" bench/gpu_check.py "$@"
