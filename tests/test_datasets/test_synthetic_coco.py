# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Tests of the deterministic synthetic COCO data set."""

import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from pycocotools.coco import COCO

from gc_mmdet.datasets import (
    MARKER_FILE,
    SYNTHETIC_CLASSES,
    SyntheticFolderError,
    encode_segmentation,
    ensure_synthetic_coco,
    generate_synthetic_coco,
    read_synthetic_marker,
    render_synthetic_image,
    synthetic_metainfo,
)
from gc_mmdet.datasets.synthetic import MIN_VISIBLE_FRACTION, MIN_VISIBLE_PIXELS
from helpers.synthetic import ROOT

REPO = ROOT
# pycocotools' decode trips a numpy>=2 DeprecationWarning (not ours).
pytestmark = pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')

SMALL = dict(num_train=8, num_val=8, size=128, seed=0, max_objects=6)


def _all_files(root):
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


def _tight_box(mask):
    ys, xs = np.nonzero(mask)
    return [
        float(xs.min()),
        float(ys.min()),
        float(xs.max() - xs.min() + 1),
        float(ys.max() - ys.min() + 1),
    ]


def _quiet_coco(ann_file):
    # pycocotools prints progress; keep test output clean.
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(ann_file)


@pytest.fixture(scope='module')
def small_ds(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic') / 'a')
    summary = generate_synthetic_coco(root, **SMALL)
    return root, summary


def test_metainfo():
    meta = synthetic_metainfo()
    assert tuple(meta['classes']) == SYNTHETIC_CLASSES
    assert 4 <= len(SYNTHETIC_CLASSES) <= 6
    assert len(meta['palette']) == len(SYNTHETIC_CLASSES)
    assert all(len(c) == 3 for c in meta['palette'])


def test_layout_and_summary(small_ds):
    root, summary = small_ds
    # the lock that serialises concurrent generation stays (empty)
    assert sorted(os.listdir(root)) == sorted(
        [MARKER_FILE, '.gc_mmdet-synthetic.lock', 'annotations', 'train', 'val']
    )
    assert sorted(os.listdir(osp.join(root, 'annotations'))) == [
        'instances_train.json',
        'instances_val.json',
    ]
    for split, num in (('train', SMALL['num_train']), ('val', SMALL['num_val'])):
        info = summary[split]
        assert info['num_images'] == num
        assert len(os.listdir(info['img_dir'])) == num
        assert info['num_instances'] == (info['num_polygons'] + info['num_rles'])
        with open(info['ann_file']) as f:
            data = json.load(f)
        assert len(data['annotations']) == info['num_instances']
        assert [c['name'] for c in data['categories']] == list(SYNTHETIC_CLASSES)
        assert [c['id'] for c in data['categories']] == list(range(1, len(SYNTHETIC_CLASSES) + 1))
        assert all(c['supercategory'] == 'shape' for c in data['categories'])
    marker = read_synthetic_marker(root)
    assert marker['params'] == summary['params']


def test_same_seed_same_bytes_other_seed_differs(small_ds, tmp_path):
    root, _ = small_ds
    generate_synthetic_coco(str(tmp_path / 'b'), **SMALL)
    generate_synthetic_coco(str(tmp_path / 'c'), **dict(SMALL, seed=1))
    first = _all_files(root)
    second = _all_files(str(tmp_path / 'b'))
    other = _all_files(str(tmp_path / 'c'))
    assert len(first) == 2 + 2 + SMALL['num_train'] + SMALL['num_val']  # + marker, lock
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name
    assert other.keys() == first.keys()
    differing = [n for n in first if first[n] != other[n]]
    assert 'annotations/instances_train.json' in differing
    assert 'annotations/instances_val.json' in differing
    assert all(f'train/{i:06d}.png' in differing for i in range(SMALL['num_train']))


def test_annotations_consistent_with_pycocotools(small_ds):
    root, summary = small_ds
    kinds = set()
    for split in ('train', 'val'):
        coco = _quiet_coco(summary[split]['ann_file'])
        assert len(coco.getImgIds()) == SMALL[f'num_{split}']
        for img_id in coco.getImgIds():
            img_info = coco.loadImgs(img_id)[0]
            img = cv2.imread(osp.join(root, split, img_info['file_name']))
            assert img.shape == (img_info['height'], img_info['width'], 3)
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
            assert anns, 'every image has at least one instance'
            for ann in anns:
                mask = coco.annToMask(ann)
                assert ann['iscrowd'] == 0
                assert 1 <= ann['category_id'] <= len(SYNTHETIC_CLASSES)
                assert ann['area'] == int(mask.sum()) >= MIN_VISIBLE_PIXELS
                assert ann['bbox'] == _tight_box(mask)
                seg = ann['segmentation']
                if isinstance(seg, list):
                    kinds.add('polygon')
                    assert seg and all(len(p) >= 6 and len(p) % 2 == 0 for p in seg)
                else:
                    kinds.add('rle')
                    assert isinstance(seg['counts'], str)
                    assert seg['size'] == [img_info['height'], img_info['width']]
    assert kinds == {'polygon', 'rle'}


def test_masks_are_visible_pixels_after_occlusion(small_ds):
    """Written images/masks equal a re-render; occlusion really happens."""
    root, summary = small_ds
    coco = _quiet_coco(summary['train']['ann_file'])
    occluded = 0
    for index in range(SMALL['num_train']):
        sample = render_synthetic_image(
            SMALL['seed'], 'train', index, SMALL['size'], 1, SMALL['max_objects']
        )
        img = cv2.imread(osp.join(root, 'train', f'{index:06d}.png'))
        assert np.array_equal(img, sample.image)
        anns = sorted(coco.loadAnns(coco.getAnnIds(imgIds=index + 1)), key=lambda a: a['id'])
        assert len(anns) == len(sample.instances)
        for i, (ann, inst) in enumerate(zip(anns, sample.instances)):
            assert ann['category_id'] == inst.category_id
            later = np.zeros_like(inst.full_mask)
            for other in sample.instances[i + 1 :]:
                later |= other.full_mask
            expected = inst.full_mask & ~later
            assert np.array_equal(inst.visible_mask, expected)
            # The annotation decodes to exactly the visible pixels.
            assert np.array_equal(coco.annToMask(ann).astype(bool), expected)
            assert inst.visible_area >= max(
                MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION * inst.full_area
            )
            if inst.visible_area < inst.full_area:
                occluded += 1
    assert occluded > 0
    assert occluded == summary['train']['num_occluded']


def test_encode_segmentation_choices():
    ring = np.zeros((40, 40), bool)
    cv2.circle(ring.view(np.uint8), (20, 20), 12, 1, -1)
    disc = ring.copy()
    cv2.circle(ring.view(np.uint8), (20, 20), 5, 0, -1)
    seg, area, bbox = encode_segmentation(disc)
    assert isinstance(seg, list)  # exact polygon for a hole-free mask
    assert area == int(disc.sum()) and bbox == _tight_box(disc)
    seg, area, _ = encode_segmentation(disc, prefer_rle=True)
    assert isinstance(seg, dict) and area == int(disc.sum())
    seg, area, bbox = encode_segmentation(ring)
    assert isinstance(seg, dict)  # a polygon would fill the hole
    assert area == int(ring.sum()) and bbox == _tight_box(ring)


def test_mmdet_coco_dataset_loads(small_ds):
    from mmdet.datasets import CocoDataset
    from mmdet.utils import register_all_modules

    register_all_modules()
    root, summary = small_ds
    dataset = CocoDataset(
        data_root=root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=SYNTHETIC_CLASSES),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        ],
        test_mode=False,
    )
    assert len(dataset) == SMALL['num_train']
    coco = _quiet_coco(summary['train']['ann_file'])
    for idx in range(len(dataset)):
        item = dataset[idx]
        num = len(item['gt_bboxes'])
        assert num > 0
        assert len(item['gt_masks']) == num == len(item['gt_bboxes_labels'])
        assert not item['gt_ignore_flags'].any()
        assert item['img'].shape == (SMALL['size'], SMALL['size'], 3)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=item['img_id']))
        expected = np.stack([coco.annToMask(a) for a in anns])
        assert np.array_equal(item['gt_masks'].masks, expected)
        boxes = item['gt_bboxes'].tensor.numpy()
        assert np.allclose(boxes[:, 2:] - boxes[:, :2], [a['bbox'][2:] for a in anns])


