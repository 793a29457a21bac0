# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Train a detector, with or without Gradient Centralization: the training
command of an installed package (tools/train.py of a checkout runs the same).

    python -m gc_mmdet.cli.train configs/mask_rcnn_r50_gc.py
    python -m gc_mmdet.cli.train CONFIG --work-dir DIR --amp --auto-scale-lr \
        --resume [CKPT] --eval-backend faster --cfg-options key=value ... --launcher pytorch

The flags are those of mmdet's tools/train.py; on a machine without a GPU a
distributed launch falls back to gloo (see gc_mmdet.utils.launch).
"""

import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.dist import is_main_process

from ..evaluation import with_eval_backend
from ..evaluation.backends import EVAL_BACKENDS
from ..utils import (
    SampleLoadError,
    UserError,
    check_pretrained_available,
    checkpoint_mismatch,
    checkpoint_problem,
    find_resumable_checkpoint,
    preempted_checkpoint,
    use_preemption_hook,
    use_safe_checkpoints,
)
from ..utils.launch import on_main_process, restart_count
from .common import (
    add_common_args,
    build_runner,
    check_data_first,
    load_config,
    load_failure,
    report_run,
    run_cli,
)

__all__ = ['apply_flags', 'apply_resume', 'main', 'parse_args']


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or without a value from the latest checkpoint in the work dir',
    )
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision (AmpOptimWrapper)'
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale lr by total batch size / auto_scale_lr.base_batch_size',
    )
    parser.add_argument(
        '--eval-backend',
        choices=EVAL_BACKENDS,
        help='COCO evaluator of the validations: every CocoMetric of '
        'val_evaluator and test_evaluator becomes a BackendCocoMetric with '
        'this eval_backend ("faster": faster-coco-eval, same numbers)',
    )
    parser.add_argument(
        '--no-pretrained-check',
        action='store_true',
        help='skip the offline check of pretrained checkpoints',
    )
    add_common_args(parser)
    return parser.parse_args(argv)


def apply_flags(cfg, args: argparse.Namespace) -> None:
    """--amp, --auto-scale-lr and --eval-backend, as mmdet's train.py."""
    if args.amp:
        if not torch.cuda.is_available():
            raise UserError(
                "--amp needs a CUDA GPU (mmengine's AmpOptimWrapper refuses to run without one)"
            )
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise UserError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.eval_backend:
        for key in ('val_evaluator', 'test_evaluator'):
            if cfg.get(key):
                cfg[key] = with_eval_backend(
                    cfg[key], args.eval_backend, key=key, option='--eval-backend'
                )


def apply_resume(cfg, resume) -> None:
    """--resume CKPT, or --resume alone: the checkpoint last_checkpoint names,
    or the newest complete one. A run restarted by torchrun (MAX_RESTARTS) or
    requeued by Slurm resumes as with --resume alone once the work dir holds
    a checkpoint, with or without the flag; so does a run preempted before
    (PreemptionHook's preempted.json)."""
    if resume is None and preempted_checkpoint(cfg.work_dir):
        resume = 'auto'
    if restart_count() and find_resumable_checkpoint(cfg.work_dir)[0]:
        resume = 'auto'
    if resume == 'auto':
        ckpt, note = find_resumable_checkpoint(cfg.work_dir)
        # before the process group exists: the launcher's RANK says who prints
        if note and int(os.environ.get('RANK', '0')) == 0:
            print(f'warning: {note}', file=sys.stderr)
        cfg.resume, cfg.load_from = True, ckpt
    elif resume is not None:
        problem = checkpoint_problem(resume)
        if problem:
            raise UserError(f'--resume {resume}: {problem}')
        cfg.resume, cfg.load_from = True, resume


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)
    apply_flags(cfg, args)
    use_safe_checkpoints(cfg)  # a kill during a save never leaves a broken checkpoint
    use_preemption_hook(cfg)  # a preemption notice saves; a mid-epoch checkpoint resumes exactly
    apply_resume(cfg, args.resume)
    if not args.no_pretrained_check and not cfg.get('resume'):
        check_pretrained_available(cfg)

    skip_log = check_data_first(cfg, args.launcher)
    skipped_before = _count_lines(skip_log)
    runner = build_runner(cfg, args.launcher)
    if cfg.get('resume') and cfg.get('load_from'):
        on_main_process(lambda: _fits(runner.model, cfg.load_from))
    try:
        runner.train()
    except SampleLoadError as e:
        raise UserError(load_failure(runner, e)) from None
    if is_main_process():
        print(report_run(runner))
        skipped = _count_lines(skip_log) - skipped_before
        if skipped:
            print(
                f'warning: skipped {skipped} training samples whose image failed to load '
                f"(data_check.on_load_error='skip'); listed in {skip_log}",
                file=sys.stderr,
            )


def _fits(model, path: str) -> None:
    problem = checkpoint_mismatch(model, path)
    if problem:
        raise UserError(
            f'--resume {path}: {problem}; resume a checkpoint of this config, or start '
            'from it with --cfg-options load_from=... (weights only)'
        )


def _count_lines(path) -> int:
    if not path or not osp.isfile(path):
        return 0
    with open(path) as f:
        return sum(1 for _ in f)


if __name__ == '__main__':
    run_cli(main)
