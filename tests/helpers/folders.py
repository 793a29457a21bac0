"""What a folder holds, to prove that a run changed nothing in it."""

import hashlib
import os
import os.path as osp
from typing import Dict

__all__ = ['hash_tree']


def hash_tree(root: str) -> Dict[str, str]:
    """sha256 of every file under ``root`` (relative path -> digest), the
    folders as entries too and links by their target (never followed), so
    that an added, removed or changed file, folder or link shows."""
    digests = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            path = osp.join(dirpath, d)
            key = osp.relpath(path, root) + '/'
            digests[key] = f'link:{os.readlink(path)}' if osp.islink(path) else 'dir'
        for name in filenames:
            path = osp.join(dirpath, name)
            if osp.islink(path):
                digests[osp.relpath(path, root)] = f'link:{os.readlink(path)}'
                continue
            with open(path, 'rb') as f:
                digests[osp.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return digests