def test_gt_as_prediction_scores_perfect_map(small_ds):
    from mmdet.evaluation import CocoMetric

    root, summary = small_ds
    ann_file = summary['val']['ann_file']
    coco = _quiet_coco(ann_file)
    metric = CocoMetric(ann_file=ann_file, metric=['bbox', 'segm'])
    metric.dataset_meta = dict(classes=SYNTHETIC_CLASSES)
    samples = []
    for img_id in coco.getImgIds():
        info = coco.loadImgs(img_id)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        boxes = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)]
        samples.append(
            dict(
                img_id=img_id,
                ori_shape=(info['height'], info['width']),
                pred_instances=dict(
                    bboxes=torch.tensor(boxes, dtype=torch.float32),
                    scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1 for a in anns]),
                    masks=torch.from_numpy(
                        np.stack([coco.annToMask(a) for a in anns]).astype(bool)
                    ),
                ),
            )
        )
    metric.process({}, samples)
    results = metric.evaluate(size=len(samples))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/segm_mAP'] == pytest.approx(1.0)


@pytest.mark.slow  # starts a process: seconds
def test_command_line_tool(tmp_path):
    out = tmp_path / 'cli'
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'make_synthetic_coco.py'),
            '--out',
            str(out),
            '--train',
            '3',
            '--val',
            '2',
            '--size',
            '64',
            '--seed',
            '5',
            '--min-objects',
            '2',
            '--max-objects',
            '3',
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'train: 3 images' in proc.stdout
    assert 'val: 2 images' in proc.stdout
    assert sorted(os.listdir(out / 'train')) == [f'{i:06d}.png' for i in range(3)]
    assert sorted(os.listdir(out / 'val')) == [f'{i:06d}.png' for i in range(2)]
    assert (out / 'annotations' / 'instances_train.json').is_file()
    assert (out / 'annotations' / 'instances_val.json').is_file()
    params = read_synthetic_marker(str(out))['params']
    assert (params['seed'], params['size'], params['min_objects'], params['max_objects']) == (
        5,
        64,
        2,
        3,
    )
    # Same data as the Python API with the same arguments.
    api = tmp_path / 'api'
    generate_synthetic_coco(
        str(api), num_train=3, num_val=2, size=64, seed=5, min_objects=2, max_objects=3
    )
    assert _all_files(str(out)) == _all_files(str(api))
    bad = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'make_synthetic_coco.py'),
            '--out',
            str(tmp_path / 'bad'),
            '--min-objects',
            '3',
            '--max-objects',
            '2',
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0


