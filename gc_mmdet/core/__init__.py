# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Gradient Centralization in plain PyTorch: the operator, which weights it
covers, and its attachment to any torch optimizer. Imports only torch.

Example:
    >>> from gc_mmdet.core import attach
    >>> handle = attach(optimizer, model, layers='conv_fc', location='grad')
    >>> handle.remove()
"""

from .attach import LOCATIONS, WEIGHT_DECAY_MODES, GCHandle, GCNotSteppingError, attach
from .centralize import ChannelLayout, centralize_, channel_mean
from .selection import LAYERS, LAYOUTS, GCFanInOneWarning, GCSelection, GCTarget, select_targets

__all__ = [
    'attach',
    'GCHandle',
    'GCNotSteppingError',
    'ChannelLayout',
    'centralize_',
    'channel_mean',
    'GCFanInOneWarning',
    'GCSelection',
    'GCTarget',
    'select_targets',
    'LAYERS',
    'LAYOUTS',
    'LOCATIONS',
    'WEIGHT_DECAY_MODES',
]
