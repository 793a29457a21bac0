# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""A workload for COCO evaluators: ground truth with crowd regions, and
detections synthesized from ground truth with the errors a detector makes.

No image is rendered: evaluation reads only the annotation file (image sizes,
segmentations, ``area``, ``iscrowd``) and the detections, so thousands of
images cost seconds. Used to check that two evaluation backends agree
(``tests/test_evaluation/test_eval_backends.py``) and to time them
(``benchmarks/coco_eval_backends.py``).

* :func:`synthetic_coco_gt` writes a COCO ground-truth dict: images of mixed
  sizes, filled shapes (ellipses, rotated rectangles, triangles, stars) from
  a few pixels to most of the image (small, medium and large objects), as
  polygons or compressed RLE, non-contiguous image and category ids, and crowd
  regions (``iscrowd=1``, clusters of blobs) as uncompressed RLE or as
  multi-part polygons.
* :func:`jitter_detections` turns any COCO ground truth into detections in
  COCO result format (``bbox``, ``score``, ``category_id``, RLE
  ``segmentation``): shifted and rescaled boxes, masks shifted, grown or
  shrunk, wrong classes, duplicates, missed objects, false positives,
  detections on crowd regions, tied scores, and optionally low-score filler
  up to a detector's per-image cap.
"""

from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from pycocotools import mask as mask_utils

__all__ = ['synthetic_coco_gt', 'jitter_detections', 'uncompressed_rle']

#: The shapes drawn; category ``i`` of :func:`synthetic_coco_gt` is a ``SHAPES[i % 4]``.
SHAPES = ('ellipse', 'box', 'triangle', 'star')


def _categories(num: int) -> List[dict]:
    """``num`` categories with ids that have gaps, as COCO's (1..90 for 80) do."""
    return [
        dict(
            id=2 + 3 * i,
            name=SHAPES[i % 4] if num <= 4 else f'{SHAPES[i % 4]}_{i}',
            supercategory=SHAPES[i % 4],
        )
        for i in range(num)
    ]


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE of a binary mask (``counts`` a list of run
    lengths in column-major order, starting with a background run), the
    encoding of COCO's own crowd annotations.

    Args:
        mask (np.ndarray): ``(H, W)`` bool or 0/1 mask.

    Returns:
        dict: ``{'size': [H, W], 'counts': [int, ...]}``.
    """
    flat = np.asarray(mask, dtype=np.int8).flatten(order='F')
    edges = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {'size': [int(mask.shape[0]), int(mask.shape[1])], 'counts': counts}


def _shape_polygon(
    rng: np.random.Generator, kind: str, cx: float, cy: float, r: float
) -> List[float]:
    """A flat polygon ``[x0, y0, x1, y1, ...]`` of a shape of radius ``r``."""
    angle = rng.uniform(0, 2 * np.pi)
    if kind == 'ellipse':
        t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        ry = r * rng.uniform(0.4, 1.0)
        x, y = r * np.cos(t), ry * np.sin(t)
    elif kind == 'box':
        w2, h2 = r, r * rng.uniform(0.3, 1.0)
        x, y = np.array([-w2, w2, w2, -w2]), np.array([-h2, -h2, h2, h2])
    elif kind == 'triangle':
        t = angle + np.array([0, 2, 4]) * np.pi / 3
        return [float(v) for p in zip(cx + r * np.cos(t), cy + r * np.sin(t)) for v in p]
    else:  # star
        t = np.arange(10) * np.pi / 5
        rad = np.where(np.arange(10) % 2 == 0, r, 0.45 * r)
        x, y = rad * np.cos(t), rad * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    xs, ys = cx + c * x - s * y, cy + s * x + c * y
    return [float(v) for p in zip(xs, ys) for v in p]


def _rle(polygons: Sequence[Sequence[float]], h: int, w: int) -> dict:
    return mask_utils.merge(mask_utils.frPyObjects([list(p) for p in polygons], h, w))


def _json_rle(rle: dict) -> dict:
    counts = rle['counts']
    return {
        'size': [int(v) for v in rle['size']],
        'counts': counts.decode('ascii') if isinstance(counts, bytes) else counts,
    }


def synthetic_coco_gt(
    num_images: int,
    min_size: int = 96,
    max_size: int = 320,
    seed: int = 0,
    max_objects: int = 6,
    crowd_fraction: float = 0.3,
    num_categories: int = 4,
) -> dict:
    """A COCO instance-segmentation ground truth with crowd regions.

    Args:
        num_images (int): Number of images.
        min_size (int): Smallest image side in pixels. Defaults to 96.
        max_size (int): Largest image side in pixels. Defaults to 320.
        seed (int): Random seed; the same arguments give the same dict.
        max_objects (int): Most objects (not crowd) per image; each image
            has 0 to ``max_objects``. Defaults to 6.
        crowd_fraction (float): Fraction of images with a crowd region
            (``iscrowd=1``); half of the regions are uncompressed RLE, half
            multi-part polygons. Defaults to 0.3.
        num_categories (int): Number of categories (COCO has 80); category
            ``i`` draws ``SHAPES[i % 4]``. Defaults to 4.

    Returns:
        dict: ``images``, ``annotations`` and ``categories``, ready for
        ``json.dump`` or a ``COCO`` object.
    """
    rng = np.random.default_rng(seed)
    images, annotations = [], []
    categories = _categories(num_categories)
    cat_ids = [c['id'] for c in categories]
    for index in range(num_images):
        image_id = 1000 + 7 * index
        w, h = (int(v) for v in rng.integers(min_size, max_size + 1, size=2))
        images.append(dict(id=image_id, file_name=f'{index:06d}.png', width=w, height=h))
        objects = []
        for _ in range(int(rng.integers(0, max_objects + 1))):
            k = int(rng.integers(num_categories))
            # log-uniform radius: from a few pixels (small) to half the image (large)
            r = float(np.exp(rng.uniform(np.log(3), np.log(0.5 * min(w, h)))))
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            objects.append((cat_ids[k], [_shape_polygon(rng, SHAPES[k % 4], cx, cy, r)], 0))
        if rng.random() < crowd_fraction:
            cx, cy = rng.uniform(0.2 * w, 0.8 * w), rng.uniform(0.2 * h, 0.8 * h)
            spread = 0.2 * min(w, h)
            blobs = [
                _shape_polygon(
                    rng,
                    'ellipse',
                    cx + rng.normal(0, spread),
                    cy + rng.normal(0, spread),
                    rng.uniform(3, spread),
                )
                for _ in range(int(rng.integers(3, 9)))
            ]
            objects.append((cat_ids[int(rng.integers(len(cat_ids)))], blobs, 1))
        for cat_id, polygons, crowd in objects:
            rle = _rle(polygons, h, w)
            area = float(mask_utils.area(rle))
            if area == 0:  # entirely outside the image
                continue
            if crowd and len(annotations) % 2:
                segmentation = uncompressed_rle(mask_utils.decode(rle))
            elif not crowd and rng.random() < 0.5:
                segmentation = _json_rle(rle)
            else:
                segmentation = [list(p) for p in polygons]
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=cat_id,
                    segmentation=segmentation,
                    area=area,
                    iscrowd=crowd,
                    bbox=[float(v) for v in mask_utils.toBbox(rle)],
                )
            )
    return dict(images=images, annotations=annotations, categories=categories)


def _gt_rle(ann: dict, h: int, w: int) -> dict:
    seg = ann['segmentation']
    if isinstance(seg, list):
        return _rle(seg, h, w)
    if isinstance(seg['counts'], list):
        return mask_utils.frPyObjects(seg, h, w)
    return dict(
        seg,
        counts=seg['counts'].encode('ascii') if isinstance(seg['counts'], str) else seg['counts'],
    )


def _jitter_mask(rng: np.random.Generator, ann: dict, h: int, w: int) -> dict:
    """The ground truth's mask shifted, rescaled or grown/shrunk a little."""
    bw, bh = ann['bbox'][2:]
    seg = ann['segmentation']
    if isinstance(seg, list):  # move and rescale the polygon about its centre
        scale = float(np.exp(rng.normal(0, 0.1)))
        shift = rng.normal(0, 0.08, 2) * (bw, bh)
        polygons = []
        for poly in seg:
            pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
            c = pts.mean(0)
            pts = (pts - c) * scale + c + shift + rng.normal(0, 0.3, pts.shape)
            polygons.append(np.clip(pts, 0, (w, h)).ravel().tolist())
        return _rle(polygons, h, w)
    mask = mask_utils.decode(_gt_rle(ann, h, w))
    dx, dy = (int(v) for v in np.round(rng.normal(0, 0.08, 2) * (bw, bh)))
    moved = np.zeros_like(mask)
    moved[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = mask[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    steps = int(rng.integers(-2, 3))
    kernel = np.ones((3, 3), np.uint8)
    if steps > 0:
        moved = cv2.dilate(moved, kernel, iterations=steps)
    elif steps < 0:
        moved = cv2.erode(moved, kernel, iterations=-steps)
    if not moved.any():
        moved = mask
    return mask_utils.encode(np.asfortranarray(moved))


def _blob_rle(rng: np.random.Generator, h: int, w: int, max_side: float) -> dict:
    """A random ellipse inside the image (a false positive's mask)."""
    r = float(rng.uniform(2, max(3.0, max_side / 2)))
    poly = _shape_polygon(rng, 'ellipse', rng.uniform(0, w), rng.uniform(0, h), r)
    pts = np.clip(np.asarray(poly).reshape(-1, 2), 0, (w, h))
    return _rle([pts.ravel().tolist()], h, w)


def _detection(
    rng: np.random.Generator, image_id: int, cat_id: int, rle: dict, score: float, h: int, w: int
) -> Optional[dict]:
    if mask_utils.area(rle) == 0:
        return None
    x, y, bw, bh = (float(v) for v in mask_utils.toBbox(rle))
    # the box is regressed separately from the mask: a pixel or so apart
    x0, y0 = np.clip([x + rng.normal(0, 1.0), y + rng.normal(0, 1.0)], 0, (w - 1, h - 1))
    x1 = float(np.clip(x + bw + rng.normal(0, 1.0), x0 + 0.5, w))
    y1 = float(np.clip(y + bh + rng.normal(0, 1.0), y0 + 0.5, h))
    if rng.random() < 0.3:  # scores tie, as float32 scores of a detector do
        score = round(score, 2)
    return dict(
        image_id=image_id,
        category_id=cat_id,
        score=float(score),
        bbox=[float(x0), float(y0), x1 - float(x0), y1 - float(y0)],
        segmentation=_json_rle(rle),
    )


def jitter_detections(
    gt: dict,
    seed: int = 0,
    miss_rate: float = 0.15,
    wrong_class_rate: float = 0.1,
    duplicate_rate: float = 0.25,
    false_positives: float = 1.5,
    dets_per_image: int = 0,
    overflow_every: int = 0,
) -> List[dict]:
    """Detections synthesized from a COCO ground truth, in COCO result format.

    For every object that is not crowd: missed with probability
    ``miss_rate``, else one detection (two with ``duplicate_rate``) whose
    mask is the object's shifted, rescaled, grown or shrunk, with a box a
    pixel or so off the mask's, the wrong class with ``wrong_class_rate``,
    and a score that falls with how far it was moved. Every crowd region
    gets three detections inside it (two of its class, which evaluation must
    ignore, one of another). Each image gets ``false_positives`` (on
    average) random detections, then low-score filler up to ``dets_per_image``.
    With ``overflow_every`` = N, every N-th image (with objects) also gets 120
    confident false positives of the class of its first object, so that the
    object's true detections rank beyond the 100th of their class: there
    pycocotools' AP (taken at ``maxDets=100``) and faster-coco-eval's own AP
    (at ``maxDets[-1]``) differ.

    Args:
        gt (dict): COCO ground truth (``images`` with ``width`` and
            ``height``, ``annotations``, ``categories``).
        seed (int): Random seed; the same arguments give the same list.
        miss_rate (float): Probability an object gets no detection.
        wrong_class_rate (float): Probability a detection has another class.
        duplicate_rate (float): Probability an object gets a second detection.
        false_positives (float): Mean number of random detections per image.
        dets_per_image (int): Fill every image up to this many detections
            with low scores (0: no filler). A detector keeps 100.
        overflow_every (int): Every N-th image gets 120 more (0: none).
            These come after the filler: such images exceed ``dets_per_image``.

    Returns:
        list[dict]: ``image_id``, ``category_id``, ``score``, ``bbox``
        (``[x, y, w, h]``) and ``segmentation`` (compressed RLE with ``str``
        counts), as mmdet's CocoMetric writes them.
    """
    rng = np.random.default_rng(seed)
    cat_ids = [c['id'] for c in gt['categories']]
    by_image: Dict[int, List[dict]] = {img['id']: [] for img in gt['images']}
    for ann in gt.get('annotations', []):
        by_image[ann['image_id']].append(ann)

    def other(cat_id: int) -> int:
        choices = [c for c in cat_ids if c != cat_id] or cat_ids
        return int(choices[int(rng.integers(len(choices)))])

    dets: List[dict] = []
    for img_index, img in enumerate(gt['images']):
        image_id, h, w = img['id'], int(img['height']), int(img['width'])
        mine: List[Optional[dict]] = []
        for ann in by_image[image_id]:
            if ann.get('iscrowd', 0):
                crowd = _gt_rle(ann, h, w)
                x, y, bw, bh = ann['bbox']
                for j in range(3):
                    sx, sy = x + rng.uniform(0, 0.6) * bw, y + rng.uniform(0, 0.6) * bh
                    sub = [
                        [sx, sy, sx + 0.4 * bw, sy, sx + 0.4 * bw, sy + 0.4 * bh, sx, sy + 0.4 * bh]
                    ]
                    part = mask_utils.merge([crowd, _rle(sub, h, w)], intersect=True)
                    cat = ann['category_id'] if j < 2 else other(ann['category_id'])
                    mine.append(_detection(rng, image_id, cat, part, rng.uniform(0.1, 0.95), h, w))
                continue
            if rng.random() < miss_rate:
                continue
            for _ in range(1 + int(rng.random() < duplicate_rate)):
                rle = _jitter_mask(rng, ann, h, w)
                iou = float(mask_utils.iou([rle], [_gt_rle(ann, h, w)], [0])[0][0])
                cat = (
                    other(ann['category_id'])
                    if rng.random() < wrong_class_rate
                    else ann['category_id']
                )
                score = float(np.clip(0.3 + 0.6 * iou + rng.normal(0, 0.15), 0.01, 0.999))
                mine.append(_detection(rng, image_id, cat, rle, score, h, w))
        for _ in range(int(rng.poisson(false_positives))):
            mine.append(
                _detection(
                    rng,
                    image_id,
                    int(rng.choice(cat_ids)),
                    _blob_rle(rng, h, w, min(w, h) / 2),
                    rng.uniform(0.01, 0.7),
                    h,
                    w,
                )
            )
        for _ in range(max(0, dets_per_image - sum(d is not None for d in mine))):
            mine.append(
                _detection(
                    rng,
                    image_id,
                    int(rng.choice(cat_ids)),
                    _blob_rle(rng, h, w, min(w, h) / 6),
                    rng.uniform(0.001, 0.1),
                    h,
                    w,
                )
            )
        if overflow_every and img_index % overflow_every == 0 and by_image[image_id]:
            # 120 confident false positives of an object's class: its true
            # detections rank below the 100th
            cat = by_image[image_id][0]['category_id']
            for _ in range(120):
                mine.append(
                    _detection(
                        rng,
                        image_id,
                        cat,
                        _blob_rle(rng, h, w, min(w, h) / 6),
                        rng.uniform(0.5, 0.999),
                        h,
                        w,
                    )
                )
        mine = [d for d in mine if d is not None]
        dets.extend(mine)
    return dets
