#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What a finished demo run learned: its AP table and two pictures.

    python tools/demo_report.py CONFIG WORK_DIR [--num-images 4] [--cfg-options ...]

Prints the last evaluation's COCO AP table (box and mask) and writes
WORK_DIR/ap_curve.png (AP over training iterations) and
WORK_DIR/predictions.png (val images: ground truth left, the trained
detector's masks, boxes and scores right), then prints their paths.
`make demo` runs it after training.
"""

import argparse
import os.path as osp

from gc_mmdet.cli.common import run_cli


def main(argv=None) -> None:
    from mmengine.config import DictAction

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
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='the same overrides the run was trained with',
    )
    args = parser.parse_args(argv)

    from gc_mmdet.cli.common import format_metrics
    from gc_mmdet.cli.run_logs import last_checkpoint, read_scalars, val_records
    from gc_mmdet.cli.visualize import draw_predictions, plot_ap_curve
    from gc_mmdet.utils import UserError

    ckpt = last_checkpoint(args.work_dir)
    evaluations = val_records(read_scalars(args.work_dir))
    if not ckpt or not osp.isfile(ckpt) or not evaluations:
        raise UserError(
            f'{args.work_dir}: no finished run (checkpoint and evaluation) '
            'to report; train first, e.g. make demo'
        )
    print(format_metrics(evaluations[-1]))
    curve = plot_ap_curve(args.work_dir, osp.join(args.work_dir, 'ap_curve.png'))
    preds = draw_predictions(
        args.config,
        ckpt,
        osp.join(args.work_dir, 'predictions.png'),
        num_images=args.num_images,
        score_thr=args.score_thr,
        cfg_options=args.cfg_options,
    )
    print(f'AP curve: {curve}')
    print(f'predictions: {preds}')


if __name__ == '__main__':
    run_cli(main)
