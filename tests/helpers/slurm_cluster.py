"""A real one-node Slurm cluster in a temporary folder, for tests.

Debian's ``slurm-wlm`` (``make slurm-extra``, as root) with munge: a munge
key, socket and logs of its own, a ``slurm.conf`` whose state, spool, logs,
pid files and ports all live in the folder (``ProctrackType=
proctrack/linuxproc``, ``TaskPlugin=task/none``: no cgroups needed), then
``munged``, ``slurmctld`` and ``slurmd`` in the foreground as children of
the test, ended by pid. Clients (``srun``, ``sbatch``, ``scontrol``) find
it through ``SLURM_CONF`` in :attr:`SlurmCluster.env`.

Example:
    >>> with SlurmCluster(tmp_path) as cluster:  # doctest: +SKIP
    ...     subprocess.run(['sbatch', 'job.sh'], env=cluster.env)
"""

import os
import os.path as osp
import shutil
import socket
import subprocess
import time
from typing import Dict, List, Optional

__all__ = ['SlurmCluster', 'why_no_slurm']

DAEMONS = ('munged', 'slurmctld', 'slurmd')


def why_no_slurm() -> Optional[str]:
    """Why a real cluster cannot start here, or None."""
    if os.geteuid() != 0:
        return 'the real-Slurm tests start slurmctld/slurmd and need root: run them as root'
    missing = [d for d in DAEMONS + ('srun', 'sbatch', 'scontrol') if not shutil.which(d)]
    if missing:
        return (
            f'{", ".join(missing)} not installed: run `make slurm-extra` as root (Debian slurm-wlm)'
        )
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class SlurmCluster:
    """One node (this host, all its CPUs), one partition ``debug``."""

    def __init__(self, folder: str, partition: str = 'debug') -> None:
        self.folder, self.partition = str(folder), partition
        self.node = socket.gethostname().split('.')[0]
        self.procs: List[subprocess.Popen] = []
        self.env: Dict[str, str] = {}

    def _path(self, *parts: str) -> str:
        return osp.join(self.folder, *parts)

    def _write_config(self) -> str:
        for sub in ('munge', 'state', 'spool', 'log'):
            os.makedirs(self._path(sub), mode=0o700, exist_ok=True)
        key = self._path('munge', 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        conf = self._path('slurm.conf')
        lines = [
            'ClusterName=gctest',
            f'SlurmctldHost={self.node}(127.0.0.1)',
            'SlurmUser=root',
            'SlurmdUser=root',
            f'SlurmctldPort={_free_port()}',
            f'SlurmdPort={_free_port()}',
            'AuthType=auth/munge',
            'CredType=cred/munge',
            f'AuthInfo=socket={self._path("munge", "munge.socket")}',
            f'StateSaveLocation={self._path("state")}',
            f'SlurmdSpoolDir={self._path("spool")}',
            f'SlurmctldPidFile={self._path("slurmctld.pid")}',
            f'SlurmdPidFile={self._path("slurmd.pid")}',
            f'SlurmctldLogFile={self._path("log", "slurmctld.log")}',
            f'SlurmdLogFile={self._path("log", "slurmd.log")}',
            'ProctrackType=proctrack/linuxproc',
            'TaskPlugin=task/none',
            'SelectType=select/cons_tres',
            'SelectTypeParameters=CR_CPU',
            'SchedulerType=sched/builtin',
            'MpiDefault=none',
            'JobAcctGatherType=jobacct_gather/none',
            'AccountingStorageType=accounting_storage/none',
            'ReturnToService=2',
            'KillWait=30',
            f'NodeName={self.node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN',
            f'PartitionName={self.partition} Nodes={self.node} Default=YES '
            'MaxTime=INFINITE State=UP OverSubscribe=FORCE',
        ]
        with open(conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return conf

    def _start(self, cmd: List[str]) -> None:
        log = open(self._path('log', osp.basename(cmd[0]) + '.out'), 'w')
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT))

    def start(self, timeout: float = 60) -> 'SlurmCluster':
        conf = self._write_config()
        self.env = dict(os.environ, SLURM_CONF=conf)
        munge = self._path('munge')
        self._start(
            [
                'munged',
                '--foreground',
                '--force',
                f'--key-file={munge}/munge.key',
                f'--socket={munge}/munge.socket',
                f'--pid-file={munge}/munged.pid',
                f'--log-file={munge}/munged.log',
                f'--seed-file={munge}/munged.seed',
            ]  # fmt: skip
        )
        self._wait(lambda: osp.exists(f'{munge}/munge.socket'), timeout, 'munged')
        self._start(['slurmctld', '-D', '-i'])
        self._start(['slurmd', '-D', '-N', self.node])
        self._wait(self.node_idle, timeout, 'the node')
        return self

    def node_idle(self) -> bool:
        """Whether the node runs nothing and has cleaned up after its last job."""
        out = subprocess.run(
            ['sinfo', '-h', '-N', '-o', '%T'], env=self.env, capture_output=True, text=True
        ).stdout
        return out.strip().startswith('idle')

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f'{what} not ready ({"ended: " + ", ".join(dead) if dead else "timeout"}); '
                    f'logs in {self._path("log")}'
                )
            time.sleep(0.2)

    def run(self, *cmd: str, **kwargs) -> subprocess.CompletedProcess:
        """A Slurm client command against this cluster (``env``: the job's
        environment, this cluster's ``SLURM_CONF`` added)."""
        kwargs.setdefault('timeout', 60)
        env = dict(kwargs.pop('env', None) or self.env, SLURM_CONF=self.env['SLURM_CONF'])
        return subprocess.run(cmd, env=env, capture_output=True, text=True, **kwargs)

    def stop(self) -> None:
        """End every job, then the daemons (by pid, newest first)."""
        if self.env:
            subprocess.run(['scancel', '--full', '-u', 'root'], env=self.env, capture_output=True)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []

    def __enter__(self) -> 'SlurmCluster':
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
