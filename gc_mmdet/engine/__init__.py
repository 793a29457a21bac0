# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The mmengine integration: the optimizer wrapper constructor and hooks;
importing it registers them."""

from . import mmcv_layers  # noqa: F401  (mmcv's deformable convolutions)
from .hooks import (
    DeterministicResumeHook,
    GCStatsHook,
    PreemptionHook,
    SafeCheckpointHook,
    StopOnInvalidLossHook,
    TrainingDiverged,
)
from .optimizers import GC_CFG_DEFAULTS, GCOptimWrapperConstructor, check_gc_cfg

__all__ = [
    'GCOptimWrapperConstructor',
    'GC_CFG_DEFAULTS',
    'check_gc_cfg',
    'DeterministicResumeHook',
    'GCStatsHook',
    'PreemptionHook',
    'SafeCheckpointHook',
    'StopOnInvalidLossHook',
    'TrainingDiverged',
]
