# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC handed to DeepSpeed (``deepspeed.initialize``, as mmengine's
DeepSpeedStrategy does) on 2 gloo CPU ranks: with ZeRO stage 0 GC is in
effect (every channel mean kept, where the same run without GC drifts);
stages 1 and 2, which step flattened partitions,
stop at the first step with GC's one line instead of training without GC
(tests/helpers/deepspeed_worker.py). Needs the DeepSpeed test extra
(``make test`` installs it: tools/setup/test_extra.sh deepspeed)."""

import os.path as osp

import pytest
import torch
import torch.multiprocessing as mp

from helpers.deepspeed_worker import DEEPSPEED_LIB, TORCH_EXTENSIONS, run

pytestmark = [
    pytest.mark.slow,  # 2 processes per test
    pytest.mark.skipif(
        not osp.isfile(osp.join(DEEPSPEED_LIB, '.complete')),
        reason='the DeepSpeed test extra is not installed: bash tools/setup/test_extra.sh deepspeed',
    ),
]


def _launch(tmp_path, stage, gc=True):
    out = str(tmp_path / f'stage{stage}_{gc}.pth')
    init = str(tmp_path / f'init{stage}_{gc}')
    mp.spawn(run, args=(2, init, out, stage, gc), nprocs=2, join=True)
    return torch.load(out)


def _worst_drift(result):
    """The largest change of a conv / fc weight's channel mean, relative to
    the weight's largest entry."""
    worst = 0.0
    for name in ('conv.weight', 'mask.weight', 'fc.weight'):
        w0, w1 = result['initial'][name], result['final'][name]
        assert not torch.equal(w0, w1), name
        drift = (w1.flatten(1).mean(1) - w0.flatten(1).mean(1)).abs().max() / w0.abs().max()
        worst = max(worst, drift.item())
    return worst


def test_the_extra_carries_its_built_shared_memory_op():
    """Built by the setup of the extra, not by the first test run (a minute)."""
    op = osp.join(TORCH_EXTENSIONS, 'deepspeed_shm_comm', 'deepspeed_shm_comm.so')
    assert osp.isfile(op), 'bash tools/setup/test_extra.sh deepspeed builds it'


def test_zero_stage_0_keeps_gc_in_effect(tmp_path):
    result = _launch(tmp_path, 0)
    assert 'error' not in result, result.get('error')
    assert _worst_drift(result) <= 1e-6
    assert _worst_drift(_launch(tmp_path, 0, gc=False)) > 1e-4  # the check can fail


@pytest.mark.parametrize('stage', [1, 2])
def test_zero_stages_1_and_2_stop_in_one_line(tmp_path, stage):
    result = _launch(tmp_path, stage)
    error = result.get('error', '')
    assert 'now steps 1 other tensor(s)' in error and 'DeepSpeed ZeRO' in error, result.keys()
    assert '\n' not in error
