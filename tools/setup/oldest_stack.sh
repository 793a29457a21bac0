#!/usr/bin/env bash
# The oldest stack gc_mmdet is tested with, set up the way a user with an
# existing mmdet environment does it (README, "Into your own environment"):
#
#   bash tools/setup/oldest_stack.sh [ENV]     # default ENV: .venv-oldest
#
# 1. makes ENV as such a user has it: torch 2.1.2, torchvision 0.16.2,
#    numpy 1.26.4 (where mmcv 2.1.0's prebuilt wheels stop);
# 2. completes it with GC_MMDET_ENV=ENV bash tools/setup.sh (mmengine 0.10.x,
#    mmcv 2.1.0 built against torch 2.1.2 and cached, mmdet 3.3.0, gc_mmdet);
# 3. fails if setup changed the version of any package ENV had before it.
# `make test` then runs the fast tests in ENV.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENV_DIR="${1:-$ROOT/.venv-oldest}"
USER_STACK=(torch==2.1.2 torchvision==0.16.2 numpy==1.26.4)

log() { printf '[oldest-stack] %s\n' "$*"; }
source "$ROOT/tools/setup/free_space.sh"
if [[ ! -x "$ENV_DIR/bin/python" ]]; then
  need_free_gib "$GIB_FOR_OLDEST_TORCH" "$ENV_DIR" "creating $ENV_DIR with ${USER_STACK[*]}" "[oldest-stack]"
  log "creating $ENV_DIR with ${USER_STACK[*]}"
  python3 -m venv "$ENV_DIR"
  "$ENV_DIR/bin/python" -m pip install -q --disable-pip-version-check "${USER_STACK[@]}" 2>&1 |
    grep -v '^WARNING: Location' || true
  "$ENV_DIR/bin/python" -c 'import torch, torchvision, numpy' 2>/dev/null ||
    { log "ERROR: ${USER_STACK[*]} did not install into $ENV_DIR"; exit 1; }
fi

versions() {
  "$ENV_DIR/bin/python" -c '
import importlib.metadata as md
for d in sorted({(d.metadata["Name"] or "").lower(): d.version for d in md.distributions()}.items()):
    print(*d)'
}
before="$(versions)"
GC_MMDET_ENV="$ENV_DIR" bash "$ROOT/tools/setup.sh"
changed="$(LC_ALL=C join -a1 -e removed -o 0,1.2,2.2 <(echo "$before") <(versions) | awk '$2 != $3 && $1 != "gc-mmdet" {print $1 " " $2 " -> " $3}')"
if [[ -n "$changed" ]]; then
  log "ERROR: setup changed packages $ENV_DIR already had: $(echo "$changed" | paste -sd, -)"
  exit 1
fi
log "setup kept all $(echo "$before" | wc -l) packages $ENV_DIR had"
