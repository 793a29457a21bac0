# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Read what an mmengine run left in its work dir: scalars, its evaluations,
its timing, the last checkpoint. Every tool reads a run's results here."""

import glob
import json
import os
import os.path as osp
import statistics
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

from ..utils.errors import UserError

__all__ = [
    'TASK_LABELS',
    'read_scalars',
    'train_records',
    'val_records',
    'ap_by_iteration',
    'last_evaluation',
    'run_timing',
    'last_checkpoint',
    'run_record',
]

#: The COCO tasks a run may be evaluated on, and their names in tables.
TASK_LABELS = {'bbox': 'box AP', 'segm': 'mask AP'}


def read_scalars(work_dir: str) -> List[Dict]:
    """Every record of every ``vis_data/scalars.json`` in ``work_dir``, oldest
    run first (a resumed run adds a new timestamp folder)."""
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return records


def train_records(records: List[Dict]) -> List[Dict]:
    """Training-iteration records (they carry ``loss``), one per iteration:
    a resumed run's records replace those of the run it resumed."""
    by_iter = {r['iter']: r for r in records if 'loss' in r and 'iter' in r}
    return [by_iter[i] for i in sorted(by_iter)]


def val_records(records: List[Dict]) -> List[Dict]:
    """Evaluation records (they carry ``coco/...`` keys), one per step."""
    by_step = {r['step']: r for r in records if any(k.startswith('coco/') for k in r)}
    return [by_step[s] for s in sorted(by_step)]


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint mmengine's CheckpointHook recorded last."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        return f.read().strip() or None


def ap_by_iteration(work_dir: str) -> Dict[str, Tuple[List[int], List[float]]]:
    """``{task: (iterations, AP)}`` of every evaluation of a run.

    mmengine records an epoch-based run's evaluations by epoch; each is
    placed at the last training iteration of its epoch.
    """
    records = read_scalars(work_dir)
    epoch_end: Dict[int, int] = {}
    for r in train_records(records):
        if 'epoch' in r:
            epoch_end[r['epoch']] = max(epoch_end.get(r['epoch'], 0), r['iter'])
    curves = {}
    for task in TASK_LABELS:
        pts = [
            (epoch_end.get(r['step'], r['step']), r[f'coco/{task}_mAP'])
            for r in val_records(records)
            if f'coco/{task}_mAP' in r
        ]
        if pts:
            curves[task] = ([p[0] for p in pts], [p[1] for p in pts])
    return curves


def last_evaluation(work_dir: str) -> Dict[str, float]:
    """The ``coco/...`` metrics of a run's last evaluation.

    Raises:
        UserError: the run has no COCO evaluation in its logs.
    """
    records = val_records(read_scalars(work_dir))
    if not records:
        raise UserError(
            f'{work_dir}: no COCO evaluation in its logs; train it to the end first (an '
            'evaluation whose predictions were all below test_cfg.rcnn.score_thr logs none)'
        )
    return {k: v for k, v in records[-1].items() if k.startswith('coco/')}


def run_timing(work_dir: str) -> Dict[str, float]:
    """How long a run took: ``iterations``, ``median_iter_s`` (mmengine's
    logged ``time`` of a training iteration, median over the log records) and
    ``wall_s``, from the start of its first run folder (``YYYYMMDD_HHMMSS``)
    to its last checkpoint, evaluations included."""
    train = train_records(read_scalars(work_dir))
    times = [r['time'] for r in train if 'time' in r]
    out = dict(
        iterations=train[-1]['iter'] if train else 0,
        median_iter_s=statistics.median(times) if times else None,
        wall_s=None,
    )
    starts = sorted(glob.glob(osp.join(work_dir, '[0-9]' * 8 + '_' + '[0-9]' * 6)))
    ckpt = last_checkpoint(work_dir)
    if starts and ckpt and osp.isfile(ckpt):
        begun = datetime.strptime(osp.basename(starts[0]), '%Y%m%d_%H%M%S').timestamp()
        out['wall_s'] = round(os.stat(ckpt).st_mtime - begun)
    return out


def run_record(work_dir: str) -> Dict[str, Any]:
    """One finished run: its last evaluation, AP curve and timing."""
    curves = ap_by_iteration(work_dir)
    return dict(
        final=last_evaluation(work_dir),
        curve={task: [list(p) for p in zip(*xy)] for task, xy in curves.items()},
        timing=run_timing(work_dir),
    )
