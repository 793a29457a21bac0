# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""A config of one's own that inherits mmdet's and adds the README's two GC
lines trains with mmdet's own tools/train.py (shipped in mmdet/.mim/tools)."""

import os
import os.path as osp
import sys
import textwrap

import mmdet
import pytest

from helpers.synthetic import assert_ok, run, train_on_synthetic

pytestmark = pytest.mark.slow

MMDET_TRAIN = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')


def test_mmdet_train_tool_runs_gc(synthetic_root, tmp_path):
    from gc_mmdet.datasets import ensure_synthetic_coco

    ensure_synthetic_coco(synthetic_root, num_train=8, num_val=4, size=128)
    cfg = tmp_path / 'retinanet_gc_mine.py'
    cfg.write_text(
        textwrap.dedent("""
        _base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['gc_mmdet'], allow_failed_imports=False)
        optim_wrapper = dict(constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers='conv_fc'))
        """)
        + train_on_synthetic(
            synthetic_root, 'dict(backbone=dict(init_cfg=None), bbox_head=dict(num_classes=5))'
        )
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
