# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""mmengine hooks; importing this package registers them in ``HOOKS``."""

from .deterministic_resume_hook import DeterministicResumeHook
from .gc_stats_hook import GCStatsHook
from .preemption_hook import PreemptionHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .stop_on_invalid_loss_hook import StopOnInvalidLossHook, TrainingDiverged

__all__ = [
    'DeterministicResumeHook',
    'GCStatsHook',
    'PreemptionHook',
    'SafeCheckpointHook',
    'StopOnInvalidLossHook',
    'TrainingDiverged',
]
