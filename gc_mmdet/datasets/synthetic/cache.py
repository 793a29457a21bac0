# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The synthetic data set on disk: where it is written, what may be replaced,
and the marker that records both.

The data set is written in the usual COCO layout::

    ROOT/
    ├── annotations/
    │   ├── instances_train.json
    │   └── instances_val.json
    ├── train/000000.png ...
    ├── val/000000.png ...
    └── synthetic.json        # the marker: parameters and every file written

**The generator never deletes or overwrites what it did not make.** It
writes only into a folder that does not exist, is empty, or carries its
marker. The marker lists every file the generator wrote there; regeneration
removes exactly those files (and folders that it leaves empty), so a file a
user put beside them survives. Any other folder, and any new file that would
land on a path the marker does not list, stops generation with a
:class:`SyntheticFolderError` before a single byte changes.

Generation is crash- and concurrency-safe: the new set is rendered into a
staging folder inside ``ROOT`` (named ``.gc_mmdet-staging-*``); the marker is
then rewritten as *incomplete*, listing the old and the new files, before any
old file is removed or a new one moved into place, and rewritten as complete
at the end. A run killed at any point leaves a folder that the next run
recognises as its own and regenerates. Processes generating the same set at
once (the ranks of a distributed run) are serialised by a file lock in
``ROOT`` (``.gc_mmdet-synthetic.lock``); without a working lock they would
still write identical bytes file by file with atomic renames.
"""

import inspect
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Iterable, List, Optional

from ...utils.atomic_files import atomic_write
from ...utils.errors import UserError
from .coco_files import GENERATOR_NAME, GENERATOR_VERSION, ann_file_path, write_split
from .render import SPLITS

try:  # POSIX only; serialises concurrent generation of one folder.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

#: Name of the marker file holding the generation parameters and file list.
MARKER_FILE = 'synthetic.json'

#: Names in the data set root that only the generator uses (its lock, its
#: staging folders and the marker's temporary file); an otherwise empty
#: folder holding only these counts as empty.
RESERVED_PREFIX = '.gc_mmdet-'
_LOCK_FILE = RESERVED_PREFIX + 'synthetic.lock'
_STAGING_PREFIX = RESERVED_PREFIX + 'staging-'
_MARKER_TMP = RESERVED_PREFIX + MARKER_FILE + '.tmp'


class SyntheticFolderError(UserError):
    """The folder named for the synthetic data set holds data the generator
    did not make; nothing was changed."""


def _check_args(
    num_train: int, num_val: int, size: int, min_objects: int, max_objects: int, rle_fraction: float
) -> None:
    if num_train < 0 or num_val < 0:
        raise ValueError('num_train and num_val must be >= 0')
    if size < 32:
        raise ValueError(f'size must be >= 32, got {size}')
    if not 1 <= min_objects <= max_objects:
        raise ValueError(
            f'need 1 <= min_objects <= max_objects, got {min_objects} and {max_objects}'
        )
    if not 0.0 <= rle_fraction <= 1.0:
        raise ValueError(f'rle_fraction must be in [0, 1], got {rle_fraction}')


def _generation_params(
    num_train: int,
    num_val: int,
    size: int,
    seed: int,
    min_objects: int,
    max_objects: int,
    rle_fraction: float,
) -> dict:
    _check_args(num_train, num_val, size, min_objects, max_objects, rle_fraction)
    return dict(
        num_train=int(num_train),
        num_val=int(num_val),
        size=int(size),
        seed=int(seed),
        min_objects=int(min_objects),
        max_objects=int(max_objects),
        rle_fraction=float(rle_fraction),
    )


def read_synthetic_marker(out_dir: str) -> Optional[dict]:
    """Read the marker of a data set written by this generator.

    Args:
        out_dir (str): Root folder of the data set.

    Returns:
        dict, optional: The marker contents (``generator``, ``version``,
        ``complete``, ``files``, ``params``, ``stats``), or None when there
        is no marker, it is unreadable, or it is not this generator's (another
        program's, or without the list of files it wrote).
    """
    try:
        with open(osp.join(out_dir, MARKER_FILE)) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get('generator') != GENERATOR_NAME:
        return None
    if not isinstance(record.get('files'), list):
        return None
    return record


def _marker_files(record: dict) -> List[str]:
    """The files a marker says the generator wrote."""
    return [str(f) for f in record['files']]


def _safe_relpath(path: str) -> bool:
    return not osp.isabs(path) and '..' not in path.split(os.sep)


def _foreign_error(out_dir: str, examples: Iterable[str], why: str) -> SyntheticFolderError:
    shown = sorted(examples)[:3]
    return SyntheticFolderError(
        f'synthetic data: {osp.abspath(out_dir)} {why} '
        f'(e.g. {", ".join(shown)}); nothing was changed. To train on that data, '
        "remove `synthetic=` from the dataset config (and use type='CocoDataset'); "
        'for the synthetic set, choose a new or empty folder as data_root '
        '(tools/make_synthetic_coco.py: --out)'
    )


def _owned_files(out_dir: str) -> List[str]:
    """The files of ``out_dir`` the generator may replace.

    Returns:
        list[str]: Paths relative to ``out_dir`` from its marker, or ``[]``
        when the folder does not exist or is empty.

    Raises:
        SyntheticFolderError: ``out_dir`` is not a folder, or holds files and
            no marker of this generator.
    """
    if not osp.lexists(out_dir):
        return []
    if not osp.isdir(out_dir):
        raise SyntheticFolderError(
            f'synthetic data: {osp.abspath(out_dir)} exists and is not a '
            'folder; nothing was changed. Choose a new or empty folder.'
        )
    record = read_synthetic_marker(out_dir)
    if record is not None:
        files = _marker_files(record)
        unsafe = [f for f in files if not _safe_relpath(f)]
        if unsafe:
            raise _foreign_error(
                out_dir, unsafe, f'has a marker {MARKER_FILE} listing paths outside the folder'
            )
        return files
    entries = [e for e in os.listdir(out_dir) if not e.startswith(RESERVED_PREFIX)]
    if entries:
        raise _foreign_error(
            out_dir,
            entries,
            f'holds data the synthetic generator did not make (no {MARKER_FILE} marker)',
        )
    return []


def _write_marker(out_dir: str, record: dict) -> None:
    atomic_write(
        json.dumps(record, indent=2) + '\n',
        osp.join(out_dir, MARKER_FILE),
        partial=osp.join(out_dir, _MARKER_TMP),
    )


def _remove_empty_parents(out_dir: str, files: Iterable[str]) -> None:
    """Remove the folders of ``files`` that are now empty (never a folder
    that still holds anything, nor ``out_dir`` itself)."""
    dirs = {osp.dirname(f) for f in files} - {''}
    for d in sorted(dirs, key=lambda p: -p.count(os.sep)):
        try:
            os.rmdir(osp.join(out_dir, d))
        except OSError:  # not empty (a user's file) or already gone
            pass


def _generate(out_dir: str, params: dict) -> Dict[str, Dict[str, int]]:
    """Write the data set into ``out_dir``; the caller holds the lock."""
    owned = _owned_files(out_dir)
    owned_set = set(owned)
    staging = tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=out_dir)
    try:
        stats, files = {}, []
        for split, num in zip(SPLITS, (params['num_train'], params['num_val'])):
            stats[split], split_files = write_split(staging, split, num, params)
            files += split_files
        files.sort()
        # Refuse before any change when a new file would replace one that
        # is not ours, or a folder the set needs is a file.
        clash = [f for f in files if osp.lexists(osp.join(out_dir, f)) and f not in owned_set]
        clash += [
            d
            for d in {osp.dirname(f) for f in files}
            if osp.lexists(osp.join(out_dir, d)) and not osp.isdir(osp.join(out_dir, d))
        ]
        if clash:
            raise _foreign_error(
                out_dir,
                clash,
                'holds files the synthetic generator did not make where it would write its own',
            )
        record = dict(
            generator=GENERATOR_NAME,
            version=GENERATOR_VERSION,
            complete=False,
            files=sorted(owned_set | set(files)),
            params=params,
        )
        _write_marker(out_dir, record)
        new = set(files)
        stale = [f for f in owned if f not in new]
        for f in stale:
            path = osp.join(out_dir, f)
            if osp.isfile(path) or osp.islink(path):
                os.remove(path)
        for f in files:
            os.makedirs(osp.join(out_dir, osp.dirname(f)), exist_ok=True)
            os.replace(osp.join(staging, f), osp.join(out_dir, f))
        _remove_empty_parents(out_dir, stale)
        _write_marker(out_dir, dict(record, complete=True, files=files, stats=stats))
        return stats
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _FolderLock:
    """An exclusive ``flock`` on the data set root's lock file. It is taken
    only after :func:`_owned_files` accepted the folder, so that no lock file
    appears in a folder that belongs to someone else."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self._file = None

    def __enter__(self) -> '_FolderLock':
        _owned_files(self.out_dir)  # raises before anything is written
        os.makedirs(self.out_dir, exist_ok=True)
        self._file = open(osp.join(self.out_dir, _LOCK_FILE), 'a')
        if fcntl is not None:
            fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        if fcntl is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


