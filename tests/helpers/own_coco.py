"""A small COCO data set with what real data has and the synthetic set lacks:
non-contiguous category ids, ``iscrowd=1`` regions in uncompressed RLE,
polygons and compressed RLE mixed, images of different sizes and aspect
ratios, JPEG and PNG, and an image without annotations."""

import json
import os
import os.path as osp
from typing import List

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from helpers.synthetic_detections import uncompressed_rle

CLASSES = ('apple', 'pear', 'plum')
CATEGORY_IDS = (3, 7, 12)  # not 1..N, as in COCO (1..90 with gaps)

# (file name, width, height, number of objects); 0 objects: no annotations
SPLITS = {
    'train': [
        ('orchard_01.jpg', 160, 120, 3),
        ('orchard_02.png', 96, 128, 2),
        ('orchard_03.jpg', 128, 128, 3),
        ('orchard_04.png', 144, 96, 2),
        ('orchard_05.jpg', 112, 160, 2),
        ('empty_01.png', 128, 96, 0),
    ],
    'val': [
        ('market_01.png', 128, 112, 3),
        ('market_02.jpg', 96, 144, 2),
        ('market_03.jpg', 160, 112, 2),
        ('empty_02.jpg', 112, 112, 0),
    ],
}


def _annotation(
    ann_id: int, image_id: int, category_id: int, mask: np.ndarray, encoding: str
) -> dict:
    if encoding == 'polygon':
        contours, _ = cv2.findContours(
            mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        seg = [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, *mask.shape))
        crowd = 0
    elif encoding == 'rle':
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        seg = dict(size=list(rle['size']), counts=rle['counts'].decode('ascii'))
        crowd = 0
    else:  # a crowd region, uncompressed RLE
        seg = uncompressed_rle(mask)
        rle = mask_utils.frPyObjects(seg, *mask.shape)
        crowd = 1
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=category_id,
        segmentation=seg,
        area=float(mask_utils.area(rle)),
        bbox=[float(v) for v in mask_utils.toBbox(rle)],
        iscrowd=crowd,
    )


def make_own_coco(root: str, seed: int = 0) -> None:
    """Write the data set under ``root``: ``annotations/instances_{split}.json``
    and the images in ``{split}/``."""
    rng = np.random.default_rng(seed)
    encodings = ('polygon', 'rle', 'polygon', 'crowd')
    ann_id = 100  # ids need not start at 1 either
    for split, images in SPLITS.items():
        os.makedirs(osp.join(root, split), exist_ok=True)
        coco = dict(
            images=[],
            annotations=[],
            categories=[
                dict(id=i, name=n, supercategory='fruit') for i, n in zip(CATEGORY_IDS, CLASSES)
            ],
        )
        for k, (name, w, h, num) in enumerate(images):
            image_id = 1000 + 10 * k
            img = np.full((h, w, 3), rng.integers(40, 200, 3), np.uint8)
            img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
            for j in range(num):
                label = int(rng.integers(len(CLASSES)))
                mask = np.zeros((h, w), np.uint8)
                r = int(rng.integers(12, min(w, h) // 3))
                cx, cy = int(rng.integers(r, w - r)), int(rng.integers(r, h - r))
                if label == 0:
                    cv2.circle(mask, (cx, cy), r, 1, -1)
                elif label == 1:
                    cv2.ellipse(mask, (cx, cy), (r, max(r // 2, 4)), 30.0, 0, 360, 1, -1)
                else:
                    cv2.rectangle(mask, (cx - r, cy - r), (cx + r, cy + r), 1, -1)
                img[mask.astype(bool)] = (60 + 70 * label, 200 - 60 * label, 90 + 40 * j)
                enc = encodings[(k + j) % len(encodings)]
                coco['annotations'].append(
                    _annotation(ann_id, image_id, CATEGORY_IDS[label], mask.astype(bool), enc)
                )
                ann_id += 1
            assert cv2.imwrite(osp.join(root, split, name), img)
            coco['images'].append(dict(id=image_id, file_name=name, width=w, height=h))
        os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(coco, f)


def own_data_overrides(data_root: str, epochs: int = 1) -> List[str]:
    """--cfg-options pointing the own-data example config at ``data_root``
    for a seconds-long run."""
    from helpers.synthetic import data_root_overrides

    return data_root_overrides(data_root) + [
        f'train_cfg.max_epochs={epochs}',
        'train_cfg.val_interval=1',
        'default_hooks.logger.interval=1',
        'param_scheduler.0.end=2',
        # a model trained for 4 iterations scores every class below mmdet's 0.05:
        # keep all its boxes, so that evaluation has predictions to score
        'model.test_cfg.rcnn.score_thr=0.0',
    ]


def edit_annotations(root: str, split: str, edit) -> None:
    """Apply ``edit(coco_dict)`` to ``annotations/instances_{split}.json``."""
    path = osp.join(root, 'annotations', f'instances_{split}.json')
    with open(path) as f:
        coco = json.load(f)
    edit(coco)
    with open(path, 'w') as f:
        json.dump(coco, f)


def find(items: List[dict], id_: int) -> dict:
    return next(x for x in items if x['id'] == id_)


def write_jpeg_with_orientation(path: str, stored_bgr: np.ndarray, orientation: int) -> None:
    """A JPEG whose pixels are ``stored_bgr`` and whose EXIF says to turn it
    (6: 90 degrees clockwise), as a phone writes a portrait photo."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(stored_bgr[:, :, ::-1]))
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, format='JPEG', quality=90, exif=exif.tobytes())


def add_unusual_images(root: str, seed: int = 1) -> None:
    """Valid data that is unlike the rest: a grayscale PNG, an RGBA PNG, a
    file in a nested folder and a JPEG turned by EXIF (its width/height in
    the JSON are those after turning), each with one annotated square, in
    both splits."""
    rng = np.random.default_rng(seed)
    cases = [
        ('gray.png', 'gray'),
        ('rgba.png', 'rgba'),
        ('nested/deep/orchard_06.jpg', 'color'),
        ('portrait_exif6.jpg', 'exif6'),
    ]
    for split in SPLITS:

        def edit(coco, split=split):
            ann_id = max(a['id'] for a in coco['annotations']) + 1
            for k, (name, kind) in enumerate(cases):
                image_id = 5000 + k
                w, h = 120, 96  # as the loader gives it
                img = np.full((h, w, 3), rng.integers(40, 200, 3), np.uint8)
                mask = np.zeros((h, w), np.uint8)
                x, y, s = int(rng.integers(5, 50)), int(rng.integers(5, 40)), 40
                mask[y : y + s, x : x + s] = 1
                img[mask.astype(bool)] = (200, 40, 90)
                path = osp.join(root, split, name)
                os.makedirs(osp.dirname(path), exist_ok=True)
                if kind == 'gray':
                    assert cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
                elif kind == 'rgba':
                    assert cv2.imwrite(path, np.dstack([img, np.full((h, w), 255, np.uint8)]))
                elif kind == 'exif6':
                    # stored turned back 90 degrees: the loader turns it upright
                    write_jpeg_with_orientation(path, np.rot90(img, 1), 6)
                else:
                    assert cv2.imwrite(path, img)
                coco['images'].append(dict(id=image_id, file_name=name, width=w, height=h))
                coco['annotations'].append(
                    _annotation(
                        ann_id + k,
                        image_id,
                        CATEGORY_IDS[k % len(CATEGORY_IDS)],
                        mask.astype(bool),
                        'polygon',
                    )
                )

        edit_annotations(root, split, edit)
