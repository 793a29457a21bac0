"""gc_mmdet.attach on plain torch optimizers, step for step against the
reference update rules re-implemented in helpers/reference.py."""

import copy

import pytest
import torch
from torch import nn

import gc_mmdet
from helpers.models import AllKinds, loss_of
from helpers.reference import RefAdam, RefSGD, channel_means_loop, gc_kinds, reference_kinds

STEPS = 6


def _run_pair(
    make_opt,
    make_ref,
    gc_cfg=None,
    kinds_of=gc_kinds,
    steps=STEPS,
    layers='conv_fc',
    seed=0,
    reload_state=False,
):
    torch.manual_seed(seed)
    model = AllKinds().double()
    ref_model = copy.deepcopy(model)
    opt = make_opt(model)
    handle = gc_mmdet.attach(opt, model, **(gc_cfg or {}))
    if reload_state:  # what --resume does: new param group dicts
        opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    ref = make_ref(ref_model, kinds_of(ref_model, layers))
    for step in range(steps):
        for m, o in ((model, opt), (ref_model, ref)):
            for p in m.parameters():
                p.grad = None
            loss_of(m, step).backward()
            o.step()
    return model, ref_model, handle


def _assert_same(a, b, rtol=1e-9, atol=1e-11):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=rtol, atol=atol, msg=name)


@pytest.mark.parametrize(
    'momentum,nesterov,wd',
    [
        (0.0, False, 0.0),
        (0.9, False, 0.0),
        (0.9, True, 0.0),
        (0.9, False, 1e-2),
        (0.9, True, 5e-2),
        (0.0, False, 1e-2),
    ],
)
@pytest.mark.parametrize('location', ['grad', 'update'])
def test_sgd_matches_reference(momentum, nesterov, wd, location):
    model, ref, _ = _run_pair(
        lambda m: torch.optim.SGD(
            m.parameters(), lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd
        ),
        lambda m, k: RefSGD(m, k, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd),
        dict(location=location),
    )
    _assert_same(model, ref)


@pytest.mark.parametrize('location', ['grad', 'update'])
def test_optimizer_state_reloaded_after_attach(location):
    model, ref, _ = _run_pair(
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-2),
        lambda m, k: RefSGD(m, k, lr=0.1, momentum=0.9, weight_decay=5e-2),
        dict(location=location),
        reload_state=True,
    )
    _assert_same(model, ref)


def test_sgd_conv_only_matches_sgd_gcc():
    model, ref, handle = _run_pair(
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2),
        lambda m, k: RefSGD(m, k, lr=0.1, momentum=0.9, weight_decay=1e-2),
        dict(layers='conv'),
        layers='conv',
    )
    _assert_same(model, ref)
    assert {t.kind for t in handle.targets} == {'conv', 'conv_transpose'}


@pytest.mark.parametrize('wd', [0.0, 1e-2])
@pytest.mark.parametrize('location', ['grad', 'update'])
def test_adam_matches_reference(location, wd):
    model, ref, _ = _run_pair(
        lambda m: torch.optim.Adam(m.parameters(), lr=1e-2, weight_decay=wd),
        lambda m, k: RefAdam(m, k, lr=1e-2, weight_decay=wd, gc_loc=location == 'grad'),
        dict(location=location),
    )
    _assert_same(model, ref, rtol=1e-7, atol=1e-9)


def test_adam_grad_and_update_locations_differ():
    """A check that the location option is not a no-op for Adam."""
    a, _, _ = _run_pair(
        lambda m: torch.optim.Adam(m.parameters(), lr=1e-2),
        lambda m, k: RefAdam(m, k, lr=1e-2),
        dict(location='grad'),
    )
    b, _, _ = _run_pair(
        lambda m: torch.optim.Adam(m.parameters(), lr=1e-2),
        lambda m, k: RefAdam(m, k, lr=1e-2),
        dict(location='update'),
    )
    assert not torch.allclose(a.conv.weight, b.conv.weight)


