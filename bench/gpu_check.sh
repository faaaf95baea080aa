#!/usr/bin/env bash
# The CUDA check, in one call on a GPU machine (no internet there: torch, numpy, scipy, pillow, safetensors and
# tifffile are in its image; pypng travels as a wheel in .whl/, made here with
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl pypng
# and named in the device call's carry). Prints the README's CUDA rows; exit status 0 when every check passes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -d .whl ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
"$PY" bench/gpu_check.py "$@"
