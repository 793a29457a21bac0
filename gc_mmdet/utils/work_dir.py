# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Refuse a work dir that holds someone else's files.

An mmengine Runner writes into its work dir, at the top level: the merged
config as ``<config file name>.py``, checkpoints (``epoch_N.pth``,
``iter_N.pth``, ``best_*.pth``, and removes older ones of its own numbering
with ``max_keep_ckpts``), ``last_checkpoint``, a ``YYYYMMDD_HHMMSS/`` folder
of logs, and (our tools) ``metrics.json``. Pointed at a folder of one's own
(``--work-dir data/coco``, or the folder that holds the config itself) it
would overwrite files it did not make. :func:`check_work_dir` accepts a work
dir that does not exist, is empty, or was written by an earlier run (it has a
``last_checkpoint`` or a run folder), and never the folder whose file the
config dump would replace.
"""

import json
import os
import os.path as osp
import re
from typing import Optional, Sequence

from .errors import UserError

__all__ = ['check_work_dir', 'check_output_files']

_RUN_FOLDER = re.compile(r'^\d{8}_\d{6}$')  # mmengine's Runner.timestamp


def _is_run_dir(work_dir: str, entries) -> bool:
    return 'last_checkpoint' in entries or any(
        _RUN_FOLDER.match(e) and osp.isdir(osp.join(work_dir, e)) for e in entries
    )


def check_work_dir(work_dir: str, config: Optional[str] = None) -> None:
    """Check that a run may write into ``work_dir``.

    Args:
        work_dir (str): The run's work dir.
        config (str, optional): The config file the Runner will dump into
            ``work_dir`` under its own name.

    Raises:
        UserError: ``work_dir`` is not a folder, holds files no run wrote, or
            the config dump would overwrite ``config`` itself.
    """
    if '://' in work_dir or not osp.lexists(work_dir):
        return
    if not osp.isdir(work_dir):
        raise UserError(f'--work-dir {work_dir}: exists and is not a folder')
    if config is not None:
        dump = osp.join(work_dir, osp.basename(config))
        if osp.exists(dump) and osp.samefile(dump, config):
            raise UserError(
                f'--work-dir {work_dir}: the run would overwrite the config '
                f'{config} with its merged dump; choose another --work-dir'
            )
    entries = os.listdir(work_dir)
    if entries and not _is_run_dir(work_dir, entries):
        shown = ', '.join(sorted(entries)[:3])
        raise UserError(
            f'--work-dir {work_dir}: holds files that no training run wrote '
            f'({shown}{", ..." if len(entries) > 3 else ""}), which checkpoints, '
            'logs and the config dump could overwrite; nothing was changed. '
            'Choose a new or empty --work-dir'
        )


def _json_with_keys(path: str, keys: Sequence[str]) -> bool:
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and set(keys) <= set(data)


def check_output_files(
    out_dir: str, names: Sequence[str], owner: str, owner_keys: Sequence[str], option: str = '--out'
) -> None:
    """Check that a tool may write ``names`` into ``out_dir``.

    Files of those names may be replaced only when ``out_dir`` holds the
    tool's own ``owner`` JSON file from an earlier run (an object with
    ``owner_keys``); otherwise an existing one stops the tool before
    anything is written. Other files in ``out_dir`` are never touched.

    Raises:
        UserError: naming the folder and the files that would be replaced.
    """
    if not osp.lexists(out_dir):
        return
    if not osp.isdir(out_dir):
        raise UserError(f'{option} {out_dir}: exists and is not a folder')
    if _json_with_keys(osp.join(out_dir, owner), owner_keys):
        return
    taken = [n for n in names if osp.lexists(osp.join(out_dir, n))]
    if taken:
        raise UserError(
            f'{option} {out_dir}: would overwrite {", ".join(taken)}, which this '
            'tool did not write; nothing was changed. Choose a new or empty folder'
        )