@pytest.mark.parametrize('layers', ['conv_fc', 'conv'])
def test_reference_layout_bit_for_bit_rule(layers):
    """layout='reference' centralizes every ndim>1 (ndim>3) tensor over all
    dims but 0 -- the embedding and the transposed weights by dim 0 too."""
    model, ref, handle = _run_pair(
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3),
        lambda m, k: RefSGD(m, k, lr=0.1, momentum=0.9, weight_decay=1e-3),
        dict(layout='reference', layers=layers),
        kinds_of=reference_kinds,
        layers=layers,
    )
    _assert_same(model, ref)
    names = {t.name for t in handle.targets}
    four_d = {'conv.weight', 'grouped.weight', 'dw.weight', 'up.weight', 'up_grouped.weight'}
    if layers == 'conv':
        assert names == four_d
    else:
        assert names == four_d | {'conv1d.weight', 'fc.weight', 'emb.weight'}


def test_paper_and_reference_layouts_differ_on_transposed_conv():
    a, _, _ = _run_pair(
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1),
        lambda m, k: RefSGD(m, k, lr=0.1),
        steps=1,
    )
    b, _, _ = _run_pair(
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1),
        lambda m, k: RefSGD(m, k, lr=0.1),
        dict(layout='reference'),
        kinds_of=reference_kinds,
        steps=1,
    )
    assert not torch.allclose(a.up.weight, b.up.weight)
    torch.testing.assert_close(a.conv.weight, b.conv.weight)


@pytest.mark.parametrize(
    'make_opt,location',
    [
        (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=5e-2), 'grad'),
        (
            lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-2),
            'grad',
        ),
        (lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=5e-2), 'update'),
        (lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=5e-2), 'update'),
        (lambda ps: torch.optim.RMSprop(ps, lr=1e-3, weight_decay=5e-2, momentum=0.5), 'update'),
        (lambda ps: torch.optim.Adagrad(ps, lr=1e-2, weight_decay=5e-2), 'update'),
    ],
)
def test_weight_space_constraint(make_opt, location):
    """Paper Sec. 3.3: e^T (w_t - w_0) = 0 for every centralized weight's
    output channels, while the weights themselves move."""
    torch.manual_seed(0)
    model = AllKinds().double()
    opt = make_opt(model.parameters())
    handle = gc_mmdet.attach(opt, model, location=location)
    kinds = gc_kinds(model)
    w0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    for step in range(40):
        opt.zero_grad()
        loss_of(model, step).backward()
        opt.step()
    assert {t.name for t in handle.targets} == set(kinds)
    for name, p in model.named_parameters():
        if name not in kinds:
            continue
        assert (p - w0[name]).abs().max() > 1e-3, f'{name} did not move'
        before = channel_means_loop(w0[name], *kinds[name])
        after = channel_means_loop(p.detach(), *kinds[name])
        assert after == pytest.approx(before, abs=1e-10), name


@pytest.mark.parametrize('location', [None, 'grad'])
def test_adaptive_optimizer_breaks_constraint_unless_update(location):
    """Without GC, or with GC on Adam's gradient (the per-element step size
    de-centres it), the constraint does not hold: the test above can fail,
    and location='update' is what adaptive optimizers need."""
    torch.manual_seed(0)
    model = AllKinds().double()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=5e-2)
    if location:
        gc_mmdet.attach(opt, model, location=location)
    w0 = model.conv.weight.detach().clone()
    for step in range(5):
        opt.zero_grad()
        loss_of(model, step).backward()
        opt.step()
    assert channel_means_loop(model.conv.weight.detach(), 'conv') != pytest.approx(
        channel_means_loop(w0, 'conv'), abs=1e-10
    )


def test_remove_restores_plain_optimizer():
    torch.manual_seed(0)
    model = AllKinds().double()
    plain = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    popt = torch.optim.SGD(plain.parameters(), lr=0.1, momentum=0.9)
    gc_mmdet.attach(opt, model).remove()
    for m, o in ((model, opt), (plain, popt)):
        o.zero_grad()
        loss_of(m, 0).backward()
        o.step()
    _assert_same(model, plain, rtol=0, atol=0)


