# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC on mmdet 3.3's own configs across detector families: each is built from
scratch with its own optim_wrapper through our constructor, takes one real
training step, and keeps every covered weight's output-channel means."""

import pytest

from gc_mmdet.cli.gc_zoo_sweep import ZOO, sweep_config
from helpers.mmpretrain_lib import needs_mmpretrain, use_mmpretrain

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings('ignore::UserWarning'),
    pytest.mark.filterwarnings('ignore::DeprecationWarning'),
]


def test_the_zoo_spans_the_families():
    families = {f for f, _ in ZOO}
    assert len(ZOO) >= 15 and len(families) >= 5


def _param(family, config):
    marks = [needs_mmpretrain] if 'convnext' in config else []
    return pytest.param(family, config, id=config.split('/')[-1], marks=marks)


@pytest.mark.parametrize('family,config', [_param(f, c) for f, c in ZOO])
def test_one_gc_step(family, config):
    if 'convnext' in config:
        use_mmpretrain()  # the config imports mmpretrain.models
    row = sweep_config(config, family)
    print(row)
    assert row['loss'] == row['loss'] and abs(row['loss']) < float('inf'), row
    assert row['moved'] > 0 and not row['broken'], row
    # every optimized >= 2-D weight is covered or skipped with a reason
    assert not row['unaccounted'], row
    assert row['ok']
    if row['optimizer'] in ('AdamW', 'Adam'):
        assert row['gc_cfg']['location'] == 'update'
    if 'convnext' in config:  # GC on top of the config's own layer-decay constructor
        assert row['gc_cfg']['base_constructor'] == 'LearningRateDecayOptimizerConstructor'
        assert row['lrs'] > 1
    if family == 'query-based' and row['model'] in ('DETR', 'DINO'):
        # self-attention projections are GC'd, embeddings are not
        assert row['tensors']['attention'] == {'DETR': 18, 'DINO': 6}[row['model']]
        assert row['skipped']['embedding table'] >= 1
