# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Gradient Centralization: the operator, its attachment, the constructor."""
from .attach import LOCATIONS, WEIGHT_DECAY_MODES, GCHandle, attach
from .centralize import ChannelLayout, centralize_, channel_mean
from .constructor import (GC_CFG_DEFAULTS, GCOptimWrapperConstructor,
                          check_gc_cfg)
from .selection import (LAYERS, LAYOUTS, GCFanInOneWarning, GCSelection,
                        GCTarget, select_targets)

__all__ = [
    'attach', 'GCHandle', 'ChannelLayout', 'centralize_', 'channel_mean',
    'GCOptimWrapperConstructor', 'GC_CFG_DEFAULTS', 'check_gc_cfg',
    'GCFanInOneWarning', 'GCSelection', 'GCTarget', 'select_targets', 'LAYERS',
    'LAYOUTS', 'LOCATIONS', 'WEIGHT_DECAY_MODES'
]
