"""GC on top of the constructor an mmdet config names: mmdet's
LearningRateDecayOptimizerConstructor on mmdet 3.3's ConvNeXt-T Mask R-CNN
config, with mmpretrain's real ConvNeXt backbone (no pretrained weights)."""

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.optim import build_optim_wrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, DefaultScope

from gc_mmdet.cli.gc_coverage import load_with_gc, read_config
from gc_mmdet.engine.optimizers import gc_handle_of
from gc_mmdet.engine.optimizers.paramwise import KNOWN_READERS
from gc_mmdet.utils.pretrained import without_pretrained
from helpers.mmpretrain_lib import needs_mmpretrain, use_mmpretrain
from helpers.read_recorder import ReadRecorder

pytestmark = [
    needs_mmpretrain,
    pytest.mark.slow,  # builds ConvNeXt-T Mask R-CNN; one training step: test_zoo_sweep.py
    pytest.mark.filterwarnings('ignore::UserWarning'),
]

CONFIG = 'mmdet::convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py'


@pytest.fixture(scope='module')
def convnext():
    use_mmpretrain()
    cfg = read_config(CONFIG)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(without_pretrained(cfg.model))
    return cfg, model


def _build(model, optim_wrapper):
    optim_wrapper = dict(optim_wrapper, type='OptimWrapper')  # AMP needs a GPU
    with DefaultScope.overwrite_default_scope('mmdet'):
        return build_optim_wrapper(model, optim_wrapper)


def _groups(wrapper):
    return [
        {k: ([id(p) for p in v] if k == 'params' else v) for k, v in g.items()}
        for g in wrapper.optimizer.param_groups
    ]


def test_gc_keeps_the_layer_decay_groups(convnext):
    cfg, model = convnext
    base = _build(model, cfg.optim_wrapper)
    gc_cfg, added = load_with_gc(CONFIG)
    assert added == dict(
        location='update', base_constructor='LearningRateDecayOptimizerConstructor'
    )
    gc = _build(model, gc_cfg.optim_wrapper)
    assert _groups(gc) == _groups(base)
    groups = gc.optimizer.param_groups
    assert len(groups) == 16
    assert len({g['lr'] for g in groups}) == 8 and {g['weight_decay'] for g in groups} == {0, 0.05}
    names = {t.name for t in gc_handle_of(gc).targets}
    assert 'backbone.stages.0.0.depthwise_conv.weight' in names
    assert 'roi_head.mask_head.conv_logits.weight' in names


def _reads(name, paramwise_cfg, model):
    recorder = ReadRecorder(dict(paramwise_cfg, not_a_key=1))
    optim_wrapper_cfg = dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05)
    )
    with DefaultScope.overwrite_default_scope('mmdet'):
        OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(type=name, optim_wrapper_cfg=optim_wrapper_cfg, paramwise_cfg=recorder)
        )(model)
    return recorder.read


def test_known_readers_of_mmdets_layer_decay(convnext):
    keys = dict(decay_rate=0.9, decay_type='layer_wise', num_layers=6)
    read = _reads('mmdet.LearningRateDecayOptimizerConstructor', keys, convnext[1])
    assert read == set(KNOWN_READERS['LearningRateDecayOptimizerConstructor'])


def test_known_readers_of_mmpretrains_layer_decay(convnext):
    """On an mmpretrain classifier: its constructor needs ``get_layer_depth``."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(
            dict(
                type='mmpretrain.ImageClassifier',
                backbone=dict(type='mmpretrain.ConvNeXt', arch='atto'),
                head=dict(type='mmpretrain.LinearClsHead', num_classes=3, in_channels=320),
            )
        )
    keys = dict(
        layer_decay_rate=0.9,
        bias_decay_mult=0.0,
        norm_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={},
    )
    read = _reads('mmpretrain.LearningRateDecayOptimWrapperConstructor', keys, model)
    assert read == set(KNOWN_READERS['LearningRateDecayOptimWrapperConstructor'])


def test_the_readme_line_alone_is_refused(convnext):
    """Only naming GCOptimWrapperConstructor (the README's line) leaves the
    layer-decay keys to mmengine's default constructor, which ignores them:
    that used to train without layer decay and with decay on norms and biases."""
    from gc_mmdet.utils.errors import ConfigKeyError

    cfg, model = convnext
    ow = dict(cfg.optim_wrapper, constructor='GCOptimWrapperConstructor')
    with pytest.raises(
        ConfigKeyError,
        match=r'paramwise_cfg.decay_rate \(read by '
        r'LearningRateDecayOptimizerConstructor\).* is not read by '
        r'DefaultOptimWrapperConstructor',
    ):
        _build(model, ow)
