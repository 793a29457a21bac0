# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Seed python's, numpy's and torch's RNGs from a tuple of integers.

Used by :class:`~gc_mmdet.engine.hooks.DeterministicResumeHook` (per epoch and
iteration, main process) and :class:`~gc_mmdet.datasets.SeedPerSample` (per
sample, wherever the data pipeline runs).

Example:
    >>> reseed(0, EPOCH, 3)
"""

import random

import numpy as np
import torch

__all__ = ['reseed', 'EPOCH', 'ITER', 'SAMPLE', 'DRAW']

#: what a seed is derived for: kept apart so that no two uses share a stream
EPOCH, ITER, SAMPLE, DRAW = 1, 2, 3, 4


def reseed(seed: int, kind: int, *index: int) -> int:
    """Seed python, numpy and torch from ``(seed, kind, *index)``; return the
    derived seed."""
    derived = int(np.random.SeedSequence([seed, kind, *index]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)
    return derived
