#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU.
#
#   [GPUS=16] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [GRES=gpu:8] [SRUN_ARGS=...] [MASTER_PORT=29500] \
#       tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
#
# Each task reads its rank from SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID and
# the master from the first host of SLURM_NODELIST (scontrol); every task runs
# OMP_NUM_THREADS intra-op threads (1 unless exported), as under torchrun.
# GRES is what each node asks for (gpu:GPUS_PER_NODE unless set; GRES= asks
# for none, as on CPU nodes).
#
# Preemption: run by `sbatch --requeue --signal=USR1@90 ...` (the batch script
# ending with `exec tools/slurm_train.sh ...`), the tasks save at their next
# iteration on USR1 or TERM (sent to them, or to this script, which passes it
# on) and exit 75; this script then requeues the job (`scontrol requeue`), and
# the requeued job resumes from that checkpoint.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
GRES=${GRES-gpu:$GPUS_PER_NODE}
SRUN_ARGS=${SRUN_ARGS:-}
PYTHON=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"
PREEMPTED=75
# the record a preempted run writes (gc_mmdet's PreemptionHook), as it is now
RECORD="$WORK_DIR/preempted.json"
recorded() { stat -c '%y %s' "$RECORD" 2>/dev/null || true; }
BEFORE=$(recorded)

# shellcheck disable=SC2086
srun -p "$PARTITION" --job-name="$JOB_NAME" ${GRES:+--gres="$GRES"} \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PYTHON" -u "$HERE/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm "${@:5}" &
SRUN=$!
# a notice to this script goes on to the tasks: inside a job to all its steps
# (scancel), else through srun
notice() {
  if [[ -n "${SLURM_JOB_ID:-}" ]]; then
    scancel --signal="$1" "$SLURM_JOB_ID" || kill -"$1" "$SRUN" 2>/dev/null || true
  else
    kill -"$1" "$SRUN" 2>/dev/null || true
  fi
}
trap 'notice USR1' USR1
trap 'notice TERM' TERM
# a trapped signal ends `wait` early while srun still runs: wait again
while kill -0 "$SRUN" 2>/dev/null; do wait "$SRUN" || true; done
wait "$SRUN" && STATUS=0 || STATUS=$?
# the ranks exit 75 one after another once rank 0 has saved, and srun
# (--kill-on-bad-exit) ends the others at the first: a record this run wrote
# says the run was preempted whatever the status srun reports
if [[ $STATUS != 0 && -n "$(recorded)" && "$(recorded)" != "$BEFORE" ]]; then
  STATUS=$PREEMPTED
fi
# the job's batch script (not a step, not an interactive allocation) requeues
if [[ $STATUS == "$PREEMPTED" && "${ENVIRONMENT:-}" == BATCH && -n "${SLURM_JOB_ID:-}" && -z "${SLURM_STEP_ID:-}" ]]; then
  echo "preempted: requeueing job $SLURM_JOB_ID; it resumes from the checkpoint just saved" >&2
  scontrol requeue "$SLURM_JOB_ID"
fi
exit "$STATUS"
