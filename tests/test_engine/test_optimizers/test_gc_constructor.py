"""GCOptimWrapperConstructor through mmengine's build_optim_wrapper."""

import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmengine.optim import (
    DefaultOptimWrapperConstructor,
    OptimWrapper,
    OptimWrapperDict,
    build_optim_wrapper,
)
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS
from torch import nn

import gc_mmdet  # noqa: F401  (registers the constructor)
from gc_mmdet.engine.optimizers import gc_handle_of
from gc_mmdet.utils.errors import ConfigKeyError
from helpers.models import AllKinds, loss_of
from helpers.reference import RefSGD, channel_means_loop, gc_kinds
from helpers.torch_features import needs_cpu_grad_scaler


def gc_wrapper_cfg(**kwargs):
    cfg = dict(
        constructor='GCOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-2),
    )
    cfg.update(kwargs)
    return cfg


def _train(model, optim_wrapper, steps, seed0=0):
    for step in range(steps):
        optim_wrapper.update_params(loss_of(model, seed0 + step))


def test_sgd_through_optim_wrapper_matches_reference():
    torch.manual_seed(0)
    model = AllKinds().double()
    ref_model = copy.deepcopy(model)
    ow = build_optim_wrapper(model, gc_wrapper_cfg())
    ref = RefSGD(ref_model, gc_kinds(ref_model), lr=0.05, momentum=0.9, weight_decay=1e-2)
    _train(model, ow, 5)
    for step in range(5):
        ref_model.zero_grad()
        loss_of(ref_model, step).backward()
        ref.step()
    for p, q in zip(model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-11)


def test_accumulation_runs_gc_once_per_real_step():
    """With coupled weight decay, GC applied twice would subtract λ·mean(w)
    twice; the result must equal one reference step on the mean gradient."""
    torch.manual_seed(0)
    model = AllKinds().double()
    ref_model = copy.deepcopy(model)
    ow = build_optim_wrapper(model, gc_wrapper_cfg(accumulative_counts=2))
    _train(model, ow, 4)
    ref = RefSGD(ref_model, gc_kinds(ref_model), lr=0.05, momentum=0.9, weight_decay=1e-2)
    for real_step in range(2):
        ref_model.zero_grad()
        for k in range(2):
            (loss_of(ref_model, 2 * real_step + k) / 2).backward()
        ref.step()
    for (n, p), q in zip(model.named_parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-11, msg=n)


def test_clip_grad_comes_before_gc():
    torch.manual_seed(0)
    model = AllKinds().double()
    ref_model = copy.deepcopy(model)
    ow = build_optim_wrapper(model, gc_wrapper_cfg(clip_grad=dict(max_norm=0.05)))
    _train(model, ow, 3)
    ref = RefSGD(ref_model, gc_kinds(ref_model), lr=0.05, momentum=0.9, weight_decay=1e-2)
    clipped = 0
    for step in range(3):
        ref_model.zero_grad()
        loss_of(ref_model, step).backward()
        grads = [p.grad for p in ref_model.parameters()]
        norm = torch.sqrt(sum((g**2).sum() for g in grads))
        if norm > 0.05:
            clipped += 1
            for g in grads:
                g.mul_(0.05 / (norm + 1e-6))
        ref.step()
    assert clipped == 3  # the clip was really active
    for (n, p), q in zip(model.named_parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-11, msg=n)


def test_adamw_update_location_keeps_channel_means():
    torch.manual_seed(0)
    model = AllKinds().double()
    w0 = copy.deepcopy(model)
    ow = build_optim_wrapper(
        model,
        gc_wrapper_cfg(
            optimizer=dict(type='AdamW', lr=1e-2, weight_decay=5e-2), gc_cfg=dict(location='update')
        ),
    )
    _train(model, ow, 20)
    for name, (kind, groups) in gc_kinds(model).items():
        p = model.get_parameter(name).detach()
        p0 = w0.get_parameter(name).detach()
        assert (p - p0).abs().max() > 1e-3
        assert channel_means_loop(p, kind, groups) == pytest.approx(
            channel_means_loop(p0, kind, groups), abs=1e-10
        )


