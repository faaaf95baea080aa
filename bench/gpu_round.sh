#!/usr/bin/env bash
# One GPU call that does this round's work: the CUDA check, then the PSNR and the GAN x4 photo recipes side
# by side on the one GPU (each fits its learning-rate schedule to the minutes given), results packed into
# OUT_DIR as a few files (the device tool brings back at most 8).
#
# Here, once:  .venv/bin/srdesk-cli train pack --out .gpu-data
# There:       bench/gpu_round.sh 6.5 "$OUT"       (device run, carry [".gpu-data", ".whl"], and ".gpu-runs"
#              on a fresh machine when it holds the unpacked results of an earlier call; a warm machine still
#              holds its own .gpu-runs, which carrying a path missing here would remove; SKIP_CHECK=1 leaves
#              out the CUDA check)
# Here, after: tar -xf photo-x4.tar / photo-gan-x4.tar into .gpu-runs, then `srdesk-cli train export ...`
set -uo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-6.5}
OUT_DIR=${2:?output folder}
RECIPES=${RECIPES:-"photo-x4 photo-gan-x4"}
DEVICE=${DEVICE:-auto}
source bench/gpu_env.sh
nvidia-smi -L 2>/dev/null; nproc
if [ "$DEVICE" != cpu ] && [ -z "${SKIP_CHECK:-}" ]; then
  timeout 120 "$PY" bench/gpu_check.py 2>&1 | tee "$OUT_DIR/gpu_check.log"
fi
set -- $RECIPES
WORKERS=$(( ($(nproc) - 1) / $# )); [ "$WORKERS" -lt 1 ] && WORKERS=1
for recipe in $RECIPES; do
  "$PY" -m srdesk.training.recipes recipe "$recipe" --data .gpu-data --out .gpu-runs --minutes "$MINUTES" \
    --fit-to-time --workers "$WORKERS" --threads 1 --device "$DEVICE" ${BATCH:+--batch-size $BATCH} >"$OUT_DIR/$recipe.log" 2>&1 &
done
wait
for recipe in $RECIPES; do
  tail -n 4 "$OUT_DIR/$recipe.log"
  # the generator's weights, config and log; the PSNR run's checkpoint too (small: it can resume next time);
  # a GAN run's last six validated steps (~1.7 MB each), to pick the step to ship from here (export --step)
  (cd .gpu-runs/"$recipe" && tar -cf "$OUT_DIR/$recipe.tar" latest.safetensors config.json \
     $(ls log.csv best.safetensors 2>/dev/null) $( [ "$recipe" = photo-x4 ] && ls checkpoint.pt.part*) \
     $(ls validated/step-*.safetensors 2>/dev/null | tail -n 6))
done
ls -la "$OUT_DIR"
