#!/usr/bin/env bash
# Build dist/srdesk/ (one folder: srdesk, and srdesk-cli linked to it) and run its self-test.
#   packaging/build.sh            # one-folder build (a one-file build is not offered: it starts slower,
#                                 # unpacking 800 MB each time, and nothing tested it)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
"$PY" -m PyInstaller --version >/dev/null 2>&1 || "$PY" -m pip install -q "pyinstaller>=6.6"
"$PY" -m PyInstaller packaging/srdesk.spec --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller
ln -sf srdesk dist/srdesk/srdesk-cli  # the same program; started under this name it is the CLI
QT_QPA_PLATFORM=offscreen dist/srdesk/srdesk --self-test
dist/srdesk/srdesk-cli models >/dev/null
du -sh dist/srdesk
