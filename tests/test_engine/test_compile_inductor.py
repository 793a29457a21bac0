# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC under mmengine's ``compile=True`` (torch.compile of ``train_step``
with inductor, the default backend): the compiled run keeps every covered
weight's channel means and ends on the eager run's weights up to inductor's
reordered float sums. A small model, since inductor compiled the demo
detector for about 5 minutes on this CPU."""

import pytest
import torch
from torch import nn

import gc_mmdet.engine.optimizers  # noqa: F401  (registers the constructor)
from gc_mmdet.core import channel_mean, select_targets
from helpers.toy_runner import Regressor, toy_dataset, toy_loader, toy_runner

pytestmark = pytest.mark.slow  # inductor compiles C++ kernels

ITERS = 6


class SmallNet(Regressor):
    """conv, BN, transposed conv and linear: every layout GC handles."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.fc = nn.Linear(4, 2)

    def body(self, x):
        x = self.up(torch.relu(self.bn(self.conv(x)))).mean((2, 3))
        return self.fc(torch.relu(x))


def _train(work_dir, name, compile_cfg):
    torch.manual_seed(0)
    model = SmallNet()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    runner = toy_runner(
        work_dir / name,
        f'compile_{name}',
        model,
        toy_loader(toy_dataset(12, (3, 8, 8), (2,))),
        optim_wrapper=dict(
            constructor='GCOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-3),
        ),
        train_cfg=dict(by_epoch=False, max_iters=ITERS),
        cfg=dict(compile=compile_cfg),
    )
    runner.train()
    after = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    return model, before, after


def test_inductor_keeps_channel_means_and_eager_weights(tmp_path):
    torch._dynamo.reset()
    model, before, eager = _train(tmp_path, 'eager', None)
    _, _, compiled = _train(tmp_path, 'inductor', True)  # compile=True: inductor
    targets = select_targets(model, list(model.parameters())).targets
    assert [t.name for t in targets] == ['conv.weight', 'up.weight', 'fc.weight']
    scale = max(v.abs().max().item() for v in eager.values() if v.is_floating_point())
    for t in targets:
        w0, w1 = before[t.name], compiled[t.name]
        assert not torch.equal(w0, w1), t.name  # it trained
        drift = (channel_mean(w1, t.layout) - channel_mean(w0, t.layout)).abs().max().item()
        assert drift <= 1e-6, (t.name, drift)
    for k, v in eager.items():
        if v.is_floating_point():
            assert (compiled[k] - v).abs().max().item() <= 1e-4 * scale, k
