#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC against its baseline over several training seeds (`make compare`): the
package's command (``python -m gc_mmdet.cli.compare_seeds``, which an
installed package runs without this checkout) on the demo pair by default,
plus --publish.

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

from gc_mmdet.cli import compare_seeds
from gc_mmdet.cli.common import run_cli
from gc_mmdet.utils import check_output_files
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
    parser = compare_seeds.build_parser(DEMO_BASELINE, DEMO_GC)
    parser.add_argument(
        '--publish', metavar='DIR', help='also write DIR/compare_demo.json and the band plot'
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.publish:
        check_committed(args.publish)  # before hours of training, not after
        check_output_files(
            args.publish, COMPARE_FILES, 'compare_demo.json', OWNER_KEYS, '--publish'
        )
    summary, runs, plot = compare_seeds.compare(args)
    if args.publish:
        path = write_results(args.publish, 'compare_demo', compare_results(summary, runs))
        publish_file(plot, args.publish, 'compare_ap_bands.png')
        print(f'published: {path} and the band plot beside it')


if __name__ == '__main__':
    run_cli(main)
