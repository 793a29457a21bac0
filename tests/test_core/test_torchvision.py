# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The torch-only core on torchvision's Mask R-CNN R50-FPN (docs/torchvision.md):
GC covers every convolution, transposed convolution and linear weight, and
two SGD steps (momentum, weight decay) keep each one's channel means."""

import pytest
import torch
from torch import nn

import gc_mmdet
from gc_mmdet.core import channel_mean

torchvision = pytest.importorskip('torchvision')

pytestmark = pytest.mark.slow  # trains a Mask R-CNN R50-FPN for two steps


def _targets():
    boxes = torch.tensor([[10.0, 12.0, 60.0, 70.0], [30.0, 5.0, 90.0, 40.0]])
    masks = torch.zeros(2, 96, 96, dtype=torch.uint8)
    masks[0, 12:70, 10:60] = 1
    masks[1, 5:40, 30:90] = 1
    return [dict(boxes=boxes, labels=torch.tensor([1, 2]), masks=masks)]


def test_gc_on_torchvision_mask_rcnn():
    torch.manual_seed(0)
    model = torchvision.models.detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=3, min_size=96, max_size=96
    )
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    handle = gc_mmdet.attach(opt, model)
    layers = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    expected = {
        f'{name}.weight'
        for name, m in model.named_modules()
        if isinstance(m, layers) and m.weight.requires_grad
    }
    assert {t.name for t in handle.targets} == expected and len(expected) >= 70
    before = {t.name: t.param.detach().clone() for t in handle.targets}
    image = [torch.rand(3, 96, 96, generator=torch.Generator().manual_seed(1))]
    for _ in range(2):
        opt.zero_grad()
        sum(model(image, _targets()).values()).backward()
        opt.step()
    for t in handle.targets:
        w0, w1 = before[t.name], t.param.detach()
        drift = (channel_mean(w1, t.layout) - channel_mean(w0, t.layout)).abs().max()
        assert drift <= 1e-6 * w0.abs().max().clamp_min(1e-12), t.name
    assert sum(not torch.equal(before[t.name], t.param) for t in handle.targets) > 0.9 * len(
        expected
    )
