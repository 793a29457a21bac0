#!/usr/bin/env bash
# The DeepSpeed test extra: deepspeed 0.19.8 and what it needs beyond the stack,
# installed into a folder of its own (default .venv-deepspeed-lib), not into
# the environment: mmengine imports deepspeed whenever it is importable, which
# prints an accelerator warning on every run of every tool. Only the workers
# of tests/test_core/test_deepspeed.py put the folder on their path.
#   bash tools/setup/deepspeed_extra.sh [FOLDER]      (idempotent)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="${1:-$ROOT/.venv-deepspeed-lib}"
PY="${GC_MMDET_ENV:-$ROOT/.venv}/bin/python"
if [[ -f "$DEST/.complete" ]]; then
  echo "[deepspeed-extra] $DEST is ready"
  exit 0
fi
# --no-deps: torch, numpy, packaging, tqdm and ninja come from the environment
"$PY" -m pip install -q --no-deps --target "$DEST" deepspeed==0.19.8 hjson msgpack psutil \
  py-cpuinfo 'pydantic>=2,<3' pydantic-core annotated-types typing-inspection einops
touch "$DEST/.complete"
echo "[deepspeed-extra] installed into $DEST"
