#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What a finished demo run learned: its AP table and two pictures.

    python tools/demo_report.py CONFIG WORK_DIR [--num-images 4] [--publish docs/results] \
        [--band docs/results/compare_demo.json] [--check-publish] [--cfg-options ...]

Prints the last evaluation's COCO AP table (box and mask), whether it lies in
the GC arm's band over seeds of the published comparison (--band), and writes
WORK_DIR/ap_curve.png (AP over training iterations) and
WORK_DIR/predictions.png (val images: ground truth left, the trained
detector's masks, boxes and scores right), then prints their paths; the same
lines go to WORK_DIR/report.md. `make demo` runs it after training: it writes
into the run's work dir only. With --publish DIR it also writes DIR/demo.json
(metrics, AP curve, timing, machine, commit) and copies the two pictures there
as demo_ap_curve.png and demo_predictions.png; tools/render_docs.py renders
README's and docs' demo figures from them; into the checkout only from a
working tree without uncommitted changes to tracked files (--check-publish
checks just that, as `make demo-publish`, the maintainers' step, does before
training).
"""

import argparse
import json
import os.path as osp

from mmengine.config import DictAction

from gc_mmdet.cli.common import format_metrics, run_cli
from gc_mmdet.cli.compare_seeds import band_line
from gc_mmdet.cli.config import read_config
from gc_mmdet.cli.run_logs import last_checkpoint, last_evaluation
from gc_mmdet.cli.visualize import draw_predictions, plot_ap_curve
from gc_mmdet.utils import UserError, check_output_files, machine
from repo_tools.results import (
    DEMO_FILES,
    OWNER_KEYS,
    RESULTS_DIR,
    check_committed,
    demo_results,
    publish_file,
    write_results,
)

#: the first line of WORK_DIR/report.md: a report.md without it is not ours
REPORT_HEADER = '<!-- written by tools/demo_report.py; rewritten by its next run -->'


def check_report_file(path: str) -> None:
    """Refuse, before anything is written, to replace a ``report.md`` that
    this tool did not write."""
    if not osp.lexists(path):
        return
    try:
        with open(path) as f:
            ours = f.readline().rstrip('\n') == REPORT_HEADER
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        raise UserError(
            f'{path}: exists and was not written by tools/demo_report.py; nothing was changed. '
            'Move it, or report on another work dir'
        )


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Report a finished demo run')
    parser.add_argument('config')
    parser.add_argument('work_dir')
    parser.add_argument(
        '--num-images', type=int, default=4, help='val images drawn in predictions.png'
    )
    parser.add_argument(
        '--score-thr', type=float, default=0.5, help='predictions below this score are not drawn'
    )
    parser.add_argument(
        '--publish', metavar='DIR', help='also write DIR/demo.json and the two pictures'
    )
    parser.add_argument(
        '--band',
        default=osp.join(RESULTS_DIR, 'compare_demo.json'),
        help="a published comparison: say whether this run lies in its GC arm's band over seeds",
    )
    parser.add_argument(
        '--check-publish',
        action='store_true',
        help='only check that --publish may write (make demo-publish, before training), then exit',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='the same overrides the run was trained with',
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.publish:  # before anything is drawn: never over a file of the user's
        check_committed(args.publish)
        check_output_files(args.publish, DEMO_FILES, 'demo.json', OWNER_KEYS, '--publish')
    if args.check_publish:
        return
    report_file = osp.join(args.work_dir, 'report.md')
    check_report_file(report_file)
    ckpt = last_checkpoint(args.work_dir)
    if not ckpt or not osp.isfile(ckpt):
        raise UserError(
            f'{args.work_dir}: no finished run (checkpoint and evaluation) '
            'to report; train first, e.g. make demo'
        )
    final = last_evaluation(args.work_dir)
    report = [format_metrics(final)]
    if osp.isfile(args.band):
        with open(args.band) as f:
            band = band_line(final, json.load(f), args.band, machine())
        report += [band] if band else []
    print('\n'.join(report))
    curve = plot_ap_curve(args.work_dir, osp.join(args.work_dir, 'ap_curve.png'))
    preds = draw_predictions(
        args.config,
        ckpt,
        osp.join(args.work_dir, 'predictions.png'),
        num_images=args.num_images,
        score_thr=args.score_thr,
        cfg_options=args.cfg_options,
    )
    report += [f'AP curve: {curve}', f'predictions: {preds}']
    print('\n'.join(report[-2:]))
    with open(report_file, 'w') as f:
        f.write(REPORT_HEADER + '\n' + '\n\n'.join(report) + '\n')
    print(f'report: {report_file}')
    if args.publish:
        cfg = read_config(args.config, args.cfg_options)
        seed = cfg.get('randomness', {}).get('seed')
        path = write_results(args.publish, 'demo', demo_results(args.config, seed, args.work_dir))
        publish_file(curve, args.publish, 'demo_ap_curve.png')
        publish_file(preds, args.publish, 'demo_predictions.png')
        print(f'published: {path} and the two pictures beside it')


if __name__ == '__main__':
    run_cli(main)
