# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Saving and resuming checkpoints safely, for ``tools/train.py``.

* :func:`use_safe_checkpoints` turns the config's ``CheckpointHook`` into
  ``SafeCheckpointHook`` (all-or-nothing checkpoint files).
* :func:`find_resumable_checkpoint` is what ``--resume`` without a value
  resumes from: the checkpoint ``last_checkpoint`` names when that file is
  complete, else the newest complete ``epoch_N.pth`` / ``iter_N.pth`` in the
  work dir (the last written) (a run killed while mmengine rewrote ``last_checkpoint`` leaves
  it empty or half written, and mmengine alone then stops with
  ``FileNotFoundError:  can not be found.``).
"""

import os
import os.path as osp
import re
import zipfile
from typing import Any, List, Optional, Tuple

from .config_parts import is_type
from .errors import UserError

#: written by PreemptionHook beside the checkpoint of a preempted run
PREEMPTED_RECORD = 'preempted.json'

__all__ = [
    'PREEMPTED_RECORD',
    'preempted_checkpoint',
    'use_safe_checkpoints',
    'use_preemption_hook',
    'checkpoint_problem',
    'checkpoint_mismatch',
    'find_resumable_checkpoint',
]

_NAME = re.compile(r'(epoch|iter)_(\d+)\.pth$')


def use_safe_checkpoints(cfg: Any) -> None:
    """Replace mmengine's ``CheckpointHook`` in ``cfg.default_hooks`` by
    ``SafeCheckpointHook`` (same arguments); other types are left alone."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if hook is not None and is_type(hook.get('type'), 'CheckpointHook'):
        hook['type'] = 'SafeCheckpointHook'


def use_preemption_hook(cfg: Any) -> None:
    """Add ``PreemptionHook`` (a notice saves the iteration; a mid-epoch
    checkpoint resumes at its next batch) to ``cfg.custom_hooks`` unless the
    config names one; check the signals of one it names."""
    from .launch import signal_numbers

    hooks = list(cfg.get('custom_hooks') or [])
    named = [h for h in hooks if isinstance(h, dict) and is_type(h.get('type'), 'PreemptionHook')]
    for hook in named:
        signal_numbers(hook.get('signals', ()))
    if not named:
        cfg.custom_hooks = hooks + [dict(type='PreemptionHook')]


def preempted_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a preempted run saved in ``work_dir`` (its
    ``preempted.json``), or None."""
    import json

    record = osp.join(work_dir, PREEMPTED_RECORD)
    if not osp.isfile(record):
        return None
    try:
        with open(record) as f:
            return str(json.load(f)['checkpoint'])
    except (ValueError, KeyError, TypeError):
        return None


def checkpoint_mismatch(model: Any, path: str) -> Optional[str]:
    """Why the checkpoint at ``path`` cannot be resumed into ``model`` (its
    weights' names or shapes differ), or None when they all match.

    mmengine resumes with ``strict=False``: a checkpoint of another model
    would only warn about every missing key and train from random weights.
    """
    import torch
    from mmengine.runner import CheckpointLoader

    state = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    saved = state.get('state_dict', state) if isinstance(state, dict) else {}
    module = getattr(model, 'module', model)
    own = module.state_dict()
    missing = sorted(set(own) - set(saved))
    extra = sorted(set(saved) - set(own))
    shapes = sorted(
        k
        for k in set(own) & set(saved)
        if isinstance(saved[k], torch.Tensor) and tuple(saved[k].shape) != tuple(own[k].shape)
    )
    if not (missing or extra or shapes):
        return None
    parts = [
        f'{len(v)} {what} (first: {v[0]})'
        for what, v in (
            ('weights of the model are not in it', missing),
            ('of its weights are not in the model', extra),
            ('weights differ in shape', shapes),
        )
        if v
    ]
    return 'a checkpoint of another model: ' + '; '.join(parts)


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a complete checkpoint, or None when it is.

    torch (>= 1.6) saves checkpoints as zip archives, whose directory is
    written last: a file that starts as a zip archive but has no directory
    was cut short. Nothing is unpickled to tell; a file in torch's legacy
    format is left for ``torch.load`` to judge.
    """
    if not path:
        return 'no file named'
    if not osp.isfile(path):
        return 'no such file'
    if zipfile.is_zipfile(path):
        return None
    with open(path, 'rb') as f:
        head = f.read(4)
    if head == b'PK\x03\x04' or not head:
        return (
            'incomplete checkpoint (a zip archive without its central directory: the '
            "write was cut short; torch.load fails with 'failed finding central directory')"
        )
    return None


def _candidates(work_dir: str) -> List[Tuple[float, int, str]]:
    """``epoch_N.pth`` / ``iter_N.pth`` of ``work_dir``, newest written first
    (an ``iter_N`` of a preemption and an ``epoch_M`` share no numbering)."""
    found = []
    for name in os.listdir(work_dir):
        m = _NAME.fullmatch(name)
        path = osp.join(work_dir, name)
        if m and osp.isfile(path):
            found.append((osp.getmtime(path), int(m.group(2)), path))
    return sorted(found, reverse=True)


def find_resumable_checkpoint(work_dir: str) -> Tuple[Optional[str], Optional[str]]:
    """The checkpoint to resume from in ``work_dir``, and a note when it is
    not the one ``last_checkpoint`` names.

    Returns:
        (path, note): ``path`` is None when the work dir holds no checkpoint
        at all (training starts from scratch, as with mmengine).

    Raises:
        UserError: checkpoints were saved, but none is complete.
    """
    record = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(record):
        with open(record) as f:
            named = f.read().strip()
        problem = checkpoint_problem(named)
        if problem is None:
            return named, None
    elif not osp.isdir(work_dir):
        return None, None
    candidates = _candidates(work_dir)
    rejected = []
    for _, _, path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            note = (
                f'last_checkpoint names {named!r} ({checkpoint_problem(named)}); '
                if named is not None
                else 'no last_checkpoint; '
            )
            return path, note + f'resuming from {path}, the newest complete checkpoint'
        rejected.append(f'{osp.basename(path)}: {problem}')
    if named is None and not candidates:
        return None, None
    raise UserError(
        f'--resume: no complete checkpoint in {work_dir} (last_checkpoint names '
        f'{named!r}; '
        + ('; '.join(rejected) or 'no epoch_N.pth / iter_N.pth')
        + '). Resume from a checkpoint file with --resume CKPT, or start a new work dir'
    )
