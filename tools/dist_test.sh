#!/usr/bin/env bash
# Distributed evaluation over torchrun.
#
#   tools/dist_test.sh CONFIG CHECKPOINT NGPUS [test.py args...]
#   (multi-node: NNODES / NODE_RANK / MASTER_ADDR / PORT as for dist_train.sh)
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NGPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NGPUS" --master_port="$PORT" \
    "$HERE/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
