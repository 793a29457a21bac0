#!/usr/bin/env bash
# torchrun wrapper shared by dist_train.sh and dist_test.sh:
#   tools/dist_launch.sh SCRIPT NPROC_PER_NODE [script args...]
# Multi-node through NNODES / NODE_RANK / MASTER_ADDR / PORT; PYTHON picks
# the interpreter. Every process runs OMP_NUM_THREADS intra-op threads, 1
# unless exported, whatever the layout (tools/train.py and tools/test.py set
# it), so 2 nodes x 1 process and 1 node x 2 give bit-identical weights.
set -euo pipefail
SCRIPT=$1
NPROC=$2
HERE="$(cd "$(dirname "$0")" && pwd)"
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" "$HERE/$SCRIPT" "${@:3}" --launcher pytorch