def test_param_group_gc_false_and_frozen_and_ddp_wrapper():
    torch.manual_seed(0)
    model = AllKinds()
    model.conv1d.weight.requires_grad_(False)

    class Wrapped(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    groups = [
        dict(params=[model.fc.weight], gc=False),
        dict(
            params=[
                p for n, p in model.named_parameters() if n not in ('fc.weight', 'conv1d.weight')
            ]
        ),
    ]
    opt = torch.optim.SGD(groups, lr=0.1)
    handle = gc_mmdet.attach(opt, Wrapped(model))
    names = {t.name for t in handle.targets}
    assert names == {'conv.weight', 'grouped.weight', 'dw.weight', 'up.weight', 'up_grouped.weight'}
    assert handle.selection.skipped['gc=False'] == ['fc.weight']
    assert handle.selection.skipped['not optimized'] == ['conv1d.weight']
    opt.add_param_group(dict(params=[model.conv1d.weight]))
    again = gc_mmdet.attach(opt, model)
    assert again.selection.skipped['frozen'] == ['conv1d.weight']
    assert 'bias or norm (1-D)' in handle.summary()


def test_unknown_optimizer_weight_decay_needs_mode():
    class MySGD(torch.optim.Optimizer):
        def __init__(self, params, lr=0.1, weight_decay=0.0):
            super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

        def step(self, closure=None):
            for g in self.param_groups:
                for p in g['params']:
                    if p.grad is not None:
                        p.data.add_(p.grad + g['weight_decay'] * p, alpha=-g['lr'])

    model = AllKinds()
    with pytest.raises(ValueError, match='^weight_decay_mode: cannot tell whether MySGD') as e:
        gc_mmdet.attach(MySGD(model.parameters(), weight_decay=1e-4), model)
    assert 'gc_cfg' not in str(e.value)
    gc_mmdet.attach(MySGD(model.parameters()), model)  # no decay: fine
    gc_mmdet.attach(
        MySGD(model.parameters(), weight_decay=1e-4), model, weight_decay_mode='coupled'
    )
    gc_mmdet.attach(MySGD(model.parameters(), weight_decay=1e-4), model, location='update')


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(layers='fc'), "^layers must be one of \\('conv_fc', 'conv'\\)"),
        (dict(location='grads'), "^location must be one of \\('grad', 'update'\\)"),
        (dict(layout='torch'), "^layout must be one of \\('paper', 'reference'\\)"),
        (dict(weight_decay_mode='l2'), '^weight_decay_mode must be one of'),
    ],
)
def test_bad_options(kwargs, match):
    """The torch-only core names its own arguments, not a config it does not
    know (``gc_cfg`` is the mmengine constructor's)."""
    model = AllKinds()
    with pytest.raises(ValueError, match=match):
        gc_mmdet.attach(torch.optim.SGD(model.parameters(), lr=0.1), model, **kwargs)


def test_fan_in_one_is_skipped_with_named_warning():
    model = nn.Sequential(nn.Conv2d(4, 4, 1, groups=4), nn.Flatten(), nn.Linear(1, 3))
    with pytest.warns(gc_mmdet.GCFanInOneWarning, match=r"'0.weight'"):
        handle = gc_mmdet.attach(torch.optim.SGD(model.parameters(), lr=0.1), model)
    assert handle.targets == []
    assert handle.selection.skipped['fan-in 1'] == ['0.weight', '2.weight']


def test_flattened_parameter_is_rejected():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2))
    # what FSDP's use_orig_params=False does: the weight becomes a flat view
    model[0].weight = nn.Parameter(model[0].weight.detach().flatten())
    with pytest.raises(
        ValueError, match=r"'0.weight' of shape \(108,\).*Conv2d weight of shape \(4, 3, 3, 3\)"
    ):
        gc_mmdet.attach(torch.optim.SGD(model.parameters(), lr=0.1), model)


