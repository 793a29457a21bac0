#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""How often a torchrun restart hangs: the launch before and after MAX_RESTARTS.

    PYTHONPATH=tests:tools python benchmarks/restart_hangs.py [--launches 16] [--hang-after 45]
        [--publish DIR]

Each launch runs 2 gloo workers of a small script (form the process group,
all_reduce, leave it); in the first attempt rank 1 SIGKILLs itself after the
group is formed, so torchrun must restart both. Two launches are compared,
alternating so that both see the same machine:

* ``static``: torchrun's static rendezvous on a fixed ``--master-port`` with
  ``--max-restarts 2``, as ``tools/dist_launch.sh`` launched before
  ``MAX_RESTARTS`` existed;
* ``MAX_RESTARTS=2``: ``python -m gc_mmdet.cli.launch`` (what
  ``tools/dist_train.sh`` runs), c10d rendezvous without the shared store.

A launch still running after ``--hang-after`` seconds counts as hung and is
ended with all it started (``repo_tools.processes.run_bounded``). Prints and publishes the counts (finished,
restarts used up, hung) per launch.
"""

import argparse
import os
import sys
import tempfile
import time

from gc_mmdet.cli.common import run_cli
from repo_tools.processes import Timeout, run_bounded
from repo_tools.results import add_publish_arg, check_publish, publish_benchmark

WORKER = """
import os, signal, sys
from datetime import timedelta
import torch, torch.distributed as dist
dist.init_process_group('gloo', timeout=timedelta(seconds=30))
if dist.get_rank() == 1 and os.environ.get('TORCHELASTIC_RESTART_COUNT') == '0':
    os.kill(os.getpid(), signal.SIGKILL)
t = torch.ones(1)
dist.all_reduce(t)
assert t.item() == dist.get_world_size()
dist.barrier()
dist.destroy_process_group()
"""


def _launch(kind: str, script: str, port: int, hang_after: float) -> str:
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if kind == 'static':
        cmd = [
            sys.executable, '-m', 'torch.distributed.run', '--nnodes=1', '--node_rank=0',
            '--master_addr=127.0.0.1', f'--master_port={port}', '--max-restarts=2',
            '--nproc_per_node=2', script,
        ]  # fmt: skip
    else:
        env.update(MAX_RESTARTS='2', PORT=str(port), GC_MMDET_INIT_TIMEOUT='1000')
        cmd = [sys.executable, '-m', 'gc_mmdet.cli.launch', script, '2']
    try:
        proc = run_bounded(cmd, hang_after, env=env)
    except Timeout:  # the launcher and its workers (sessions of their own) ended
        return 'hung'
    return 'finished' if proc.returncode == 0 else 'restarts used up'


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--launches', type=int, default=16, help='launches of each kind')
    parser.add_argument('--hang-after', type=float, default=45.0)
    parser.add_argument(
        '--port', type=int, default=29611, help='PORT (static), PORT+1 (MAX_RESTARTS)'
    )
    add_publish_arg(parser, 'restart_hangs')
    args = parser.parse_args(argv)
    check_publish(args.publish, 'restart_hangs')
    kinds = ('static', 'MAX_RESTARTS=2')
    counts = {k: {'finished': 0, 'restarts used up': 0, 'hung': 0} for k in kinds}
    seconds = {k: 0.0 for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, 'worker.py')
        with open(script, 'w') as f:
            f.write(WORKER)
        for i in range(args.launches):
            for kind in kinds:
                t = time.perf_counter()
                outcome = _launch(kind, script, args.port + kinds.index(kind), args.hang_after)
                seconds[kind] += time.perf_counter() - t
                counts[kind][outcome] += 1
                print(f'{i + 1:3d} {kind:15s} {outcome}', flush=True)
    for kind in kinds:
        print(f'{kind:15s} ' + ', '.join(f'{k}: {v}' for k, v in counts[kind].items()))
    figures = dict(
        launches=args.launches,
        hang_after_s=args.hang_after,
        counts=counts,
        seconds_per_launch={k: seconds[k] / args.launches for k in kinds},
    )
    if args.publish:
        print(f'published: {publish_benchmark(args.publish, "restart_hangs", figures)}')
    return figures


if __name__ == '__main__':
    run_cli(main)
