# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What tools/train.py and tools/test.py share: arguments, config loading,
Runner construction and one-line error reporting."""

import argparse
import json
import os
import os.path as osp
import sys
import warnings
from typing import Any, Callable, Dict, Optional, Sequence

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..datasets.checks import check_datasets, use_guarded_loading
from ..engine.optimizers import check_gc_cfg, check_gc_strategy
from ..utils.checkpoints import find_resumable_checkpoint
from ..utils.config_parts import is_type, type_name
from ..utils.errors import UserError
from ..utils.launch import leave_process_group, on_main_process, prepare_distributed
from ..utils.work_dir import check_work_dir
from .config import read_config
from .run_logs import last_checkpoint, read_scalars, val_records

__all__ = [
    'add_cfg_options',
    'add_common_args',
    'load_config',
    'build_runner',
    'run_cli',
    'format_metrics',
    'report_run',
    'check_data_first',
    'load_failure',
]


def add_cfg_options(parser: argparse.ArgumentParser, help: str = '') -> None:
    """``--cfg-options key=value ...``, parsed as mmengine's tools do."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=help or 'override config keys, e.g. optim_wrapper.gc_cfg.layers=conv',
    )


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The flags of mmdet's train.py and test.py: --work-dir,
    --cfg-options, --launcher, --local-rank."""
    parser.add_argument(
        '--work-dir', help='where logs and checkpoints go (default: ./work_dirs/CONFIG_NAME)'
    )
    add_cfg_options(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    # torchrun passes --local-rank (older launchers --local_rank)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Any:
    """Load ``args.config`` with ``--cfg-options`` and ``--work-dir``, and
    validate gc_cfg (and a FlexibleRunner's strategy) now rather than when
    the optimizer is built."""
    if args.launcher == 'pytorch' and 'LOCAL_RANK' not in os.environ:
        # torch.distributed.launch passes --local-rank instead; Slurm's and
        # MPI's local rank is read from their own variables when launching
        os.environ['LOCAL_RANK'] = str(args.local_rank)

    cfg = read_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    check_work_dir(cfg.work_dir, args.config)
    ow = cfg.get('optim_wrapper') or {}
    constructor = ow.get('constructor')
    with_gc = is_type(constructor, 'GCOptimWrapperConstructor')
    if 'gc_cfg' in ow and not with_gc:
        raise UserError(_gc_cfg_without_gc(args.config, constructor))
    if with_gc or 'gc_cfg' in ow:
        try:
            check_gc_cfg(ow.get('gc_cfg'))
            if not is_type(cfg.get('runner_type', 'Runner'), 'Runner'):
                check_gc_strategy(cfg.get('strategy'))
        except (TypeError, ValueError) as e:
            raise UserError(str(e)) from e
    return cfg


def _gc_cfg_without_gc(config: str, constructor: Any) -> str:
    """The line for a ``gc_cfg`` that no constructor would read."""
    if constructor is None:
        return (
            f"{config}: optim_wrapper has gc_cfg but no constructor, and mmengine's default "
            "constructor knows no gc_cfg: set optim_wrapper.constructor='GCOptimWrapperConstructor' "
            '(on the command line: --cfg-options '
            'optim_wrapper.constructor=GCOptimWrapperConstructor)'
        )
    name = type_name(constructor)
    return (
        f'{config}: optim_wrapper has gc_cfg but constructor={name!r}, which '
        "knows no gc_cfg: set constructor='GCOptimWrapperConstructor' and "
        f'gc_cfg.base_constructor={name!r}'
    )


def build_runner(cfg: Any, launcher: str) -> Any:
    """An mmengine Runner (or the config's ``runner_type``) for ``cfg``."""
    prepare_distributed(cfg, launcher)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def check_data_first(
    cfg: Any,
    launcher: str,
    loaders: Sequence[str] = ('train_dataloader', 'val_dataloader'),
    evaluators: Sequence[str] = ('val_evaluator',),
) -> Optional[str]:
    """Check the config's data before the Runner is built, on rank 0 only
    under a distributed launch (the others wait for its verdict), and guard
    image loading for what no check can foresee.

    Returns:
        str: the skipped-samples list when ``data_check.on_load_error='skip'``.
    """
    skip_log = use_guarded_loading(cfg)
    prepare_distributed(cfg, launcher)  # the process group, for the verdict
    on_main_process(lambda: check_datasets(cfg, loaders, evaluators))
    return skip_log


def load_failure(runner: Any, error: Exception, testing: bool = False) -> str:
    """The one line for an image that failed to load mid-run: which file,
    after which iteration, and how to go on."""
    what = error.describe() if hasattr(error, 'describe') else str(error)
    if testing:
        return (
            f'testing stopped: image {what}; fix or remove that image (the data check '
            'passed before: it changed or became unreadable since)'
        )

    ckpt, _ = find_resumable_checkpoint(runner.work_dir)
    resume = (
        f'then continue from {ckpt} with --resume'
        if ckpt
        else 'then start again (no checkpoint was saved yet)'
    )
    return (
        f'training stopped after iteration {runner.iter} (epoch {runner.epoch + 1}): '
        f'image {what}; fix or remove that image, {resume}; or set '
        "data_check=dict(on_load_error='skip') to skip such samples"
    )


def run_cli(main: Callable[[], None]) -> None:
    """Run ``main``; report :class:`UserError` (and config errors raised while
    building) as one line on stderr with exit status 2 (a line per fault when
    it lists several). Under a distributed launch, every rank leaves the
    process group before it exits (:func:`~gc_mmdet.utils.launch.leave_process_group`)."""
    try:
        with warnings.catch_warnings():
            # mmengine imports pkg_resources when it looks up configs, which
            # warns on every run of a tool; only the tool's run is quietened
            warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
            main()
    except UserError as e:
        for line in str(e).splitlines() or ['']:  # several faults: one line each
            print(f'error: {line}', file=sys.stderr)
        sys.exit(2)
    # after a success only: a rank that failed alone would wait at the barrier
    leave_process_group()


def format_metrics(metrics: Dict[str, float]) -> str:
    """COCO metrics as a small table: one row per task, AP columns."""
    cols = ['mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l']
    lines = ['| task | ' + ' | '.join(cols) + ' |', '|' + '---|' * (len(cols) + 1)]
    for task in ('bbox', 'segm'):
        keys = [f'coco/{task}_{c}' for c in cols]
        if any(k in metrics for k in keys):
            lines.append(
                f'| {task} | '
                + ' | '.join(f'{metrics[k]:.3f}' if k in metrics else '-' for k in keys)
                + ' |'
            )
    if len(lines) == 2:  # mmdet's CocoMetric returns nothing for empty predictions
        return (
            'no COCO AP: the model predicted nothing above its score threshold '
            '(model.test_cfg.rcnn.score_thr); an untrained model often does'
        )
    return '\n'.join(lines)


def report_run(runner: Any) -> str:
    """Where a finished training run left its checkpoint, logs and metrics;
    the last evaluation is also written to ``WORK_DIR/metrics.json``."""
    lines = [f'checkpoint: {last_checkpoint(runner.work_dir)}', f'logs: {runner.log_dir}']
    evaluations = val_records(read_scalars(runner.work_dir))
    if evaluations:
        metrics = {k: v for k, v in evaluations[-1].items() if k.startswith('coco/')}
        lines = [format_metrics(metrics)] + lines + [f'metrics: {write_metrics(runner, metrics)}']
    return '\n'.join(lines)


def write_metrics(runner: Any, metrics: dict) -> str:
    """Write ``metrics`` to ``WORK_DIR/metrics.json``; return its path."""
    path = osp.join(runner.work_dir, 'metrics.json')
    with open(path, 'w') as f:
        json.dump(metrics, f, indent=2)
    return path