def test_custom_keys_opt_out_and_ddp_like_wrapper():
    class Wrapped(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    model = AllKinds()
    ow = build_optim_wrapper(
        Wrapped(model),
        gc_wrapper_cfg(paramwise_cfg=dict(custom_keys={'up.': dict(gc=False, lr_mult=0.5)})),
    )
    names = {t.name for t in gc_handle_of(ow).targets}
    assert names == {
        'conv.weight',
        'grouped.weight',
        'dw.weight',
        'up_grouped.weight',
        'conv1d.weight',
        'fc.weight',
    }
    assert gc_handle_of(ow).selection.skipped['gc=False'] == ['up.weight']
    up_group = next(g for g in ow.param_groups if any(p is model.up.weight for p in g['params']))
    assert up_group['lr'] == pytest.approx(0.025) and 'gc' not in up_group


def test_summary_is_logged(tmp_path):
    logger = MMLogger.get_instance('gc_summary_test', log_file=str(tmp_path / 'log.txt'))
    build_optim_wrapper(AllKinds(), gc_wrapper_cfg())
    for h in logger.handlers:
        h.flush()
    text = (tmp_path / 'log.txt').read_text()
    assert 'Gradient Centralization on 7 tensors' in text
    assert 'conv_transpose: 2 tensors' in text and 'linear: 1 tensors' in text
    assert 'bias or norm (1-D)' in text


@pytest.mark.parametrize(
    'gc_cfg,exc,match',
    [
        ('conv_fc', TypeError, r'optim_wrapper.gc_cfg must be a dict'),
        (
            dict(layer='conv'),
            ValueError,
            r"unknown key\(s\) \['layer'\]; allowed keys are \('layers', 'location', 'layout', "
            r"'weight_decay_mode', 'base_constructor'\)",
        ),
        (
            dict(layers='fc'),
            ValueError,
            r"gc_cfg.layers must be one of \('conv_fc', 'conv'\), got 'fc'",
        ),
        (
            dict(location='weights'),
            ValueError,
            r"gc_cfg.location must be one of \('grad', 'update'\)",
        ),
        (
            dict(layout='torch'),
            ValueError,
            r"gc_cfg.layout must be one of \('paper', 'reference'\)",
        ),
    ],
)
def test_bad_gc_cfg(gc_cfg, exc, match):
    with pytest.raises(exc, match=match):
        build_optim_wrapper(AllKinds(), gc_wrapper_cfg(gc_cfg=gc_cfg))


def test_bad_custom_key_gc_value():
    with pytest.raises(
        TypeError, match=r"custom_keys\['backbone'\].gc must be True or False, got 'off'"
    ):
        build_optim_wrapper(
            AllKinds(), gc_wrapper_cfg(paramwise_cfg=dict(custom_keys={'backbone': dict(gc='off')}))
        )


def test_flat_parameter_rejected_at_build_time():
    model = AllKinds()
    model.fc.weight = nn.Parameter(model.fc.weight.detach().flatten())
    with pytest.raises(ValueError, match="'fc.weight' of shape \\(20,\\)"):
        build_optim_wrapper(model, gc_wrapper_cfg())


def test_gc_false_opts_out_a_weight_gc_cannot_read():
    """The opt-out the refusal above names is honoured: on the old code the
    exclusion was looked at after the shape check, which raised."""
    model = AllKinds()
    model.fc.weight = nn.Parameter(model.fc.weight.detach().flatten())
    plain = copy.deepcopy(model)
    opt_out = dict(custom_keys={'fc.weight': dict(gc=False)})
    ow = build_optim_wrapper(model, gc_wrapper_cfg(paramwise_cfg=opt_out))
    handle = gc_handle_of(ow)
    assert handle.selection.skipped['gc=False'] == ['fc.weight']
    assert 'conv.weight' in {t.name for t in handle.targets}
    base = build_optim_wrapper(plain, gc_wrapper_cfg(constructor='DefaultOptimWrapperConstructor'))
    for m in (model, plain):
        g = torch.Generator().manual_seed(0)
        for p in m.parameters():
            p.grad = torch.randn(p.shape, generator=g)
    ow.step()
    base.step()
    assert torch.equal(model.fc.weight, plain.fc.weight)  # left alone
    assert not torch.equal(model.conv.weight, plain.conv.weight)  # GC acted elsewhere


def test_fan_in_one_warns_and_skips():
    model = nn.Sequential(nn.Conv2d(3, 3, 1, groups=3), nn.Conv2d(3, 4, 3))
    with pytest.warns(gc_mmdet.GCFanInOneWarning, match="'0.weight'"):
        ow = build_optim_wrapper(model, gc_wrapper_cfg())
    assert [t.name for t in gc_handle_of(ow).targets] == ['1.weight']


@needs_cpu_grad_scaler
def test_grad_scaler_cpu_unscaled_and_inf_step_skipped():
    """The AmpOptimWrapper path (GradScaler.unscale_ then step) on CPU: GC
    sees unscaled gradients, and an inf step is skipped without GC state."""
    torch.manual_seed(0)
    model = AllKinds()
    ref_model = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-2)
    handle = gc_mmdet.attach(opt, model, location='update')
    scaler = torch.amp.GradScaler('cpu', init_scale=2.0**10)
    ref = RefSGD(ref_model, gc_kinds(ref_model), lr=0.05, momentum=0.9, weight_decay=1e-2)
    for step in range(3):
        opt.zero_grad()
        scaler.scale(loss_of(model, step)).backward()
        if step == 1:  # an overflow: this step must be skipped entirely
            model.conv.weight.grad[0, 0, 0, 0] = float('inf')
            before = {n: p.detach().clone() for n, p in model.named_parameters()}
            buf = opt.state[model.conv.weight]['momentum_buffer'].clone()
        scaler.step(opt)
        scaler.update()
        if step == 1:
            for n, p in model.named_parameters():
                assert torch.equal(p, before[n]), n
            assert torch.equal(opt.state[model.conv.weight]['momentum_buffer'], buf)
            assert handle._before is None
            assert scaler.get_scale() == 2.0**9
            continue
        ref_model.zero_grad()
        loss_of(ref_model, step).backward()
        ref.step()
    for (n, p), q in zip(model.named_parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=n)


