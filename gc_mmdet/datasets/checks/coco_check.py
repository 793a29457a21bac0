# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Check the contents of a COCO annotation file and of the images it lists.

Every fault that would stop mmdet's ``CocoDataset`` with a traceback, or let
it train on wrong data without a word, is found here before training, each
as one line that names the file, the image or annotation id and what to do.
Faults that COCO tolerates and mmdet handles by skipping the annotation are
warnings with a count. The rules (``KINDS``) are listed in
``docs/own_data.md``.

Example:
    >>> findings = Findings()
    >>> with open('data/my_coco/annotations/instances_train.json') as f:  # doctest: +SKIP
    ...     data = json.load(f)
    >>> check_coco_contents('.../instances_train.json', data, findings,
    ...                     img_dir='data/my_coco/train/', need_masks=True)  # doctest: +SKIP
    >>> findings.error_lines()  # doctest: +SKIP
"""

import hashlib
import json
import math
import os
import os.path as osp
from collections import Counter, defaultdict
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from .image_probe import ImageFault, loaded_size, probe_file

__all__ = [
    'KINDS',
    'Findings',
    'check_categories',
    'check_class_mapping',
    'check_coco_contents',
    'count_training_images',
    'training_split_summary',
]

ERROR, WARNING = 'error', 'warning'
# kind -> (severity, what several of them are called, for "and N more ...")
KINDS: Dict[str, Tuple[str, str]] = {
    'missing-image': (ERROR, 'image files not found'),
    'empty-image': (ERROR, 'empty image files'),
    'truncated-image': (ERROR, 'truncated image files'),
    'unreadable-image': (ERROR, 'image files that do not decode'),
    'size-mismatch': (ERROR, 'images whose decoded size differs from width/height'),
    'bad-image-entry': (ERROR, 'image entries without a usable id, file_name, width or height'),
    'duplicate-image-id': (ERROR, 'repeated image ids'),
    'duplicate-annotation-id': (ERROR, 'repeated annotation ids'),
    'bad-annotation-entry': (
        ERROR,
        'annotations without a usable id, image_id, category_id or area',
    ),
    'orphan-annotation': (ERROR, 'annotations whose image_id names no image'),
    'undeclared-category': (ERROR, 'annotations whose category_id is not declared'),
    'bad-bbox': (ERROR, 'annotations whose bbox is not 4 finite numbers'),
    'bad-segmentation': (ERROR, 'annotations with a malformed segmentation'),
    'missing-segmentation': (ERROR, 'annotations without a segmentation'),
    'no-training-images': (ERROR, 'training splits without images'),
    'bad-category-entry': (ERROR, 'categories without an integer id or a non-empty name'),
    'duplicate-category-id': (ERROR, 'repeated category ids'),
    'duplicate-category-name': (ERROR, 'repeated category names'),
    'class-not-in-categories': (ERROR, 'classes that name no category'),
    'class-order': (ERROR, 'classes listed in another order than their categories'),
    'bad-classes': (ERROR, 'unusable metainfo.classes'),
    'num-classes-mismatch': (ERROR, 'heads whose num_classes differs from the classes'),
    # tolerated by COCO, skipped by mmdet: a warning with a count
    'degenerate-polygon': (
        WARNING,
        'annotations without a polygon of 3 or more points (mmdet ignores them in training)',
    ),
    'tiny-box': (
        WARNING,
        'annotations with a box under 1 px wide or high, or area <= 0 (mmdet skips them)',
    ),
    'box-outside-image': (
        WARNING,
        'annotations with a box entirely outside their image (mmdet skips them)',
    ),
}


class Findings:
    """Errors and warnings of a data check, grouped by file and kind.

    Args:
        shown (int): errors of one kind in one file printed in full; the
            rest are counted on one more line.
    """

    def __init__(self, shown: int = 3):
        self.shown = shown
        self._found: Dict[Tuple[str, str], List[str]] = defaultdict(list)
        self._count: Counter = Counter()
        self.info: List[str] = []

    def add(self, kind: str, source: str, message: str) -> None:
        """Record one fault of ``kind`` in ``source`` (an annotation file)."""
        if kind not in KINDS:
            raise KeyError(kind)
        self._count[source, kind] += 1
        if len(self._found[source, kind]) < self.shown:
            self._found[source, kind].append(message)

    def count(self, kind: str) -> int:
        return sum(n for (_, k), n in self._count.items() if k == kind)

    @property
    def has_errors(self) -> bool:
        return any(KINDS[k][0] == ERROR for _, k in self._count)

    def error_lines(self) -> List[str]:
        """One line per error (``shown`` per kind and file), then a count."""
        lines = []
        for (source, kind), messages in self._found.items():
            if KINDS[kind][0] != ERROR:
                continue
            lines += [f'{source}: {m}' for m in messages]
            more = self._count[source, kind] - len(messages)
            if more:
                lines.append(f'{source}: ... and {more} more {KINDS[kind][1]}')
        return lines

    def warning_lines(self) -> List[str]:
        """One line per kind and file: the count and the first case."""
        return [
            f'{source}: {self._count[source, kind]} {KINDS[kind][1]}, first: {messages[0]}'
            for (source, kind), messages in self._found.items()
            if KINDS[kind][0] == WARNING
        ]


def _is_number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


def _listed(values: Sequence[Any], limit: int, show=str) -> str:
    """``values`` for a message: at most ``limit`` of them, then ``...``."""
    text = ', '.join(show(v) for v in list(values)[:limit])
    return f'[{text}{", ..." if len(values) > limit else ""}]'


def _ids(values: Iterable[Any], limit: int = 12) -> str:
    """A sorted list of ids for a message, at most ``limit`` of them."""
    try:
        ids = sorted(values)
    except TypeError:
        ids = sorted(values, key=str)
    return _listed(ids, limit)


def _short(v: Any, limit: int = 60) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= limit else text[: limit - 3] + '...'


def _segmentation_problem(
    seg: Any, h: Optional[int], w: Optional[int]
) -> Optional[Tuple[str, str]]:
    """``(kind, message)`` for a segmentation mmdet cannot use, else None."""

    if isinstance(seg, list):
        usable = False
        for poly in seg:
            if not isinstance(poly, list):
                return 'bad-segmentation', (
                    f'segmentation polygon {_short(poly)} is not a list of '
                    'numbers [x1, y1, x2, y2, ...]'
                )
            a = np.asarray(poly)
            if a.ndim != 1 or a.dtype.kind not in 'iuf' or not np.isfinite(a).all():
                return 'bad-segmentation', (
                    f'segmentation polygon {_short(poly)} holds something other than finite numbers'
                )
            usable = usable or (len(poly) >= 6 and len(poly) % 2 == 0)
        if not usable:
            return 'degenerate-polygon', f'segmentation {_short(seg)}'
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
        f'segmentation {_short(seg)} is neither a list of polygons nor an RLE dict'
    )


class _ImageCache:
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
            os.makedirs(osp.dirname(self.path), exist_ok=True)
            tmp = f'{self.path}.{os.getpid()}.tmp'
            with open(tmp, 'w') as f:
                json.dump(self.entries, f)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _check_images(
    src: str, images: Iterable[dict], img_dir: str, findings: Findings, apply_orientation: bool
) -> set:
    """Check every image file; return the ids of those whose size differs."""
    cache = _ImageCache(img_dir)
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


def _is_id(v: Any) -> bool:
    return type(v) is int


def _is_name(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ''


def _category_entry_problem(k: int, cat: Any) -> Optional[str]:
    """What is wrong with entry ``k`` of ``categories``, if anything."""
    if not isinstance(cat, dict):
        return (
            f'categories[{k}]: {_short(cat)} is not an object; write '
            '{"id": <integer>, "name": "<class name>"}'
        )
    cid, name = cat.get('id'), cat.get('name')
    if not _is_id(cid):
        got = 'no "id"' if 'id' not in cat else f'"id" {_short(cid)} is not an integer'
        return (
            f'categories[{k}] (name {_short(name)}): {got}; give every category a unique '
            'integer id, the one its annotations use as category_id'
        )
    if not _is_name(name):
        got = 'no "name"' if 'name' not in cat else f'"name" {_short(name)} is not a class name'
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
                f'({_names(used_by)}); give each category its own id (pycocotools keeps only '
                'the last, and mmdet labels their objects past metainfo.classes)',
            )
    for name, used_by in names.items():
        if len(used_by) > 1:
            faulty = True
            findings.add(
                'duplicate-category-name',
                src,
                f'category name {name!r} is used by {len(used_by)} categories (ids '
                f'{_ids(used_by)}); merge them into one category (one id for all its '
                'annotations) or give each its own name (mmdet would label the second past '
                'metainfo.classes: an IndexError in training, or its objects learned as '
                'background)',
            )
    return None if faulty else named


def _names(names: Sequence[Any], limit: int = 8) -> str:
    """Names for a message, quoted, at most ``limit`` of them."""
    return _listed(names, limit, repr)


def _near(name: str, names: Iterable[str]) -> List[str]:
    """Names that differ from ``name`` only in case or surrounding spaces."""
    key = name.strip().casefold()
    return [n for n in names if n != name and n.strip().casefold() == key]


def check_class_mapping(
    src: str,
    named: Sequence[Tuple[int, str]],
    classes: Sequence[str],
    findings: Findings,
    dataset: str,
    default: bool = False,
) -> None:
    """Check how mmdet's ``CocoDataset`` maps ``classes`` onto the file's
    categories: label ``i`` is the ``i``-th category of the file whose name
    is among the classes, and carries the name ``classes[i]``; so each class
    must name a category, once, in the file's order.

    Args:
        src: the annotation file.
        named: its ``(id, name)`` entries (:func:`check_categories`).
        classes: the classes the dataset uses.
        findings: where faults go.
        dataset: the config key of the dataset, as the lines name it.
        default: whether ``classes`` are the dataset type's own (the config
            gives no ``metainfo.classes``).
    """
    names = [n for _, n in named]
    matched = [n for n in names if n in set(classes)]
    if default:
        left_out = [n for n in names if n not in set(classes)]
        if left_out:
            why = (
                f"the file's categories {_names(left_out)} are not among them, so their "
                'objects would be learned as background'
            )
        elif matched != list(classes):
            why = (
                f'labels would carry the names of those classes ({_names(classes)}) but follow '
                f"the file's categories ({_names(names)})"
            )
        else:
            return
        findings.add(
            'class-not-in-categories' if left_out else 'class-order',
            src,
            f"{dataset} has no metainfo.classes, so it uses its type's {len(classes)} class "
            f'names, and {why}; set metainfo=dict(classes=(...)) to the category names to '
            "train on, in the file's order",
        )
        return
    unknown = [c for c in classes if c not in set(names)]
    if unknown:
        hints = [f'{c!r} ~ {near[0]!r}' for c in unknown for near in [_near(c, names)] if near]
        hint = f' (spelt differently: {", ".join(hints)})' if hints else ''
        findings.add(
            'class-not-in-categories',
            src,
            f'classes {_names(unknown)} of {dataset}.metainfo.classes name no category of the '
            f'file (its categories: {_names(sorted(names, key=str))}){hint}; correct the class '
            'names or add the categories',
        )
    elif matched != list(classes):
        findings.add(
            'class-order',
            src,
            f'{dataset}.metainfo.classes lists {_names(classes)}, but mmdet numbers labels in '
            f"the file's order of categories ({_names(matched)}), so labels would carry other "
            "classes' names; write metainfo.classes in the file's order",
        )


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
                    f"{_short(w)} and {_short(h)}; write the image's size in pixels"
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


class _AnnotationContext:
    """What the rules on one annotation read: the usable images, every image
    id seen, the declared categories (None: the list has a fault), the images
    whose size is wrong, and whether the config loads masks."""

    def __init__(self, images, seen_ids, named, resized, need_masks) -> None:
        self.images, self.seen_ids, self.named = images, seen_ids, named
        self.declared = {cid for cid, _ in named or []}
        self.resized, self.need_masks = resized, need_masks


def _entry_problem(ann: dict, where: str, ctx: _AnnotationContext) -> Optional[Tuple[str, str]]:
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
            f'{where}: image_id {_short(ann["image_id"])} names no image in "images"; '
            'add the image or correct the image_id (mmdet would drop the annotation '
            'without a word)'
        )
    # a faulty categories list is one fault: its annotations wait for its fix
    if ctx.named is not None and (
        not _is_id(ann['category_id']) or ann['category_id'] not in ctx.declared
    ):
        return 'undeclared-category', (
            f'{where}: category_id {_short(ann["category_id"])} is not declared in '
            f'"categories" (declared: {_ids(ctx.declared)}); declare it or correct the '
            'annotation (mmdet would drop it without a word and learn the object as '
            'background)'
        )
    return None


def _geometry_problem(
    ann: dict, aid: Any, where: str, ctx: _AnnotationContext
) -> Optional[Tuple[str, str]]:
    """``(kind, line)`` when an annotation's box, area or mask is unusable
    (degenerate polygons are reported and kept: kind ``degenerate-polygon``)."""
    img = ctx.images[ann['image_id']]
    bbox = ann['bbox']
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        return 'bad-bbox', (
            f'{where}: bbox {_short(bbox)} is not 4 finite numbers [x, y, width, height]; '
            'correct or remove the annotation'
        )
    if not _is_number(ann['area']):
        return 'bad-annotation-entry', (
            f"{where}: area {_short(ann['area'])} is not a finite number; write the object's "
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
    src: str, entries: Sequence[Any], ctx: _AnnotationContext, findings: Findings
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
        resized = _check_images(src, images.values(), img_dir, findings, apply_orientation)
    named = check_categories(src, data['categories'], findings)
    ctx = _AnnotationContext(images, seen_ids, named, resized, need_masks)
    usable = check_annotations(src, data['annotations'], ctx, findings)
    return dict(images=images, anns=usable, categories=named)


def count_training_images(
    checked: Dict[str, Any],
    data: dict,
    classes: Optional[Sequence[str]],
    filter_cfg: Optional[dict],
) -> Tuple[int, List[str]]:
    """How many images mmdet's ``CocoDataset.filter_data`` keeps for training,
    and why it drops the rest.

    Mirrors it: with ``filter_empty_gt``, an image needs an annotation of
    one of ``classes``; with ``min_size``, its shorter side must reach it.
    ``checked['categories']`` must be usable (not None).
    """
    images = checked['images']
    names = set(classes) if classes else None
    cat_ids = {cid for cid, name in checked['categories'] if names is None or name in names}
    filter_cfg = filter_cfg or {}
    empty_gt = filter_cfg.get('filter_empty_gt', False)
    min_size = filter_cfg.get('min_size', 0)
    with_cat = {
        a['image_id']
        for a in data['annotations']
        if isinstance(a, dict) and _is_id(a.get('category_id')) and a['category_id'] in cat_ids
    }
    no_ann = small = 0
    for iid, img in images.items():
        if empty_gt and iid not in with_cat:
            no_ann += 1
        elif min(img['width'], img['height']) < min_size:
            small += 1
    why = []
    if no_ann:
        why.append(f"{no_ann} without an annotation of the config's classes (filter_empty_gt)")
    if small:
        why.append(f'{small} with a side under filter_cfg.min_size={min_size}')
    return len(images) - no_ann - small, why


def training_split_summary(
    src: str,
    checked: Dict[str, Any],
    data: dict,
    classes: Optional[Sequence[str]],
    filter_cfg: Optional[dict],
    findings: Findings,
) -> None:
    """Add to ``findings.info`` one line saying how many images are kept for
    training (:func:`count_training_images`); record ``no-training-images``
    when none is."""
    images = checked['images']
    if checked['categories'] is None:  # already an error; the count waits for its fix
        findings.info.append(
            f'{src}: {len(images)} images (the training split is counted once "categories" '
            'is fixed)'
        )
        return
    kept, why = count_training_images(checked, data, classes, filter_cfg)
    findings.info.append(
        f'{src}: training on {kept} of {len(images)} images'
        + (f' ({"; ".join(why)})' if why else '')
    )
    if kept == 0 and images:
        shown = repr(list(classes)) if classes else 'all'
        shown = shown if len(shown) <= 80 else shown[:77] + '...'
        findings.add(
            'no-training-images',
            src,
            (
                f'no image is left for training after metainfo.classes ({shown}) and '
                f'filter_cfg ({"; ".join(why)}); check the class names against "categories" and '
                'filter_cfg'
            ),
        )
