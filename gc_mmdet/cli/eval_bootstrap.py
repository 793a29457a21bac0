# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""How much of a difference in COCO AP the validation set alone makes: a
bootstrap over validation images.

Each resample draws the validation images with replacement (a drawn image
comes with its annotations and every run's detections on it, under a new
image id) and evaluates every run on that same set, so the spread of one
run's AP, and of GC minus baseline, is what resampling the validation set
produces with the models fixed.

Example:
    >>> samples = bootstrap_ap(gt, {'gc': {'bbox': dets}}, ('bbox',), n_boot=200)
    >>> np.percentile(samples['gc']['bbox'], [2.5, 97.5])
"""

import contextlib
import io
from typing import Dict, Hashable, List, Mapping, Sequence, Tuple

import numpy as np

from ..evaluation.backends import coco_api

__all__ = ['resample', 'coco_ap', 'bootstrap_ap', 'bootstrap_bands']


def resample(gt: Mapping, dets: Mapping[Hashable, List[dict]], draw: Sequence[int]):
    """The ground truth and detections of the images ``draw`` (ids, with
    repeats), image ``k`` of the draw getting id ``k + 1``.

    Returns:
        tuple: ``(gt, {key: detections})`` in COCO format.
    """
    images = {img['id']: img for img in gt['images']}
    anns: Dict[int, List[dict]] = {}
    for ann in gt['annotations']:
        anns.setdefault(ann['image_id'], []).append(ann)
    by_image = {key: _group(d, 'image_id') for key, d in dets.items()}
    new_images, new_anns = [], []
    new_dets: Dict[Hashable, List[dict]] = {key: [] for key in dets}
    for k, image_id in enumerate(draw):
        new_id = k + 1
        new_images.append(dict(images[image_id], id=new_id))
        for ann in anns.get(image_id, ()):
            new_anns.append(dict(ann, image_id=new_id, id=len(new_anns) + 1))
        for key, groups in by_image.items():
            new_dets[key] += [dict(d, image_id=new_id) for d in groups.get(image_id, ())]
    out = {k: v for k, v in gt.items() if k not in ('images', 'annotations')}
    return dict(out, images=new_images, annotations=new_anns), new_dets


def _group(items: List[dict], key: str) -> Dict[int, List[dict]]:
    groups: Dict[int, List[dict]] = {}
    for item in items:
        groups.setdefault(item[key], []).append(item)
    return groups


def coco_ap(gt: Mapping, dets: List[dict], iou_type: str, backend: str = 'faster') -> float:
    """COCO AP@[.5:.95] of ``dets`` on ``gt`` (dicts in COCO format), quiet;
    0 when there is no detection."""
    if not dets:
        return 0.0
    coco_cls, eval_cls = coco_api(backend)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = coco_cls()
        coco.dataset = dict(gt)
        coco.createIndex()
        result = coco.loadRes([dict(d) for d in dets])
        ev = eval_cls(coco, result, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def bootstrap_ap(
    gt: Mapping,
    dets: Mapping[Hashable, Mapping[str, List[dict]]],
    iou_types: Sequence[str] = ('bbox', 'segm'),
    n_boot: int = 200,
    seed: int = 0,
    backend: str = 'faster',
) -> Dict[Hashable, Dict[str, np.ndarray]]:
    """AP of every run on ``n_boot`` resamples of the validation images,
    every run on the same resamples.

    Args:
        gt: the validation set's COCO annotations.
        dets: ``{run: {iou_type: detections}}`` in COCO result format.

    Returns:
        dict: ``{run: {iou_type: array of n_boot APs}}``.
    """
    rng = np.random.default_rng(seed)
    ids = [img['id'] for img in gt['images']]
    out: Dict[Hashable, Dict[str, List[float]]] = {r: {t: [] for t in iou_types} for r in dets}
    for _ in range(n_boot):
        draw = rng.choice(ids, size=len(ids), replace=True)
        for iou_type in iou_types:
            gt_b, dets_b = resample(gt, {r: d[iou_type] for r, d in dets.items()}, draw)
            for run, d in dets_b.items():
                out[run][iou_type].append(coco_ap(gt_b, d, iou_type, backend))
    return {r: {t: np.asarray(v) for t, v in by.items()} for r, by in out.items()}


def bootstrap_bands(
    samples: Mapping[Tuple[str, int], Mapping[str, np.ndarray]],
    n_images: int,
    level: float = 0.95,
) -> Dict[str, dict]:
    """Per task, from :func:`bootstrap_ap` over runs keyed ``(arm, seed)``:
    the widest percentile band of one run's AP (half-width), of one seed's
    GC minus baseline, and the band of the mean difference over seeds.

    Returns:
        dict: ``{task: dict(run_half, seed_diff_half, mean_diff=[lo, hi],
        n_boot, n_images)}``.
    """
    q = [50 * (1 - level), 50 * (1 + level)]
    seeds = sorted({s for a, s in samples if a == 'gc' and ('baseline', s) in samples})
    tasks = sorted({t for by in samples.values() for t in by})
    bands = {}
    for task in tasks:
        half = [np.diff(np.percentile(by[task], q))[0] / 2 for by in samples.values()]
        diffs = [samples['gc', s][task] - samples['baseline', s][task] for s in seeds]
        seed_half = [np.diff(np.percentile(d, q))[0] / 2 for d in diffs]
        mean_diff = np.mean(diffs, axis=0) if diffs else np.zeros(0)
        bands[task] = dict(
            run_half=float(max(half)),
            seed_diff_half=float(max(seed_half)) if seed_half else None,
            mean_diff=np.percentile(mean_diff, q).tolist() if diffs else None,
            n_boot=int(len(next(iter(samples.values()))[task])),
            n_images=n_images,
        )
    return bands
