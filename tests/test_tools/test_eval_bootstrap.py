"""gc_mmdet.cli.eval_bootstrap: resampled validation sets evaluated with the
real COCO evaluators."""

import numpy as np
import pytest

from gc_mmdet.cli.eval_bootstrap import bootstrap_ap, bootstrap_bands, coco_ap, resample
from helpers.synthetic_detections import jitter_detections, synthetic_coco_gt


@pytest.fixture(scope='module')
def gt_dets():
    gt = synthetic_coco_gt(12, seed=3)
    return gt, jitter_detections(gt, seed=1), jitter_detections(gt, seed=2, miss_rate=0.4)


@pytest.mark.parametrize('backend', ['pycocotools', 'faster'])
def test_the_whole_set_once_or_twice_gives_its_ap(gt_dets, backend):
    gt, dets, _ = gt_dets
    ids = [img['id'] for img in gt['images']]
    for iou_type in ('bbox', 'segm'):
        full = coco_ap(gt, dets, iou_type, backend)
        assert 0.1 < full < 1
        once = resample(gt, {'a': dets}, ids)
        assert coco_ap(once[0], once[1]['a'], iou_type, backend) == pytest.approx(full)
        twice = resample(gt, {'a': dets}, ids + ids)  # each image twice: same P/R curve
        assert coco_ap(twice[0], twice[1]['a'], iou_type, backend) == pytest.approx(full)


def test_a_resample_holds_the_drawn_images_with_their_objects(gt_dets):
    gt, dets, _ = gt_dets
    first = gt['images'][0]['id']
    new_gt, new_dets = resample(gt, {'a': dets}, [first, first])
    assert [img['id'] for img in new_gt['images']] == [1, 2]
    n = sum(a['image_id'] == first for a in gt['annotations'])
    assert len(new_gt['annotations']) == 2 * n
    assert len({a['id'] for a in new_gt['annotations']}) == 2 * n
    assert len(new_dets['a']) == 2 * sum(d['image_id'] == first for d in dets)


def test_bootstrap_spreads_and_pairs_the_runs(gt_dets):
    gt, good, poor = gt_dets
    runs = {('gc', 0): dict(bbox=good), ('baseline', 0): dict(bbox=poor)}
    samples = bootstrap_ap(gt, runs, ('bbox',), n_boot=20, seed=0)
    assert samples[('gc', 0)]['bbox'].shape == (20,)
    assert np.std(samples[('gc', 0)]['bbox']) > 0  # resampling moves AP
    again = bootstrap_ap(gt, runs, ('bbox',), n_boot=20, seed=0)
    assert np.array_equal(again[('gc', 0)]['bbox'], samples[('gc', 0)]['bbox'])
    bands = bootstrap_bands(samples, len(gt['images']))['bbox']
    assert bands['n_boot'] == 20 and bands['run_half'] > 0
    lo, hi = bands['mean_diff']
    assert 0 < lo < hi  # the better detections win on every resample here
