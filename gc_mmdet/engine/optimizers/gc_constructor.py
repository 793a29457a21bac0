# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``GCOptimWrapperConstructor``: Gradient Centralization from one config key.

.. code-block:: python

    optim_wrapper = dict(
        constructor='GCOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
        gc_cfg=dict(layers='conv_fc', location='grad', layout='paper'),
        # per-parameter opt-out, matched as mmengine matches custom_keys:
        paramwise_cfg=dict(custom_keys={'backbone.layer1': dict(gc=False)}))

    # on top of a config's own constructor (here mmdet's layer-wise lr decay):
    optim_wrapper = dict(
        constructor='GCOptimWrapperConstructor',
        gc_cfg=dict(base_constructor='LearningRateDecayOptimizerConstructor'))
"""

from typing import Any, Dict, Optional, Union

from mmengine.logging import print_log
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn
from torch.optim import Optimizer

from ...core.attach import LOCATIONS, WEIGHT_DECAY_MODES, GCHandle, attach
from ...core.selection import LAYERS, LAYOUTS
from ...utils.errors import ConfigKeyError
from .paramwise import gc_opt_outs, ignored_keys, split_gc_flags, unread_keys_error

__all__ = ['GCOptimWrapperConstructor', 'GC_CFG_DEFAULTS', 'check_gc_cfg', 'gc_handle_of']

#: every key of ``optim_wrapper.gc_cfg`` with its default
GC_CFG_DEFAULTS: Dict[str, str] = dict(
    layers='conv_fc',
    location='grad',
    layout='paper',
    weight_decay_mode='auto',
    base_constructor='DefaultOptimWrapperConstructor',
)
_ALLOWED = dict(
    layers=LAYERS, location=LOCATIONS, layout=LAYOUTS, weight_decay_mode=WEIGHT_DECAY_MODES
)


def gc_handle_of(optim_wrapper: OptimWrapper) -> Optional[GCHandle]:
    """The :class:`~gc_mmdet.GCHandle` that :class:`GCOptimWrapperConstructor`
    attached to ``optim_wrapper`` (its ``gc_handle`` attribute), or ``None``
    for a wrapper built without GC.

    Example:
        >>> handle = gc_handle_of(runner.optim_wrapper)
        >>> print(handle.summary() if handle else 'no GC')
    """
    handle = getattr(optim_wrapper, 'gc_handle', None)
    return handle if isinstance(handle, GCHandle) else None


def check_gc_cfg(gc_cfg: Any) -> Dict[str, str]:
    """Validate ``optim_wrapper.gc_cfg`` and return it with defaults filled.

    Raises:
        TypeError: ``gc_cfg`` is not a dict.
        ValueError: an unknown key or value, naming what is allowed.
    """
    if gc_cfg is None:
        gc_cfg = {}
    if not isinstance(gc_cfg, dict):
        raise TypeError(
            'optim_wrapper.gc_cfg must be a dict with keys '
            f'{tuple(GC_CFG_DEFAULTS)}, got {type(gc_cfg).__name__}: '
            f'{gc_cfg!r}'
        )
    unknown = sorted(set(gc_cfg) - set(GC_CFG_DEFAULTS))
    if unknown:
        raise ValueError(
            f'optim_wrapper.gc_cfg: unknown key(s) {unknown}; '
            f'allowed keys are {tuple(GC_CFG_DEFAULTS)}'
        )
    cfg = {**GC_CFG_DEFAULTS, **gc_cfg}
    base = cfg['base_constructor']
    if not (isinstance(base, str) and base) and not isinstance(base, type):
        raise TypeError(
            'optim_wrapper.gc_cfg.base_constructor must be the registered name of an optimizer '
            f'wrapper constructor, got {base!r}'
        )
    for key, value in cfg.items():
        if key in _ALLOWED and value not in _ALLOWED[key]:
            raise ValueError(
                f'optim_wrapper.gc_cfg.{key} must be one of {_ALLOWED[key]}, got {value!r}'
            )
    return cfg


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GCOptimWrapperConstructor:
    """Any optimizer wrapper constructor plus Gradient Centralization.

    Builds the optimizer wrapper exactly as the base constructor would
    (``gc_cfg.base_constructor``, mmengine's
    :class:`~mmengine.optim.DefaultOptimWrapperConstructor` unless named):
    the same tensors in the same groups with the same options. Then it
    attaches GC to its optimizer (to each one of an ``OptimWrapperDict``)
    with :func:`gc_mmdet.attach`, keeps the handle as the wrapper's
    ``gc_handle`` attribute (read it with :func:`gc_handle_of`) and logs
    which weights GC covers.

    Args:
        optim_wrapper_cfg: as for the base constructor, plus an optional
            ``gc_cfg`` dict with the keys of :data:`GC_CFG_DEFAULTS`:
            ``layers`` (``'conv_fc'`` | ``'conv'``), ``location``
            (``'grad'`` | ``'update'``), ``layout`` (``'paper'`` |
            ``'reference'``), ``weight_decay_mode`` (``'auto'`` |
            ``'coupled'`` | ``'decoupled'``) and ``base_constructor``.
        paramwise_cfg: as for the base constructor; a custom key may also set
            ``gc=False`` to leave the matching parameters alone, whatever the
            base constructor. A key that mmengine's default constructor (or
            mmdet's or mmpretrain's layer decay) does not read stops the build
            (:class:`~gc_mmdet.utils.errors.ConfigKeyError`); a constructor of
            your own reads its keys as it likes.

    Example:
        >>> optim_wrapper = build_optim_wrapper(model, dict(
        ...     constructor='GCOptimWrapperConstructor',
        ...     optimizer=dict(type='SGD', lr=0.02, momentum=0.9)))
        >>> print(gc_handle_of(optim_wrapper).summary())
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        gc_cfg = None
        if isinstance(optim_wrapper_cfg, dict):
            optim_wrapper_cfg = optim_wrapper_cfg.copy()
            gc_cfg = optim_wrapper_cfg.pop('gc_cfg', None)
        self.gc_cfg = check_gc_cfg(gc_cfg)
        base = self.gc_cfg.pop('base_constructor')
        self.base_name = base if isinstance(base, str) else base.__name__
        base_cls = base
        if isinstance(base, str):  # looked up as build_optim_wrapper looks up a constructor
            with OPTIM_WRAPPER_CONSTRUCTORS.switch_scope_and_registry(None) as registry:
                base_cls = registry.get(base)
        if base_cls is None:
            raise ConfigKeyError(
                f'optim_wrapper.gc_cfg.base_constructor={base!r} is not a registered optimizer '
                'wrapper constructor: import the package that registers it (custom_imports) '
                'or check the name'
            )
        if issubclass(base_cls, GCOptimWrapperConstructor):
            raise ConfigKeyError(
                'optim_wrapper.gc_cfg.base_constructor names GCOptimWrapperConstructor itself: '
                'name the constructor that builds the groups, or leave it out'
            )
        self.paramwise_cfg = paramwise_cfg
        base_paramwise, self._gc_flags = split_gc_flags(paramwise_cfg)
        unread = ignored_keys(base_cls, base_paramwise)
        if unread:
            raise ConfigKeyError(unread_keys_error(unread, self.base_name))
        self.base = base_cls(optim_wrapper_cfg, base_paramwise)

    def __call__(self, model: nn.Module) -> Union[OptimWrapper, OptimWrapperDict]:
        optim_wrapper = self.base(model)
        custom_keys = self.paramwise_cfg.get('custom_keys', {}) if self._gc_flags else {}
        exclude = gc_opt_outs(model, custom_keys)
        if hasattr(model, 'module'):
            model = model.module
        wrappers = (
            optim_wrapper.optim_wrappers
            if isinstance(optim_wrapper, OptimWrapperDict)
            else {'': optim_wrapper}
        )
        for name, wrapper in wrappers.items():
            if not isinstance(getattr(wrapper, 'optimizer', None), Optimizer):
                raise ConfigKeyError(
                    f'optim_wrapper: {self.base_name} returned {type(wrapper).__name__}, which '
                    'holds no torch optimizer for GC to attach to: use a constructor that '
                    'returns an OptimWrapper or an OptimWrapperDict'
                )
            wrapper.gc_handle = attach(wrapper.optimizer, model, exclude=exclude, **self.gc_cfg)
            where = f' (optimizer {name!r})' if name else ''
            print_log(
                f'{wrapper.gc_handle.summary()}{where}\n  gc_cfg: {self.gc_cfg}, '
                f'groups built by {self.base_name}',
                logger='current',
            )
        return optim_wrapper
