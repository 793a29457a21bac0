# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC under every loss-scaling path torch offers: ``GradScaler`` with fused
optimizers (which get still-scaled gradients and the scale as the attribute
``optimizer.grad_scale``), with ``foreach`` ones (unscaled first), with
``unscale_`` before clipping, through mmengine's ``AmpOptimWrapper``, and a
step skipped for an inf gradient. Each run must end with the weights of the
same run unscaled, non-fused, with GC."""

import copy

import pytest
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

import gc_mmdet
from helpers.models import AllKinds, loss_of
from helpers.torch_features import needs_cpu_fused, needs_cpu_grad_scaler

OPTIMIZERS = {
    'sgd': (torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=1e-2)),
    'adam': (torch.optim.Adam, dict(lr=1e-2, weight_decay=1e-2)),  # coupled decay
    'adamw': (torch.optim.AdamW, dict(lr=1e-2, weight_decay=1e-2)),
}
STEPS, INF_STEP, SCALE = 6, 3, 2.0**10


def _model():
    torch.manual_seed(0)
    return AllKinds()


def _optimizer(model, kind, variant):
    cls, kwargs = OPTIMIZERS[kind]
    impl = {'fused': dict(fused=True), 'foreach': dict(foreach=True), 'plain': dict(foreach=False)}[
        variant
    ]
    return cls(model.parameters(), **kwargs, **impl)


def _state(opt):
    return {
        k: v.clone() if torch.is_tensor(v) else v for s in opt.state.values() for k, v in s.items()
    }, copy.deepcopy([{k: v for k, v in g.items() if k != 'params'} for g in opt.param_groups])


def _assert_same_state(a, b):
    (sa, ga), (sb, gb) = a, b
    assert ga == gb
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]) if torch.is_tensor(sa[k]) else sa[k] == sb[k], k


def train(kind, location, variant='plain', scaled=False, clip=False, inf_step=None):
    """STEPS steps of AllKinds with GC; at ``inf_step`` one gradient entry is
    inf: a scaled run must skip that step, an unscaled one skips it by hand."""
    model = _model()
    opt = _optimizer(model, kind, variant)
    handle = gc_mmdet.attach(opt, model, location=location)
    scaler = torch.amp.GradScaler('cpu', init_scale=SCALE) if scaled else None
    for step in range(STEPS):
        opt.zero_grad()
        loss = loss_of(model, step)
        (scaler.scale(loss) if scaler else loss).backward()
        if step == inf_step:
            if not scaler:
                continue  # what a scaler's skip must amount to
            model.conv.weight.grad[0, 0, 0, 0] = float('inf')
            weights = copy.deepcopy(model.state_dict())
            state = _state(opt)
        if clip:
            if scaler:
                scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        if step == inf_step:  # skipped: nothing moved, no state changed
            for k, v in model.state_dict().items():
                if not k.startswith('bn.'):  # BN statistics move in forward
                    assert torch.equal(v, weights[k]), k
            _assert_same_state(_state(opt), state)
            assert scaler.get_scale() == SCALE / 2
    handle.remove()
    return model


# conv.bias feeds BatchNorm, which cancels it: its gradient is rounding noise,
# which Adam-style optimizers without coupled decay normalise to full steps
NOISE_ONLY = ('conv.bias',)


def assert_close_weights(model, ref, rel=1e-6):
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        if name in NOISE_ONLY:
            continue
        err = (p - q).abs().max().item() / q.abs().max().item()
        assert err <= rel, f'{name}: max |Δw| / max |w| = {err:.2e}'


CASES = [
    (kind, location, clip)
    for kind in OPTIMIZERS
    for location in ('grad', 'update')
    for clip in (False, True)
]


@needs_cpu_grad_scaler
@needs_cpu_fused
@pytest.mark.parametrize('kind,location,clip', CASES)
def test_fused_with_grad_scaler_equals_unscaled_plain(kind, location, clip):
    ref = train(kind, location, 'plain', scaled=False, clip=clip, inf_step=INF_STEP)
    fused = train(kind, location, 'fused', scaled=True, clip=clip, inf_step=INF_STEP)
    assert_close_weights(fused, ref)
    assert not torch.equal(fused.conv.weight, _model().conv.weight)  # it trained


@needs_cpu_grad_scaler
@pytest.mark.parametrize('kind', list(OPTIMIZERS))
@pytest.mark.parametrize('location', ['grad', 'update'])
def test_foreach_with_grad_scaler_equals_unscaled_plain(kind, location):
    ref = train(kind, location, 'plain', inf_step=INF_STEP)
    assert_close_weights(train(kind, location, 'foreach', scaled=True, inf_step=INF_STEP), ref)


@needs_cpu_grad_scaler
@needs_cpu_fused
def test_gc_acts_in_the_fused_scaled_run():
    """The comparison above is not vacuous: with coupled decay, GC changes
    a fused, scaled SGD run far beyond their tolerance."""
    model = _model()
    opt = _optimizer(model, 'sgd', 'fused')
    scaler = torch.amp.GradScaler('cpu', init_scale=SCALE)
    for step in range(STEPS):
        opt.zero_grad()
        scaler.scale(loss_of(model, step)).backward()
        scaler.step(opt)
        scaler.update()
    ref = train('sgd', 'grad')
    err = (model.conv.weight - ref.conv.weight).abs().max() / ref.conv.weight.abs().max()
    assert err > 1e-4  # 100x the tolerance of the comparisons


class CpuAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's AmpOptimWrapper with a CPU GradScaler. Its ``__init__``
    refuses a machine without an accelerator; its ``backward``, ``step``
    (``unscale_`` + clip when ``clip_grad`` is set) and ``update_params`` are
    what run here."""

    def __init__(self, optimizer, clip_grad=None):
        OptimWrapper.__init__(self, optimizer=optimizer, clip_grad=clip_grad)
        self._scale_update_param = None
        self.cast_dtype = None
        self.loss_scaler = torch.amp.GradScaler('cpu', init_scale=SCALE)


