# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""--resume is exact whatever the data loader does: a run resumed from the
epoch-1 checkpoint ends bit-identical to an uninterrupted one with
num_workers 0, 2 and 2 persistent (augmentation, RandomFlip here, runs in
the workers), and the worker settings end alike too.

Each resumed run starts from the uninterrupted run's own ``epoch_1.pth``
(what an interrupted run leaves), with its own worker setting."""

import os.path as osp

import pytest
import torch

from helpers.own_coco import make_own_coco, own_data_overrides
from helpers.synthetic import assert_ok, run, tool_cmd

pytestmark = pytest.mark.slow

CONFIG = 'configs/own_data/mask-rcnn_r18-half_fpn_gn-all_gc_own-coco.py'
WORKERS = {
    '0': ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False'],
    '2': ['train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=False'],
    '2-persistent': ['train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True'],
}


def _train(data, work_dir, workers, epochs, resume=None):
    opts = (
        own_data_overrides(data, epochs=epochs)
        + WORKERS[workers]
        + ['default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=-1']
        + ['train_cfg.val_interval=100', 'randomness.seed=0']
    )
    args = ['--work-dir', work_dir] + (['--resume', resume] if resume else [])
    proc = run(tool_cmd('train.py', CONFIG, *args, cfg_options=opts))
    assert_ok(proc)
    return torch.load(
        osp.join(work_dir, f'epoch_{epochs}.pth'), map_location='cpu', weights_only=False
    )['state_dict']


def _max_diff(a, b):
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('fruit') / 'my_fruit')
    make_own_coco(root)
    return root


@pytest.fixture(scope='module')
def finals(data, tmp_path_factory):
    """The weights after 3 epochs: uninterrupted with 0 workers and with 2
    persistent ones, and for each worker setting resumed from the epoch-1
    checkpoint of the uninterrupted 0-worker run."""
    base = tmp_path_factory.mktemp('resume')
    whole = {w: _train(data, str(base / f'whole_{w}'), w, 3) for w in ('0', '2-persistent')}
    epoch_1 = str(base / 'whole_0' / 'epoch_1.pth')
    resumed = {w: _train(data, str(base / f'resumed_{w}'), w, 3, resume=epoch_1) for w in WORKERS}
    return whole, resumed


@pytest.mark.parametrize('workers', list(WORKERS))
def test_resumed_equals_uninterrupted(finals, workers):
    whole, resumed = finals
    assert _max_diff(resumed[workers], whole['0']) == 0.0


def test_worker_count_does_not_change_the_weights(finals):
    whole, _ = finals
    assert _max_diff(whole['2-persistent'], whole['0']) == 0.0
