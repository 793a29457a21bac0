# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""gc_mmdet: Gradient Centralization (Yong et al., ECCV 2020) for MMDetection.

Importing this package registers its modules with mmengine's registries
(visible from the ``mmdet`` scope) and makes mmengine checkpoints loadable
under torch's ``weights_only=True`` default (see
:mod:`gc_mmdet.compat.torch_load`).
"""
from .compat.torch_load import allow_mmengine_checkpoints
from .gc import (GCFanInOneWarning, GCHandle, GCOptimWrapperConstructor,
                 attach, centralize_)
from .datasets import SyntheticCocoDataset
from .evaluation import BackendCocoMetric
from .hooks import DeterministicResumeHook, GCStatsHook

__version__ = '0.1.0'

allow_mmengine_checkpoints()

__all__ = [
    'attach', 'centralize_', 'GCHandle', 'GCOptimWrapperConstructor',
    'GCFanInOneWarning', 'GCStatsHook', 'DeterministicResumeHook',
    'SyntheticCocoDataset', 'BackendCocoMetric', 'allow_mmengine_checkpoints',
    '__version__'
]
