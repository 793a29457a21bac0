"""GC on mmdet's real Mask R-CNN R50-FPN, built from mmdet's own config."""

import pytest
import torch
from mmengine.hub import get_config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

import gc_mmdet  # noqa: F401
from gc_mmdet.engine.optimizers import gc_handle_of


@pytest.fixture(scope='module')
def mask_rcnn():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = get_config('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    cfg.model.backbone.init_cfg = None
    return cfg, MODELS.build(cfg.model)


def _expected(model, layers):
    kinds = {'conv': 0, 'conv_transpose': 0, 'linear': 0}
    for m in model.modules():
        w = getattr(m, 'weight', None)
        if w is None or not w.requires_grad:
            continue
        if isinstance(m, nn.modules.conv._ConvNd):
            kinds['conv_transpose' if m.transposed else 'conv'] += 1
        elif isinstance(m, nn.Linear) and layers == 'conv_fc':
            kinds['linear'] += 1
    return kinds


def test_constructor_visible_from_mmdet_scope():
    from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS

    assert (
        OPTIM_WRAPPER_CONSTRUCTORS.get('GCOptimWrapperConstructor')
        is gc_mmdet.GCOptimWrapperConstructor
    )


@pytest.mark.parametrize('layers', ['conv_fc', 'conv'])
def test_mask_rcnn_targets_and_summary(mask_rcnn, layers):
    cfg, model = mask_rcnn
    ow_cfg = dict(
        cfg.optim_wrapper, constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers=layers)
    )
    with DefaultScope.overwrite_default_scope('mmdet'):
        ow = build_optim_wrapper(model, ow_cfg)
    got = {k: 0 for k in ('conv', 'conv_transpose', 'linear')}
    for t in gc_handle_of(ow).targets:
        got[t.kind] += 1
    assert got == _expected(model, layers)
    # R50-FPN Mask R-CNN: 53 backbone convs less the 11 of the frozen stem and
    # layer1, 8 FPN, 3 RPN, 5 mask-head convs + its deconv, 2 shared fcs + 2
    # box predictors
    if layers == 'conv_fc':
        assert got == {'conv': 42 + 8 + 3 + 5, 'conv_transpose': 1, 'linear': 4}
    summary = gc_handle_of(ow).summary()
    assert 'frozen' in summary and 'bias or norm (1-D)' in summary
    assert 'not a known layer' not in summary  # every >= 2-D weight is a known layer
    print(summary)


def test_mask_rcnn_gc_step_changes_training(mask_rcnn):
    """One GC step on a real mmdet weight leaves its channel means as they
    were (SGD with momentum and weight decay, the table configs' optimizer)."""
    cfg, model = mask_rcnn
    with DefaultScope.overwrite_default_scope('mmdet'):
        ow = build_optim_wrapper(
            model, dict(cfg.optim_wrapper, constructor='GCOptimWrapperConstructor')
        )
    head = model.roi_head.bbox_head.shared_fcs[0]
    upsample = model.roi_head.mask_head.upsample
    w0 = head.weight.detach().clone()
    u0 = upsample.weight.detach().clone()
    torch.manual_seed(0)
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.randn_like(p)
    ow.step()
    assert not torch.equal(head.weight, w0)
    torch.testing.assert_close(head.weight.mean(1), w0.mean(1), rtol=0, atol=1e-7)
    # the transposed conv keeps per-OUTPUT-channel means (dims 0, 2, 3)
    torch.testing.assert_close(
        upsample.weight.mean((0, 2, 3)), u0.mean((0, 2, 3)), rtol=0, atol=1e-7
    )
