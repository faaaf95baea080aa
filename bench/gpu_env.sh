# Sourced by the GPU scripts (from the repository root): the Python to use, and the packages the machine's
# image lacks, carried as wheels in .whl/ (pypng, made here with
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl pypng
# and named in the device call's carry), installed into /tmp/site.
PY=${PYTHON:-python3}
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
