# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Where a resumed training loop takes up its data, without loading what it
skips; shared by :class:`PreemptionHook` and :class:`DeterministicResumeHook`.

* :func:`loader_from` is a data loader that starts at a given batch: its
  batch sampler draws the skipped batches' indices and passes over them, so
  no image of theirs is loaded.
* :func:`continue_iter_loop` gives an iteration-based loop (``InfiniteSampler``)
  such a loader from ``runner.iter``; mmengine's own resume would load and
  drop every batch already trained (``Advance dataloader N steps``).
* With ``number_draws`` every index the loader passes to the data set is a
  :class:`Draw`: the index, with its place in this rank's stream of samples.
  :class:`~gc_mmdet.datasets.SeedPerSample` seeds a sample from that place,
  which a resumed run and one with other ``num_workers`` share.
"""

import itertools
from typing import Any, Iterator, List

from mmengine.dataset import InfiniteSampler
from mmengine.runner import IterBasedTrainLoop, Runner
from torch.utils.data import DataLoader

__all__ = ['Draw', 'loader_from', 'continue_iter_loop', 'numbered_draws_apply']


class Draw(int):
    """A sample index (an ``int`` to every data set) that also carries
    ``draw``: how many samples this rank's loader passed on before it."""

    def __new__(cls, index: int, draw: int) -> 'Draw':
        self = super().__new__(cls, index)
        self.draw = draw
        return self

    def __reduce__(self):  # to the data loader's workers
        return Draw, (int(self), self.draw)


class _FromBatch:
    """``batch_sampler`` from batch ``skip`` on (indices of the skipped
    batches drawn, nothing loaded), its indices numbered when asked."""

    def __init__(self, batch_sampler: Any, skip: int, number_draws: bool) -> None:
        self.batch_sampler, self.skip, self.number_draws = batch_sampler, skip, number_draws
        self.sampler = batch_sampler.sampler  # where mmengine's hooks set the epoch

    def __iter__(self) -> Iterator[List[int]]:
        if not self.number_draws:
            return itertools.islice(iter(self.batch_sampler), self.skip, None)
        return self._numbered()

    def _numbered(self) -> Iterator[List[int]]:
        drawn = 0
        for n, batch in enumerate(self.batch_sampler):
            if n >= self.skip:
                yield [Draw(index, drawn + i) for i, index in enumerate(batch)]
            drawn += len(batch)

    def __len__(self) -> int:
        return len(self.batch_sampler) - self.skip


def loader_from(
    loader: DataLoader, skip: int, number_draws: bool = False, batch_sampler: Any = None
) -> DataLoader:
    """``loader`` as it goes on after ``skip`` batches: the same data set,
    batch sampler (or ``batch_sampler``), workers and their seeding,
    collation."""
    extra = {}
    if loader.num_workers:
        extra.update(
            prefetch_factor=loader.prefetch_factor,
            multiprocessing_context=loader.multiprocessing_context,
        )
    return DataLoader(
        loader.dataset,
        batch_sampler=_FromBatch(batch_sampler or loader.batch_sampler, skip, number_draws),
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        generator=loader.generator,
        **extra,
    )


class _AfterAdvance:
    """The loop's batches from ``loader``, after handing nothing to the
    ``skipped`` calls of mmengine's advance (``IterBasedTrainLoop.run``)."""

    def __init__(self, loader: DataLoader, skipped: int) -> None:
        self.loader, self._pending = loader, skipped
        self._batches = iter(loader)

    def __iter__(self) -> '_AfterAdvance':
        return self

    def __next__(self) -> Any:
        if self._pending:
            self._pending -= 1
            return None
        return next(self._batches)


def _from_the_start(batch_sampler: Any) -> Any:
    """A new ``batch_sampler`` over a new ``InfiniteSampler`` with the same
    seed: its stream of indices from the start. (An ``InfiniteSampler`` holds
    one stream, which mmengine's own iterator has already drawn from: it
    fetches ahead when the loop is built.) None when the batch sampler's
    class does not take ``(sampler, batch_size, drop_last)``."""
    old = batch_sampler.sampler
    sampler = InfiniteSampler(old.dataset, shuffle=old.shuffle, seed=old.seed)
    try:
        return type(batch_sampler)(
            sampler, batch_size=batch_sampler.batch_size, drop_last=batch_sampler.drop_last
        )
    except (TypeError, AttributeError):
        return None


def numbered_draws_apply(runner: Runner) -> bool:
    """Whether :func:`continue_iter_loop` applies to this run's loop: an
    iteration-based one whose batches come from an ``InfiniteSampler``,
    through a batch sampler it can start again."""
    loop = runner.train_loop
    batch_sampler = getattr(getattr(loop, 'dataloader', None), 'batch_sampler', None)
    return (
        isinstance(loop, IterBasedTrainLoop)
        and isinstance(getattr(batch_sampler, 'sampler', None), InfiniteSampler)
        and _from_the_start(batch_sampler) is not None
    )


def continue_iter_loop(runner: Runner, number_draws: bool = False) -> None:
    """Make an iteration-based loop with an ``InfiniteSampler`` take up its
    data at ``runner.iter`` (numbering the draws when asked), once per run:
    the first hook to ask decides. Elsewhere it does nothing."""
    loop = runner.train_loop
    if not numbered_draws_apply(runner) or isinstance(loop.dataloader_iterator, _AfterAdvance):
        return
    batch_sampler = _from_the_start(loop.dataloader.batch_sampler)
    if batch_sampler is not None and (runner.iter or number_draws):
        positioned = loader_from(loop.dataloader, runner.iter, number_draws, batch_sampler)
        loop.dataloader_iterator = _AfterAdvance(positioned, runner.iter)