# ------------------------------------------------- GC on another constructor
@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class DepthDecayConstructor:
    """A constructor of the kind layer-decay ones are: one group per module,
    lr decaying with depth, no weight decay on 1-D tensors, a group key of
    its own; reads ``paramwise_cfg.rate`` and nothing else."""

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        self.cfg = dict(optim_wrapper_cfg)
        self.paramwise_cfg = paramwise_cfg or {}

    def __call__(self, model):
        cfg = copy.deepcopy(self.cfg)
        optimizer = cfg.pop('optimizer')
        lr, rate = optimizer['lr'], self.paramwise_cfg.get('rate', 0.5)
        groups = []
        for depth, (name, module) in enumerate(model.named_children()):
            for p in module.parameters():
                wd = 0.0 if p.dim() == 1 else optimizer.get('weight_decay', 0.0)
                groups.append(dict(params=[p], lr=lr * rate**depth, weight_decay=wd, layer=name))
        optimizer['params'] = groups
        return OptimWrapper(optimizer=OPTIMIZERS.build(optimizer), **cfg)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class TwoOptimizersConstructor:
    """Returns an OptimWrapperDict: SGD for the convolutions, AdamW for the rest."""

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        pass

    def __call__(self, model):
        convs = [p for n, p in model.named_parameters() if n.startswith(('conv.', 'grouped.'))]
        ids = {id(p) for p in convs}
        rest = [p for p in model.parameters() if id(p) not in ids]
        return OptimWrapperDict(
            convs=OptimWrapper(torch.optim.SGD(convs, lr=0.05, momentum=0.9)),
            rest=OptimWrapper(torch.optim.SGD(rest, lr=0.05)),
        )


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class NoOptimizerConstructor:
    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        pass

    def __call__(self, model):
        return [torch.optim.SGD(model.parameters(), lr=0.1)]


def _base_cfg(base, **kwargs):
    return dict(gc_wrapper_cfg(**kwargs), constructor=base)


def _with_gc(cfg, **gc_cfg):
    cfg = copy.deepcopy(cfg)
    cfg['gc_cfg'] = dict(gc_cfg, base_constructor=cfg.pop('constructor'))
    cfg['constructor'] = 'GCOptimWrapperConstructor'
    return cfg


