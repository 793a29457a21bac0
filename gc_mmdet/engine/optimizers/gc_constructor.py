# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``GCOptimWrapperConstructor``: Gradient Centralization from one config key.

.. code-block:: python

    optim_wrapper = dict(
        constructor='GCOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
        gc_cfg=dict(layers='conv_fc', location='grad', layout='paper'),
        # per-parameter opt-out, through mmengine's own mechanism:
        paramwise_cfg=dict(custom_keys={'backbone.layer1': dict(gc=False)}))
"""

from typing import Any, Dict, Optional

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from ...core.attach import LOCATIONS, WEIGHT_DECAY_MODES, GCHandle, attach
from ...core.selection import LAYERS, LAYOUTS

__all__ = ['GCOptimWrapperConstructor', 'GC_CFG_DEFAULTS', 'check_gc_cfg']

#: every key of ``optim_wrapper.gc_cfg`` with its default
GC_CFG_DEFAULTS: Dict[str, str] = dict(
    layers='conv_fc', location='grad', layout='paper', weight_decay_mode='auto'
)
_ALLOWED = dict(
    layers=LAYERS, location=LOCATIONS, layout=LAYOUTS, weight_decay_mode=WEIGHT_DECAY_MODES
)


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
    for key, value in cfg.items():
        if value not in _ALLOWED[key]:
            raise ValueError(
                f'optim_wrapper.gc_cfg.{key} must be one of {_ALLOWED[key]}, got {value!r}'
            )
    return cfg


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GCOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor plus Gradient Centralization.

    Builds the optimizer wrapper exactly as
    :class:`~mmengine.optim.DefaultOptimWrapperConstructor` does (every
    ``paramwise_cfg`` option keeps its meaning), then attaches GC to its
    optimizer with :func:`gc_mmdet.attach` and logs which weights it covers.

    Args:
        optim_wrapper_cfg: as for the default constructor, plus an optional
            ``gc_cfg`` dict with the keys of :data:`GC_CFG_DEFAULTS`:
            ``layers`` (``'conv_fc'`` | ``'conv'``), ``location``
            (``'grad'`` | ``'update'``), ``layout`` (``'paper'`` |
            ``'reference'``) and ``weight_decay_mode`` (``'auto'`` |
            ``'coupled'`` | ``'decoupled'``).
        paramwise_cfg: as for the default constructor; a custom key may also
            set ``gc=False`` to leave the matching parameters alone.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if isinstance(optim_wrapper_cfg, dict):
            optim_wrapper_cfg = optim_wrapper_cfg.copy()
            self.gc_cfg = check_gc_cfg(optim_wrapper_cfg.pop('gc_cfg', None))
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        if isinstance(custom_keys, dict):
            for key, options in custom_keys.items():
                if isinstance(options, dict) and not isinstance(options.get('gc', True), bool):
                    raise TypeError(
                        f'paramwise_cfg.custom_keys[{key!r}].gc must be True '
                        f'or False, got {options["gc"]!r}'
                    )

    def __call__(self, model: nn.Module) -> OptimWrapper:
        optim_wrapper = super().__call__(model)
        if hasattr(model, 'module'):
            model = model.module
        handle: GCHandle = attach(optim_wrapper.optimizer, model, **self.gc_cfg)
        # keep the handle reachable: users can inspect or remove GC later
        optim_wrapper.gc_handle = handle
        print_log(f'{handle.summary()}\n  gc_cfg: {self.gc_cfg}', logger='current')
        return optim_wrapper
