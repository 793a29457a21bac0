# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``GuardedLoadImageFromFile``: mmcv's ``LoadImageFromFile`` that names the
file when it fails, or skips the sample.

The data check (:func:`gc_mmdet.datasets.checks.check_datasets`) runs before training;
a file removed or corrupted after it, or a disk error, would otherwise end
the run with a traceback from a data loader worker that does not always name
the file (an empty file gives ``cv2.error ... !buf.empty()``).
``tools/train.py`` and ``tools/test.py`` put this transform in place of every
``LoadImageFromFile`` of the config's pipelines, with the config's
``data_check.on_load_error``.
"""

import multiprocessing
import os
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmdet.registry import TRANSFORMS

from ..utils.errors import SampleLoadError
from ..utils.seeding import DRAW, SAMPLE, reseed

__all__ = ['GuardedLoadImageFromFile', 'SeedPerSample']


@TRANSFORMS.register_module()
class GuardedLoadImageFromFile(LoadImageFromFile):
    """Load an image as ``LoadImageFromFile`` does; on failure raise
    :class:`SampleLoadError` naming the file, or (``on_error='skip'``,
    training only) return None so that the dataset draws another sample,
    and append the file to ``skip_log``.

    Args:
        on_error (str): ``'stop'`` (default) or ``'skip'``.
        skip_log (str, optional): file that gets one line per skipped sample.
        **kwargs: as for ``LoadImageFromFile``.

    Example:
        >>> dict(type='GuardedLoadImageFromFile', on_error='skip',
        ...      skip_log='work_dirs/run/skipped_samples.txt')
    """

    def __init__(self, on_error: str = 'stop', skip_log: Optional[str] = None, **kwargs):
        if on_error not in ('stop', 'skip'):
            raise ValueError(f"on_error must be 'stop' or 'skip', not {on_error!r}")
        super().__init__(**kwargs)
        self.on_error, self.skip_log = on_error, skip_log
        self._skips = 0

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except Exception as e:  # noqa: BLE001  any failure of this one file
            kind = (
                type(e).__name__
                if type(e).__module__ == 'builtins'
                else f'{type(e).__module__}.{type(e).__name__}'
            )  # cv2.error, not 'error'
            cause = (f'{kind}: {e}'.strip().splitlines() or [''])[0]
            message = f'{results.get("img_path")}: {cause}'
            if self.on_error == 'stop':
                raise SampleLoadError(message) from e
            # mmengine draws the replacement with numpy's RNG, which SeedPerSample
            # has just seeded from this very sample: without a fresh state it
            # can draw this sample again, and again (1000 times, then it stops)
            self._skips += 1
            np.random.seed(
                np.random.SeedSequence(
                    [int(results.get('sample_idx', 0)), self._skips]
                ).generate_state(1)[0]
            )
            if self.skip_log:
                # O_APPEND: one short write per line, safe from several workers
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT  # novm (ints, not types)
                fd = os.open(self.skip_log, flags, 0o644)
                try:
                    os.write(fd, (message + '\n').encode())
                finally:
                    os.close(fd)
            return None


class _SharedEpoch:
    """``(seed, epoch)`` in shared memory: set by the main process, read by
    data loader workers, persistent ones included (created before they
    start, inherited on fork, passed on spawn). Deep copies share it too."""

    def __init__(self):

        self.values = multiprocessing.RawArray('q', 2)

    def __deepcopy__(self, memo):
        return self


@TRANSFORMS.register_module()
class SeedPerSample(BaseTransform):
    """Seed python's, numpy's and torch's RNGs from ``(seed, epoch, sample
    index)`` before the rest of the pipeline draws from them, so that a
    sample's augmentation does not depend on which process or worker loads
    it, nor on what was drawn before: a resumed run, and a run with another
    ``num_workers``, augment every sample alike. In an iteration-based loop,
    whose sampler passes over the data again and again, an index that
    carries its place in the rank's stream (``.draw``: numbered by
    ``DeterministicResumeHook``) is seeded from ``(seed, draw)`` instead.
    :class:`~gc_mmdet.engine.hooks.DeterministicResumeHook` puts it at the head of
    the training pipeline and sets the epoch (:meth:`set_epoch`).

    Example:
        >>> seeding = SeedPerSample()
        >>> seeding.set_epoch(seed=0, epoch=3)
        >>> seeding(dict(sample_idx=17))  # same numbers drawn after, anywhere
    """

    def __init__(self):
        self._shared = _SharedEpoch()

    def set_epoch(self, seed: int, epoch: int) -> None:
        self._shared.values[0], self._shared.values[1] = seed, epoch

    def transform(self, results: dict) -> dict:
        seed, epoch = self._shared.values
        index = results['sample_idx']
        draw = getattr(index, 'draw', None)  # an iteration-based loop's numbered draw
        if draw is None:
            reseed(seed, SAMPLE, epoch, index)
        else:
            reseed(seed, DRAW, draw)
            results['sample_idx'] = int(index)
        return results
