"""GCStatsHook: gradient statistics before / after Φ_GC, logged to the vis
backends (scalars.json) at the recorded steps, equal to an independent
recomputation, identical definitions with and without GC, and no effect on
training."""

import glob
import json
import math
import os
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import HOOKS
from torch import nn

import gc_mmdet
import gc_mmdet.engine.hooks
from gc_mmdet.core import ChannelLayout, GCTarget
from gc_mmdet.engine.hooks import GCStatsHook
from gc_mmdet.engine.hooks.gc_stats_hook import default_layers
from helpers.toy_runner import Regressor, toy_dataset, toy_loader, toy_runner

MAX_ITERS = 6
INTERVAL = 2
LAYERS = ('conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight')
KEYS = ('grad_norm_before', 'grad_norm_after', 'grad_max_before', 'grad_max_after')


class ToyModel(Regressor):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.conv2 = nn.Conv2d(4, 4, 3)
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 1)

    def body(self, x):
        x = self.conv2(torch.relu(self.conv1(x))).mean((2, 3))
        return self.fc2(torch.relu(self.fc1(x))).squeeze(1)


class CaptureGrads(Hook):
    """Test-only: a copy of every gradient at each optimizer step, taken
    (like GCStatsHook's) before GC modifies anything."""

    priority = 'LOWEST'

    def __init__(self):
        self.grads = {}  # step -> {name: grad}

    def before_train(self, runner):
        wrapper = runner.optim_wrapper
        model = runner.model

        def capture(*_):
            self.grads[runner.iter + 1] = {
                n: p.grad.detach().clone()
                for n, p in model.named_parameters()
                if p.grad is not None
            }

        handle = getattr(wrapper, 'gc_handle', None)
        if handle is not None:
            handle.register_observer(capture)
        else:
            wrapper.optimizer.register_step_pre_hook(capture)


def _train(work_dir, name, gc=True, hooks=()):
    torch.manual_seed(0)  # the model is built here, before the Runner seeds
    optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
    if gc:
        optim_wrapper['constructor'] = 'GCOptimWrapperConstructor'
    runner = toy_runner(
        work_dir / name,
        f'gc_stats_{name}',
        ToyModel(),
        toy_loader(toy_dataset(12, (1, 6, 6))),
        optim_wrapper=optim_wrapper,
        train_cfg=dict(by_epoch=False, max_iters=MAX_ITERS),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1), checkpoint=None),
        log_processor=dict(by_epoch=False, window_size=1),
        custom_hooks=list(hooks),
    )
    runner.train()
    return runner


def _scalars(runner):
    files = glob.glob(os.path.join(runner.log_dir, 'vis_data', 'scalars.json'))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return [json.loads(line) for line in f]


def _gc_records(runner):
    """step -> {key without prefix: value}, from the hook's lines only."""
    records = {}
    for line in _scalars(runner):
        gc_keys = {k[len('train/gc/') :]: v for k, v in line.items() if k.startswith('train/gc/')}
        if gc_keys:
            assert line['step'] not in records
            records[line['step']] = gc_keys
    return records


def _expected(grads):
    """Independent recomputation: every conv / fc weight here is laid out
    output-channel first."""
    per = {}
    for name in LAYERS:
        g = grads[name].double().flatten(1)
        a = g - g.mean(1, keepdim=True)
        per[name] = (g.norm().item(), a.norm().item(), g.abs().max().item(), a.abs().max().item())
    total = (
        math.sqrt(sum(v[0] ** 2 for v in per.values())),
        math.sqrt(sum(v[1] ** 2 for v in per.values())),
        max(v[2] for v in per.values()),
        max(v[3] for v in per.values()),
    )
    return total, per


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('gc_stats')
    out = {}
    for name, gc, with_hook in (
        ('gc', True, True),
        ('baseline', False, True),
        ('gc_nohook', True, False),
    ):
        capture = CaptureGrads()
        hooks = [capture]
        if with_hook:
            hooks.insert(0, dict(type='GCStatsHook', interval=INTERVAL))
        runner = _train(work_dir, name, gc, hooks)
        out[name] = SimpleNamespace(runner=runner, capture=capture)
    return out


def _stats_hook(runner):
    return next(h for h in runner.hooks if isinstance(h, GCStatsHook))


@pytest.mark.parametrize('name', ['gc', 'baseline'])
def test_scalars_at_recorded_steps_only(runs, name):
    runner = runs[name].runner
    records = _gc_records(runner)
    assert sorted(records) == list(range(INTERVAL, MAX_ITERS + 1, INTERVAL))
    expected_keys = set(KEYS) | {
        f'{k}/{layer}' for k in KEYS for layer in ('conv1.weight', 'fc2.weight')
    }
    for rec in records.values():
        assert set(rec) == expected_keys
    # the logger's own lines (every iteration) carry no (stale) GC values
    logger_lines = [line for line in _scalars(runner) if 'loss' in line]
    assert [line['step'] for line in logger_lines] == list(range(1, MAX_ITERS + 1))
    assert not any(k.startswith('train/gc/') for line in logger_lines for k in line)
    with open(glob.glob(os.path.join(runner.log_dir, '*.log'))[0]) as f:
        text = f.read()
    assert f'GCStatsHook: iter {INTERVAL}: grad_norm' in text
    assert 'no GC: baseline' in text if name == 'baseline' else 'with GC' in text


