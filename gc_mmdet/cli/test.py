# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Evaluate a checkpoint: COCO bbox (and segm) AP through pycocotools, or
faster-coco-eval with ``--eval-backend faster``; the testing command of an
installed package (tools/test.py of a checkout runs the same).

    python -m gc_mmdet.cli.test CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
        [--show-dir DIR] [--eval-backend pycocotools|faster]
        [--cfg-options ...] [--launcher pytorch]

Prints the AP table and writes it as JSON to WORK_DIR/metrics.json.
"""

import argparse
import os.path as osp

from mmengine.dist import is_main_process

from ..evaluation import with_eval_backend
from ..evaluation.backends import EVAL_BACKENDS
from ..utils import SampleLoadError, UserError, without_pretrained
from ..utils.config_parts import add_metric
from .common import (
    add_common_args,
    build_runner,
    check_data_first,
    format_metrics,
    load_config,
    load_failure,
    run_cli,
    write_metrics,
)

__all__ = ['main', 'parse_args']


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file')
    parser.add_argument(
        '--show-dir', help='draw predictions into images under WORK_DIR/TIMESTAMP/SHOW_DIR'
    )
    parser.add_argument(
        '--eval-backend',
        choices=EVAL_BACKENDS,
        help='COCO evaluator: every CocoMetric of test_evaluator becomes '
        'a BackendCocoMetric with this eval_backend ("faster": '
        'faster-coco-eval, same numbers; default: as the config says)',
    )
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise UserError(f'checkpoint {args.checkpoint}: no such file')
    cfg = load_config(args)
    if args.eval_backend:
        cfg.test_evaluator = with_eval_backend(
            cfg.test_evaluator, args.eval_backend, option='--eval-backend'
        )
    cfg.load_from = args.checkpoint
    # no pretrained weights are needed: the checkpoint has everything
    cfg.model = without_pretrained(cfg.model)
    if args.show_dir:
        cfg.default_hooks.visualization.update(draw=True, test_out_dir=args.show_dir)
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise UserError(f'--out {args.out}: must end with .pkl or .pickle')
        cfg.test_evaluator = add_metric(
            cfg.test_evaluator, dict(type='DumpDetResults', out_file_path=args.out)
        )

    check_data_first(
        cfg, args.launcher, loaders=('test_dataloader',), evaluators=('test_evaluator',)
    )
    runner = build_runner(cfg, args.launcher)
    try:
        metrics = runner.test()
    except SampleLoadError as e:
        raise UserError(load_failure(runner, e, testing=True)) from None
    if is_main_process():
        print(format_metrics(metrics))
        print(f'metrics: {write_metrics(runner, metrics)}')


if __name__ == '__main__':
    run_cli(main)
