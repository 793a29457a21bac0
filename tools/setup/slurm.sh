#!/usr/bin/env bash
# make slurm-extra: Debian's slurm-wlm (with munge) for the real-Slurm tests
# (tests/test_tools/test_real_slurm.py start a one-node cluster of their own in
# a temporary folder). Installed from the package registry when missing and
# run as root with apt-get; otherwise it says so and the tests skip. Idempotent.
set -euo pipefail
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
  echo "[slurm-extra] slurm-wlm is installed"
  exit 0
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
  echo "[slurm-extra] skipped: installing slurm-wlm needs root and apt-get (the real-Slurm tests will skip)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null \
  || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null; }
echo "[slurm-extra] installed slurm-wlm $(dpkg-query -W -f='${Version}' slurm-wlm)"
