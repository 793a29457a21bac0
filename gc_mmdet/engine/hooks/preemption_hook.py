# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``PreemptionHook``: a preemption notice saves the iteration just trained,
and a run resumed from that checkpoint goes on from the next batch.

Schedulers give a job notice before they kill it: Slurm's ``sbatch
--signal=USR1@90``, Kubernetes' SIGTERM and grace period, a spot instance's
warning passed on as SIGTERM. mmengine 0.10.7 handles no signal, so all since
the last epoch checkpoint is lost (on COCO up to ~7,300 iterations).

On a notice (``signals``, SIGTERM and SIGUSR1 by default) this hook only
notes it. At the end of the next training iteration every rank learns
whether any rank was told (one ``all_reduce``), rank 0 writes
``iter_N.pth`` of that iteration all-or-nothing (the atomic backend of
``SafeCheckpointHook``), points ``last_checkpoint`` at it and records it in
``preempted.json`` (what ``tools/train.py`` resumes from when run again with
the same command; removed when the run ends), every rank
waits for that, and the run exits with status 75
(:data:`~gc_mmdet.utils.launch.PREEMPTED`): "preempted, resume with the same
command". A second notice, or one while a checkpoint is written, changes
nothing: the notice is acted on once, between iterations.

Resuming such a mid-epoch checkpoint, mmengine would start its epoch again
from the first batch (an epoch-based loop) or load and drop every batch
already trained (an iteration-based one). This hook instead gives the loop
a data loader that starts at the next batch: the batch sampler's indices are
drawn and passed over, no image of a skipped batch is loaded. With
:class:`DeterministicResumeHook` the resumed run ends with the weights of an
uninterrupted one (``tests/test_tools/test_preemption.py``).

``tools/train.py`` adds this hook to every config that has none.

.. code-block:: python

    custom_hooks = [dict(type='PreemptionHook', signals=['SIGTERM', 'SIGUSR1'])]
"""

import json
import os
import os.path as osp
import signal
import sys
from typing import Any, Optional, Sequence

import torch
from mmengine.dist import all_reduce, is_main_process
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop, Runner
from torch.utils.data import DataLoader

from ...utils.atomic_files import ATOMIC_BACKEND, atomic_write
from ...utils.checkpoints import PREEMPTED_RECORD
from ...utils.launch import PREEMPTED, leave_process_group, signal_numbers
from .loader_position import continue_iter_loop, loader_from

__all__ = ['PreemptionHook']


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save at the next iteration boundary on a preemption notice, then exit
    with status 75; resume such a checkpoint at its next batch (see module
    docstring).

    Args:
        signals: the notices, by name. Defaults to SIGTERM and SIGUSR1.
    """

    priority = 'LOWEST'  # after every other hook of the iteration (the checkpoint's own save)

    def __init__(self, signals: Sequence[str] = ('SIGTERM', 'SIGUSR1')) -> None:
        self.signals = signal_numbers(signals)
        self._noticed: Optional[signal.Signals] = None
        self._previous: dict = {}
        self._loader: Optional[DataLoader] = None

    def _notice(self, signum: int, frame: Any) -> None:
        if self._noticed is None:  # a second notice changes nothing
            self._noticed = signal.Signals(signum)

    def before_train(self, runner: Runner) -> None:
        self._noticed = None
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._notice)
        continue_iter_loop(runner)

    def before_train_epoch(self, runner: Runner) -> None:
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop):
            return
        done = runner.iter - runner.epoch * len(loop.dataloader)
        if done > 0:  # resumed from a checkpoint in the middle of this epoch
            self._loader = loop.dataloader
            loop.dataloader = loader_from(self._loader, done)

    def after_train_epoch(self, runner: Runner) -> None:
        if self._loader is not None:  # the whole loader again from the next epoch
            runner.train_loop.dataloader, self._loader = self._loader, None

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: Optional[Any] = None,
        outputs: Optional[dict] = None,
    ) -> None:
        told = torch.tensor([0 if self._noticed is None else int(self._noticed)])
        all_reduce(told, op='max')  # every rank stops at the same iteration
        if not told.item():
            return
        name = signal.Signals(int(told.item())).name
        done = runner.iter + 1
        filename = f'iter_{done}.pth'
        runner.save_checkpoint(
            runner.work_dir,
            filename,
            by_epoch=False,
            backend_args=dict(backend=ATOMIC_BACKEND),
        )
        path = osp.join(runner.work_dir, filename)
        if is_main_process():
            atomic_write(path, osp.join(runner.work_dir, 'last_checkpoint'))
            record = dict(checkpoint=path, signal=name, iter=done)
            atomic_write(json.dumps(record), osp.join(runner.work_dir, PREEMPTED_RECORD))
            print(
                f'preempted ({name}) after iteration {done}: saved {path}; run the same '
                f'command to resume (exit status {PREEMPTED})',
                file=sys.stderr,
                flush=True,
            )
        leave_process_group()  # a barrier first: no rank leaves while rank 0 writes
        raise SystemExit(PREEMPTED)

    def after_train(self, runner: Runner) -> None:
        record = osp.join(runner.work_dir, PREEMPTED_RECORD)
        if is_main_process() and osp.isfile(record):  # resumed and finished
            os.remove(record)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