def _summary(root: str, params: dict, stats: Dict[str, Dict[str, int]], generated: bool) -> dict:
    summary = dict(root=osp.abspath(root), params=params, generated=generated)
    for split in SPLITS:
        summary[split] = dict(
            ann_file=osp.abspath(osp.join(root, ann_file_path(split))),
            img_dir=osp.abspath(osp.join(root, split)),
            **stats[split],
        )
    return summary


def generate_synthetic_coco(
    out_dir: str,
    num_train: int = 64,
    num_val: int = 16,
    size: int = 256,
    seed: int = 0,
    min_objects: int = 1,
    max_objects: int = 4,
    rle_fraction: float = 0.3,
) -> dict:
    """Generate the synthetic COCO data set into ``out_dir``.

    ``out_dir`` must not exist, be empty, or hold a data set this generator
    wrote (its marker); the files of that earlier set are replaced, any
    other file is left alone (see the module docstring).

    Args:
        out_dir (str): Root folder of the data set (created if needed).
        num_train (int): Number of training images. Defaults to 64.
        num_val (int): Number of validation images. Defaults to 16.
        size (int): Height and width of the (square) images. Defaults to
            256.
        seed (int): Seed; same arguments give byte-identical files.
            Defaults to 0.
        min_objects (int): Minimum number of shapes sampled per image.
            Defaults to 1.
        max_objects (int): Maximum number of shapes sampled per image (some
            may be dropped when almost completely occluded). Defaults to 4.
        rle_fraction (float): Probability that an instance whose mask could
            be a polygon is stored as RLE anyway. Defaults to 0.3.

    Returns:
        dict: ``root``, ``params``, ``generated`` (True) and, per split
        (``'train'``, ``'val'``), a dict with ``ann_file``, ``img_dir``,
        ``num_images``, ``num_instances``, ``num_polygons``, ``num_rles``,
        ``num_occluded`` (instances partly hidden by later ones) and
        ``num_dropped`` (sampled shapes not painted because hidden).

    Raises:
        SyntheticFolderError: ``out_dir`` holds data the generator did not
            make; nothing was changed.
        ValueError: An argument is out of range.
    """
    params = _generation_params(
        num_train, num_val, size, seed, min_objects, max_objects, rle_fraction
    )
    with _FolderLock(out_dir):
        stats = _generate(out_dir, params)
    return _summary(out_dir, params, stats, generated=True)