@pytest.mark.parametrize('name', ['gc', 'baseline'])
def test_values_match_independent_recomputation(runs, name):
    records = _gc_records(runs[name].runner)
    grads = runs[name].capture.grads
    for step, rec in records.items():
        total, per = _expected(grads[step])
        assert [rec[k] for k in KEYS] == pytest.approx(total, rel=1e-5)
        for layer in ('conv1.weight', 'fc2.weight'):
            assert [rec[f'{k}/{layer}'] for k in KEYS] == pytest.approx(per[layer], rel=1e-5)
        # Φ_GC is an orthogonal projection: the norm never grows; the max
        # is bounded by 2 * max (|g_i - mean| <= |g_i| + |mean|)
        for suffix in ('', '/conv1.weight', '/fc2.weight'):
            assert rec['grad_norm_after' + suffix] <= rec['grad_norm_before' + suffix] * (1 + 1e-6)
            assert rec['grad_max_after' + suffix] <= 2 * rec['grad_max_before' + suffix] * (
                1 + 1e-6
            )
            assert rec['grad_norm_after' + suffix] < rec['grad_norm_before' + suffix]


def test_baseline_observes_the_weights_gc_acts_on(runs):
    gc_hook = _stats_hook(runs['gc'].runner)
    base_hook = _stats_hook(runs['baseline'].runner)
    handle = runs['gc'].runner.optim_wrapper.gc_handle
    assert [t.name for t in gc_hook.targets] == list(LAYERS)
    assert [t.name for t in handle.targets] == list(LAYERS)
    assert [t.name for t in base_hook.targets] == list(LAYERS)
    assert not hasattr(runs['baseline'].runner.optim_wrapper, 'gc_handle')
    # the default layers: first conv, last fc (the paper's Fig. 4)
    assert gc_hook.layer_names == base_hook.layer_names == ['conv1.weight', 'fc2.weight']


def test_hooks_removed_after_train(runs):
    handle = runs['gc'].runner.optim_wrapper.gc_handle
    # only the test's capture observer is left
    assert len(handle._observers) == 1
    opt = runs['baseline'].runner.optim_wrapper.optimizer
    assert len(opt._optimizer_step_pre_hooks) == 1
    assert _stats_hook(runs['gc'].runner)._hooks == []


def test_never_changes_training(runs):
    with_hook = runs['gc'].runner.model.state_dict()
    without = runs['gc_nohook'].runner.model.state_dict()
    assert with_hook.keys() == without.keys()
    for k in with_hook:
        assert torch.equal(with_hook[k], without[k]), k
    # and the gradients it saw were the same at every step
    for step, grads in runs['gc'].capture.grads.items():
        other = runs['gc_nohook'].capture.grads[step]
        assert all(torch.equal(grads[n], other[n]) for n in grads)


def _target(name, kind):
    return GCTarget(name, nn.Parameter(torch.zeros(2, 2)), ChannelLayout.output_first(2), kind)


def test_default_layers_fallbacks():
    c1, c2 = _target('c1', 'conv'), _target('c2', 'conv')
    f1, f2 = _target('f1', 'linear'), _target('f2', 'linear')
    t = _target('t', 'conv_transpose')
    assert default_layers([t, c1, c2, f1, f2, t]) == ['c1', 'f2']
    assert default_layers([c1, c2]) == ['c1', 'c2']  # conv only: last target
    assert default_layers([c1]) == ['c1']
    assert default_layers([f1, f2]) == ['f1', 'f2']  # no conv: first target
    assert default_layers([t]) == ['t']
    assert default_layers([]) == []


def _fake_runner():
    torch.manual_seed(0)
    model = ToyModel()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    wrapper = OptimWrapper(opt)
    wrapper.gc_handle = gc_mmdet.attach(opt, model, layers='conv')
    return SimpleNamespace(
        optim_wrapper=wrapper, model=model, logger=MMLogger.get_current_instance()
    )


def test_layers_argument():
    runner = _fake_runner()
    hook = GCStatsHook(interval=1, layers=['conv2.weight'])
    hook.before_train(runner)
    assert hook.layer_names == ['conv2.weight']
    hook.after_train(runner)
    # gc_cfg.layers='conv': no fc target, so the default is the last conv
    hook = GCStatsHook(interval=1)
    hook.before_train(runner)
    assert hook.layer_names == ['conv1.weight', 'conv2.weight']
    hook.after_train(runner)
    with pytest.raises(ValueError, match=r"\['fc2.weight'\] are not among"):
        GCStatsHook(layers=['fc2.weight']).before_train(runner)
    assert not runner.optim_wrapper.gc_handle._observers


def test_registered_and_validated():
    from mmdet.registry import HOOKS as MMDET_HOOKS

    assert isinstance(HOOKS.build(dict(type='GCStatsHook', interval=5)), GCStatsHook)
    hook = MMDET_HOOKS.build(dict(type='GCStatsHook', layers=['a.weight']))
    assert hook.interval == 50 and hook.layers == ['a.weight']
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match='interval'):
            GCStatsHook(interval=bad)
