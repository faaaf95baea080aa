#!/usr/bin/env bash
# Train a recipe on a borrowed GPU for a few minutes, resuming from earlier calls (see srdesk/training/recipes.py).
#
# Here, once:   .venv/bin/srdesk-cli train pack --out .gpu-data      (photos + Set5, <= 24 MB)
# There:        bench/gpu_train.sh photo-x4 .gpu-data .gpu-runs 8 "$OUT"
#               (device run with carry [".gpu-data", ".gpu-runs"]; copies the run folder to $OUT)
# Here, after:  copy the returned files into .gpu-runs/photo-x4/ for the next call, and
#               .venv/bin/srdesk-cli train export --run-dir .gpu-runs/photo-x4 --name photo-x4 --benchmarks ...
set -euo pipefail
cd "$(dirname "$0")/.."
RECIPE=${1:?recipe name}
DATA=${2:-.gpu-data}
RUNS=${3:-.gpu-runs}
MINUTES=${4:-8}
OUT_DIR=${5:-}
PY=${PYTHON:-python3}
if [ -d .whl ]; then  # packages the machine's image lacks, as wheels (see bench/gpu_check.sh)
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 "$PY" -m srdesk.training.recipes recipe "$RECIPE" --data "$DATA" --out "$RUNS" \
  --minutes "$MINUTES"
if [ -n "$OUT_DIR" ]; then
  cp "$RUNS/$RECIPE"/best.safetensors "$RUNS/$RECIPE"/config.json "$RUNS/$RECIPE"/log.csv \
     "$RUNS/$RECIPE"/checkpoint.pt.part* "$OUT_DIR"/
fi
