# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Check a config's classes and filters against the data it names: how
mmdet's ``CocoDataset`` maps ``metainfo.classes`` onto the file's
categories, and how many images its ``filter_cfg`` leaves for training."""

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from .coco_sections import is_id
from .findings import Findings, format_names

__all__ = [
    'check_class_mapping',
    'check_type_classes',
    'count_training_images',
    'training_split_summary',
]


def _near(name: str, names: Iterable[str]) -> List[str]:
    """Names that differ from ``name`` only in case or surrounding spaces."""
    key = name.strip().casefold()
    return [n for n in names if n != name and n.strip().casefold() == key]


def check_type_classes(
    src: str,
    named: Sequence[Tuple[int, str]],
    classes: Sequence[str],
    findings: Findings,
    dataset: str,
) -> None:
    """Check a dataset that gives no ``metainfo.classes``, so that mmdet's
    ``CocoDataset`` uses its type's own ``classes``: every category of the
    file must be among them, in their order. The arguments are those of
    :func:`check_class_mapping`, ``classes`` being the type's."""
    names = [n for _, n in named]
    matched = [n for n in names if n in set(classes)]
    left_out = [n for n in names if n not in set(classes)]
    if left_out:
        why = (
            f"the file's categories {format_names(left_out)} are not among them, so their "
            'objects would be learned as background'
        )
    elif matched != list(classes):
        why = (
            f'labels would carry the names of those classes ({format_names(classes)}) but '
            f"follow the file's categories ({format_names(names)})"
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


def check_class_mapping(
    src: str,
    named: Sequence[Tuple[int, str]],
    classes: Sequence[str],
    findings: Findings,
    dataset: str,
) -> None:
    """Check how mmdet's ``CocoDataset`` maps a config's ``metainfo.classes``
    onto the file's categories: label ``i`` is the ``i``-th category of the
    file whose name is among the classes, and carries the name
    ``classes[i]``; so each class must name a category, once, in the file's
    order.

    Args:
        src: the annotation file.
        named: its ``(id, name)`` entries (:func:`~.coco_sections.check_categories`).
        classes: the config's ``metainfo.classes``.
        findings: where faults go.
        dataset: the config key of the dataset, as the lines name it.
    """
    names = [n for _, n in named]
    matched = [n for n in names if n in set(classes)]
    unknown = [c for c in classes if c not in set(names)]
    if unknown:
        hints = [f'{c!r} ~ {near[0]!r}' for c in unknown for near in [_near(c, names)] if near]
        hint = f' (spelt differently: {", ".join(hints)})' if hints else ''
        findings.add(
            'class-not-in-categories',
            src,
            f'classes {format_names(unknown)} of {dataset}.metainfo.classes name no category of the '
            f'file (its categories: {format_names(sorted(names, key=str))}){hint}; correct the class '
            'names or add the categories',
        )
    elif matched != list(classes):
        findings.add(
            'class-order',
            src,
            f'{dataset}.metainfo.classes lists {format_names(classes)}, but mmdet numbers labels in '
            f"the file's order of categories ({format_names(matched)}), so labels would carry other "
            "classes' names; write metainfo.classes in the file's order",
        )


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
        if isinstance(a, dict) and is_id(a.get('category_id')) and a['category_id'] in cat_ids
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
