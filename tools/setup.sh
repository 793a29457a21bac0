#!/usr/bin/env bash
# Set up the gc_mmdet development environment, from nothing or incrementally.
#
#   bash tools/setup.sh            # or: make setup
#
# Creates .venv/ at the repository root (or uses GC_MMDET_ENV) and installs
# torch 2.14.1 + torchvision 0.29.1, mmengine 0.10.7, mmcv 2.1.0 built from
# source with its compiled ops, mmdet 3.3.0, pycocotools, gc_mmdet (editable)
# with the test tools and faster-coco-eval (the tests and fast-eval extras).
# Every step is skipped when already done; a ready environment returns in
# seconds.
#
# Environment variables:
#   GC_MMDET_ENV        use this existing environment (a venv or conda prefix
#                       containing bin/python) instead of creating .venv/.
#                       Its torch is kept if it is >= 2.1.
#   GC_MMDET_WHEEL_DIR  where built mmcv wheels are kept for reuse
#                       (default: ~/.cache/gc_mmdet/wheels).
#   FORCE_CUDA=1        build mmcv with CUDA ops (needs nvcc matching torch's CUDA).
#   GC_MMDET_CPU_OPS=1  on a machine with a GPU, build CPU-only ops anyway.
#   MAX_JOBS            parallel compile jobs for mmcv (default: nproc).
#
# See DEVELOPERS.md for the two build traps of mmcv 2.1.0 with torch 2.14.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TORCH_PIN="torch==2.14.1"
TORCHVISION_PIN="torchvision==0.29.1"
MMENGINE_PIN="mmengine==0.10.7"
MMCV_VERSION="2.1.0"
MMDET_PIN="mmdet==3.3.0"

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
start=$(date +%s)

# ---------------------------------------------------------------- environment
if [[ -n "${GC_MMDET_ENV:-}" ]]; then
  ENV_DIR="$GC_MMDET_ENV"
  [[ -x "$ENV_DIR/bin/python" ]] || die "GC_MMDET_ENV=$ENV_DIR has no bin/python"
  log "using existing environment $ENV_DIR"
else
  ENV_DIR="$ROOT/.venv"
  if [[ ! -x "$ENV_DIR/bin/python" ]]; then
    command -v python3 >/dev/null || die "python3 not found; install Python 3.11"
    log "creating $ENV_DIR"
    python3 -m venv "$ENV_DIR"
  fi
fi
PY="$ENV_DIR/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# What a complete environment imports: the stack, the test tools and the
# fast-eval extra (faster-coco-eval), which CI and the tests use.
IMPORT_CHECK="import mmcv.ops, mmdet, gc_mmdet, pytest, faster_coco_eval"

# The stamp records what this script and pyproject.toml looked like when the
# environment was last completed; if both are unchanged and the stack imports,
# there is nothing to do.
STAMP="$ENV_DIR/.gc_mmdet_setup"
want_stamp="$(cat "$ROOT/tools/setup.sh" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]] &&
   "$PY" -c "$IMPORT_CHECK" >/dev/null 2>&1; then
  log "environment $ENV_DIR is ready ($(( $(date +%s) - start ))s)"
  exit 0
fi

have() {  # have MODULE [MIN_VERSION [MAX_VERSION_EXCLUSIVE]]
  "$PY" - "$@" <<'EOF' >/dev/null 2>&1
import importlib, sys
from packaging.version import Version
mod = importlib.import_module(sys.argv[1])
v = Version(mod.__version__.split('+')[0])
if len(sys.argv) > 2 and v < Version(sys.argv[2]): sys.exit(1)
if len(sys.argv) > 3 and v >= Version(sys.argv[3]): sys.exit(1)
EOF
}

# ---------------------------------------------------------------- torch
"${PIP[@]}" install -q packaging  # for have(); a user's torch is kept if >= 2.1
if have torch 2.1 && have torchvision; then
  log "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
else
  log "installing $TORCH_PIN $TORCHVISION_PIN"
  "${PIP[@]}" install "$TORCH_PIN" "$TORCHVISION_PIN"
fi
# setuptools: >= 77.0.3 for torch 2.14, < 81 because mmengine imports pkg_resources
"${PIP[@]}" install -q wheel ninja "setuptools<81"
TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"
CUDA_AVAILABLE="$("$PY" -c 'import torch; print(int(torch.cuda.is_available()))')"

