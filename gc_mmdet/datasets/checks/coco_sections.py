# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Check the contents of a COCO annotation file, one section at a time
(``images``, ``categories``, ``annotations``), and the image files it lists.

Every fault that would stop mmdet's ``CocoDataset`` with a traceback, or let
it train on wrong data without a word, is found here before training, each
as one line that names the file, the image or annotation id and what to do.
Faults that COCO tolerates and mmdet handles by skipping the annotation are
warnings with a count (:data:`~.findings.KINDS`).

Example:
    >>> findings = Findings()
    >>> with open('data/my_coco/annotations/instances_train.json') as f:  # doctest: +SKIP
    ...     data = json.load(f)
    >>> check_coco_contents('.../instances_train.json', data, findings,
    ...                     img_dir='data/my_coco/train/', need_masks=True)  # doctest: +SKIP
    >>> findings.error_lines()  # doctest: +SKIP
"""

import math
from collections import Counter, defaultdict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .findings import Findings, format_ids, format_names, format_value
from .image_files import check_images

__all__ = [
    'AnnotationContext',
    'check_image_entries',
    'check_categories',
    'check_annotations',
    'check_coco_contents',
    'is_id',
]


def _is_number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def _segmentation_problem(
    seg: Any, h: Optional[int], w: Optional[int]
) -> Optional[Tuple[str, str]]:
    """``(kind, message)`` for a segmentation mmdet cannot use, else None."""

    if isinstance(seg, list):
        usable = False
        for poly in seg:
            if not isinstance(poly, list):
                return 'bad-segmentation', (
                    f'segmentation polygon {format_value(poly)} is not a list of '
                    'numbers [x1, y1, x2, y2, ...]'
                )
            a = np.asarray(poly)
            if a.ndim != 1 or a.dtype.kind not in 'iuf' or not np.isfinite(a).all():
                return 'bad-segmentation', (
                    f'segmentation polygon {format_value(poly)} holds something other than finite numbers'
                )
            usable = usable or (len(poly) >= 6 and len(poly) % 2 == 0)
        if not usable:
            return 'degenerate-polygon', f'segmentation {format_value(seg)}'
        return None
    if isinstance(seg, dict):
        size, counts = seg.get('size'), seg.get('counts')
        if (
            not isinstance(size, list)
            or len(size) != 2
            or not all(type(v) is int for v in size)
            or not isinstance(counts, (list, str))
        ):
            return 'bad-segmentation', (
                'segmentation is a dict but not an RLE with "size" [height, '
                'width] and "counts" (a list or a string)'
            )
        if h is not None and size != [h, w]:
            return 'bad-segmentation', (
                f"RLE size {size} differs from its image's [height, width] "
                f"[{h}, {w}]; re-encode the mask at the image's size"
            )
        if isinstance(counts, list) and (
            not all(type(c) is int and c >= 0 for c in counts) or sum(counts) != size[0] * size[1]
        ):
            return 'bad-segmentation', (
                f'uncompressed RLE counts do not add up to height x width '
                f'= {size[0] * size[1]}; re-encode the mask'
            )
        return None
    return 'bad-segmentation', (
        f'segmentation {format_value(seg)} is neither a list of polygons nor an RLE dict'
    )


def is_id(v: Any) -> bool:
    return type(v) is int


def _is_name(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ''


def _category_entry_problem(k: int, cat: Any) -> Optional[str]:
    """What is wrong with entry ``k`` of ``categories``, if anything."""
    if not isinstance(cat, dict):
        return (
            f'categories[{k}]: {format_value(cat)} is not an object; write '
            '{"id": <integer>, "name": "<class name>"}'
        )
    cid, name = cat.get('id'), cat.get('name')
    if not is_id(cid):
        got = 'no "id"' if 'id' not in cat else f'"id" {format_value(cid)} is not an integer'
        return (
            f'categories[{k}] (name {format_value(name)}): {got}; give every category a unique '
            'integer id, the one its annotations use as category_id'
        )
    if not _is_name(name):
        got = (
            'no "name"' if 'name' not in cat else f'"name" {format_value(name)} is not a class name'
        )
        return (
            f'category {cid}: {got}; write its class name as a non-empty string, as '
            'metainfo.classes lists it'
        )
    return None


def check_categories(
    src: str, categories: List[Any], findings: Findings
) -> Optional[List[Tuple[int, str]]]:
    """Check the ``categories`` list of an annotation file.

    mmdet numbers its labels by walking this list in order and keeping the
    entries whose name is one of ``metainfo.classes``; a repeated name or id
    then gives an object a label past the classes (an ``IndexError`` in
    training, or an object learned as background).

    Returns:
        list: ``(id, name)`` of the entries in the file's order; None when
        the list has a fault (the rules that read it then wait for its fix).
    """
    named, ids, names, faulty = [], defaultdict(list), defaultdict(list), False
    for k, cat in enumerate(categories):
        problem = _category_entry_problem(k, cat)
        if problem:
            findings.add('bad-category-entry', src, problem)
            faulty = True
            continue
        ids[cat['id']].append(cat['name'])
        names[cat['name']].append(cat['id'])
        named.append((cat['id'], cat['name']))
    for cid, used_by in ids.items():
        if len(used_by) > 1:
            faulty = True
            findings.add(
                'duplicate-category-id',
                src,
                f'category id {cid} is used by {len(used_by)} categories '
                f'({format_names(used_by)}); give each category its own id (pycocotools keeps only '
                'the last, and mmdet labels their objects past metainfo.classes)',
            )
    for name, used_by in names.items():
        if len(used_by) > 1:
            faulty = True
            findings.add(
                'duplicate-category-name',
                src,
                f'category name {name!r} is used by {len(used_by)} categories (ids '
                f'{format_ids(used_by)}); merge them into one category (one id for all its '
                'annotations) or give each its own name (mmdet would label the second past '
                'metainfo.classes: an IndexError in training, or its objects learned as '
                'background)',
            )
    return None if faulty else named


def check_image_entries(
    src: str, entries: Sequence[Any], findings: Findings
) -> Tuple[Dict[Any, dict], Dict[Any, List[str]]]:
    """Check the ``images`` list: an id, a file name and a size each, ids
    unique.

    Returns:
        tuple: the usable entries by id, and the file names of every id seen.
    """
    images: Dict[Any, dict] = {}
    seen_ids: Dict[Any, List[str]] = defaultdict(list)
    for k, img in enumerate(entries):
        if not isinstance(img, dict) or 'id' not in img:
            findings.add(
                'bad-image-entry', src, f'images[{k}]: no "id"; give every image a unique id'
            )
            continue
        iid = img['id']
        seen_ids[iid].append(str(img.get('file_name')))
        name, w, h = img.get('file_name'), img.get('width'), img.get('height')
        if not isinstance(name, str) or not name:
            findings.add(
                'bad-image-entry',
                src,
                f'image {iid}: no "file_name"; add the image '
                "file's path relative to data_prefix.img",
            )
        elif type(w) is not int or type(h) is not int or w <= 0 or h <= 0:
            findings.add(
                'bad-image-entry',
                src,
                (
                    f'image {iid}: "width" and "height" must be positive integers, got '
                    f"{format_value(w)} and {format_value(h)}; write the image's size in pixels"
                ),
            )
        elif len(seen_ids[iid]) == 1:
            images[iid] = img
    for iid, names in seen_ids.items():
        if len(names) > 1:
            images.pop(iid, None)
            findings.add(
                'duplicate-image-id',
                src,
                (
                    f'image id {iid} is used by {len(names)} images ({", ".join(names[:3])}); '
                    'give each image its own id'
                ),
            )
    return images, seen_ids


class AnnotationContext:
    """What the rules on one annotation read: the usable images, every image
    id seen, the declared categories (None: the list has a fault), the images
    whose size is wrong, and whether the config loads masks."""

    def __init__(self, images, seen_ids, named, resized, need_masks) -> None:
        self.images, self.seen_ids, self.named = images, seen_ids, named
        self.declared = {cid for cid, _ in named or []}
        self.resized, self.need_masks = resized, need_masks


def _entry_problem(ann: dict, where: str, ctx: AnnotationContext) -> Optional[Tuple[str, str]]:
    """``(kind, message)`` when an annotation's keys, image or category are
    unusable; ``(None, '')`` for an orphan already reported by its image."""
    missing = [key for key in ('image_id', 'category_id', 'bbox', 'area') if key not in ann]
    if missing:
        return 'bad-annotation-entry', (
            f'{where}: no {", ".join(repr(m) for m in missing)}; add '
            f'{"them" if len(missing) > 1 else "it"} or remove the annotation'
        )
    if ctx.images.get(ann['image_id']) is None:
        if ann['image_id'] in ctx.seen_ids:  # a faulty image entry: already reported
            return None, ''
        return 'orphan-annotation', (
            f'{where}: image_id {format_value(ann["image_id"])} names no image in "images"; '
            'add the image or correct the image_id (mmdet would drop the annotation '
            'without a word)'
        )
    # a faulty categories list is one fault: its annotations wait for its fix
    if ctx.named is not None and (
        not is_id(ann['category_id']) or ann['category_id'] not in ctx.declared
    ):
        return 'undeclared-category', (
            f'{where}: category_id {format_value(ann["category_id"])} is not declared in '
            f'"categories" (declared: {format_ids(ctx.declared)}); declare it or correct the '
            'annotation (mmdet would drop it without a word and learn the object as '
            'background)'
        )
    return None


def _geometry_problem(
    ann: dict, aid: Any, where: str, ctx: AnnotationContext
) -> Optional[Tuple[str, str]]:
    """``(kind, line)`` when an annotation's box, area or mask is unusable
    (degenerate polygons are reported and kept: kind ``degenerate-polygon``)."""
    img = ctx.images[ann['image_id']]
    bbox = ann['bbox']
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        return 'bad-bbox', (
            f'{where}: bbox {format_value(bbox)} is not 4 finite numbers [x, y, width, height]; '
            'correct or remove the annotation'
        )
    if not _is_number(ann['area']):
        return 'bad-annotation-entry', (
            f"{where}: area {format_value(ann['area'])} is not a finite number; write the object's "
            'area in pixels'
        )
    x, y, bw, bh = bbox
    if bw < 1 or bh < 1 or ann['area'] <= 0:
        return 'tiny-box', f'annotation {aid}'
    if min(x + bw, img['width']) <= max(x, 0) or min(y + bh, img['height']) <= max(y, 0):
        return 'box-outside-image', f'annotation {aid}'
    seg = ann.get('segmentation')
    if ctx.need_masks and not seg:
        return 'missing-segmentation', (
            f'{where}: no "segmentation", which this config needs (it loads masks: '
            'LoadAnnotations with_mask=True, or a segm metric); add the mask, or use a '
            'box-only config'
        )
    if seg:
        # an image of the wrong size is one fault, not one more per RLE mask
        known = ann['image_id'] not in ctx.resized
        problem = _segmentation_problem(seg, img['height'] if known else None, img['width'])
        if problem:
            kind, message = problem
            if kind == 'degenerate-polygon':
                return kind, f'annotation {aid}'
            return kind, f'{where}: {message}; correct or remove the annotation'
    return None


def check_annotations(
    src: str, entries: Sequence[Any], ctx: AnnotationContext, findings: Findings
) -> List[dict]:
    """Check the ``annotations`` list; return the usable annotations."""
    ann_ids: Counter = Counter()
    usable = []
    for k, ann in enumerate(entries):
        aid = ann.get('id') if isinstance(ann, dict) else None
        if aid is None:
            findings.add(
                'bad-annotation-entry',
                src,
                f'annotations[{k}]: no "id"; give every annotation a unique id',
            )
            continue
        ann_ids[aid] += 1
        where = f'annotation {aid} (image {ann.get("image_id")})'
        problem = _entry_problem(ann, where, ctx) or _geometry_problem(ann, aid, where, ctx)
        if problem:
            kind, line = problem
            if kind:
                findings.add(kind, src, line)
            if kind != 'degenerate-polygon':
                continue
        usable.append(ann)
    for aid, n in ann_ids.items():
        if n > 1:
            findings.add(
                'duplicate-annotation-id',
                src,
                (
                    f'annotation id {aid} is used by {n} annotations; give each annotation its own '
                    'id (mmdet stops on repeated ids, pycocotools keeps only the last)'
                ),
            )
    return usable


def check_coco_contents(
    src: str,
    data: dict,
    findings: Findings,
    *,
    img_dir: Optional[str] = None,
    need_masks: bool = False,
    apply_orientation: bool = True,
) -> Dict[str, Any]:
    """Check a parsed COCO annotation file; record faults in ``findings``.

    Args:
        src: the annotation file's path, as the lines name it.
        data: its parsed contents (``images``, ``annotations``, ``categories``).
        findings: where faults go.
        img_dir: the folder ``file_name`` is relative to; None checks no image.
        need_masks: whether the config loads masks (``LoadAnnotations`` with
            ``with_mask=True``, or a ``segm`` metric).
        apply_orientation: whether the loader applies EXIF orientation.

    Returns:
        dict: ``images`` (id -> entry, the usable ones), ``anns`` (the
        usable annotations), for :func:`training_split_summary`, and
        ``categories`` (``(id, name)`` of each category, None when the list
        has a fault), for :func:`check_class_mapping`.
    """
    images, seen_ids = check_image_entries(src, data['images'], findings)
    resized = set()
    if img_dir is not None:
        resized = check_images(src, images.values(), img_dir, findings, apply_orientation)
    named = check_categories(src, data['categories'], findings)
    ctx = AnnotationContext(images, seen_ids, named, resized, need_masks)
    usable = check_annotations(src, data['annotations'], ctx, findings)
    return dict(images=images, anns=usable, categories=named)
