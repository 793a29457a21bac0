# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``paramwise_cfg`` as GC sees it, whatever constructor builds the groups.

GC's own key in ``paramwise_cfg`` is ``custom_keys={name: dict(gc=False)}``.
:func:`split_gc_flags` takes it out before the base constructor sees the
config, so the base builds exactly the groups it would build without GC, and
:func:`gc_opt_outs` resolves it by parameter name, as mmengine resolves
``custom_keys``: the longest key contained in the parameter's name decides.

:class:`ReadRecorder` records which top-level keys the base constructor reads,
so that a key it ignores (``decay_rate`` under mmengine's default constructor)
stops the build instead of silently changing nothing (:func:`unread_keys_error`).

Example:
    >>> base_cfg, flags = split_gc_flags(
    ...     dict(custom_keys={'backbone.layer1': dict(gc=False, lr_mult=0.1)}))
    >>> base_cfg, flags
    ({'custom_keys': {'backbone.layer1': {'lr_mult': 0.1}}}, {'backbone.layer1': False})
"""

import copy
import sys
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import Tensor, nn

__all__ = ['split_gc_flags', 'gc_opt_outs', 'ReadRecorder', 'KNOWN_READERS', 'unread_keys_error']

#: ``paramwise_cfg`` keys read by the constructors of mmengine 0.10, mmdet 3.3
#: and mmpretrain 1.2, to name the constructor a key belongs to (checked
#: against the installed classes by tests/test_engine/test_optimizers/test_paramwise.py)
KNOWN_READERS: Dict[str, Tuple[str, ...]] = {
    'DefaultOptimWrapperConstructor': (
        'bias_lr_mult',
        'bias_decay_mult',
        'norm_decay_mult',
        'dwconv_decay_mult',
        'flat_decay_mult',
        'dcn_offset_lr_mult',
        'bypass_duplicate',
        'custom_keys',
    ),
    # mmdet.engine.optimizers
    'LearningRateDecayOptimizerConstructor': ('decay_rate', 'decay_type', 'num_layers'),
    # mmpretrain.engine.optimizers
    'LearningRateDecayOptimWrapperConstructor': (
        'layer_decay_rate',
        'bias_decay_mult',
        'norm_decay_mult',
        'flat_decay_mult',
        'custom_keys',
    ),
}


def split_gc_flags(paramwise_cfg: Any) -> Tuple[Any, Dict[str, bool]]:
    """``paramwise_cfg`` without GC's ``gc`` flags, and the flags by custom key.

    A custom key left with no other option is dropped, as is ``custom_keys``
    left empty: the base constructor sees the config it would see without GC.
    Anything that is not a dict passes through for the base constructor to
    refuse as it would.

    Raises:
        TypeError: a ``gc`` flag that is not True or False.
    """
    if not isinstance(paramwise_cfg, dict) or not isinstance(
        paramwise_cfg.get('custom_keys'), dict
    ):
        return paramwise_cfg, {}
    flags: Dict[str, bool] = {}
    custom_keys = {}
    for key, options in paramwise_cfg['custom_keys'].items():
        if isinstance(options, dict) and 'gc' in options:
            flag = options['gc']
            if not isinstance(flag, bool):
                raise TypeError(
                    f'paramwise_cfg.custom_keys[{key!r}].gc must be True or False, got {flag!r}'
                )
            flags[key] = flag
            options = {k: v for k, v in options.items() if k != 'gc'}
            if not options:
                continue
        custom_keys[key] = options
    base_cfg = {k: v for k, v in paramwise_cfg.items() if k != 'custom_keys'}
    if custom_keys:
        base_cfg['custom_keys'] = custom_keys
    return base_cfg, flags


def gc_opt_outs(model: nn.Module, custom_keys: Dict[str, Any]) -> List[Tensor]:
    """The parameters that a ``gc=False`` custom key leaves alone.

    As mmengine's default constructor matches ``custom_keys``: keys are tried
    longest first (then alphabetically), the first one contained in the
    parameter's name decides, and a key without ``gc`` means ``gc=True``.
    """
    keys = sorted(sorted(custom_keys), key=len, reverse=True)
    out = []
    for name, param in model.named_parameters():
        full = name if '.' in name else f'.{name}'  # mmengine's prefix for top-level
        key = next((k for k in keys if k in full), None)
        if key is not None and custom_keys[key].get('gc', True) is False:
            out.append(param)
    return out


_VALIDATION = DefaultOptimWrapperConstructor._validate_cfg.__code__


class ReadRecorder(dict):
    """A ``paramwise_cfg`` that records which of its keys were read.

    Reads through ``[]``, ``get``, ``pop``, ``setdefault`` and attribute
    access (as on a ``ConfigDict``) record one key; iterating records all of
    them. Reads by mmengine's ``_validate_cfg`` are checks, not use, and are
    not recorded. Copies share the record.
    """

    def __init__(self, data: dict, read: Optional[Set[str]] = None) -> None:
        super().__init__(data)
        self.read: Set[str] = set() if read is None else read

    def _mark(self, key: Any) -> None:
        if sys._getframe(2).f_code is not _VALIDATION:
            self.read.add(key)

    def __getitem__(self, key: Any) -> Any:
        self._mark(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._mark(key)
        return super().get(key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        self._mark(key)
        return super().pop(key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._mark(key)
        return super().setdefault(key, default)

    def __getattr__(self, key: str) -> Any:
        if key.startswith('__') or key == 'read':
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def _all(self) -> List[Any]:
        keys = list(dict.keys(self))
        self.read.update(keys)
        return keys

    def __iter__(self) -> Iterator[Any]:
        return iter(self._all())

    def keys(self):  # type: ignore[override]
        self._all()
        return super().keys()

    def items(self):  # type: ignore[override]
        self._all()
        return super().items()

    def values(self):  # type: ignore[override]
        self._all()
        return super().values()

    def copy(self) -> 'ReadRecorder':
        return ReadRecorder({k: dict.__getitem__(self, k) for k in dict.keys(self)}, self.read)

    def __deepcopy__(self, memo: dict) -> 'ReadRecorder':
        data = {k: copy.deepcopy(dict.__getitem__(self, k), memo) for k in dict.keys(self)}
        return ReadRecorder(data, self.read)

    def unread(self) -> List[str]:
        return [k for k in dict.keys(self) if k not in self.read]


def unread_keys_error(unread: List[str], constructor: str) -> str:
    """One line: which ``paramwise_cfg`` keys ``constructor`` ignored, and
    which constructor reads each of them."""
    parts = []
    for key in unread:
        readers = [name for name, keys in KNOWN_READERS.items() if key in keys]
        where = (
            f'read by {" and ".join(readers)}'
            if readers
            else 'no constructor gc_mmdet knows reads it'
        )
        parts.append(f'paramwise_cfg.{key} ({where})')
    hint = (
        "name the constructor that reads it with gc_cfg=dict(base_constructor='...')"
        if any('read by' in p for p in parts)
        else 'check its spelling'
    )
    return (
        f'optim_wrapper: {", ".join(parts)} is not read by {constructor}, the constructor in use, '
        f'so it would change nothing: {hint}, or remove the key'
    )
