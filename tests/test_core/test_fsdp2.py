# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC under FSDP2 (``fully_shard``) on 2 gloo CPU ranks equals GC on one
process over the same global batch: SGD (momentum, weight decay,
``location='grad'``) and AdamW (``location='update'``), with an uneven split,
a rank holding no row of a weight and a transposed convolution whose channels
span the sharded dim; other placements and ``fully_shard`` after ``attach``
are refused with one line (tests/helpers/fsdp2_worker.py)."""

import pytest
import torch
import torch.multiprocessing as mp

import gc_mmdet
from gc_mmdet.core import channel_mean
from helpers.fsdp2_worker import OPTIMIZERS, Net, run, train

try:
    from torch.distributed.fsdp import fully_shard  # noqa: F401
except ImportError:
    fully_shard = None

pytestmark = [
    pytest.mark.slow,  # 2 processes per test
    pytest.mark.skipif(
        fully_shard is None,
        reason=f'torch {torch.__version__} has no FSDP2 (torch.distributed.fsdp.fully_shard, 2.6+)',
    ),
]


def _launch(tmp_path, case):
    out = str(tmp_path / f'{case}.pth')
    mp.spawn(run, args=(2, str(tmp_path / f'init_{case}'), out, case), nprocs=2, join=True)
    return torch.load(out)


def _one_process(name, initial, gc=True):
    torch.manual_seed(0)
    model = Net()
    model.load_state_dict(initial)
    make_optimizer, location = OPTIMIZERS[name]
    optimizer = make_optimizer(model.parameters())
    handle = gc_mmdet.attach(optimizer, model, location=location) if gc else None
    train(model, optimizer, 3)
    return model.state_dict(), handle


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize('name', sorted(OPTIMIZERS))
def test_fsdp2_gc_equals_one_process(tmp_path, name):
    sharded = _launch(tmp_path, name)
    reference, handle = _one_process(name, sharded['initial'])
    for k, v in reference.items():
        assert _rel(sharded['final'][k], v) <= 1e-6, k
    for t in handle.targets:  # GC was in effect: every channel mean kept, the weights moved
        w0, w1 = sharded['initial'][t.name], sharded['final'][t.name]
        assert not torch.equal(w0, w1), t.name
        drift = (channel_mean(w1, t.layout) - channel_mean(w0, t.layout)).abs().max()
        assert drift <= 1e-6 * w0.abs().max(), t.name
    assert {t.kind for t in handle.targets} == {'conv', 'conv_transpose', 'linear'}


def test_fsdp2_without_gc_differs_from_gc(tmp_path):
    """The comparison can fail: FSDP2 without GC ends elsewhere than GC."""
    plain = _launch(tmp_path, 'sgd-nogc')
    reference, _ = _one_process('sgd', plain['initial'])
    assert _rel(plain['final']['up.weight'], reference['up.weight']) > 1e-3


def test_another_placement_is_refused_in_one_line(tmp_path):
    result = _launch(tmp_path, 'sgd-shard1')
    assert (
        "cannot act on parameter 'mask.weight': it is sharded as (Shard(dim=1),)" in result['error']
    )
    assert '\n' not in result['error']


def test_fully_shard_after_attach_is_refused(tmp_path):
    result = _launch(tmp_path, 'sgd-late')
    assert "attached to 'conv.weight'" in result['error'] and 'fully_shard' in result['error']
