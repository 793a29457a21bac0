# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""A user's own COCO-format data trains and evaluates with GC through
tools/train.py and tools/test.py, with the README's example config, and the
data folder is byte-identical afterwards."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from _own_coco import CLASSES, hash_tree, make_own_coco, own_data_overrides
from _synthetic import ROOT, run, tool_cmd
from gc_mmdet.tools.run_logs import last_checkpoint, read_scalars, train_records

CONFIG = 'configs/own_data/mask-rcnn_r18-half_fpn_gn-all_gc_own-coco.py'


def test_example_config_has_no_synthetic_keys():
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert ds.type == 'CocoDataset' and 'synthetic' not in ds
        assert ds.metainfo.classes == CLASSES and ds.pipeline
    assert cfg.model.roi_head.bbox_head.num_classes == len(CLASSES)
    assert cfg.model.roi_head.mask_head.num_classes == len(CLASSES)
    assert cfg.optim_wrapper.constructor == 'GCOptimWrapperConstructor'


@pytest.mark.slow
def test_own_coco_data_trains_and_evaluates_and_is_untouched(tmp_path):
    data_root = str(tmp_path / 'my_fruit')
    make_own_coco(data_root)
    before = hash_tree(data_root)
    assert any(k.endswith('.jpg') for k in before) and any(k.endswith('.png') for k in before)

    work_dir = str(tmp_path / 'work')
    opts = own_data_overrides(data_root, epochs=2)
    proc = run(tool_cmd('train.py', CONFIG, '--work-dir', work_dir, cfg_options=opts))
    assert proc.returncode == 0, proc.stderr[-3000:]
    # 5 annotated train images (the empty one is filtered), batch 4: 2 + 2
    losses = [r['loss'] for r in train_records(read_scalars(work_dir))]
    assert len(losses) == 4 and all(l == l for l in losses)
    logs = [osp.join(d, f) for d, _, fs in os.walk(work_dir) for f in fs if f.endswith('.log')]
    log = open(logs[0]).read()
    assert 'Gradient Centralization on 44 tensors' in log

    out = str(tmp_path / 'test')
    ckpt = last_checkpoint(work_dir)
    proc = run(tool_cmd('test.py', CONFIG, ckpt, '--work-dir', out, cfg_options=opts))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| bbox |' in proc.stdout and '| segm |' in proc.stdout
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    for task in ('bbox', 'segm'):
        for key in ('mAP', 'mAP_50', 'mAP_75'):
            assert 0.0 <= metrics[f'coco/{task}_{key}'] <= 1.0

    assert hash_tree(data_root) == before
