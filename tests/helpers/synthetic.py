"""Command lines for short runs of the synthetic configs in tests."""

import importlib.util
import os
import os.path as osp
import subprocess
import sys
import textwrap
from types import ModuleType
from typing import List, Optional

from .warm_python import warm_run

#: the repository root (this file is tests/helpers/synthetic.py)
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GC_CONFIG = 'configs/synthetic/mask-rcnn_r50_fpn_gc_synthetic.py'
BASELINE_CONFIG = 'configs/synthetic/mask-rcnn_r50_fpn_synthetic.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def data_root_overrides(data_root: str) -> List[str]:
    """--cfg-options pointing every loader and evaluator of a config at the
    COCO layout under ``data_root``."""
    data_root = data_root.rstrip('/') + '/'
    return [f'{loader}.dataset.data_root={data_root}' for loader in LOADERS] + [
        f'{ev}.ann_file={data_root}annotations/instances_val.json'
        for ev in ('val_evaluator', 'test_evaluator')
    ]


def tiny_overrides(
    data_root: str, epochs: int = 2, num_train: int = 8, num_val: int = 4, size: int = 128
) -> List[str]:
    """--cfg-options that shrink the synthetic config to a seconds-long run
    on its own data set (nothing else changes)."""
    opts = data_root_overrides(data_root) + [
        f'train_cfg.max_epochs={epochs}',
        'default_hooks.logger.interval=1',
        'param_scheduler.0.end=2',  # a warm-up as short as the run
        'log_processor.window_size=1',  # log each iteration's own loss
        f'param_scheduler.1.end={epochs}',
        f'param_scheduler.1.milestones=[{epochs}]',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
    ]
    return opts + synthetic_overrides(num_train, num_val, size)


def synthetic_overrides(num_train: int = 8, num_val: int = 4, size: int = 128) -> List[str]:
    """--cfg-options giving every loader the same synthetic data set: a loader
    whose set differs from the others' makes each of them generate its own
    again into the shared data root (the data check and each dataset, every
    run)."""
    opts = []
    for loader in LOADERS:
        opts += [
            f'{loader}.dataset.synthetic.num_train={num_train}',
            f'{loader}.dataset.synthetic.num_val={num_val}',
            f'{loader}.dataset.synthetic.size={size}',
        ]
    return opts + [
        f'train_dataloader.dataset.pipeline.2.scale=({size},{size})',
        f'val_dataloader.dataset.pipeline.1.scale=({size},{size})',
        f'test_dataloader.dataset.pipeline.1.scale=({size},{size})',
    ]


def tool_cmd(tool: str, *args: str, cfg_options: Optional[List[str]] = None) -> List[str]:
    cmd = [sys.executable, osp.join(ROOT, 'tools', tool), *args]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    return cmd


def run(cmd: List[str], timeout: int = 600, **kwargs) -> subprocess.CompletedProcess:
    """``python tools/X.py ...`` (or any command) from the repository root,
    output captured as text; a Python script in the test session's own
    environment runs in a fork of the warm interpreter (helpers.warm_python:
    the same process a fresh one would be, less the imports)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    if set(kwargs) <= {'input'}:
        proc = warm_run(cmd, env, ROOT, timeout, kwargs.get('input'))
        if proc is not None:
            return proc
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, **kwargs
    )


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    """Fail with the end of the process's stderr unless it exited 0."""
    assert proc.returncode == 0, proc.stderr[-3000:]


def load_script(path: str) -> ModuleType:
    """A script of the repository (``tools/test.py``, ``benchmarks/...``)
    imported as a module, to call its functions."""
    name = 'script_' + osp.splitext(path)[0].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_on_synthetic(root: str, model: str, with_mask: bool = False) -> str:
    """Config lines that point an mmdet COCO config at the synthetic set
    in ``root`` for a CPU-sized run (128 px, batch 2, one epoch, no
    evaluation); ``model`` is the config's ``model = dict(...)`` override."""
    root = root.rstrip('/') + '/'
    masks = ', with_mask=True' if with_mask else ''
    return textwrap.dedent(f"""
        # the rest points it at the synthetic set for a CPU-sized run
        metainfo = dict(classes=('circle', 'square', 'triangle', 'ellipse', 'star'))
        model = {model}
        pipeline = [dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations', with_bbox=True{masks}),
                    dict(type='Resize', scale=(128, 128), keep_ratio=True),
                    dict(type='PackDetInputs')]
        train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
            dataset=dict(data_root={root!r}, metainfo=metainfo, pipeline=pipeline,
                         ann_file='annotations/instances_train.json', data_prefix=dict(img='train/')))
        train_cfg = dict(max_epochs=1, val_interval=2)
        val_dataloader = val_cfg = val_evaluator = None
        test_dataloader = test_cfg = test_evaluator = None
        param_scheduler = []
        default_hooks = dict(logger=dict(interval=1))
        """)
