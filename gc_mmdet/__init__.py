# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""gc_mmdet: Gradient Centralization (Yong et al., ECCV 2020) for MMDetection.

:mod:`gc_mmdet.core` (the operator and its attachment to any torch
optimizer) needs only torch, and so does ``import gc_mmdet`` where mmengine
is not installed. Where it is, importing the package also registers the
OpenMMLab parts in mmengine's and mmdet's registries
(``GCOptimWrapperConstructor``, the hooks, ``SyntheticCocoDataset``, the
transforms, ``BackendCocoMetric``, the atomic file backend of
``SafeCheckpointHook``) and allow-lists the types of mmengine's checkpoints
for ``torch.load(weights_only=True)`` (:mod:`gc_mmdet.compat.torch_load`);
it changes no other global state.

Example:
    >>> import gc_mmdet
    >>> handle = gc_mmdet.attach(optimizer, model)  # any torch optimizer
"""

from .core import GCFanInOneWarning, GCHandle, attach, centralize_

__version__ = '0.1.0'
__all__ = ['attach', 'centralize_', 'GCHandle', 'GCFanInOneWarning', '__version__']

try:
    import mmengine  # noqa: F401
except ImportError as error:  # the plain-PyTorch core only
    if error.name != 'mmengine':
        raise
else:
    from .compat.torch_load import allow_mmengine_checkpoints
    from .datasets import SyntheticCocoDataset
    from .engine import DeterministicResumeHook, GCOptimWrapperConstructor, GCStatsHook
    from .evaluation import BackendCocoMetric

    allow_mmengine_checkpoints()
    __all__ += [
        'GCOptimWrapperConstructor',
        'GCStatsHook',
        'DeterministicResumeHook',
        'SyntheticCocoDataset',
        'BackendCocoMetric',
        'allow_mmengine_checkpoints',
    ]
