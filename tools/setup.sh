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
#                       What it already has is kept: every installed package
#                       is pinned to its version while setup adds the rest,
#                       and where a requirement cannot be met without changing
#                       one, setup stops with one line naming it.
#   GC_MMDET_WHEEL_DIR  where built mmcv wheels are kept for reuse, one folder
#                       per torch version, CUDA, C++ ABI and Python
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

# In a user's environment, pin every installed distribution to its version
# (a pip constraints file), so that pip adds what is missing and never
# upgrades or downgrades what is there (e.g. numpy 1.x under an older torch:
# the newest opencv-python would pull numpy 2).
KEEP=()
if [[ -n "${GC_MMDET_ENV:-}" ]]; then
  keep_file="$(mktemp)"
  trap 'rm -f "$keep_file"' EXIT
  "$PY" - >"$keep_file" <<'EOF'
import importlib.metadata as md
seen = set()
for dist in md.distributions():
    name = (dist.metadata['Name'] or '').lower().replace('_', '-')
    if name and name not in seen and name != 'gc-mmdet':
        seen.add(name)
        print(f'{name}=={dist.version}')
EOF
  KEEP=(-c "$keep_file")
fi
# pip_add ARGS...: pip install that keeps the environment's packages; when it
# cannot, one line says which requirement collides with which package.
pip_add() {
  [[ "$1" == "-q" ]] && shift  # the output goes to a file; the conflict lines are wanted
  log "pip install $*"
  local out; out="$(mktemp)"
  if "${PIP[@]}" install "${KEEP[@]}" "$@" >"$out" 2>&1; then
    grep -e '^Successfully' "$out" || true
    rm -f "$out"  # kept, and named, only when pip fails
    return 0
  fi
  local why
  why="$(sed -n '/The conflict is caused by:/,/^$/p' "$out" | sed '1d;/^ *$/d;s/^ *//' | paste -sd';' | sed 's/;/; /g')"
  [[ -n "$why" ]] || why="$(grep -e '^ERROR' "$out" | tail -n1)"
  die "pip install $* into $ENV_DIR: ${why:-failed}; setup does not change a package the environment already has: change it yourself or use a fresh environment (pip's output: $out)"
}

# What a complete environment imports: the stack, the test tools and the
# fast-eval extra (faster-coco-eval), which CI and the tests use.
IMPORT_CHECK="import mmcv.ops, mmdet, gc_mmdet, pytest, xdist, faster_coco_eval"

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
if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  source "$ROOT/tools/setup/free_space.sh"
  need_free_gib "$GIB_FOR_TORCH" "$ENV_DIR" "installing $TORCH_PIN $TORCHVISION_PIN into $ENV_DIR" "[setup]"
fi
pip_add packaging  # for have()
if have torch; then
  have torch 2.1 || die "torch $("$PY" -c 'import torch; print(torch.__version__)') in $ENV_DIR is older than 2.1, the oldest gc_mmdet is tested with; use an environment with torch >= 2.1"
  have torchvision || { log "adding the torchvision that matches the installed torch"; pip_add torchvision; }
  log "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
else
  log "installing $TORCH_PIN $TORCHVISION_PIN"
  pip_add "$TORCH_PIN" "$TORCHVISION_PIN"
fi
# setuptools: >= 77.0.3 for torch 2.14, < 81 because mmengine imports pkg_resources
pip_add wheel ninja "setuptools<81"
TORCH_VERSION="$("$PY" -c 'import torch; print(torch.__version__)')"
CUDA_AVAILABLE="$("$PY" -c 'import torch; print(int(torch.cuda.is_available()))')"

# ---------------------------------------------------------------- mmengine
have mmengine 0.10 0.11 || pip_add "$MMENGINE_PIN"

# ---------------------------------------------------------------- mmcv
mmcv_ok() { "$PY" -c "import mmcv.ops" >/dev/null 2>&1 && have mmcv 2.1 2.2; }
dist_version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null; }
if mmcv_ok; then
  log "mmcv $(dist_version mmcv) with ops already installed"
elif [[ -n "${GC_MMDET_ENV:-}" ]] && dist_version mmcv >/dev/null; then
  die "$ENV_DIR has mmcv $(dist_version mmcv), but gc_mmdet needs mmcv >= 2.1, < 2.2 whose 'import mmcv.ops' works; setup does not replace a package you installed: 'pip uninstall mmcv' there, then run setup again to build $MMCV_VERSION"
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
  # A wheel is reused only for the torch it was compiled against: its
  # version, CUDA and C++ ABI, with the ops kind and Python, name the folder.
  WHEEL_SUB="$WHEEL_DIR/mmcv-$MMCV_VERSION-$("$PY" -c '
import sys, torch
print(f"torch-{torch.__version__}-cuda-{torch.version.cuda or 0}-abi{int(torch._C._GLIBCXX_USE_CXX11_ABI)}"
      f"-cp{sys.version_info[0]}{sys.version_info[1]}")')-$OPS"
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
    # --no-cache-dir: pip's own wheel cache is keyed by the sdist, not by the
    # torch it was compiled against, and would hand back another torch's build.
    PYTHONPATH="$overlay${PYTHONPATH:+:$PYTHONPATH}" \
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    GC_MMDET_REAL_CXX="${CXX:-g++}" CC="$ROOT/tools/setup/cxx20" CXX="$ROOT/tools/setup/cxx20" \
      "${PIP[@]}" wheel --no-cache-dir --no-deps --no-build-isolation --no-binary mmcv \
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
  pip_add addict mmengine opencv-python packaging Pillow pyyaml yapf
  mmcv_ok || die "mmcv $MMCV_VERSION was installed but 'import mmcv.ops' fails"
fi

# ---------------------------------------------------------------- the rest
have mmdet 3.3 3.4 || pip_add "$MMDET_PIN"
log "installing gc_mmdet (editable) with the tests and fast-eval extras"
pip_add -e "$ROOT[tests,fast-eval]"

"$PY" -c "$IMPORT_CHECK" || die "the installed stack does not import"
echo "$want_stamp" > "$STAMP"
log "environment $ENV_DIR is ready ($(( $(date +%s) - start ))s)"
