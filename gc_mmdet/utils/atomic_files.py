# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""A local file backend whose writes are all-or-nothing.

mmengine's ``LocalBackend.put`` opens the final path with ``'wb'`` and
writes into it, so a process killed mid-write leaves a truncated file under
the real name (for a checkpoint: ``RuntimeError: PytorchStreamReader failed
reading zip archive: failed finding central directory`` when it is loaded).
:class:`AtomicLocalBackend` writes ``NAME.gc_mmdet-partial`` beside it,
flushes it to disk and renames it over ``NAME`` (``os.replace``, atomic on
POSIX and Windows): under ``NAME`` there is always either the old file or
the whole new one. A kill can leave the ``.gc_mmdet-partial`` file, which
the next write of the same name replaces.

Select it with ``backend_args=dict(backend='atomic_local')`` wherever
mmengine takes ``backend_args`` (``SafeCheckpointHook`` does this itself).
"""

import os
import os.path as osp
from pathlib import Path
from typing import Optional, Union

from mmengine.fileio import register_backend
from mmengine.fileio.backends import LocalBackend

__all__ = ['AtomicLocalBackend', 'ATOMIC_BACKEND', 'PARTIAL_SUFFIX', 'atomic_write']

ATOMIC_BACKEND = 'atomic_local'
PARTIAL_SUFFIX = '.gc_mmdet-partial'


def atomic_write(
    data: Union[bytes, str],
    path: Union[str, Path],
    encoding: str = 'utf-8',
    partial: Optional[str] = None,
) -> None:
    """Write ``data`` to ``path`` all-or-nothing (see module docstring),
    through ``partial`` (default ``PATH.gc_mmdet-partial``; in the same
    folder, so that the rename stays on one file system)."""
    path = str(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    partial = partial or path + PARTIAL_SUFFIX
    with open(partial, 'wb') as f:
        f.write(data.encode(encoding) if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
    try:  # make the rename itself durable
        fd = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` with all-or-nothing ``put`` and
    ``put_text``; everything else is inherited."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write(obj, filepath, encoding)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
