#!/usr/bin/env bash
# torchrun wrapper shared by dist_train.sh and dist_test.sh:
#   tools/dist_launch.sh SCRIPT NPROC_PER_NODE [script args...]
# Multi-node through NNODES / NODE_RANK / MASTER_ADDR / PORT; restarts of
# failed workers through MAX_RESTARTS (0: none); PREEMPT_GRACE seconds for the
# workers to save after a preemption signal (30); PYTHON picks the
# interpreter. Every process runs OMP_NUM_THREADS intra-op threads, 1 unless
# exported, whatever the layout (tools/train.py and tools/test.py set it), so
# 2 nodes x 1 process and 1 node x 2 give bit-identical weights.
# A failed process ends the launch with its exit status and one line, not the
# launcher's traceback; a preemption signal ends it with status 75
# (gc_mmdet/cli/launch.py).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
exec "${PYTHON:-python}" -m gc_mmdet.cli.launch "$HERE/$1" "${@:2}"
