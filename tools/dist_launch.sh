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
# torchrun, except that a failed process ends the launch with that process's
# exit status and one line, not the launcher's own traceback: each process has
# already said what went wrong (tools/train.py: "error: ..." lines).
exec "${PYTHON:-python}" -c '
import sys
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import main
try:
    main()
except ChildFailedError as e:
    from gc_mmdet.utils.launch import launch_failure
    line, status = launch_failure([f.exitcode for f in e.failures.values()])
    print(line, file=sys.stderr)
    sys.exit(status)
' \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" "$HERE/$SCRIPT" "${@:3}" --launcher pytorch
