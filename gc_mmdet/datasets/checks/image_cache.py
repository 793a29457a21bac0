# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What a data check learnt of image files that passed, kept between runs
so that checking an unchanged data set again opens no image."""

import hashlib
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

from ...utils.atomic_files import atomic_write

__all__ = [
    'ImageCache',
]


class ImageCache:
    """Header facts of images that passed, keyed by size and mtime, so that a
    second check of an unchanged data set opens no image. Kept under
    ``$GC_MMDET_CACHE_DIR`` (default ``~/.cache/gc_mmdet``)``/data_check``;
    never beside the data."""

    def __init__(self, img_dir: str):
        root = os.environ.get('GC_MMDET_CACHE_DIR') or osp.join(
            os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'), 'gc_mmdet'
        )
        key = hashlib.sha1(osp.abspath(img_dir).encode()).hexdigest()[:16]
        self.path = osp.join(root, 'data_check', f'images-{key}.json')
        try:
            with open(self.path) as f:
                self.entries = json.load(f)
        except (OSError, ValueError):
            self.entries = {}
        self.changed = False

    def get(self, name: str, stat: os.stat_result) -> Optional[List[int]]:
        e = self.entries.get(name)
        if e and e[0] == stat.st_size and e[1] == stat.st_mtime_ns:
            return e[2:]
        return None

    def put(self, name: str, stat: os.stat_result, facts: Sequence[int]) -> None:
        self.entries[name] = [stat.st_size, stat.st_mtime_ns, *facts]
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            # one partial file per process: two checks of one folder never share it
            atomic_write(
                json.dumps(self.entries), self.path, partial=f'{self.path}.{os.getpid()}.tmp'
            )
        except OSError:
            pass  # a cache that cannot be written only costs time
