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
source bench/gpu_env.sh
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
"$PY" -m srdesk.training.recipes recipe "$RECIPE" --data "$DATA" --out "$RUNS" --minutes "$MINUTES"
if [ -n "$OUT_DIR" ]; then
  # (a call too short to validate or log has no best weights or log yet)
  cp "$RUNS/$RECIPE"/latest.safetensors "$RUNS/$RECIPE"/config.json "$RUNS/$RECIPE"/checkpoint.pt.part* \
     $(ls "$RUNS/$RECIPE"/best.safetensors "$RUNS/$RECIPE"/log.csv 2>/dev/null) "$OUT_DIR"/
fi