def test_gc_flag_in_group_must_be_bool():
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD([dict(params=model.parameters(), gc='no')], lr=0.1)
    with pytest.raises(TypeError, match='gc must be True or False'):
        gc_mmdet.attach(opt, model)


def test_observer_sees_final_gradient_before_gc_and_can_be_removed():
    torch.manual_seed(0)
    model = AllKinds()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    handle = gc_mmdet.attach(opt, model)
    seen = []
    obs = handle.register_observer(lambda h: seen.append(h.targets[0].param.grad.clone()))
    loss_of(model, 0).backward()
    raw = model.conv.weight.grad.clone()
    opt.step()
    assert len(seen) == 1 and torch.equal(seen[0], raw)
    assert not torch.equal(model.conv.weight.grad, raw)  # GC ran after it
    obs.remove()
    opt.step()
    assert len(seen) == 1


def test_coupled_decay_is_restored_after_every_step_even_a_failing_one():
    torch.manual_seed(0)
    model = AllKinds()
    opt = torch.optim.SGD(
        [
            dict(params=[model.conv.weight, model.conv.bias], weight_decay=0.1),
            dict(params=[p for n, p in model.named_parameters() if not n.startswith('conv.')]),
        ],
        lr=0.1,
        weight_decay=0.01,
    )
    handle = gc_mmdet.attach(opt, model)
    loss_of(model, 0).backward()
    opt.step()
    assert [g['weight_decay'] for g in opt.param_groups] == [0.1, 0.01]

    def boom(*args):
        raise RuntimeError('step failed')

    h = opt.register_step_pre_hook(boom)  # runs after GC's pre-hook
    with pytest.raises(RuntimeError):
        opt.step()
    h.remove()
    opt.zero_grad()
    loss_of(model, 1).backward()
    opt.step()  # the next step restores the decay first
    assert [g['weight_decay'] for g in opt.param_groups] == [0.1, 0.01]
    handle.remove()
    assert [g['weight_decay'] for g in opt.param_groups] == [0.1, 0.01]


def _flatten_groups_as_zero(optimizer):
    """What DeepSpeed ZeRO stages 1 and 2 do to the optimizer they wrap: each
    group's params become one flat fp32 partition, which gets the gradients."""
    for group in optimizer.param_groups:
        flat = torch.cat([p.detach().flatten() for p in group['params']]).requires_grad_()
        flat.grad = torch.cat([p.grad.flatten() for p in group['params']])
        group['params'] = [flat]


@pytest.mark.parametrize('location', ['grad', 'update'])
def test_a_re_pointed_optimizer_stops_instead_of_running_without_gc(location):
    """GC never goes silently off: an optimizer whose groups no longer hold
    the weights GC selected stops at its next step with one line naming the
    cause, rather than stepping on with the channel means drifting."""
    model = AllKinds()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    gc_mmdet.attach(opt, model, location=location)
    loss_of(model, 0).backward()
    opt.step()  # as attached: fine
    loss_of(model, 0).backward()
    _flatten_groups_as_zero(opt)
    with pytest.raises(gc_mmdet.core.GCNotSteppingError) as e:
        opt.step()
    assert str(e.value).count('\n') == 0
    assert 'now steps 1 other tensor(s)' in str(e.value) and 'DeepSpeed ZeRO' in str(e.value)


def test_the_same_weights_in_a_new_list_keep_gc():
    """Re-listing a group's own weights (what a resume or a wrapper syncing
    its groups may do) is not a re-pointing: GC goes on."""
    model = AllKinds()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    handle = gc_mmdet.attach(opt, model)
    opt.param_groups[0]['params'] = list(reversed(opt.param_groups[0]['params']))
    before = {t.name: t.param.detach().clone() for t in handle.targets}
    loss_of(model, 0).backward()
    opt.step()
    for t in handle.targets:
        torch.testing.assert_close(
            gc_mmdet.core.channel_mean(t.param, t.layout),
            gc_mmdet.core.channel_mean(before[t.name], t.layout),
            rtol=0,
            atol=1e-6,
        )
