# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The demo learns: a reduced `make demo` (fixed seed and iterations) reaches
a box AP that a broken pipeline could not, and its report draws what it
learned."""
import json
import os.path as osp

import cv2
import pytest

from _synthetic import data_root_overrides, run, tool_cmd

pytestmark = pytest.mark.slow

DEMO = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'
ITERATIONS = 400  # 2 epochs of 200 iterations of 4 images
# Measured on this config at 400 iterations, seed 0: box AP 0.21 (see the
# README); an untrained or broken model scores below 0.02.
MIN_BOX_AP = 0.1


def _reduced(data_root: str):
    return data_root_overrides(data_root) + [
        'train_cfg.max_epochs=2', 'train_cfg.val_interval=2', 'randomness.seed=0',
        'param_scheduler.1.milestones=[2]', 'param_scheduler.1.end=2']


def test_reduced_demo_learns_and_reports(tmp_path):
    opts = _reduced(str(tmp_path / 'data'))
    work_dir = str(tmp_path / 'demo')
    proc = run(tool_cmd('train.py', DEMO, '--work-dir', work_dir, cfg_options=opts),
               timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.load(open(osp.join(work_dir, 'metrics.json')))
    print(f'reduced demo, {ITERATIONS} iterations: box AP {metrics["coco/bbox_mAP"]:.3f}, '
          f'mask AP {metrics["coco/segm_mAP"]:.3f}')
    assert metrics['coco/bbox_mAP'] >= MIN_BOX_AP
    assert metrics['coco/segm_mAP'] >= MIN_BOX_AP

    report = run(tool_cmd('demo_report.py', DEMO, work_dir, '--num-images', '2',
                          cfg_options=opts), timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    assert '| bbox |' in report.stdout and '| segm |' in report.stdout
    curve, preds = osp.join(work_dir, 'ap_curve.png'), osp.join(work_dir, 'predictions.png')
    assert f'AP curve: {curve}' in report.stdout and f'predictions: {preds}' in report.stdout
    assert cv2.imread(curve).shape == (400, 600, 3)
    img = cv2.imread(preds)
    # 2 rows of ground truth | prediction, each 3 x 160 px
    assert img.shape[0] >= 2 * 480 and img.shape[1] == 2 * 480
