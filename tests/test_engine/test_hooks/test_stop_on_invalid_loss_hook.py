"""StopOnInvalidLossHook: a real Runner stops at the first NaN/inf loss it
checks, with one line naming the iteration and the losses."""

import pytest
import torch
from mmdet.registry import HOOKS
from mmengine.registry import DefaultScope

from gc_mmdet.engine import StopOnInvalidLossHook, TrainingDiverged
from helpers.toy_runner import Regressor, toy_dataset, toy_loader, toy_runner


class DivergesAt(Regressor):
    """Its loss turns NaN from iteration ``at`` (1-based) on."""

    def __init__(self, at: int):
        super().__init__()
        self.lin, self.at, self.calls = torch.nn.Linear(4, 1), at, 0

    def body(self, x):
        return self.lin(x).squeeze(-1)

    def forward(self, inputs, labels=None, mode='loss'):
        out = super().forward(inputs, labels, mode)
        if mode == 'loss':
            self.calls += 1
            if self.calls >= self.at:
                out['loss'] = out['loss'] * float('nan')
        return out


def _train(tmp_path, at, interval=1, iters=6):
    runner = toy_runner(
        tmp_path,
        f'stop_{at}_{interval}',
        DivergesAt(at),
        toy_loader(toy_dataset(12, (4,))),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        custom_hooks=[StopOnInvalidLossHook(interval=interval)],
    )
    runner.train()
    return runner


@pytest.mark.parametrize('interval,stops_at', [(1, 3), (2, 4)])
def test_stops_at_the_first_checked_invalid_loss(tmp_path, interval, stops_at):
    with pytest.raises(TrainingDiverged) as err:
        _train(tmp_path, at=3, interval=interval)
    message = str(err.value)
    assert f'training diverged at iteration {stops_at} ' in message
    assert 'loss=nan' in message and str(tmp_path) in message
    assert '\n' not in message


def test_a_finite_run_trains_to_the_end(tmp_path):
    assert _train(tmp_path, at=100, iters=4).iter == 4


def test_registered_where_mmdet_configs_find_it():
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert isinstance(HOOKS.build(dict(type='StopOnInvalidLossHook')), StopOnInvalidLossHook)
