#!/usr/bin/env bash
# Distributed evaluation over torchrun (multi-node as for dist_train.sh).
#
#   tools/dist_test.sh CONFIG CHECKPOINT NGPUS [test.py args...]
set -euo pipefail
exec "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
