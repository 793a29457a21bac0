# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``GCOptimWrapperConstructor``; importing this package registers it in
``OPTIM_WRAPPER_CONSTRUCTORS``."""

from .gc_constructor import GC_CFG_DEFAULTS, GCOptimWrapperConstructor, check_gc_cfg, gc_handle_of
from .strategies import check_gc_strategy

__all__ = [
    'GCOptimWrapperConstructor',
    'GC_CFG_DEFAULTS',
    'check_gc_cfg',
    'check_gc_strategy',
    'gc_handle_of',
]