def _group_view(ow, model):
    names = {id(p): n for n, p in model.named_parameters()}
    return [
        {k: ([names[id(p)] for p in v] if k == 'params' else v) for k, v in g.items()}
        for g in ow.optimizer.param_groups
    ]


def _centralized_step_keeps_means(model, ow):
    before = {
        n: channel_means_loop(model.get_parameter(n).detach(), *k)
        for n, k in gc_kinds(model).items()
    }
    _train(model, ow, 2)
    for name, (kind, groups) in gc_kinds(model).items():
        assert channel_means_loop(model.get_parameter(name).detach(), kind, groups) == (
            pytest.approx(before[name], abs=1e-10)
        ), name


def test_gc_on_another_constructor_keeps_its_groups():
    model = AllKinds().double()
    cfg = _base_cfg('DepthDecayConstructor', paramwise_cfg=dict(rate=0.8))
    base = build_optim_wrapper(model, cfg)
    gc = build_optim_wrapper(model, _with_gc(cfg))
    assert _group_view(gc, model) == _group_view(base, model)
    assert len({g['lr'] for g in gc.optimizer.param_groups}) == 9  # one lr per child module
    assert len(gc_handle_of(gc).targets) == 7
    _centralized_step_keeps_means(model, gc)


def test_gc_opt_out_on_a_constructor_that_reads_no_custom_keys():
    model = AllKinds()
    cfg = _base_cfg('DepthDecayConstructor')
    gc = build_optim_wrapper(
        model, _with_gc(dict(cfg, paramwise_cfg=dict(custom_keys={'up': dict(gc=False)})))
    )
    assert _group_view(gc, model) == _group_view(build_optim_wrapper(model, cfg), model)
    assert gc_handle_of(gc).selection.skipped['gc=False'] == [
        'grouped.weight',
        'up.weight',
        'up_grouped.weight',
    ]


def test_gc_opt_out_leaves_the_default_groups_as_without_gc():
    """A gc=False custom key used to become a custom key of mmengine's own,
    which turned off bias_decay_mult and norm_decay_mult for what it matched."""
    model = AllKinds()
    paramwise = dict(bias_decay_mult=0.0, norm_decay_mult=0.0)
    base = build_optim_wrapper(
        model, _base_cfg('DefaultOptimWrapperConstructor', paramwise_cfg=paramwise)
    )
    opt_out = dict(paramwise, custom_keys={'up': dict(gc=False)})
    gc = build_optim_wrapper(model, gc_wrapper_cfg(paramwise_cfg=opt_out))
    assert _group_view(gc, model) == _group_view(base, model)


def test_every_optimizer_of_an_optim_wrapper_dict_gets_gc():
    model = AllKinds().double()
    ow = build_optim_wrapper(model, _with_gc(_base_cfg('TwoOptimizersConstructor')))
    assert isinstance(ow, OptimWrapperDict)
    convs, rest = gc_handle_of(ow['convs']), gc_handle_of(ow['rest'])
    assert [t.name for t in convs.targets] == ['conv.weight', 'grouped.weight']
    assert {t.name for t in rest.targets} == {
        'dw.weight',
        'up.weight',
        'up_grouped.weight',
        'conv1d.weight',
        'fc.weight',
    }
    before = {
        n: channel_means_loop(model.get_parameter(n).detach(), *k)
        for n, k in gc_kinds(model).items()
    }
    for step in range(2):
        loss_of(model, step).backward()
        for wrapper in ow.values():
            wrapper.step()
            wrapper.zero_grad()
    for name, (kind, groups) in gc_kinds(model).items():
        got = channel_means_loop(model.get_parameter(name).detach(), kind, groups)
        assert got == pytest.approx(before[name], abs=1e-10), name