# ---------------------------------------------------------------- mmengine
have mmengine 0.10 || "${PIP[@]}" install "$MMENGINE_PIN"

# ---------------------------------------------------------------- mmcv
mmcv_ok() { "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" >/dev/null 2>&1; }
if mmcv_ok; then
  log "mmcv $MMCV_VERSION with ops already installed"
else
  OPS="cpu"
  if [[ "${FORCE_CUDA:-0}" == "1" ]]; then
    OPS="cuda"
  elif [[ "$CUDA_AVAILABLE" == "1" && "${GC_MMDET_CPU_OPS:-0}" != "1" ]]; then
    cat >&2 <<EOF
[setup] A CUDA GPU is available, but mmcv is not installed in $ENV_DIR.
[setup] Building mmcv from source here would give CPU-only ops (slow, and some ops missing on GPU).
[setup] Choose one and run this script again:
[setup]   * FORCE_CUDA=1 bash tools/setup.sh     build mmcv $MMCV_VERSION with CUDA ops (needs nvcc
[setup]                                          matching torch $TORCH_VERSION's CUDA; 30+ minutes)
[setup]   * install a prebuilt mmcv for your torch/CUDA (see https://mmcv.readthedocs.io, "Installation"),
[setup]     e.g. with mim: pip install -U openmim && mim install "mmcv==$MMCV_VERSION",
[setup]     into an environment of your own, then GC_MMDET_ENV=/path/to/env bash tools/setup.sh
[setup]   * GC_MMDET_CPU_OPS=1 bash tools/setup.sh   build CPU-only ops anyway
EOF
    exit 2
  fi
  WHEEL_DIR="${GC_MMDET_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gc_mmdet/wheels}"
  WHEEL_SUB="$WHEEL_DIR/mmcv-$MMCV_VERSION-torch-$TORCH_VERSION-$OPS-$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  wheel="$(ls "$WHEEL_SUB"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [[ -z "$wheel" ]]; then
    log "building mmcv $MMCV_VERSION with $OPS ops from source (about 10 minutes on 2 cores)"
    # Trap 1: mmcv's setup.py imports pkg_resources, which setuptools >= 70
    # dropped, while torch 2.14 requires setuptools >= 77. Put an old
    # setuptools in front of the environment for the build only.
    overlay="$(mktemp -d)"
    "${PIP[@]}" install -q --target "$overlay" "setuptools<70" 2>/dev/null ||
      "${PIP[@]}" install -q --target "$overlay" "setuptools<70"
    # Trap 2: torch 2.14's headers need C++20; mmcv passes -std=c++17.
    # tools/setup/cxx20 rewrites that flag and runs the real compiler.
    mkdir -p "$WHEEL_SUB"
    tmpwheels="$(mktemp -d)"
    PYTHONPATH="$overlay${PYTHONPATH:+:$PYTHONPATH}" \
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    GC_MMDET_REAL_CXX="${CXX:-g++}" CC="$ROOT/tools/setup/cxx20" CXX="$ROOT/tools/setup/cxx20" \
      "${PIP[@]}" wheel --no-deps --no-build-isolation --no-binary mmcv \
        "mmcv==$MMCV_VERSION" -w "$tmpwheels"
    mv "$tmpwheels"/mmcv-*.whl "$WHEEL_SUB"/
    rm -rf "$overlay" "$tmpwheels"
    wheel="$(ls "$WHEEL_SUB"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)"
    log "built $wheel"
  else
    log "reusing built wheel $wheel"
  fi
  # --no-deps: mmcv's own requirements are installed below through mmdet/pyproject.
  "${PIP[@]}" install --no-deps --force-reinstall "$wheel"
  "${PIP[@]}" install -q addict mmengine opencv-python packaging Pillow pyyaml yapf
  mmcv_ok || die "mmcv $MMCV_VERSION was installed but 'import mmcv.ops' fails"
fi

# ---------------------------------------------------------------- the rest
have mmdet 3.0 3.4 || "${PIP[@]}" install "$MMDET_PIN"
log "installing gc_mmdet (editable) with the tests and fast-eval extras"
"${PIP[@]}" install -q -e "$ROOT[tests,fast-eval]"

"$PY" -c "$IMPORT_CHECK" || die "the installed stack does not import"
echo "$want_stamp" > "$STAMP"
log "environment $ENV_DIR is ready ($(( $(date +%s) - start ))s)"
