# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``paramwise_cfg`` as GC sees it, whatever constructor builds the groups.

GC's own key in ``paramwise_cfg`` is ``custom_keys={name: dict(gc=False)}``.
:func:`split_gc_flags` takes it out before the base constructor sees the
config, so the base builds exactly the groups it would build without GC, and
:func:`gc_opt_outs` resolves it by parameter name, as mmengine resolves
``custom_keys``: the longest key contained in the parameter's name decides.

:func:`ignored_keys` names the top-level keys that a constructor whose reading
is known (:data:`KNOWN_READERS`: mmengine's default, mmdet's and mmpretrain's
layer decay) ignores, so that such a key (``decay_rate`` under mmengine's
default constructor) stops the build instead of silently changing nothing
(:func:`unread_keys_error`). Any other constructor reads its config as it
likes: nothing is guessed about it, and nothing of it is refused.

Example:
    >>> base_cfg, flags = split_gc_flags(
    ...     dict(custom_keys={'backbone.layer1': dict(gc=False, lr_mult=0.1)}))
    >>> base_cfg, flags
    ({'custom_keys': {'backbone.layer1': {'lr_mult': 0.1}}}, {'backbone.layer1': False})
"""

from typing import Any, Dict, List, Optional, Tuple

from torch import Tensor, nn

__all__ = [
    'split_gc_flags',
    'gc_opt_outs',
    'KNOWN_READERS',
    'known_keys',
    'ignored_keys',
    'unread_keys_error',
]

#: ``paramwise_cfg`` keys read by the constructors of mmengine 0.10, mmdet 3.3
#: and mmpretrain 1.2 (checked against the installed classes by
#: tests/test_engine/test_optimizers/test_paramwise.py and
#: test_gc_constructor_layer_decay.py)
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


#: the package that defines each constructor of :data:`KNOWN_READERS`: a class
#: of the same name elsewhere (a user's subclass, say) is not one of them
_PACKAGES: Dict[str, str] = {
    'DefaultOptimWrapperConstructor': 'mmengine',
    'LearningRateDecayOptimizerConstructor': 'mmdet',
    'LearningRateDecayOptimWrapperConstructor': 'mmpretrain',
}


def known_keys(constructor: type) -> Optional[Tuple[str, ...]]:
    """The ``paramwise_cfg`` keys ``constructor`` reads, when it is one of
    :data:`KNOWN_READERS` itself (not a subclass, which may read more); None
    for any other class.

    Example:
        >>> from mmengine.optim import DefaultOptimWrapperConstructor
        >>> 'bias_lr_mult' in known_keys(DefaultOptimWrapperConstructor)
        True
    """
    name = getattr(constructor, '__name__', None)
    package = _PACKAGES.get(name) if isinstance(name, str) else None
    module = getattr(constructor, '__module__', '') or ''
    if package is None or module.split('.')[0] != package:
        return None
    return KNOWN_READERS[name]


def ignored_keys(constructor: type, paramwise_cfg: Any) -> List[str]:
    """The top-level keys of ``paramwise_cfg`` that ``constructor`` is known
    not to read; ``[]`` when its reading is not known (:func:`known_keys`)."""
    keys = known_keys(constructor)
    if keys is None or not isinstance(paramwise_cfg, dict):
        return []
    return [k for k in paramwise_cfg if k not in keys]


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
