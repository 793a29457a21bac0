"""GCOptimWrapperConstructor keeps every behaviour of mmengine's
DefaultOptimWrapperConstructor: for each paramwise_cfg feature that
mmengine's own tests exercise, both constructors are built on the same model
and must produce the same optimizer wrapper (param groups in order, every
hyper-parameter, the same parameters) or the same error."""

import pytest
import torch
from mmcv.ops import ModulatedDeformConv2dPack
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper, build_optim_wrapper
from torch import nn

import gc_mmdet  # noqa: F401
from gc_mmdet.engine.optimizers import gc_handle_of

# its depth-wise 1x1 conv has fan-in 1, which GC skips with a warning
pytestmark = pytest.mark.filterwarnings('ignore::gc_mmdet.GCFanInOneWarning')


class SubModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, kernel_size=1, groups=2)  # depth-wise
        self.gn = nn.GroupNorm(2, 2)
        self.param1 = nn.Parameter(torch.ones(1))


class ExampleModel(nn.Module):
    """Conv, BN, depth-wise conv, GroupNorm, a deformable conv (DCN), a
    bare parameter, a shared parameter and a frozen one."""

    def __init__(self):
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = nn.Conv2d(3, 4, kernel_size=1, bias=False)
        self.conv2 = nn.Conv2d(4, 2, kernel_size=1)
        self.bn = nn.BatchNorm2d(2)
        self.sub = SubModel()
        self.dcn = ModulatedDeformConv2dPack(3, 4, kernel_size=3, deform_groups=1)
        self.fc = nn.Linear(8, 3)
        self.frozen = nn.Conv2d(3, 3, 3)
        self.frozen.requires_grad_(False)
        self.shared = self.conv2  # the same module twice


OPTIMIZER = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
PARAMWISE = [
    None,
    dict(
        bias_lr_mult=2,
        bias_decay_mult=0.5,
        norm_decay_mult=0,
        dwconv_decay_mult=0.1,
        dcn_offset_lr_mult=0.1,
        flat_decay_mult=0.3,
    ),
    dict(
        custom_keys={
            'param1': dict(lr_mult=10),
            'sub': dict(lr_mult=0.1, decay_mult=0),
            'sub.gn': dict(lr_mult=0.01),
            'non_exist_key': dict(lr_mult=0.0),
        },
        norm_decay_mult=0.5,
    ),
    dict(custom_keys={'conv1': dict(gc=False, lr_mult=0.5), 'fc': dict(gc=True)}),
    dict(bypass_duplicate=True),
    dict(bias_lr_mult=2, bypass_duplicate=True),
]
#: the config a GC config stands for: without the gc flags of custom_keys
WITHOUT_GC = {id(PARAMWISE[3]): dict(custom_keys={'conv1': dict(lr_mult=0.5)})}
WRAPPERS = [dict(), dict(clip_grad=dict(max_norm=1.0)), dict(accumulative_counts=2)]


def _build(constructor, optim_wrapper, paramwise, model):
    cfg = dict(optimizer=dict(OPTIMIZER), **optim_wrapper)
    if constructor is not None:
        cfg['constructor'] = constructor
    if paramwise is not None:
        cfg['paramwise_cfg'] = paramwise
    return build_optim_wrapper(model, cfg)


def _groups(ow, model):
    names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
    return [
        {k: (tuple(names[id(p)] for p in v) if k == 'params' else v) for k, v in g.items()}
        for g in ow.optimizer.param_groups
    ]


@pytest.mark.parametrize('paramwise', PARAMWISE)
@pytest.mark.parametrize('optim_wrapper', WRAPPERS)
def test_same_optimizer_wrapper_as_default(paramwise, optim_wrapper):
    """The same as the default constructor on the config without GC's keys
    (the gc flags of custom_keys)."""
    model = ExampleModel()
    default = _build(None, optim_wrapper, WITHOUT_GC.get(id(paramwise), paramwise), model)
    gc = _build('GCOptimWrapperConstructor', optim_wrapper, paramwise, model)
    assert type(gc) is type(default) is OptimWrapper
    assert type(gc.optimizer) is type(default.optimizer)
    assert gc.optimizer.defaults == default.optimizer.defaults
    assert _groups(gc, model) == _groups(default, model)
    assert gc._accumulative_counts == default._accumulative_counts
    assert gc.clip_grad_kwargs == default.clip_grad_kwargs
    assert gc_handle_of(gc).targets  # and GC is on


@pytest.mark.parametrize(
    'optimizer,paramwise',
    [
        # base weight decay missing although a decay multiplier is set
        (dict(type='SGD', lr=0.01), dict(bias_decay_mult=0.5)),
        (dict(type='SGD', lr=0.01), dict(custom_keys={'sub': dict(decay_mult=0.5)})),
        (OPTIMIZER, dict(custom_keys=[('sub', dict(lr_mult=0.1))])),
        (OPTIMIZER, 'not a dict'),
    ],
)
def test_same_errors_as_default(optimizer, paramwise):
    def build(ctor):
        return ctor(dict(type='OptimWrapper', optimizer=optimizer), paramwise)(ExampleModel())

    with pytest.raises(Exception) as default_error:
        build(DefaultOptimWrapperConstructor)
    with pytest.raises(Exception) as gc_error:
        build(gc_mmdet.GCOptimWrapperConstructor)
    assert type(gc_error.value) is type(default_error.value)
    assert str(gc_error.value) == str(default_error.value)


def test_dcn_offset_conv_and_deform_weight_get_gc():
    ow = _build('GCOptimWrapperConstructor', {}, PARAMWISE[1], ExampleModel())
    names = {t.name for t in gc_handle_of(ow).targets}
    assert {'dcn.weight', 'dcn.conv_offset.weight', 'conv1.weight', 'fc.weight'} <= names
    assert 'frozen.weight' not in names
