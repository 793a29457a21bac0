# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""A user's own COCO-format data trains and evaluates with GC through
tools/train.py and tools/test.py, with the README's example config, and the
data folder is byte-identical afterwards."""

import json
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config

from gc_mmdet.cli.run_logs import last_checkpoint, read_scalars, train_records
from helpers.folders import hash_tree
from helpers.own_coco import (
    CLASSES,
    add_unusual_images,
    edit_annotations,
    find,
    make_own_coco,
    own_data_overrides,
)
from helpers.synthetic import ROOT, assert_ok, run, tool_cmd

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
    assert_ok(proc)
    # 5 annotated train images (the empty one is filtered), batch 4: 2 + 2
    losses = [r['loss'] for r in train_records(read_scalars(work_dir))]
    assert len(losses) == 4 and all(v == v for v in losses)
    logs = [osp.join(d, f) for d, _, fs in os.walk(work_dir) for f in fs if f.endswith('.log')]
    log = open(logs[0]).read()
    assert 'Gradient Centralization on 44 tensors' in log

    out = str(tmp_path / 'test')
    ckpt = last_checkpoint(work_dir)
    proc = run(tool_cmd('test.py', CONFIG, ckpt, '--work-dir', out, cfg_options=opts))
    assert_ok(proc)
    assert '| bbox |' in proc.stdout and '| segm |' in proc.stdout
    metrics = json.load(open(osp.join(out, 'metrics.json')))
    for task in ('bbox', 'segm'):
        for key in ('mAP', 'mAP_50', 'mAP_75'):
            assert 0.0 <= metrics[f'coco/{task}_{key}'] <= 1.0

    assert hash_tree(data_root) == before


@pytest.mark.slow
def test_unusual_but_valid_data_trains_and_evaluates(tmp_path, monkeypatch):
    """Grayscale and RGBA PNGs, a nested file name, a JPEG turned by EXIF and
    an image without annotations pass the data check and train and evaluate;
    a zero-width box is a counted warning, not an error."""
    monkeypatch.setenv('GC_MMDET_CACHE_DIR', str(tmp_path / 'cache'))
    data_root = str(tmp_path / 'my_fruit')
    make_own_coco(data_root)
    add_unusual_images(data_root)

    def tiny_box(coco):
        find(coco['annotations'], 102)['bbox'][2] = 0.5

    edit_annotations(data_root, 'train', tiny_box)
    before = hash_tree(data_root)

    work_dir = str(tmp_path / 'work')
    opts = own_data_overrides(data_root, epochs=1)
    proc = run(tool_cmd('train.py', CONFIG, '--work-dir', work_dir, cfg_options=opts))
    assert_ok(proc)
    ann = f'{data_root}/annotations/instances_train.json'
    assert (
        f'data: {ann}: training on 9 of 10 images (1 without an annotation of the '
        "config's classes (filter_empty_gt))"
    ) in proc.stdout.splitlines()
    assert (
        f'warning: {ann}: 1 annotations with a box under 1 px wide or high, or area <= 0 '
        '(mmdet skips them), first: annotation 102'
    ) in proc.stderr.splitlines()
    # 9 images of batch 4: 3 iterations
    assert len(train_records(read_scalars(work_dir))) == 3
    proc = run(
        tool_cmd(
            'test.py',
            CONFIG,
            last_checkpoint(work_dir),
            '--work-dir',
            str(tmp_path / 'test'),
            cfg_options=opts,
        )
    )
    assert_ok(proc)
    assert '| bbox |' in proc.stdout and '| segm |' in proc.stdout
    assert hash_tree(data_root) == before


@pytest.mark.slow
def test_image_broken_mid_run_stops_with_one_line_and_resumes(tmp_path, monkeypatch):
    """An image emptied after epoch 1 (after the check passed): one line naming
    it and the iteration, epoch_1.pth resumable once the file is back; with
    data_check.on_load_error='skip' the run skips it and counts it."""
    monkeypatch.setenv('GC_MMDET_CACHE_DIR', str(tmp_path / 'cache'))
    data_root = str(tmp_path / 'my_fruit')
    make_own_coco(data_root)
    image = osp.join(data_root, 'train', 'orchard_03.jpg')
    with open(image, 'rb') as f:
        original = f.read()
    config = 'tests/configs/own_data_break_image.py'
    opts = own_data_overrides(data_root, epochs=2) + [
        f'custom_hooks.2.path={image}',
        'default_hooks.checkpoint.interval=1',
    ]
    work_dir = str(tmp_path / 'work')
    proc = run(tool_cmd('train.py', config, '--work-dir', work_dir, cfg_options=opts))
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith('error:')]
    assert len(errors) == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert re.fullmatch(
        r'error: training stopped after iteration (2|3) \(epoch 2\): image '
        + re.escape(f'{image}: ')
        + r'.+; fix or remove that image, then continue from '
        + re.escape(ckpt)
        + r" with --resume; or set data_check=dict\(on_load_error='skip'\) "
        r'to skip such samples',
        errors[0],
    ), errors[0]
    assert last_checkpoint(work_dir) == ckpt  # nothing of epoch 2 was saved

    with open(image, 'wb') as f:  # the file is back
        f.write(original)
    opts = opts + ['custom_hooks.2.after_epoch=0']  # do not break it again
    proc = run(tool_cmd('train.py', config, '--work-dir', work_dir, '--resume', cfg_options=opts))
    assert_ok(proc)
    assert last_checkpoint(work_dir) == osp.join(work_dir, 'epoch_2.pth')

    # skipping: the same break, the run goes on and says how many it skipped
    skip_dir = str(tmp_path / 'skip')
    opts = own_data_overrides(data_root, epochs=2) + [
        f'custom_hooks.2.path={image}',
        'data_check.on_load_error=skip',
    ]
    proc = run(tool_cmd('train.py', config, '--work-dir', skip_dir, cfg_options=opts))
    assert_ok(proc)
    skipped = open(osp.join(skip_dir, 'skipped_samples.txt')).read().splitlines()
    assert skipped and all(line.startswith(f'{image}: ') for line in skipped)
    assert (
        f'warning: skipped {len(skipped)} training samples whose image failed to load '
        f"(data_check.on_load_error='skip'); listed in {skip_dir}/skipped_samples.txt"
    ) in proc.stderr.splitlines()
    assert len(train_records(read_scalars(skip_dir))) == 4  # every iteration still ran