@pytest.mark.parametrize(
    'cfg,match',
    [
        (
            gc_wrapper_cfg(paramwise_cfg=dict(decay_rate=0.9, num_layers=6)),
            r'paramwise_cfg.decay_rate \(read by LearningRateDecayOptimizerConstructor\), '
            r'paramwise_cfg.num_layers \(read by LearningRateDecayOptimizerConstructor\) is not '
            r'read by DefaultOptimWrapperConstructor, the constructor in use',
        ),
        (
            gc_wrapper_cfg(gc_cfg=dict(base_constructor='NoSuchConstructor')),
            r"base_constructor='NoSuchConstructor' is not a registered optimizer wrapper "
            r'constructor: import the package that registers it',
        ),
        (
            gc_wrapper_cfg(gc_cfg=dict(base_constructor='GCOptimWrapperConstructor')),
            r'base_constructor names GCOptimWrapperConstructor itself',
        ),
        (
            _with_gc(_base_cfg('NoOptimizerConstructor')),
            r'NoOptimizerConstructor returned list, which holds no torch optimizer',
        ),
    ],
    ids=['default-ignores', 'unknown', 'itself', 'list'],
)
def test_what_would_change_training_silently_stops_the_build(cfg, match):
    with pytest.raises(ConfigKeyError, match=match) as error:
        build_optim_wrapper(AllKinds(), cfg)
    assert '\n' not in str(error.value)


@pytest.mark.parametrize(
    'base',
    [
        'DefaultOptimWrapperConstructor',
        'mmengine.DefaultOptimWrapperConstructor',
        DefaultOptimWrapperConstructor,
    ],
    ids=['name', 'scoped', 'class'],
)
def test_a_key_the_default_constructor_ignores_stops_the_build_however_named(base):
    paramwise = ConfigDict(norm_decay_mult=0.0, norm_decay_mul=0.0)  # as a config file gives it
    cfg = gc_wrapper_cfg(paramwise_cfg=paramwise, gc_cfg=dict(base_constructor=base))
    with pytest.raises(ConfigKeyError, match=r'paramwise_cfg.norm_decay_mul \(no constructor'):
        build_optim_wrapper(AllKinds(), cfg)


READING_STYLES = {
    'subscript': lambda cfg: cfg['freeze_first'] if 'freeze_first' in cfg else False,
    'membership': lambda cfg: 'freeze_first' in cfg,
    'copy': lambda cfg: dict(cfg).get('freeze_first', False),
    'unpacked': lambda cfg: {**cfg}.get('freeze_first', False),
    'config-dict': lambda cfg: ConfigDict(cfg).freeze_first,
    'iteration': lambda cfg: any(k == 'freeze_first' and v for k, v in cfg.items()),
    'keys': lambda cfg: 'freeze_first' in list(cfg.keys()),
}


def _freeze_first_constructor(style):
    """A user's constructor: mmengine's groups, and the first convolution
    frozen when ``paramwise_cfg.freeze_first`` is set, read in ``style``."""

    class FreezeFirst(DefaultOptimWrapperConstructor):
        def __call__(self, model):
            if READING_STYLES[style](self.paramwise_cfg):
                model.conv.weight.requires_grad_(False)
            return super().__call__(model)

    name = f'FreezeFirst_{style}'
    OPTIM_WRAPPER_CONSTRUCTORS.register_module(name=name, module=FreezeFirst, force=True)
    return name


@pytest.mark.parametrize('style', sorted(READING_STYLES))
def test_a_constructor_of_the_users_own_reads_its_keys_as_it_likes(style):
    """GC does not guess which keys a constructor it does not know reads: on
    the old code the membership test was refused ('paramwise_cfg.freeze_first
    ... is not read by'), and a copy switched the check off."""
    cfg = _base_cfg(
        _freeze_first_constructor(style),
        paramwise_cfg=ConfigDict(freeze_first=True, bias_decay_mult=0.0),
    )
    model = AllKinds()
    plain = copy.deepcopy(model)
    base = build_optim_wrapper(plain, cfg)
    gc = build_optim_wrapper(model, _with_gc(cfg))
    assert _group_view(gc, model) == _group_view(base, plain)
    assert not model.conv.weight.requires_grad and not plain.conv.weight.requires_grad
    assert gc_handle_of(gc).selection.skipped['not optimized'] == [
        'conv.weight'
    ]  # mmengine's choice


def test_gc_handle_of_a_wrapper_with_and_without_gc():
    from gc_mmdet import GCHandle

    model = AllKinds()
    handle = gc_handle_of(build_optim_wrapper(model, gc_wrapper_cfg()))
    assert isinstance(handle, GCHandle) and handle.targets
    plain = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    assert gc_handle_of(plain) is None
