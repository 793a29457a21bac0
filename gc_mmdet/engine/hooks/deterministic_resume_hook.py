# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``DeterministicResumeHook``: a resumed run draws the same random numbers
as an uninterrupted one.

mmengine 0.10.7 saves no torch / numpy / python RNG state in its checkpoints.
On ``--resume`` it restores weights, optimizer, schedulers and the epoch, but
the RNGs restart from the seed, so RPN / RoI sampling (torch's RNG) and data
augmentation (numpy's and python's) draw different numbers than the run
that was interrupted, and the final weights differ.

Rather than saving RNG states, this hook makes every random number a
function of the seed and where it is drawn:

* in the main process, it re-seeds all three RNGs at the start of every
  training epoch and iteration from ``(runner.seed, epoch or iteration)``;
* in the data pipeline, which runs in data loader workers when
  ``num_workers > 0`` (seeded once by mmengine, so a resumed run's workers
  would draw other numbers), it puts :class:`~gc_mmdet.datasets.SeedPerSample`
  at the head of the training pipeline before the first epoch, which seeds
  them from ``(runner.seed, epoch, sample index)`` for every sample.

So an epoch-based run resumed from any epoch checkpoint ends with the
weights of an uninterrupted one, with ``num_workers`` 0 or more, persistent
workers or not, and runs that differ only in ``num_workers`` end alike too
(``tests/test_tools/test_resume_workers.py``). With an iteration-based loop
(``InfiniteSampler``) a sample's pass over the data is not known where it is
loaded, so the hook numbers the samples each rank's loader passes on
(:func:`~gc_mmdet.engine.hooks.loader_position.continue_iter_loop`) and
``SeedPerSample`` seeds each from ``(runner.seed, its number)``; a resumed
run takes up the numbering where it stopped. Other iteration-based loaders
(a finite sampler restarted by mmengine) keep mmengine's worker seeding:
there the main process is re-seeded every iteration, and after a resume the
data augmentation drawn in workers may differ.

.. code-block:: python

    custom_hooks = [dict(type='DeterministicResumeHook')]
"""

from typing import TYPE_CHECKING, Any, List, Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, Runner

from ...utils.config_parts import leaf_datasets
from ...utils.seeding import EPOCH, ITER, reseed
from .loader_position import continue_iter_loop, numbered_draws_apply

if TYPE_CHECKING:
    from ...datasets.transforms import SeedPerSample

__all__ = ['DeterministicResumeHook', 'reseed']


@HOOKS.register_module()
class DeterministicResumeHook(Hook):
    """Re-seed every RNG at each training epoch and iteration (see module
    docstring)."""

    priority = 'VERY_HIGH'  # before any other hook draws a random number

    def __init__(self) -> None:
        self._seeding: List['SeedPerSample'] = []

    def before_train(self, runner: Runner) -> None:
        # here, not at import: importing the hooks (the engine) loads no data set code
        from ...datasets.transforms import SeedPerSample

        # before the data loader's workers are created
        self._seeding = []
        loop = runner.train_loop
        numbered = isinstance(loop, IterBasedTrainLoop) and numbered_draws_apply(runner)
        if not (isinstance(loop, EpochBasedTrainLoop) or numbered):
            return  # neither epochs nor numbered draws to seed by (module docstring)
        for dataset in leaf_datasets(runner.train_dataloader.dataset):
            transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms', None)
            if transforms is None:
                continue
            if not (transforms and isinstance(transforms[0], SeedPerSample)):
                transforms.insert(0, SeedPerSample())
            self._seeding.append(transforms[0])
        if numbered:
            for seeding in self._seeding:
                seeding.set_epoch(runner.seed, 0)
            continue_iter_loop(runner, number_draws=True)

    def before_train_epoch(self, runner: Runner) -> None:
        for seeding in self._seeding:  # read by the workers of this epoch
            seeding.set_epoch(runner.seed, runner.epoch)
        reseed(runner.seed, EPOCH, runner.epoch)

    def before_train_iter(
        self, runner: Runner, batch_idx: int, data_batch: Optional[Any] = None
    ) -> None:
        reseed(runner.seed, ITER, runner.iter)
