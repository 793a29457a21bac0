#!/usr/bin/env bash
# Distributed training over torchrun: one process per GPU (on a machine
# without a GPU: per CPU process, over gloo).
#
#   tools/dist_train.sh CONFIG NGPUS [train.py args...]
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8   # node 0
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8   # node 1
set -euo pipefail
exec "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
