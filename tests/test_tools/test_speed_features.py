# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC with the speed features mmengine offers, on the demo config through
tools/train.py: gradient accumulation (``accumulative_counts``) and
``torch.compile`` of the train step with the eager backend. Each run keeps
every covered weight's channel means (``gc_coverage.py --verify``); the
eager backend ends on the weights of eager mode."""

import os.path as osp

import pytest
import torch

from helpers.synthetic import assert_ok, run, tiny_overrides, tool_cmd

pytestmark = pytest.mark.slow  # trains the demo model

DEMO = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'
FEATURES = {
    'plain': [],
    'accumulate': ['optim_wrapper.accumulative_counts=2'],
    'compile-eager': ['compile.backend=eager'],
}


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Each feature's 2-epoch run of the demo config: 4 images, 1 iteration
    per epoch (dynamo traces each new shape again, so every iteration of the
    compiled run costs seconds), no evaluation."""
    data_root = str(tmp_path_factory.mktemp('speed_data'))
    out = {}
    for name, extra in FEATURES.items():
        work_dir = str(tmp_path_factory.mktemp(name))
        opts = tiny_overrides(data_root, num_train=4) + [
            'randomness.seed=0',
            'default_hooks.checkpoint.interval=1',
            'train_cfg.val_interval=10',
        ]
        opts += extra
        assert_ok(run(tool_cmd('train.py', DEMO, '--work-dir', work_dir, cfg_options=opts)))
        out[name] = work_dir
    return out


def _weights(work_dir, epoch):
    ckpt = torch.load(osp.join(work_dir, f'epoch_{epoch}.pth'), map_location='cpu')
    return ckpt['state_dict']


@pytest.mark.parametrize('name', ['accumulate', 'compile-eager'])
def test_gc_keeps_channel_means_with(runs, name):
    wd = runs[name]
    proc = run(
        tool_cmd(
            'gc_coverage.py', DEMO, '--verify', *(osp.join(wd, f'epoch_{e}.pth') for e in (1, 2))
        )
    )
    assert_ok(proc)
    assert 'GC constraint holds on all' in proc.stdout


def test_compile_eager_equals_eager_mode(runs):
    plain, compiled = _weights(runs['plain'], 2), _weights(runs['compile-eager'], 2)
    assert plain.keys() == compiled.keys()
    for k in plain:
        torch.testing.assert_close(compiled[k], plain[k], rtol=0, atol=1e-6, msg=k)


def test_accumulation_steps_half_as_often(runs):
    """Accumulating 2 iterations steps the optimizer half as often (once,
    here): its weights differ from the plain run (the comparison above can
    fail)."""
    plain, accumulated = _weights(runs['plain'], 2), _weights(runs['accumulate'], 2)
    assert not torch.equal(plain['backbone.conv1.weight'], accumulated['backbone.conv1.weight'])
