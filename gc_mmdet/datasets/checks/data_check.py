# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Check the data a config names before the Runner is built.

A missing or broken image otherwise surfaces as a traceback from inside a
data loader worker mid-epoch, a malformed annotation as one from deep inside
mmdet or pycocotools, and some faults (an undeclared category, a wrong image
size) as a run that trains on wrong data without a word.
:func:`check_datasets` reads every annotation file a config names and the
images it lists (generating the synthetic data set first where configured),
prints warnings and a one-line summary per file, and raises one
:class:`UserError` listing every error, one line each (see
:mod:`~gc_mmdet.datasets.checks.coco_sections` and
:mod:`~gc_mmdet.datasets.checks.config_against_data` for the rules).

Example:
    >>> cfg = Config.fromfile('configs/own_data/mask-rcnn_r18-half_fpn_gn-all_gc_own-coco.py')
    >>> check_datasets(cfg)  # doctest: +SKIP
"""

import json
import os.path as osp
import sys
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from mmdet.registry import DATASETS

from ...utils.config_parts import (
    bare_type_name,
    evaluator_metrics,
    is_type,
    leaf_datasets,
    type_name,
)
from ...utils.errors import UserError
from ..synthetic import ensure_synthetic_coco
from ..synthetic_coco_dataset import SyntheticCocoDataset
from .coco_sections import check_coco_contents
from .config_against_data import check_class_mapping, check_type_classes, training_split_summary
from .findings import Findings, format_names, format_value

__all__ = ['check_datasets', 'check_data_report', 'check_classes_value', 'check_num_classes']


def _datasets(node: Any) -> Iterator[dict]:
    """Leaf dataset configs, looking through Concat/Repeat-style wrappers."""
    return (d for d in leaf_datasets(node) if isinstance(d, dict))


def _join(root: Optional[str], path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def _remote(path: str) -> bool:
    return '://' in path


def _dataset_class(ds_type: Any) -> Any:
    if isinstance(ds_type, type):
        return ds_type
    if not isinstance(ds_type, str):
        return None

    return DATASETS.get(ds_type)


def _is_synthetic_type(ds_type: Any) -> bool:
    """Whether a dataset ``type`` (registry name, scoped name or class) is
    :class:`~gc_mmdet.datasets.SyntheticCocoDataset` or a subclass."""
    cls = _dataset_class(ds_type)
    return isinstance(cls, type) and issubclass(cls, SyntheticCocoDataset)


def _classes(ds: dict) -> Tuple[Any, bool]:
    """The classes the dataset will use, as the config gives them, and whether
    they are its type's default: its metainfo's, else its type's
    (``CocoDataset`` without ``metainfo`` means COCO's 80)."""
    classes = (ds.get('metainfo') or {}).get('classes')
    if classes is not None:
        return classes, False
    cls = _dataset_class(ds.get('type'))
    default = getattr(cls, 'METAINFO', {}).get('classes') if cls is not None else None
    return (list(default), True) if default else (None, False)


def check_classes_value(key: str, classes: Any, findings: Findings) -> Optional[List[str]]:
    """Check the ``metainfo.classes`` of the dataset at config ``key``;
    return them as a list when usable.

    Example:
        >>> check_classes_value('train_dataloader.dataset', 'apple', findings)  # doctest: +SKIP
        # error: ...metainfo.classes: is the string 'apple', ...; write a tuple: classes=('apple',)
    """
    source = f'{key}.metainfo.classes'
    if isinstance(classes, str):
        findings.add(
            'bad-classes',
            source,
            f'is the string {classes!r}, which mmdet reads letter by letter as the classes '
            f'{format_names(list(classes))}; write a tuple: classes=({classes!r},)',
        )
        return None
    if not isinstance(classes, (list, tuple)) or not classes:
        findings.add(
            'bad-classes',
            source,
            f'{format_value(classes)} is not a tuple of class names; write '
            "classes=('name', ...) with the category names to train on",
        )
        return None
    wrong = [c for c in classes if not isinstance(c, str) or not c.strip()]
    if wrong:
        findings.add(
            'bad-classes',
            source,
            f'holds {format_names(wrong)}, which are not class names; list the category names '
            '(their "name" in the annotation file, not their ids) as strings',
        )
        return None
    repeated = sorted({c for c in classes if list(classes).count(c) > 1})
    if repeated:
        findings.add(
            'bad-classes',
            source,
            f'lists {format_names(repeated)} more than once; list each class once (mmdet would give '
            'each copy a label of its own)',
        )
        return None
    return list(classes)


def _num_classes(node: Any, path: str) -> Iterator[Tuple[str, int]]:
    """``(key, value)`` of every ``num_classes`` of the model's heads but the
    RPN's (one class: object) and semantic heads' (stuff classes), which
    mmdet's ``NumClassCheckHook`` leaves out too."""
    if isinstance(node, dict):
        if bare_type_name(node.get('type')).endswith('SemanticHead'):
            return
        for k, v in node.items():
            if k == 'num_classes' and type(v) is int:
                yield f'{path}.{k}', v
            elif not str(k).endswith('rpn_head'):
                yield from _num_classes(v, f'{path}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _num_classes(v, f'{path}.{i}')


def check_num_classes(cfg: Any, key: str, classes: Sequence[str], findings: Findings) -> None:
    """Every head's ``num_classes`` must be ``len(classes)``: a label past it
    stops training with an ``IndexError`` (or is learned as background), and
    outputs beyond the classes are never trained."""
    for where, n in _num_classes(cfg.get('model'), 'model'):
        if n != len(classes):
            findings.add(
                'num-classes-mismatch',
                where,
                f'{n}, but {key} uses {len(classes)} classes ({format_names(classes)}); set '
                f'num_classes={len(classes)} in every head (num_classes=len(classes))',
            )


def _pipeline_facts(pipeline: Any) -> tuple:
    """``(need_masks, apply_orientation)`` from a dataset's pipeline."""
    need_masks, orientation = False, True
    for t in pipeline or []:
        if not isinstance(t, dict):
            continue
        kind = t.get('type')
        if is_type(kind, 'LoadAnnotations') and t.get('with_mask'):
            need_masks = True
        if is_type(kind, 'LoadImageFromFile', 'GuardedLoadImageFromFile'):
            orientation = t.get('color_type', 'color') in ('color', 'grayscale')
    return need_masks, orientation


def _load_coco_json(ann_file: str) -> dict:
    """The parsed file, after the checks of its outline (one error each)."""
    if not osp.isfile(ann_file):
        raise UserError(f'annotation file {ann_file}: no such file')
    try:
        with open(ann_file, 'rb') as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f'annotation file {ann_file} is not valid JSON: {e}') from e
    if not isinstance(data, dict):
        raise UserError(
            f'annotation file {ann_file}: expected a JSON object '
            'with images, annotations and categories'
        )
    missing = [k for k in ('images', 'annotations', 'categories') if k not in data]
    if missing:
        raise UserError(f'annotation file {ann_file}: missing key(s) {missing}')
    wrong = [k for k in ('images', 'annotations', 'categories') if not isinstance(data[k], list)]
    if wrong:
        raise UserError(f'annotation file {ann_file}: {wrong} must be list(s)')
    if not data['categories']:
        raise UserError(f'annotation file {ann_file} has an empty category list')
    return data


def _make_synthetic(key: str, ds: dict) -> None:
    """Generate the synthetic data set a ``synthetic=`` key asks for."""
    if 'synthetic' not in ds:
        return
    if not _is_synthetic_type(ds.get('type')):
        raise UserError(
            f'{key}: synthetic= is understood by '
            f"type='SyntheticCocoDataset' only, not by "
            f'type={type_name(ds.get("type"))!r}; nothing was generated. '
            'To train on your own data, drop the inherited key by '
            'writing the dataset dict with _delete_=True (see '
            'docs/own_data.md)'
        )
    if ds['synthetic'] is not None:
        ensure_synthetic_coco(ds.get('data_root') or '.', **ds['synthetic'])


def _check_dataset_files(
    key: str,
    ds: dict,
    classes: Optional[List[str]],
    type_classes: bool,
    findings: Findings,
    done: set,
) -> None:
    """Check the annotation file and images of the dataset at ``key`` (once
    per file, image folder and need of masks)."""
    root, ann = ds.get('data_root'), ds.get('ann_file')
    if not ann or ds.get('backend_args') or _remote(_join(root, ann)):
        return
    ann = _join(root, ann)
    img_dir = _join(root, (ds.get('data_prefix') or {}).get('img', ''))
    need_masks, orientation = _pipeline_facts(ds.get('pipeline'))
    if (osp.abspath(ann), osp.abspath(img_dir), need_masks) in done:
        return
    done.add((osp.abspath(ann), osp.abspath(img_dir), need_masks))
    data = _load_coco_json(ann)
    checked = check_coco_contents(
        ann, data, findings, img_dir=img_dir, need_masks=need_masks, apply_orientation=orientation
    )
    if classes is not None and checked['categories'] is not None:
        check = check_type_classes if type_classes else check_class_mapping
        check(ann, checked['categories'], classes, findings, key)
    if ds.get('test_mode'):
        findings.info.append(f'{ann}: {len(checked["images"])} images')
    else:
        training_split_summary(ann, checked, data, classes, ds.get('filter_cfg'), findings)


def check_data_report(
    cfg: Any,
    loaders: Sequence[str] = ('train_dataloader', 'val_dataloader'),
    evaluators: Sequence[str] = ('val_evaluator',),
) -> Findings:
    """Check the data sets of ``loaders`` and the annotation files of
    ``evaluators`` in ``cfg``; every fault found goes into the result, and a
    summary line per file into its ``info``. Faults in a file's outline (not
    JSON, no categories, ...) raise :class:`UserError` at once."""
    findings = Findings()
    done = set()
    for n, key in enumerate(loaders):
        loader = cfg.get(key)
        if not loader:
            continue
        for ds in _datasets(loader.get('dataset')):
            _make_synthetic(f'{key}.dataset', ds)
            classes, type_classes = _classes(ds)
            if classes is not None and not type_classes:
                classes = check_classes_value(f'{key}.dataset', classes, findings)
            mapping_faults = findings.count('class-not-in-categories') + findings.count(
                'class-order'
            )
            _check_dataset_files(f'{key}.dataset', ds, classes, type_classes, findings, done)
            mapped = mapping_faults == findings.count('class-not-in-categories') + findings.count(
                'class-order'
            )
            if classes is not None and n == 0 and mapped:
                # the heads follow the classes; with classes still to fix, so are they
                check_num_classes(cfg, f'{key}.dataset', classes, findings)
    for key in evaluators:
        for ev in evaluator_metrics(cfg.get(key)):
            ann = ev.get('ann_file') if isinstance(ev, dict) else None
            if not ann or _remote(ann):
                continue
            if not osp.isfile(ann):
                raise UserError(f'{key}.ann_file {ann}: no such file')
            metric = ev.get('metric', 'bbox')
            need_masks = 'segm' in (metric if isinstance(metric, (list, tuple)) else [metric])
            if any(d[0] == osp.abspath(ann) and (d[2] or not need_masks) for d in done):
                continue  # checked with its images already
            done.add((osp.abspath(ann), None, need_masks))
            check_coco_contents(ann, _load_coco_json(ann), findings, need_masks=need_masks)
    return findings


def check_datasets(
    cfg: Any,
    loaders: Sequence[str] = ('train_dataloader', 'val_dataloader'),
    evaluators: Sequence[str] = ('val_evaluator',),
    verbose: bool = True,
) -> Findings:
    """Check the data of ``cfg`` (training: train and val; testing: test);
    print the summary (stdout) and warnings (stderr); raise
    :class:`UserError` with one line per error (the first few of each kind
    and file, then a count)."""
    findings = check_data_report(cfg, loaders, evaluators)
    if verbose:
        for line in findings.info:
            print(f'data: {line}')
        for line in findings.warning_lines():
            print(f'warning: {line}', file=sys.stderr)
    if findings.has_errors:
        raise UserError('\n'.join(findings.error_lines()))
    return findings


SKIP_LOG = 'skipped_samples.txt'
_DATA_CHECK_KEYS = {'on_load_error': ('stop', 'skip')}


def use_guarded_loading(
    cfg: Any, loaders: Sequence[str] = ('train_dataloader', 'val_dataloader', 'test_dataloader')
) -> Optional[str]:
    """Put ``GuardedLoadImageFromFile`` in place of every
    ``LoadImageFromFile`` of the loaders' pipelines, so that an image that
    fails to load mid-run is named (config key ``data_check.on_load_error``:
    ``'stop'``, the default, or ``'skip'``, which skips such training
    samples and lists them in ``WORK_DIR/skipped_samples.txt``).

    Returns:
        str: the skip list's path when skipping, else None.
    """
    options = dict(cfg.get('data_check') or {})
    for key, value in options.items():
        if key not in _DATA_CHECK_KEYS:
            raise UserError(
                f'data_check.{key}: unknown key; the keys are {sorted(_DATA_CHECK_KEYS)}'
            )
        if value not in _DATA_CHECK_KEYS[key]:
            raise UserError(
                f'data_check.{key}={value!r}: must be one of {list(_DATA_CHECK_KEYS[key])}'
            )
    skip = options.get('on_load_error', 'stop') == 'skip'
    skip_log = osp.join(cfg.work_dir, SKIP_LOG) if skip else None
    for key in loaders:
        for ds in _datasets((cfg.get(key) or {}).get('dataset')):
            for t in ds.get('pipeline') or []:
                if isinstance(t, dict) and is_type(t.get('type'), 'LoadImageFromFile'):
                    t['type'] = 'mmdet.GuardedLoadImageFromFile'
                    # a test-mode dataset cannot skip: mmengine refuses None there
                    if skip and not ds.get('test_mode'):
                        t.update(on_error='skip', skip_log=skip_log)
    return skip_log
