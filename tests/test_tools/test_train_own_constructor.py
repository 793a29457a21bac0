"""docs/any_detector.md's config that adds GC to mmdet's ConvNeXt Mask R-CNN
(its own layer-decay constructor as GC's base) trains through tools/train.py
on the synthetic set, with the learning rates and weight decays of the
config's own constructor."""

import json
import os.path as osp
import re

import pytest

from helpers.mmpretrain_lib import MMPRETRAIN_LIB, needs_mmpretrain
from helpers.synthetic import (
    GC_CONFIG,
    ROOT,
    assert_ok,
    run,
    tiny_overrides,
    tool_cmd,
    train_on_synthetic,
)

pytestmark = [pytest.mark.slow, needs_mmpretrain]

SECTION = '### A config that names its own constructor'


def docs_example() -> str:
    """The config block of that section of docs/any_detector.md."""
    text = open(osp.join(ROOT, 'docs', 'any_detector.md')).read()
    section = text[text.index(SECTION) :]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_the_docs_convnext_config_trains_with_layer_decay_and_gc(
    synthetic_root, tmp_path, monkeypatch
):
    from gc_mmdet.datasets import ensure_synthetic_coco

    ensure_synthetic_coco(synthetic_root, num_train=4, num_val=2, size=128)
    cfg = tmp_path / 'mask-rcnn_convnext-t_gc.py'
    model = (
        'dict(backbone=dict(init_cfg=None), roi_head=dict(bbox_head=dict(num_classes=5), '
        'mask_head=dict(num_classes=5)))'
    )
    cfg.write_text(
        docs_example()
        + "optim_wrapper.update(type='OptimWrapper')  # AMP needs a GPU\n"
        + train_on_synthetic(synthetic_root, model, with_mask=True)
    )
    monkeypatch.setenv('PYTHONPATH', MMPRETRAIN_LIB)
    work_dir = tmp_path / 'work'
    proc = run(
        tool_cmd('train.py', str(cfg), '--work-dir', str(work_dir)),
        timeout=600,
    )
    assert_ok(proc)
    log = open(next(work_dir.glob('*/*.log'))).read()
    assert 'groups built by LearningRateDecayOptimizerConstructor' in log
    assert 'Gradient Centralization on' in log
    lrs = {float(x) for x in re.findall(r'"lr": ([0-9.e-]+)', log)}
    assert len(lrs) == 8, lrs  # the layer-wise decay of the config's own constructor
    scalars = [json.loads(line) for line in open(next(work_dir.glob('*/vis_data/scalars.json')))]
    assert scalars and all(s['loss'] == s['loss'] for s in scalars if 'loss' in s)


@pytest.mark.parametrize(
    'options,line',
    [
        (
            ['optim_wrapper.paramwise_cfg.decay_rate=0.9'],
            'error: optim_wrapper: paramwise_cfg.decay_rate (read by '
            'LearningRateDecayOptimizerConstructor) is not read by DefaultOptimWrapperConstructor',
        ),
        (
            ['optim_wrapper.constructor=LearningRateDecayOptimizerConstructor'],
            "optim_wrapper has gc_cfg but constructor='LearningRateDecayOptimizerConstructor'",
        ),
    ],
    ids=['unread-key', 'gc_cfg-under-another-constructor'],
)
def test_train_tool_refuses_in_one_line_before_training(synthetic_root, tmp_path, options, line):
    work_dir = tmp_path / 'work'
    opts = tiny_overrides(synthetic_root, epochs=1) + options
    proc = run(tool_cmd('train.py', GC_CONFIG, '--work-dir', str(work_dir), cfg_options=opts))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr and line in proc.stderr.strip().splitlines()[-1]
    assert not list(work_dir.glob('*.pth'))
