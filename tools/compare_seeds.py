#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC against its baseline over several training seeds (`make compare`).

    python tools/compare_seeds.py [--seeds 0 1 2] [--out work_dirs/compare_demo] \
        [--baseline CONFIG] [--gc CONFIG] [--cfg-options ...]

Trains the baseline and the GC config (default: the demo pair) once per seed
(`randomness.seed`; the data set is the same for all) through
tools/train.py, one run after another into OUT/{baseline,gc}_seed{S}/ (a
finished run is kept and not trained again), then writes OUT/summary.md and
OUT/summary.json (box / mask AP mean ± std per arm, per-seed values, Welch's
test of the difference) and OUT/ap_bands.png (AP against iteration, mean ±
std band per arm), and prints the table and a one-line verdict.
"""

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from gc_mmdet.cli.common import run_cli

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

DEMO_BASELINE = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_demo.py'
DEMO_GC = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'


def _finished(work_dir: str) -> bool:
    return osp.isfile(osp.join(work_dir, 'metrics.json'))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='GC vs baseline over several seeds')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--out', default='work_dirs/compare_demo')
    parser.add_argument('--baseline', default=DEMO_BASELINE, help='baseline config')
    parser.add_argument('--gc', default=DEMO_GC, help='GC config')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], help='passed to every tools/train.py run'
    )
    args = parser.parse_args(argv)

    from gc_mmdet.cli import compare_seeds as S
    from gc_mmdet.utils import UserError, check_output_files

    if len(set(args.seeds)) < 2:
        raise UserError('--seeds: give at least 2 different seeds (3 or more for a useful test)')
    for cfg in (args.baseline, args.gc):
        if not osp.isfile(cfg):
            raise UserError(f'config {cfg}: no such file')
    check_output_files(args.out, S.OUTPUT_FILES, 'summary.json', S.OWNER_KEYS)
    runs = S.arms_runs(args.out, args.seeds)
    configs = {'baseline': args.baseline, 'gc': args.gc}
    for seed in args.seeds:  # alternate arms, so a partial run compares like with like
        for arm in ('baseline', 'gc'):
            wd = runs[arm][seed]
            if _finished(wd):
                print(f'[compare] {arm} seed {seed}: finished earlier, kept ({wd})', flush=True)
                continue
            cmd = [
                sys.executable,
                osp.join(ROOT, 'tools', 'train.py'),
                configs[arm],
                '--work-dir',
                wd,
                '--cfg-options',
                f'randomness.seed={seed}',
                *args.cfg_options,
            ]
            print(f'[compare] {arm} seed {seed}: training into {wd}', flush=True)
            start = time.time()
            # the run's own log is in its work dir; keep stderr for the error line
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or [''])[-1]
                raise UserError(
                    f'{arm} seed {seed} failed (exit {proc.returncode}): {last} (log in {wd})'
                )
            print(f'[compare] {arm} seed {seed}: done in {time.time() - start:.0f} s', flush=True)

    summary = S.summarize(runs)
    summary.update(seeds=args.seeds, configs=configs)
    md = S.to_markdown(
        summary, f'GC vs baseline, {len(args.seeds)} seeds ({osp.basename(args.gc)})'
    )
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'summary.md'), 'w') as f:
        f.write(md)
    with open(osp.join(args.out, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    plot = S.plot_bands(runs, osp.join(args.out, 'ap_bands.png'))
    print(md)
    print(
        f'written: {osp.join(args.out, "summary.md")}, {osp.join(args.out, "summary.json")}, {plot}'
    )


if __name__ == '__main__':
    run_cli(main)
