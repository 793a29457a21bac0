# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Check COCO-style data before the Runner is built.

A missing image otherwise surfaces as a stack trace from inside a data
loader worker mid-epoch, and a corrupt annotation file as a JSONDecodeError
deep inside pycocotools. :func:`check_datasets` reads every annotation file
a config names (generating the synthetic data set first where configured)
and stops with one line naming the file.
"""
import json
import os.path as osp
from typing import Any, Iterator, List, Optional, Sequence

from .errors import UserError

__all__ = ['check_datasets', 'check_coco_file']


def _datasets(node: Any) -> Iterator[dict]:
    """Leaf dataset configs, looking through Concat/Repeat-style wrappers."""
    if not isinstance(node, dict):
        return
    if 'dataset' in node:
        yield from _datasets(node['dataset'])
    elif 'datasets' in node:
        for d in node['datasets']:
            yield from _datasets(d)
    else:
        yield node


def _join(root: Optional[str], path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def _remote(path: str) -> bool:
    return '://' in path


def _type_name(ds_type: Any) -> str:
    return getattr(ds_type, '__name__', ds_type) if ds_type is not None else 'None'


def _is_synthetic_type(ds_type: Any) -> bool:
    """Whether a dataset ``type`` (registry name, scoped name or class) is
    :class:`~gc_mmdet.datasets.SyntheticCocoDataset` or a subclass."""
    from ..datasets import SyntheticCocoDataset
    if isinstance(ds_type, type):
        return issubclass(ds_type, SyntheticCocoDataset)
    if not isinstance(ds_type, str):
        return False
    from mmdet.registry import DATASETS
    cls = DATASETS.get(ds_type)
    return isinstance(cls, type) and issubclass(cls, SyntheticCocoDataset)


def check_coco_file(ann_file: str, img_dir: Optional[str] = None,
                    classes: Optional[List[str]] = None) -> dict:
    """Validate one COCO annotation file (and its images, if ``img_dir``).

    Returns:
        dict: the parsed annotation file.

    Raises:
        UserError: naming the file and what is wrong with it.
    """
    if not osp.isfile(ann_file):
        raise UserError(f'annotation file {ann_file}: no such file')
    try:
        with open(ann_file) as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f'annotation file {ann_file} is not valid JSON: {e}') from e
    if not isinstance(data, dict):
        raise UserError(f'annotation file {ann_file}: expected a JSON object '
                        'with images, annotations and categories')
    missing = [k for k in ('images', 'annotations', 'categories') if k not in data]
    if missing:
        raise UserError(f'annotation file {ann_file}: missing key(s) {missing}')
    if not data['categories']:
        raise UserError(f'annotation file {ann_file} has an empty category list')
    if classes:
        names = {c.get('name') for c in data['categories']}
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise UserError(f'annotation file {ann_file}: classes {unknown} of '
                            f'the config are not among its categories {sorted(names)}')
    if img_dir is not None:
        absent = [img['file_name'] for img in data['images']
                  if not osp.isfile(osp.join(img_dir, img['file_name']))]
        if absent:
            more = f' and {len(absent) - 1} more' if len(absent) > 1 else ''
            raise UserError(f'image file {osp.join(img_dir, absent[0])} (listed in '
                            f'{ann_file}) not found{more}')
    return data


def check_datasets(cfg: Any,
                   loaders: Sequence[str] = ('train_dataloader', 'val_dataloader'),
                   evaluators: Sequence[str] = ('val_evaluator', )) -> None:
    """Check the data sets of the ``loaders`` and the annotation files of
    the ``evaluators`` in ``cfg`` (training: train and val; testing: test)."""
    from ..datasets import ensure_synthetic_coco
    for key in loaders:
        loader = cfg.get(key)
        if not loader:
            continue
        for ds in _datasets(loader.get('dataset')):
            root = ds.get('data_root')
            if 'synthetic' in ds:
                if not _is_synthetic_type(ds.get('type')):
                    raise UserError(
                        f'{key}.dataset: synthetic= is understood by '
                        f"type='SyntheticCocoDataset' only, not by "
                        f'type={_type_name(ds.get("type"))!r}; nothing was generated. '
                        'To train on your own data, drop the inherited key by '
                        'writing the dataset dict with _delete_=True (see the '
                        'README, "Train on your own COCO data")')
                if ds['synthetic'] is not None:
                    ensure_synthetic_coco(root or '.', **ds['synthetic'])
            ann = ds.get('ann_file')
            if not ann or ds.get('backend_args') or _remote(_join(root, ann)):
                continue
            prefix = (ds.get('data_prefix') or {}).get('img', '')
            classes = (ds.get('metainfo') or {}).get('classes')
            check_coco_file(_join(root, ann), _join(root, prefix), classes)
    for key in evaluators:
        evaluators = cfg.get(key)
        for ev in evaluators if isinstance(evaluators, list) else [evaluators]:
            ann = (ev or {}).get('ann_file')
            if ann and not _remote(ann) and not osp.isfile(ann):
                raise UserError(f'{key}.ann_file {ann}: no such file')
