# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Reading a config as every tool does: a file or a package's config, with
``--cfg-options`` merged.

Example:
    >>> cfg = read_config('configs/mask_rcnn_r50_gc.py', {'train_cfg.max_epochs': 1})
    >>> cfg = read_config('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
"""

import argparse
import os.path as osp
import warnings
from typing import Any, Mapping, Optional, Sequence, Union

from mmengine.config import Config, DictAction
from mmengine.hub import get_config

from ..utils.errors import UserError

__all__ = ['read_config', 'parse_cfg_options']


def parse_cfg_options(options: Sequence[str]) -> dict:
    """``['key=value', ...]`` as ``--cfg-options`` reads them (mmengine's
    :class:`~mmengine.config.DictAction`)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--cfg-options', *options]).cfg_options if options else {}


def read_config(path: str, cfg_options: Optional[Union[Mapping, Sequence[str]]] = None) -> Any:
    """The config at ``path`` (a file, or ``package::name`` through
    mmengine's :func:`~mmengine.hub.get_config`) with ``cfg_options``
    merged: a dict as ``--cfg-options`` gives it, or its ``key=value`` words.

    Raises:
        UserError: when the file does not exist.
    """
    if '::' not in path and not osp.isfile(path):
        raise UserError(f'config {path}: no such file')
    try:
        with warnings.catch_warnings():  # mmengine.hub imports pkg_resources
            warnings.filterwarnings('ignore', 'pkg_resources is deprecated')
            cfg = get_config(path) if '::' in path else Config.fromfile(path)
    except FileNotFoundError:
        raise UserError(f'config {path}: no such file') from None
    if cfg_options and not isinstance(cfg_options, Mapping):
        cfg_options = parse_cfg_options(cfg_options)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
