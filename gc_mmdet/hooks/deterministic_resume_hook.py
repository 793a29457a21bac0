# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``DeterministicResumeHook``: a resumed run draws the same random numbers
as an uninterrupted one.

mmengine 0.10.7 saves no torch / numpy / python RNG state in its checkpoints.
On ``--resume`` it restores weights, optimizer, schedulers and the epoch, but
the RNGs restart from the seed, so RPN / RoI sampling (torch's RNG) and data
augmentation (numpy's and python's) draw different numbers than the run
that was interrupted, and the final weights differ.

Rather than saving RNG states (which would also have to account for what
validation and data-loader construction draw between the checkpoint and the
next epoch), this hook re-seeds all three RNGs at the start of every training
epoch and iteration from ``(runner.seed, epoch or iteration)``. Whatever
happened before, the random numbers of iteration ``i`` are then a function of
the seed and ``i`` only; mmengine restores ``runner.seed`` from the
checkpoint. This holds for epoch-based loops (mmdet's; resumption is at an
epoch boundary). With an iteration-based loop, mmengine replays the skipped
batches' data pipeline on resume, so randomness in data augmentation may
still differ there.

.. code-block:: python

    custom_hooks = [dict(type='DeterministicResumeHook')]
"""
import random
from typing import Any, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

__all__ = ['DeterministicResumeHook', 'reseed']

_EPOCH, _ITER = 1, 2


def reseed(seed: int, kind: int, index: int) -> int:
    """Seed python, numpy and torch from ``(seed, kind, index)``; return the
    derived seed."""
    derived = int(np.random.SeedSequence([seed, kind, index]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)
    return derived


@HOOKS.register_module()
class DeterministicResumeHook(Hook):
    """Re-seed every RNG at each training epoch and iteration (see module
    docstring)."""

    priority = 'VERY_HIGH'  # before any other hook draws a random number

    def before_train_epoch(self, runner: Any) -> None:
        reseed(runner.seed, _EPOCH, runner.epoch)

    def before_train_iter(self, runner: Any, batch_idx: int,
                          data_batch: Optional[Any] = None) -> None:
        reseed(runner.seed, _ITER, runner.iter)
