# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""torchrun for ``tools/dist_train.sh`` and ``tools/dist_test.sh``: one line
instead of a traceback when a process fails, restarts that never hang, and a
preemption notice that ends the launch with :data:`PREEMPTED`.

    python -m gc_mmdet.cli.launch SCRIPT NPROC_PER_NODE [script args...]

Read from the environment, as the shell launchers document them: ``NNODES``,
``NODE_RANK``, ``MASTER_ADDR``, ``PORT`` and ``MAX_RESTARTS`` (0 unless set).

With ``MAX_RESTARTS=0`` this is torchrun's static rendezvous, as always. With
``MAX_RESTARTS=R > 0`` torchrun restarts failed workers up to R times through
the c10d rendezvous on ``MASTER_ADDR:PORT``, with
``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1``: the static rendezvous keeps one
store for every attempt and torch no longer scopes its keys per attempt
(pytorch#136768), so restarted workers could read the dead attempt's gloo
addresses and wait for ever (pytorch#135712, gloo#520). Each restart resumes
from the newest complete checkpoint (``tools/train.py``), and process-group
creation has a deadline (:func:`gc_mmdet.utils.launch.init_deadline`) that
turns what is left of such a hang into a failed attempt.

On SIGTERM, SIGINT, SIGHUP, SIGQUIT or SIGUSR1 the launcher passes the signal
to its workers, which save at the next iteration boundary
(:class:`~gc_mmdet.engine.hooks.PreemptionHook`), waits for them up to
``PREEMPT_GRACE`` seconds (30) and exits with :data:`PREEMPTED`.
"""

import os
import sys
from typing import List, Sequence

from ..utils.errors import UserError
from ..utils.launch import PREEMPTED, launch_failure
from .common import run_cli

__all__ = ['torchrun_args', 'main']

#: what torchrun passes on to its workers (its own four, and Slurm's USR1)
FORWARDED_SIGNALS = 'SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1'


def _count(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    if not value.strip().isdigit():
        raise UserError(f'{name}={value!r}: must be a whole number of 0 or more (e.g. {name}=3)')
    return int(value)


def _torchrun_has(flag: str) -> bool:
    from torch.distributed.run import get_args_parser

    _, unknown = get_args_parser().parse_known_args([f'{flag}=1', 'script.py'])
    return not unknown


def torchrun_args(script: str, nproc: str, script_args: Sequence[str]) -> List[str]:
    """torchrun's arguments for this launch (module docstring).

    Example:
        >>> torchrun_args('tools/train.py', '2', ['cfg.py'])[:2]  # doctest: +SKIP
        ['--nnodes=1', '--node_rank=0']
    """
    nnodes = _count('NNODES', '1')
    restarts = _count('MAX_RESTARTS', '0')
    grace = _count('PREEMPT_GRACE', '30')
    addr, port = os.environ.get('MASTER_ADDR', '127.0.0.1'), os.environ.get('PORT', '29500')
    if restarts:
        os.environ['TORCH_DISABLE_SHARE_RDZV_TCP_STORE'] = '1'
        where = [
            f'--nnodes={nnodes}',
            '--rdzv-backend=c10d',
            f'--rdzv-endpoint={addr}:{port}',
            f'--rdzv-id={os.environ.get("RDZV_ID", "gc_mmdet")}',
            f'--max-restarts={restarts}',
        ]
    else:
        where = [
            f'--nnodes={nnodes}',
            f'--node_rank={os.environ.get("NODE_RANK", "0")}',
            f'--master_addr={addr}',
            f'--master_port={port}',
        ]
    if _torchrun_has('--signals-to-handle'):  # torch >= 2.9; older ones pass on SIGTERM and 3 more
        where.append(f'--signals-to-handle={FORWARDED_SIGNALS}')
    if _torchrun_has('--shutdown-timeout'):  # older ones wait 30 s
        where.append(f'--shutdown-timeout={grace}')
    return [
        *where,
        f'--nproc_per_node={nproc}',
        script,
        *script_args,
        '--launcher',
        'pytorch',
    ]


def main(argv: Sequence[str] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2:
        raise UserError('usage: python -m gc_mmdet.cli.launch SCRIPT NPROC_PER_NODE [args...]')
    args = torchrun_args(argv[0], argv[1], argv[2:])

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    try:
        torchrun(args)
    except ChildFailedError as e:
        line, status = launch_failure([f.exitcode for f in e.failures.values()])
        print(line, file=sys.stderr)
        sys.exit(status)
    except SignalException as e:
        print(
            f'preempted ({e.sigval.name}): the workers saved at their last iteration; '
            f'run the same command to resume (exit status {PREEMPTED})',
            file=sys.stderr,
        )
        sys.exit(PREEMPTED)


if __name__ == '__main__':
    run_cli(main)
