"""Every part of the package that looks for a config ``type`` finds it however
the user wrote it: the registry name, the name with its scope, the class
(gc_mmdet.utils.config_parts.is_type). On the old code each scoped or
class-typed case below was passed over: the image loader ran without its
guard, mmengine's checkpoint hook without the safe save, FSDP1 with GC."""

import pytest
from mmcv.transforms import LoadImageFromFile
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.model.weight_init import PretrainedInit

from gc_mmdet.datasets.checks.data_check import use_guarded_loading
from gc_mmdet.engine.optimizers import GCOptimWrapperConstructor, check_gc_strategy
from gc_mmdet.utils.checkpoints import use_safe_checkpoints
from gc_mmdet.utils.config_parts import bare_type_name, is_type
from gc_mmdet.utils.pretrained import find_pretrained, without_pretrained
from helpers.synthetic import ROOT


def _spellings(name, cls, scope):
    return pytest.mark.parametrize(
        'kind', [name, f'{scope}.{name}', cls], ids=['name', 'scoped', 'class']
    )


@_spellings('LoadImageFromFile', LoadImageFromFile, 'mmdet')
def test_is_type_reads_every_spelling(kind):
    assert is_type(kind, 'LoadImageFromFile') and bare_type_name(kind) == 'LoadImageFromFile'
    assert not is_type(kind, 'LoadAnnotations', 'ImageFromFile')


@_spellings('LoadImageFromFile', LoadImageFromFile, 'mmdet')
def test_every_image_loader_gets_the_guard(kind, tmp_path):
    pipeline = [dict(type=kind), dict(type='mmdet.LoadAnnotations')]
    cfg = Config(
        dict(work_dir=str(tmp_path), train_dataloader=dict(dataset=dict(pipeline=pipeline)))
    )
    use_guarded_loading(cfg)
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert types == ['mmdet.GuardedLoadImageFromFile', 'mmdet.LoadAnnotations']


@_spellings('CheckpointHook', CheckpointHook, 'mmengine')
def test_every_checkpoint_hook_is_saved_safely(kind):
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(type=kind, interval=1))))
    use_safe_checkpoints(cfg)
    assert cfg.default_hooks.checkpoint == dict(type='SafeCheckpointHook', interval=1)


@pytest.mark.parametrize('kind', ['FSDPStrategy', 'mmengine.FSDPStrategy'])
def test_fsdp1_is_refused_however_named(kind):
    with pytest.raises(ValueError, match='FSDP1'):
        check_gc_strategy(dict(type=kind))


@pytest.mark.parametrize('kind', ['Pretrained', 'mmengine.Pretrained', PretrainedInit])
def test_every_pretrained_init_is_found_and_dropped(kind):
    model = dict(backbone=dict(init_cfg=dict(type=kind, checkpoint='torchvision://resnet50')))
    assert find_pretrained(Config(dict(model=model))) == [
        ('model.backbone.init_cfg.checkpoint', 'torchvision://resnet50')
    ]
    assert without_pretrained(model) == dict(backbone=dict(init_cfg=None))


def test_a_config_with_gcs_constructor_as_a_class_is_one_with_gc():
    from gc_mmdet.cli.gc_coverage import load_with_gc

    _, added = load_with_gc(
        f'{ROOT}/configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py',
        {'optim_wrapper.constructor': GCOptimWrapperConstructor},
    )
    assert added is None
