#!/usr/bin/env bash
# A test extra: packages some tests need beyond the stack, installed with
# --no-deps into a folder of their own, not into the environment (importable
# only where a test puts the folder on its path). Idempotent.
#   bash tools/setup/test_extra.sh deepspeed    # .venv-deepspeed-lib: deepspeed 0.19.8
#   bash tools/setup/test_extra.sh mmpretrain   # .venv-mmpretrain-lib: mmpretrain 1.2.0
# deepspeed: mmengine imports it whenever importable, which prints an
# accelerator warning on every run of every tool; only the workers of
# tests/test_core/test_deepspeed.py put the folder on their path.
# mmpretrain: the ConvNeXt backbones of mmdet's ConvNeXt configs and its
# layer-decay constructor (tests/helpers/mmpretrain_lib.py).
# torch, mmcv, mmengine, numpy, packaging, tqdm, ninja, matplotlib, rich and
# pyyaml come from the environment.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${GC_MMDET_ENV:-$ROOT/.venv}/bin/python"
case "${1:-}" in
  deepspeed)
    PACKAGES=(deepspeed==0.19.8 hjson msgpack psutil py-cpuinfo 'pydantic>=2,<3' pydantic-core
      annotated-types typing-inspection einops) ;;
  mmpretrain)
    PACKAGES=(mmpretrain==1.2.0 einops mat4py importlib-metadata==8.5.0 zipp==3.21.0 model-index
      ordered-set click markdown) ;;
  *) echo "usage: $0 deepspeed|mmpretrain [FOLDER]" >&2; exit 2 ;;
esac
DEST="${2:-$ROOT/.venv-$1-lib}"
if [[ ! -f "$DEST/.complete" ]]; then
  "$PY" -m pip install -q --no-deps --target "$DEST" "${PACKAGES[@]}"
  touch "$DEST/.complete"
  echo "[$1-extra] installed into $DEST"
fi
# deepspeed: the shared-memory op its CPU accelerator's collectives load, built
# once here (torch's JIT, about 1 CPU-minute) into the extra's own folder, where
# the test's ranks look for it (TORCH_EXTENSIONS_DIR: tests/helpers/deepspeed_worker.py);
# torch's shared default folder was rebuilt by every other checkout's tests.
SHM_OP="$DEST/torch_extensions/deepspeed_shm_comm/deepspeed_shm_comm.so"
if [[ "$1" == deepspeed && ! -f "$SHM_OP" ]]; then
  DS_ACCELERATOR=cpu TORCH_EXTENSIONS_DIR="$DEST/torch_extensions" "$PY" -c "
import sys; sys.path.append('$DEST')
from deepspeed.comm.torch import build_shm_op
assert build_shm_op() is not None" >/dev/null
  echo "[$1-extra] built deepspeed's CPU shared-memory op into $DEST/torch_extensions"
fi
echo "[$1-extra] $DEST is ready"
