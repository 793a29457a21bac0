# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC across mmdet's model zoo: build a config's model from scratch, its
optimizer wrapper from the config's own ``optim_wrapper`` through
GCOptimWrapperConstructor, take one real training step on a small synthetic
batch, and check what GC promises (paper, Sec. 3.3: every covered weight
keeps its per-output-channel mean)."""
import math
import time
from collections import Counter
from typing import Dict, List, Tuple

import torch

from .coverage import build_selection, channel_drift, load_with_gc

__all__ = ['ZOO', 'sweep_config', 'to_markdown']

#: (family, mmdet config) swept by tests/test_zoo_sweep.py and
#: tools/gc_zoo_sweep.py.
ZOO: List[Tuple[str, str]] = [
    ('two-stage', 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'),
    ('two-stage', 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'),
    ('two-stage', 'cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py'),
    ('two-stage', 'dcn/faster-rcnn_r50-dconv-c3-c5_fpn_1x_coco.py'),
    ('one-stage anchor', 'retinanet/retinanet_r50_fpn_1x_coco.py'),
    ('one-stage anchor', 'ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'),
    ('one-stage anchor', 'yolo/yolov3_d53_8xb8-320-273e_coco.py'),
    ('anchor-free', 'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'),
    ('anchor-free', 'atss/atss_r50_fpn_1x_coco.py'),
    ('anchor-free', 'gfl/gfl_r50_fpn_1x_coco.py'),
    ('anchor-free', 'yolox/yolox_s_8xb8-300e_coco.py'),
    ('anchor-free', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py'),
    ('anchor-free', 'centernet/centernet_r18_8xb16-crop512-140e_coco.py'),
    ('query-based', 'detr/detr_r50_8xb2-150e_coco.py'),
    ('query-based', 'deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'),
    ('query-based', 'dino/dino-4scale_r50_8xb2-12e_coco.py'),
    ('query-based', 'sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py'),
    ('instance seg', 'solov2/solov2_r50_fpn_1x_coco.py'),
    ('instance seg', 'rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py'),
    ('instance seg', 'mask2former/mask2former_r50_8xb2-lsj-50e_coco.py'),
]


def _batch(num_classes: int, size: int = 128) -> dict:
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    return demo_mm_inputs(batch_size=2, image_shapes=(3, size, size), num_items=[3, 2],
                          num_classes=num_classes, with_mask=True)


def sweep_config(name: str, tol: float = 1e-3) -> Dict:
    """One training step of mmdet config ``name`` with GC; see module doc.

    Returns:
        dict: ``family``-free row: config, model, optimizer, gc_cfg,
        tensors/params per kind, skipped count per reason, unknown weights,
        loss, worst channel-mean ratio over covered weights, how many covered
        weights moved, seconds, and ``ok``.
    """
    start = time.time()
    cfg, _ = load_with_gc('mmdet::' + name)
    cfg.optim_wrapper.pop('type', None)  # AmpOptimWrapper needs a GPU
    cfg.optim_wrapper.type = 'OptimWrapper'
    pre = cfg.model.get('data_preprocessor')
    if pre is not None:
        pre.batch_augments = None  # random batch resizing: data aug, not the model
    model, wrapper = build_selection(cfg)
    sel = wrapper.gc_handle.selection
    model.train()
    num_classes = 3
    before = {t.name: t.param.detach().clone() for t in sel.targets}
    log_vars = model.train_step(_batch(num_classes), wrapper)
    loss = float(log_vars['loss'])
    checks = {t.name: channel_drift(t.layout, before[t.name], t.param, tol)
              for t in sel.targets}
    moved = [n for n, c in checks.items() if c['moved'] > 0]
    # a weight without gradient in this step (and no weight decay) stays put
    broken = [n for n in moved if not checks[n]['holds']]
    worst = max(moved, key=lambda n: checks[n]['ratio'], default='-')
    kinds, numels = Counter(), Counter()
    for t in sel.targets:
        kinds[t.kind] += 1
        numels[t.kind] += t.param.numel()
    optimized = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    covered = {id(t.param) for t in sel.targets}
    skipped_ids = {id(p) for n, p in model.named_parameters()
                   for names in sel.skipped.values() if n in names}
    unaccounted = [n for n, p in model.named_parameters()
                   if p.dim() >= 2 and id(p) in optimized
                   and id(p) not in covered and id(p) not in skipped_ids]
    from ..gc.selection import SKIP_OTHER
    row = dict(config=name, model=type(model).__name__,
               optimizer=type(wrapper.optimizer).__name__,
               gc_cfg=dict(cfg.optim_wrapper.gc_cfg),
               tensors=dict(kinds), params=dict(numels),
               skipped={k: len(v) for k, v in sel.skipped.items()},
               unknown=list(sel.skipped.get(SKIP_OTHER, [])),
               unaccounted=unaccounted, loss=loss, worst_layer=worst,
               worst_ratio=checks[worst]['ratio'] if moved else None,
               moved=len(moved), broken=broken, seconds=time.time() - start)
    row['ok'] = (math.isfinite(loss) and len(moved) > 0 and not broken and not unaccounted)
    return row


def to_markdown(rows: List[Dict], families: Dict[str, str]) -> str:
    lines = ['| family | config (mmdet 3.3) | optimizer, gc location | GC tensors / params '
             '| skipped by reason | step checked |',
             '|---|---|---|---|---|---|']
    for r in rows:
        if 'error' in r:
            lines.append(f'| {families[r["config"]]} | `{r["config"]}` | - | - | - | '
                         f'**not built on CPU**: {r["error"]} |')
            continue
        kinds = ', '.join(f'{k} {r["tensors"][k]}' for k in sorted(r['tensors']))
        total_t, total_p = sum(r['tensors'].values()), sum(r['params'].values())
        skipped = ', '.join(f'{v} {k}' for k, v in r['skipped'].items())
        check = (f'loss {r["loss"]:.2f}; {r["moved"]}/{total_t} moved, channel means kept'
                 if r['ok'] else f'✗ loss {r["loss"]:.2f}; broken: {", ".join(r["broken"][:3])}')
        lines.append(f'| {families[r["config"]]} | `{r["config"]}` | {r["optimizer"]}, '
                     f'{r["gc_cfg"].get("location", "grad")} | {total_t} / {total_p:,} ({kinds}) '
                     f'| {skipped} | {check} |')
    return '\n'.join(lines) + '\n'
