#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Launches of ``MAX_RESTARTS=3 tools/dist_train.sh`` on 2 ranks, each with one
rank SIGKILLed at a random point, against a run never interrupted.

    PYTHONPATH=tests:tools python benchmarks/kill_restart_stress.py [--launches 20]
        [--deadline 300] [--seed 0] [--publish DIR]

The run: ``tests/configs/synthetic_preempt.py`` (the demo's Mask R-CNN with
GC, 16 synthetic images, 2 per process: 4 iterations an epoch, 2 epochs, an
evaluation and a checkpoint after each). Kill points, in turn, each at a
random moment (a random rank, ``--seed``):

* ``mid-iteration``: while it trains;
* ``checkpoint save``: as soon as a checkpoint's partial file appears;
* ``evaluation``: while it evaluates;
* ``after a restart``: mid-iteration, then a rank of the restarted attempt
  within its first 3 s.

A launch passes when it exits 0 within ``--deadline`` seconds and both ranks'
weights equal the uninterrupted run's (max |dw| = 0). A launch past the
deadline is ended with all it started and counted as hung.
"""

import argparse
import os
import os.path as osp
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

import torch

from gc_mmdet.cli.common import run_cli
from helpers.synthetic import ROOT, tiny_overrides
from repo_tools.processes import descendants, kill_tree
from repo_tools.results import add_publish_arg, check_publish, publish_benchmark

KILL_POINTS = ('mid-iteration', 'checkpoint save', 'evaluation', 'after a restart')
CONFIG = 'tests/configs/synthetic_preempt.py'


def _opts(data_root):
    return tiny_overrides(data_root, epochs=2, num_train=16) + [
        'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
    ]


def _workers(launcher: int):
    found = []
    for pid in descendants(launcher):
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                if b'train.py' in f.read():
                    found.append(pid)
        except OSError:
            pass
    return sorted(found)


def _log_text(work_dir):
    text = ''
    for d in sorted(os.listdir(work_dir)) if osp.isdir(work_dir) else []:
        path = osp.join(work_dir, d, d + '.log')
        if re.fullmatch(r'\d{8}_\d{6}', d) and osp.isfile(path):
            with open(path) as f:
                text += f.read()
    return text


def _wait(cond, until):
    while time.monotonic() < until:
        found = cond()
        if found:
            return found
        time.sleep(0.02)
    return None


def _killer(proc, work_dir, point, rng, until, record):
    """Kill one rank of ``proc``'s launch at ``point``; note what was hit."""
    training = _wait(lambda: 'Epoch(train) [1][1/' in _log_text(work_dir), until)
    if not training:
        return
    if point == 'checkpoint save':
        hit = _wait(
            lambda: any(n.endswith('.gc_mmdet-partial') for n in os.listdir(work_dir)), until
        )
    elif point == 'evaluation':
        hit = _wait(lambda: 'Epoch(val)' in _log_text(work_dir), until)
    else:
        time.sleep(rng.uniform(0.0, 3.0))
        hit = True
    workers = _workers(proc.pid)
    if not (hit and workers):
        return
    victim = rng.choice(workers)
    os.kill(victim, 9)
    record.append(point)
    if point == 'after a restart':  # then a rank of the next attempt, early
        fresh = _wait(lambda: [w for w in _workers(proc.pid) if w not in workers], until)
        if fresh:
            time.sleep(rng.uniform(0.0, 3.0))
            os.kill(rng.choice(fresh), 9)
            record.append('restarted attempt')


def _launch(work_dir, data_root, port, deadline, point=None, rng=None):
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=ROOT, PORT=str(port))
    env.pop('OMP_NUM_THREADS', None)
    if point:
        env['MAX_RESTARTS'] = '3'
    cmd = ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir, '--cfg-options']
    proc = subprocess.Popen(
        cmd + _opts(data_root), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    record = []
    until = time.monotonic() + deadline
    killer = None
    if point:
        args = (proc, work_dir, point, rng, until, record)
        killer = threading.Thread(target=_killer, args=args, daemon=True)
        killer.start()
    try:
        _, err = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        proc.communicate()
        return 'hung', record, ''
    if killer:
        killer.join(timeout=10)
    return proc.returncode, record, err


def _weights(work_dir, rank):
    return torch.load(osp.join(work_dir, f'rank{rank}_after.pth'))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--launches', type=int, default=20)
    parser.add_argument('--deadline', type=float, default=300.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--port', type=int, default=29631)
    add_publish_arg(parser, 'kill_restart_stress')
    args = parser.parse_args(argv)
    check_publish(args.publish, 'kill_restart_stress')
    rng = random.Random(args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = osp.join(tmp, 'data')
        status, _, err = _launch(osp.join(tmp, 'whole'), data, args.port, args.deadline)
        if status != 0:
            raise SystemExit(f'the uninterrupted run failed ({status}):\n{err[-2000:]}')
        whole = [_weights(osp.join(tmp, 'whole'), r) for r in (0, 1)]
        for i in range(args.launches):
            point = KILL_POINTS[i % len(KILL_POINTS)]
            work_dir = osp.join(tmp, f'run{i}')
            t = time.perf_counter()
            status, hit, err = _launch(work_dir, data, args.port, args.deadline, point, rng)
            seconds = time.perf_counter() - t
            diff = None
            if status == 0:
                diff = max(
                    (a[k].double() - b[k].double()).abs().max().item()
                    for r in (0, 1)
                    for a, b in [(_weights(work_dir, r), whole[r])]
                    for k in a
                )
            rows.append(dict(point=point, killed=hit, status=status, max_dw=diff, seconds=seconds))
            print(
                f'{i + 1:3d} {point:16s} killed: {", ".join(hit) or "-":34s} status {status} '
                f'max|dw| {diff} {seconds:5.1f} s',
                flush=True,
            )
    passed = sum(r['status'] == 0 and r['max_dw'] == 0.0 for r in rows)
    hung = sum(r['status'] == 'hung' for r in rows)
    print(f'{passed} of {len(rows)} passed (exit 0, max |dw| = 0), {hung} hung')
    figures = dict(launches=len(rows), passed=passed, hung=hung, runs=rows, seed=args.seed)
    if args.publish:
        print(f'published: {publish_benchmark(args.publish, "kill_restart_stress", figures)}')
    return figures


if __name__ == '__main__':
    run_cli(main)
