# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Read what an mmengine run left in its work dir: scalars, metrics, the
last checkpoint."""

import glob
import json
import os.path as osp
from typing import Dict, List, Optional

__all__ = ['read_scalars', 'train_records', 'val_records', 'last_checkpoint']


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
