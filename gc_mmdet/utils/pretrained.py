# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Check, before training starts, that pretrained checkpoints can be loaded.

The table configs keep mmdet's ``init_cfg=dict(type='Pretrained', ...)``
(``torchvision://resnet50``, ``open-mmlab://...``). Offline, mmengine would
fail inside ``init_weights`` with a page of stack trace; this module finds
every such checkpoint in the config first and stops with the key to override.
"""

import os
import os.path as osp
import socket
from typing import Any, Iterator, List, Optional, Tuple
from urllib.parse import urlparse

from .config_parts import is_type
from .errors import UserError

__all__ = [
    'find_pretrained',
    'resolve_url',
    'cache_path',
    'check_pretrained_available',
    'without_pretrained',
]


#: mmengine's registry name of its pretrained initializer, and its class name
_PRETRAINED = ('Pretrained', 'PretrainedInit')


def _walk(node: Any, path: str) -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        if is_type(node.get('type'), *_PRETRAINED) and isinstance(node.get('checkpoint'), str):
            yield f'{path}.checkpoint', node['checkpoint']
        for key, value in node.items():
            yield from _walk(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{path}.{i}')


def find_pretrained(cfg: Any) -> List[Tuple[str, str]]:
    """``(config key, checkpoint)`` of every ``Pretrained`` init_cfg in
    ``cfg.model``, plus ``load_from`` when it is set."""
    found = list(_walk(cfg.get('model', {}), 'model'))
    if cfg.get('load_from'):
        found.append(('load_from', cfg['load_from']))
    return found


def resolve_url(checkpoint: str) -> Optional[str]:
    """The download URL behind a checkpoint name, or None for a local path."""
    from mmengine.runner import checkpoint as ckpt

    schemes = (
        ('torchvision://', ckpt.get_torchvision_models),
        ('modelzoo://', ckpt.get_torchvision_models),
        ('open-mmlab://', ckpt.get_external_models),
        ('openmmlab://', ckpt.get_external_models),
        ('mmcls://', ckpt.get_mmcls_models),
    )
    for prefix, table in schemes:
        if checkpoint.startswith(prefix):
            name = checkpoint[len(prefix) :]
            if 'mmlab' in prefix:
                name = ckpt.get_deprecated_model_names().get(name, name)
            url = table().get(name)
            if url is None:
                raise UserError(f'unknown pretrained checkpoint {checkpoint!r}')
            return url
    if checkpoint.startswith(('http://', 'https://')):
        return checkpoint
    return None


def cache_path(url: str) -> str:
    """Where mmengine's ``load_url`` keeps a downloaded checkpoint."""
    import torch.hub

    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))


def _reachable(url: str, timeout: float) -> bool:
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == 'https' else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_pretrained_available(cfg: Any, timeout: float = 5.0) -> None:
    """Raise :class:`UserError` naming the first checkpoint that can be
    neither found locally nor downloaded.

    Args:
        cfg: the full config (``cfg.model`` and ``cfg.load_from`` are read).
        timeout: seconds to wait for the download host to answer.
    """
    for key, checkpoint in find_pretrained(cfg):
        url = resolve_url(checkpoint)
        if url is None:
            if not osp.isfile(os.path.expanduser(checkpoint)):
                raise UserError(f'{key}={checkpoint!r}: no such file')
            continue
        local = cache_path(url)
        if osp.isfile(local) or _reachable(url, timeout):
            continue
        fix = (
            f'--cfg-options {key}=/path/to/{osp.basename(local)}'
            if key != 'load_from'
            else '--cfg-options load_from=/path/to/checkpoint.pth'
        )
        raise UserError(
            f'pretrained checkpoint {checkpoint} ({key}) cannot be fetched: '
            f'{urlparse(url).hostname} is unreachable and it is not cached at '
            f'{local}. Supply a local file with {fix} (or copy it to that '
            'cache path).'
        )


def without_pretrained(node: Any) -> Any:
    """A copy of a (model) config with every ``Pretrained`` init_cfg set to
    None: for evaluating a full checkpoint, or for tests offline."""
    if isinstance(node, dict):
        return type(node)(
            {
                k: (
                    None
                    if k == 'init_cfg'
                    and isinstance(v, dict)
                    and is_type(v.get('type'), *_PRETRAINED)
                    else without_pretrained(v)
                )
                for k, v in node.items()
            }
        )
    if isinstance(node, (list, tuple)):
        return type(node)(without_pretrained(v) for v in node)
    return node