def test_ensure_generates_once_and_on_param_change(tmp_path):
    root = str(tmp_path / 'ensure')
    kwargs = dict(num_train=3, num_val=2, size=64, seed=0)
    first = ensure_synthetic_coco(root, **kwargs)
    assert first['generated']
    assert first['train']['num_images'] == 3

    def stamps():
        return {
            dirpath + '/' + n: os.stat(osp.join(dirpath, n)).st_mtime_ns
            for dirpath, _, names in os.walk(root)
            for n in names
            if not n.startswith('.')
        }

    before = stamps()
    again = ensure_synthetic_coco(root, **kwargs)
    assert not again['generated']
    assert stamps() == before
    assert again['train'] == first['train'] and again['val'] == first['val']

    changed = ensure_synthetic_coco(root, **dict(kwargs, seed=1))
    assert changed['generated']
    assert read_synthetic_marker(root)['params']['seed'] == 1
    assert stamps() != before

    # Fewer images: stale files of the previous generation disappear.
    fewer = ensure_synthetic_coco(root, **dict(kwargs, seed=1, num_train=2))
    assert fewer['generated']
    assert sorted(os.listdir(osp.join(root, 'train'))) == ['000000.png', '000001.png']

    # Without its marker the folder is not known to be the generator's own:
    # it is left alone (interrupted runs keep an incomplete marker instead,
    # see test_data_safety.py).
    os.remove(osp.join(root, MARKER_FILE))
    with pytest.raises(SyntheticFolderError, match='did not make'):
        ensure_synthetic_coco(root, **dict(kwargs, seed=1, num_train=2))

    with pytest.raises(TypeError):
        ensure_synthetic_coco(root, bogus=1)
