# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Evaluating the same predictions with both COCO evaluation backends, through
``BackendCocoMetric`` (mmdet's CocoMetric code path), offline."""

import copy
import json
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

#: The 12 COCOeval statistics, in pycocotools' order, as mmdet names them.
STAT_NAMES = (
    'mAP',
    'mAP_50',
    'mAP_75',
    'mAP_s',
    'mAP_m',
    'mAP_l',
    'AR@100',
    'AR@300',
    'AR@1000',
    'AR_s@1000',
    'AR_m@1000',
    'AR_l@1000',
)


def detections_to_samples(gt: dict, dets: List[dict]) -> List[dict]:
    """COCO-format detections as the data samples mmdet's CocoMetric
    processes (one per image, boxes xyxy, labels indexing the categories in
    file order, masks as RLE), as ``tools/test.py --out`` dumps them."""
    label_of = {c['id']: i for i, c in enumerate(gt['categories'])}
    per_image: Dict[int, List[dict]] = {img['id']: [] for img in gt['images']}
    for d in dets:
        per_image[d['image_id']].append(d)
    samples = []
    for img in gt['images']:
        mine = per_image[img['id']]
        boxes = np.array([d['bbox'] for d in mine], np.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        samples.append(
            dict(
                img_id=img['id'],
                ori_shape=(img['height'], img['width']),
                pred_instances=dict(
                    bboxes=torch.from_numpy(boxes),
                    scores=torch.tensor([d['score'] for d in mine], dtype=torch.float32),
                    labels=torch.tensor(
                        [label_of[d['category_id']] for d in mine], dtype=torch.int64
                    ),
                    masks=[
                        dict(
                            size=d['segmentation']['size'],
                            counts=d['segmentation']['counts'].encode('ascii'),
                        )
                        for d in mine
                    ],
                ),
            )
        )
    return samples


def class_names(ann_file: str) -> Tuple[str, ...]:
    with open(ann_file) as f:
        return tuple(c['name'] for c in json.load(f)['categories'])


def evaluate(
    samples: Sequence[dict], ann_file: str, backend: str, **metric_kwargs
) -> Tuple[Dict[str, float], Dict[str, np.ndarray]]:
    """``(metrics, last_stats)`` of ``BackendCocoMetric`` on ``samples``."""
    from gc_mmdet.evaluation import BackendCocoMetric

    metric_kwargs.setdefault('metric', ['bbox', 'segm'])
    metric = BackendCocoMetric(ann_file=ann_file, eval_backend=backend, **metric_kwargs)
    metric.dataset_meta = dict(classes=class_names(ann_file))
    metric.process({}, copy.deepcopy(list(samples)))
    metrics = metric.evaluate(len(samples))
    return metrics, metric.last_stats


def compare_backends(
    samples: Sequence[dict], ann_file: str, **metric_kwargs
) -> Tuple[dict, dict, float]:
    """Both backends on the same samples: ``(pycocotools, faster, max |Δ|)``
    where each is ``(metrics, last_stats)`` and max |Δ| is over every
    statistic of every IoU type."""
    py = evaluate(samples, ann_file, 'pycocotools', **metric_kwargs)
    fast = evaluate(samples, ann_file, 'faster', **metric_kwargs)
    assert set(py[1]) == set(fast[1]) and py[1], (py[1], fast[1])
    delta = max(float(np.abs(py[1][k] - fast[1][k]).max()) for k in py[1])
    return py, fast, delta


def stats_table(py: Dict[str, np.ndarray], fast: Dict[str, np.ndarray]) -> str:
    """The statistics of both backends side by side, one row each."""
    rows = ['| stat | pycocotools | faster | |Δ| |', '|---|---|---|---|']
    for iou_type in py:
        for name, a, b in zip(STAT_NAMES, py[iou_type], fast[iou_type]):
            rows.append(f'| {iou_type}_{name} | {a:.6f} | {b:.6f} | {abs(a - b):.1e} |')
    return '\n'.join(rows)