def _reusable(out_dir: str, params: dict) -> Optional[dict]:
    """The marker of an identical, complete data set in ``out_dir``."""
    record = read_synthetic_marker(out_dir)
    if (
        record is None
        or not record.get('complete')
        or record.get('version') != GENERATOR_VERSION
        or record.get('params') != params
    ):
        return None
    if not all(osp.isfile(osp.join(out_dir, f)) for f in record['files']):
        return None
    return record


def ensure_synthetic_coco(out_dir: str, **kwargs) -> dict:
    """Generate the synthetic data set unless an identical one exists.

    Intended to be called from training configs or scripts on first use:
    the data set is (re)generated only when ``out_dir`` has no complete
    marker, when the marker records different parameters (or an older
    generator version), or when a file it lists is missing. The same rules
    as for :func:`generate_synthetic_coco` protect files the generator did
    not make.

    Args:
        out_dir (str): Root folder of the data set.
        **kwargs: Arguments of :func:`generate_synthetic_coco` (defaults
            apply to those not given).

    Returns:
        dict: As :func:`generate_synthetic_coco`, with ``generated`` False
        when the existing data set was reused.

    Raises:
        SyntheticFolderError: As :func:`generate_synthetic_coco`.
        TypeError: An unknown argument.
    """
    defaults = {
        name: p.default
        for name, p in inspect.signature(generate_synthetic_coco).parameters.items()
        if name != 'out_dir'
    }
    unknown = set(kwargs) - set(defaults)
    if unknown:
        raise TypeError(f'unexpected arguments: {sorted(unknown)} (allowed: {sorted(defaults)})')
    params = _generation_params(**dict(defaults, **kwargs))
    record = _reusable(out_dir, params)  # the common case: no lock, no write
    if record is None:
        with _FolderLock(out_dir):
            record = _reusable(out_dir, params)
            if record is None:
                stats = _generate(out_dir, params)
                return _summary(out_dir, params, stats, generated=True)
    return _summary(out_dir, params, record['stats'], generated=False)
