# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Check the image files an annotation file lists: present, decodable,
whole, and of the size the file says."""

import os
import os.path as osp
from typing import Iterable

from .findings import Findings
from .image_cache import ImageCache
from .image_probe import ImageFault, loaded_size, probe_file

__all__ = [
    'check_images',
]


def check_images(
    src: str, images: Iterable[dict], img_dir: str, findings: Findings, apply_orientation: bool
) -> set:
    """Check every image file; return the ids of those whose size differs."""
    cache = ImageCache(img_dir)
    resized = set()
    for img in images:
        name, iid = img['file_name'], img['id']
        path = osp.join(img_dir, name)
        where = f'image {iid} ({path})'
        try:
            stat = os.stat(path)
            facts = cache.get(name, stat)
            if facts is None:
                facts = probe_file(path)
                cache.put(name, stat, facts)
        except FileNotFoundError:
            findings.add(
                'missing-image',
                src,
                f'{where}: file not found; put it there or remove '
                f'image {iid} and its annotations from the file',
            )
            continue
        except ImageFault as e:
            findings.add(
                e.kind,
                src,
                f'{where}: {e}; replace the file (re-download or re-export '
                f'it) or remove image {iid} and its annotations from the file',
            )
            continue
        w, h = loaded_size(facts, apply_orientation)
        orientation = facts[2]
        if (w, h) != (img['width'], img['height']):
            resized.add(iid)
            turned = ' after its EXIF orientation' if apply_orientation and orientation != 1 else ''
            findings.add(
                'size-mismatch',
                src,
                (
                    f'{where}: decodes to width {w}, height {h}{turned}, but the file says '
                    f'width {img["width"]}, height {img["height"]}; correct "width"/"height" '
                    '(boxes and masks are read against them)'
                ),
            )
    cache.save()
    return resized
