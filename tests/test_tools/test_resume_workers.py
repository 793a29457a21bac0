# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""--resume is exact whatever the data loader does: a run resumed from the
epoch-1 checkpoint ends bit-identical to an uninterrupted one with
num_workers 0, 2 and 2 persistent (augmentation, RandomFlip here, runs in
the workers), and the three worker settings end alike too."""

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


def _train(data, work_dir, workers, epochs, resume=False):
    opts = (
        own_data_overrides(data, epochs=epochs)
        + WORKERS[workers]
        + ['default_hooks.checkpoint.interval=1', 'train_cfg.val_interval=100', 'randomness.seed=0']
    )
    args = ['--work-dir', work_dir] + (['--resume'] if resume else [])
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
    """For each worker setting: the weights after 3 epochs, uninterrupted and
    resumed from epoch 1."""
    out = {}
    for workers in WORKERS:
        base = tmp_path_factory.mktemp(f'w{workers}')
        whole = _train(data, str(base / 'whole'), workers, 3)
        _train(data, str(base / 'resumed'), workers, 1)
        resumed = _train(data, str(base / 'resumed'), workers, 3, resume=True)
        out[workers] = whole, resumed
    return out


@pytest.mark.parametrize('workers', list(WORKERS))
def test_resumed_equals_uninterrupted(finals, workers):
    whole, resumed = finals[workers]
    assert _max_diff(whole, resumed) == 0.0


def test_worker_count_does_not_change_the_weights(finals):
    reference = finals['0'][0]
    for workers in ('2', '2-persistent'):
        assert _max_diff(finals[workers][0], reference) == 0.0, workers
