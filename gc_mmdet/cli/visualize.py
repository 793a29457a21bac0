# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Pictures of a training run: its AP over iterations, and a detector's
masks and boxes on val images beside the ground truth (mmdet's
``DetLocalVisualizer``)."""

import contextlib
import io
import os.path as osp
from typing import Any, Dict, Optional

import cv2
import numpy as np
import torch
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import VISUALIZERS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData
from pycocotools.coco import COCO

from ..utils.config_parts import is_type
from .config import read_config
from .run_logs import TASK_LABELS, ap_by_iteration

__all__ = ['plot_ap_curve', 'draw_predictions']


def pyplot() -> Any:
    """``matplotlib.pyplot`` drawing to files (the Agg backend: no display)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def plot_ap_curve(work_dir: str, out_file: str, title: str = 'COCO AP on the val split') -> str:
    """Plot box and mask AP against the training iteration; returns
    ``out_file``."""
    plt = pyplot()

    curves = ap_by_iteration(work_dir)
    if not curves:
        raise FileNotFoundError(f'{work_dir}: no evaluation found in */vis_data/scalars.json')
    fig, ax = plt.subplots(figsize=(6, 4))
    for task, (xs, ys) in curves.items():
        ax.plot(xs, ys, '-o', label=TASK_LABELS[task])
        ax.annotate(
            f'{ys[-1]:.3f}',
            (xs[-1], ys[-1]),
            textcoords='offset points',
            xytext=(-10, 8 if task == 'segm' else -14),
        )
    ax.set(xlabel='training iteration', ylabel='COCO AP', title=title, ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file


def _gt_sample(coco, img_id: int, cat2label: Dict[int, int], scale: int):
    """The val image's ground truth as a DetDataSample, scaled by ``scale``."""

    anns = [
        a
        for a in coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        if not a.get('iscrowd') and a['category_id'] in cat2label
    ]
    info = coco.loadImgs([img_id])[0]
    h, w = info['height'] * scale, info['width'] * scale
    masks = [np.kron(coco.annToMask(a), np.ones((scale, scale), np.uint8)) for a in anns]
    gt = InstanceData()
    gt.bboxes = (
        torch.tensor(
            [
                [
                    a['bbox'][0],
                    a['bbox'][1],
                    a['bbox'][0] + a['bbox'][2],
                    a['bbox'][1] + a['bbox'][3],
                ]
                for a in anns
            ],
            dtype=torch.float32,
        ).reshape(-1, 4)
        * scale
    )
    gt.labels = torch.tensor([cat2label[a['category_id']] for a in anns], dtype=torch.long)
    gt.masks = BitmapMasks(np.stack(masks) if masks else np.zeros((0, h, w), np.uint8), h, w)
    sample = DetDataSample()
    sample.gt_instances = gt
    return sample


def draw_predictions(
    config: str,
    checkpoint: str,
    out_file: str,
    num_images: int = 4,
    score_thr: float = 0.5,
    scale: int = 3,
    cfg_options: Optional[dict] = None,
) -> str:
    """Draw the ground truth (left) and the detector's masks, boxes and
    scores (right) on the first ``num_images`` images of the config's val
    split, one row each, into ``out_file``.

    Images are up-sampled ``scale`` times (nearest neighbour) before
    inference, so that boxes and labels are legible; the model's own test
    pipeline resizes them back to its input size.
    """

    cfg = read_config(config, cfg_options)
    ds = cfg.val_dataloader.dataset
    # inference needs only the image: drop the loading of annotations
    cfg.test_dataloader.dataset.pipeline = [
        t for t in cfg.test_dataloader.dataset.pipeline if not is_type(t['type'], 'LoadAnnotations')
    ]
    model = init_detector(cfg, checkpoint, device='cpu')
    classes = model.dataset_meta['classes']
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(osp.join(ds.data_root, ds.ann_file))
    cat2label = {
        c['id']: classes.index(c['name'])
        for c in coco.loadCats(coco.getCatIds())
        if c['name'] in classes
    }
    visualizer = VISUALIZERS.build(
        dict(type='DetLocalVisualizer', name=f'gc_mmdet_demo_{id(model)}')
    )
    visualizer.dataset_meta = model.dataset_meta
    rows = []
    for img_id in sorted(coco.getImgIds())[:num_images]:
        info = coco.loadImgs([img_id])[0]
        img = cv2.imread(osp.join(ds.data_root, ds.data_prefix['img'], info['file_name']))
        big = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        result = inference_detector(model, big)
        sample = _gt_sample(coco, img_id, cat2label, scale)
        sample.pred_instances = result.pred_instances
        visualizer.add_datasample(
            info['file_name'],
            big[..., ::-1],
            data_sample=sample,
            draw_gt=True,
            draw_pred=True,
            show=False,
            pred_score_thr=score_thr,
        )
        rows.append(visualizer.get_image())
    width = max(r.shape[1] for r in rows)
    header = np.full((36, width, 3), 255, np.uint8)
    for x, text in ((0, 'ground truth'), (width // 2, f'prediction (score >= {score_thr:g})')):
        cv2.putText(
            header, text, (x + 8, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2, cv2.LINE_AA
        )
    canvas = np.concatenate(
        [header]
        + [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    )
    cv2.imwrite(out_file, canvas[..., ::-1])
    return out_file