@needs_cpu_grad_scaler
@needs_cpu_fused
@pytest.mark.parametrize('kind', list(OPTIMIZERS))
@pytest.mark.parametrize('clip_grad', [None, dict(max_norm=0.5)])
def test_amp_optim_wrapper_fused_equals_optim_wrapper(kind, clip_grad):
    runs = []
    for wrapper_type, variant in ((OptimWrapper, 'plain'), (CpuAmpOptimWrapper, 'fused')):
        model = _model()
        opt = _optimizer(model, kind, variant)
        gc_mmdet.attach(opt, model)
        wrapper = wrapper_type(optimizer=opt, clip_grad=clip_grad)
        for step in range(STEPS):
            wrapper.update_params(loss_of(model, step))
        runs.append(model)
    assert_close_weights(runs[1], runs[0])


@pytest.mark.slow  # starts a process: seconds
def test_zero_redundancy_optimizer_auto_is_exact(tmp_path):
    """mmengine's ZeroRedundancyOptimizer (local SGD, coupled weight decay)
    with weight_decay_mode='auto' on 2 gloo ranks: the weights of plain DDP
    SGD with GC."""
    import torch.multiprocessing as mp

    from helpers.zero_worker import run

    out = str(tmp_path / 'weights.pth')
    mp.spawn(run, args=(2, str(tmp_path / 'init'), out), nprocs=2, join=True)
    results = torch.load(out)
    for k, v in results['sgd'].items():
        if not k.startswith('bn.running') and k != 'bn.num_batches_tracked':
            err = (results['zero'][k] - v).abs().max() / v.abs().max().clamp_min(1e-12)
            assert err <= 1e-6, f'{k}: {err:.2e}'
    assert not torch.equal(results['sgd']['conv.weight'], _model().conv.weight)
