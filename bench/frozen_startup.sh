#!/usr/bin/env bash
# Time from launching a program to its window being mapped on an X display (Xvfb works).
#   DISPLAY=:99 bench/frozen_startup.sh dist/srdesk/srdesk      (or: .venv/bin/srdesk)
set -euo pipefail
program=${1:-dist/srdesk/srdesk}
for run in 1 2 3; do
  start=$(date +%s.%N)
  "$program" >/dev/null 2>&1 &
  pid=$!
  until xwininfo -root -tree 2>/dev/null | grep -q '"srdesk'; do sleep 0.02; done
  end=$(date +%s.%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "run $run: $(echo "$end - $start" | bc) s to the first window"
done
