# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Utilities beside the data sets and the engine: user errors, distributed
launch, RNG seeding, checkpoints, work dirs, pretrained weights, the
machine record."""

from .checkpoints import (
    checkpoint_mismatch,
    checkpoint_problem,
    find_resumable_checkpoint,
    preempted_checkpoint,
    use_preemption_hook,
    use_safe_checkpoints,
)
from .errors import ConfigKeyError, SampleLoadError, UserError
from .launch import prepare_distributed
from .machine import machine
from .pretrained import check_pretrained_available, find_pretrained, without_pretrained
from .work_dir import check_output_files, check_work_dir

__all__ = [
    'UserError',
    'ConfigKeyError',
    'SampleLoadError',
    'prepare_distributed',
    'check_pretrained_available',
    'find_pretrained',
    'without_pretrained',
    'check_work_dir',
    'check_output_files',
    'checkpoint_problem',
    'find_resumable_checkpoint',
    'use_preemption_hook',
    'use_safe_checkpoints',
    'checkpoint_mismatch',
    'preempted_checkpoint',
    'machine',
]
