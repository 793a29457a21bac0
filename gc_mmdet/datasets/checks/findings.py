# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The faults a data check reports: their kinds (``KINDS``: severity and
plural), :class:`Findings` that groups them by file, and how values read in
a message. The rules are listed in ``docs/own_data.md``.

Example:
    >>> findings = Findings()
    >>> findings.add('missing-image', 'train.json', 'image 3 (a.jpg): file not found')
    >>> findings.error_lines()
    ['train.json: image 3 (a.jpg): file not found']
"""

import json
from collections import Counter, defaultdict
from typing import Any, Dict, Iterable, List, Sequence, Tuple

__all__ = [
    'ERROR',
    'WARNING',
    'KINDS',
    'Findings',
    'format_list',
    'format_ids',
    'format_value',
    'format_names',
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


def format_list(values: Sequence[Any], limit: int, show=str) -> str:
    """``values`` for a message: at most ``limit`` of them, then ``...``."""
    text = ', '.join(show(v) for v in list(values)[:limit])
    return f'[{text}{", ..." if len(values) > limit else ""}]'


def format_ids(values: Iterable[Any], limit: int = 12) -> str:
    """A sorted list of ids for a message, at most ``limit`` of them."""
    try:
        ids = sorted(values)
    except TypeError:
        ids = sorted(values, key=str)
    return format_list(ids, limit)


def format_value(v: Any, limit: int = 60) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= limit else text[: limit - 3] + '...'


def format_names(names: Sequence[Any], limit: int = 8) -> str:
    """Names for a message, quoted, at most ``limit`` of them."""
    return format_list(names, limit, repr)
