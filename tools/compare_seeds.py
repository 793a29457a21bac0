#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC against its baseline over several training seeds (`make compare`).

    python tools/compare_seeds.py [--seeds 0 1 2 3 4] [--out work_dirs/compare_demo] \
        [--baseline CONFIG] [--gc CONFIG] [--publish docs/results] [--cfg-options ...]

Trains the baseline and the GC config (default: the demo pair) once per seed
(`randomness.seed`; the data set is the same for all) through
the package's train command (`python -m gc_mmdet.cli.train`, what tools/train.py
runs), one run after another into OUT/{baseline,gc}_seed{S}/ (a
finished run is kept and not trained again), then writes OUT/summary.md and
OUT/summary.json (box / mask AP mean ± std per arm, per-seed values, the
paired t-test of the per-seed differences with their 95 % confidence interval;
with --bootstrap N, every run's detections on the validation set (its last
evaluation's, in WORK_DIR/val_dets.*.json) and the spread N resamples of the validation
images give one run's AP, one seed's difference and the mean difference) and OUT/ap_bands.png (AP against iteration, mean ±
std band per arm), and prints the table and a one-line verdict. With
--publish DIR it also writes DIR/compare_demo.json (the summary, every run's
AP curve and timing, the machine, the commit) and DIR/compare_ap_bands.png,
which tools/render_docs.py renders README's and docs' figures from.
"""

import argparse
import json
import os
import os.path as osp

from gc_mmdet.cli import compare_seeds
from gc_mmdet.cli.common import run_cli
from gc_mmdet.cli.config import read_config
from gc_mmdet.cli.eval_bootstrap import bootstrap_ap, bootstrap_bands
from gc_mmdet.utils import UserError, check_output_files
from repo_tools.results import (
    COMPARE_FILES,
    OWNER_KEYS,
    check_committed,
    compare_results,
    publish_file,
    write_results,
)

DEMO_BASELINE = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_demo.py'
DEMO_GC = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='GC vs baseline over several seeds')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument('--out', default='work_dirs/compare_demo')
    parser.add_argument('--baseline', default=DEMO_BASELINE, help='baseline config')
    parser.add_argument('--gc', default=DEMO_GC, help='GC config')
    parser.add_argument(
        '--publish', metavar='DIR', help='also write DIR/compare_demo.json and the band plot'
    )
    parser.add_argument(
        '--bootstrap',
        type=int,
        default=200,
        metavar='N',
        help='resamples of the validation images for the evaluation-noise band (0: none)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='passed to every tools/train.py and tools/test.py run',
    )
    return parser.parse_args(argv)


def evaluation_noise(runs, configs, args) -> dict:
    """Every run's detections on the validation set, then the bootstrap of
    their box and mask AP over resampled validation images."""
    dets = compare_seeds.predict_runs(runs, configs, cfg_options=args.cfg_options)
    cfg = read_config(args.gc, args.cfg_options)  # as tools/train.py and tools/test.py read it
    with open(cfg.test_evaluator.ann_file) as f:
        gt = json.load(f)
    tasks = sorted({t for by in dets.values() for t in by})
    print(
        f'[compare] bootstrap: {args.bootstrap} resamples of {len(gt["images"])} images', flush=True
    )
    samples = bootstrap_ap(gt, dets, tasks, n_boot=args.bootstrap)
    return bootstrap_bands(samples, len(gt['images']))


def main(argv=None) -> None:
    args = parse_args(argv)
    if len(set(args.seeds)) < 2:
        raise UserError('--seeds: give at least 2 different seeds (3 or more for a useful test)')
    for cfg in (args.baseline, args.gc):
        if not osp.isfile(cfg):
            raise UserError(f'config {cfg}: no such file')
    check_output_files(
        args.out, compare_seeds.OUTPUT_FILES, 'summary.json', compare_seeds.OWNER_KEYS
    )
    if args.publish:
        check_committed(args.publish)  # before hours of training, not after
        check_output_files(
            args.publish, COMPARE_FILES, 'compare_demo.json', OWNER_KEYS, '--publish'
        )
    runs = compare_seeds.arms_runs(args.out, args.seeds)
    configs = {'baseline': args.baseline, 'gc': args.gc}
    compare_seeds.train_arms(runs, configs, args.seeds, cfg_options=args.cfg_options)

    summary = compare_seeds.summarize(runs)
    summary.update(seeds=args.seeds, configs=configs)
    if args.bootstrap:
        summary['bootstrap'] = evaluation_noise(runs, configs, args)
    md = compare_seeds.to_markdown(
        summary, f'GC vs baseline, {len(args.seeds)} seeds ({osp.basename(args.gc)})'
    )
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'summary.md'), 'w') as f:
        f.write(md)
    with open(osp.join(args.out, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    plot = compare_seeds.plot_bands(runs, osp.join(args.out, 'ap_bands.png'))
    print(md)
    print(
        f'written: {osp.join(args.out, "summary.md")}, {osp.join(args.out, "summary.json")}, {plot}'
    )
    if args.publish:
        path = write_results(args.publish, 'compare_demo', compare_results(summary, runs))
        publish_file(plot, args.publish, 'compare_ap_bands.png')
        print(f'published: {path} and the band plot beside it')


if __name__ == '__main__':
    run_cli(main)
