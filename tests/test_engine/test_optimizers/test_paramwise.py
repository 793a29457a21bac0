"""gc_mmdet.engine.optimizers.paramwise: GC's flags out of paramwise_cfg, the
opt-out by name, and the keys the known constructors read."""

import pytest
from mmengine.config import ConfigDict
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from gc_mmdet.engine.optimizers.paramwise import (
    KNOWN_READERS,
    gc_opt_outs,
    ignored_keys,
    known_keys,
    split_gc_flags,
    unread_keys_error,
)
from helpers.models import AllKinds
from helpers.read_recorder import ReadRecorder

OPTIM_WRAPPER = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4))


def test_split_removes_gc_and_what_only_gc_needed():
    cfg = dict(
        norm_decay_mult=0.0,
        custom_keys={
            'backbone': dict(gc=False),
            'neck': dict(gc=True, lr_mult=0.5),
            'head': dict(decay_mult=0.0),
        },
    )
    base, flags = split_gc_flags(cfg)
    assert base == dict(
        norm_decay_mult=0.0,
        custom_keys={'neck': dict(lr_mult=0.5), 'head': dict(decay_mult=0.0)},
    )
    assert flags == {'backbone': False, 'neck': True}
    assert cfg['custom_keys']['backbone'] == dict(gc=False)  # the user's config is untouched
    only_gc, _ = split_gc_flags(dict(custom_keys={'backbone': dict(gc=False)}))
    assert only_gc == {}


@pytest.mark.parametrize('cfg', [None, 'not a dict', dict(custom_keys=[('a', {})]), {}])
def test_split_passes_what_it_cannot_read(cfg):
    assert split_gc_flags(cfg) == (cfg, {})


def test_split_refuses_a_flag_that_is_not_a_bool():
    with pytest.raises(TypeError, match=r"custom_keys\['neck'\].gc must be True or False"):
        split_gc_flags(dict(custom_keys={'neck': dict(gc='off')}))


def test_opt_outs_match_as_mmengine_matches_custom_keys():
    model = AllKinds()
    keys = {
        'up': dict(gc=False),  # a substring, as in mmengine: 'up.*', 'grouped.*', 'up_grouped.*'
        'up_grouped': dict(lr_mult=0.1),  # longer: decides for up_grouped, gc=True
        'scale': dict(gc=False),  # a top-level parameter: mmengine names it '.scale'
    }
    out = {id(p) for p in gc_opt_outs(model, keys)}
    names = {n for n, p in model.named_parameters() if id(p) in out}
    assert names == {'up.weight', 'up.bias', 'grouped.weight', 'grouped.bias', 'scale'}


def test_known_keys_are_those_of_the_installed_class_only():
    assert (
        known_keys(DefaultOptimWrapperConstructor)
        == KNOWN_READERS['DefaultOptimWrapperConstructor']
    )

    class DefaultOptimWrapperConstructor_(DefaultOptimWrapperConstructor):
        """A user's subclass may read more keys than its base."""

    DefaultOptimWrapperConstructor_.__name__ = 'DefaultOptimWrapperConstructor'
    assert known_keys(DefaultOptimWrapperConstructor_) is None
    cfg = ConfigDict(bias_lr_mult=2.0, decay_rate=0.9, custom_keys={})
    assert ignored_keys(DefaultOptimWrapperConstructor, cfg) == ['decay_rate']
    assert ignored_keys(DefaultOptimWrapperConstructor_, cfg) == []


def _reads(constructor, paramwise_cfg, model):
    recorder = ReadRecorder(paramwise_cfg)
    constructor(dict(OPTIM_WRAPPER), recorder)(model)
    return recorder.read


def test_known_readers_of_mmengines_default():
    every = {k: 1.0 for k in KNOWN_READERS['DefaultOptimWrapperConstructor']}
    every.update(custom_keys={}, bypass_duplicate=False, unknown_key=1)
    read = _reads(DefaultOptimWrapperConstructor, every, AllKinds())
    assert read == set(KNOWN_READERS['DefaultOptimWrapperConstructor'])


def test_the_refusal_names_key_constructor_in_use_and_reader():
    line = unread_keys_error(['decay_rate'], 'DefaultOptimWrapperConstructor')
    assert '\n' not in line
    assert 'paramwise_cfg.decay_rate (read by LearningRateDecayOptimizerConstructor)' in line
    assert 'is not read by DefaultOptimWrapperConstructor, the constructor in use' in line
    assert "gc_cfg=dict(base_constructor='...')" in line
    typo = unread_keys_error(['norm_decay_mul'], 'DefaultOptimWrapperConstructor')
    assert 'no constructor gc_mmdet knows reads it' in typo and 'check its spelling' in typo


def test_gc_opt_outs_ignore_keys_without_a_flag():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3))
    assert gc_opt_outs(model, {'0': dict(lr_mult=0.1)}) == []
