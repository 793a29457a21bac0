# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""A config of one's own that inherits mmdet's and adds the README's two GC
lines trains with mmdet's own tools/train.py (shipped in mmdet/.mim/tools)."""

import os
import os.path as osp
import sys
import textwrap

import mmdet
import pytest

from helpers.synthetic import assert_ok, run

pytestmark = pytest.mark.slow

MMDET_TRAIN = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')


def test_mmdet_train_tool_runs_gc(synthetic_root, tmp_path):
    from gc_mmdet.datasets import ensure_synthetic_coco

    ensure_synthetic_coco(synthetic_root, num_train=8, num_val=4, size=128)
    root = synthetic_root.rstrip('/') + '/'
    cfg = tmp_path / 'retinanet_gc_mine.py'
    cfg.write_text(
        textwrap.dedent(f"""
        _base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['gc_mmdet'], allow_failed_imports=False)
        optim_wrapper = dict(constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers='conv_fc'))

        # the rest points it at the synthetic set for a CPU-sized run
        metainfo = dict(classes=('circle', 'square', 'triangle', 'ellipse', 'star'))
        model = dict(backbone=dict(init_cfg=None), bbox_head=dict(num_classes=5))
        pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                    dict(type='Resize', scale=(128, 128), keep_ratio=True),
                    dict(type='PackDetInputs')]
        train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
            dataset=dict(data_root={root!r}, metainfo=metainfo, pipeline=pipeline,
                         ann_file='annotations/instances_train.json', data_prefix=dict(img='train/')))
        train_cfg = dict(max_epochs=1, val_interval=2)
        val_dataloader = None
        val_cfg = None
        val_evaluator = None
        test_dataloader = None
        test_cfg = None
        test_evaluator = None
        param_scheduler = []
        default_hooks = dict(logger=dict(interval=1))
    """)
    )
    work_dir = str(tmp_path / 'work')
    proc = run([sys.executable, MMDET_TRAIN, str(cfg), '--work-dir', work_dir], timeout=600)
    assert_ok(proc)
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    logs = [osp.join(d, f) for d, _, fs in os.walk(work_dir) for f in fs if f.endswith('.log')]
    log = open(logs[0]).read()
    assert (
        'Gradient Centralization on 60 tensors' in log
    )  # every RetinaNet conv but the frozen stem
