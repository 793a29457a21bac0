# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``SafeCheckpointHook``: mmengine's ``CheckpointHook`` whose saves survive
a kill at any instant.

What mmengine 0.10.7's ``CheckpointHook`` leaves when the trainer is killed
(SIGKILL, a preempted node, an out-of-memory kill) while it saves epoch N
(measured, ``tests/test_engine/test_hooks/test_checkpoint_safety.py``):

* ``epoch_N.pth`` truncated under its real name (``LocalBackend.put`` writes
  into the final path); loading it fails with ``PytorchStreamReader failed
  reading zip archive: failed finding central directory``.
* With ``max_keep_ckpts=k``, the oldest kept checkpoint is deleted *before*
  the new one is written: with ``k=1`` no complete checkpoint is left, and
  ``last_checkpoint`` still names the deleted one, so ``--resume`` stops
  with ``FileNotFoundError: .../epoch_{N-1}.pth can not be found.``
* Killed while ``last_checkpoint`` itself is rewritten (opened with ``'w'``,
  so truncated first), ``--resume`` reads an empty or partial path:
  ``FileNotFoundError:  can not be found.``

This hook writes every checkpoint through :class:`AtomicLocalBackend`
(complete or absent under its name) and deletes old checkpoints only after
the new one is complete. A broken ``last_checkpoint`` is handled when
resuming: :func:`gc_mmdet.utils.checkpoints.find_resumable_checkpoint`.

.. code-block:: python

    default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook', interval=1))
"""

from typing import Any, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from ...utils.atomic_files import ATOMIC_BACKEND

__all__ = ['SafeCheckpointHook']


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with all-or-nothing checkpoint files and deletion
    of old checkpoints after the new one is written (see module docstring).

    Takes the same arguments. ``backend_args`` defaults to the atomic local
    backend when neither it nor ``file_client_args`` is given; a remote
    ``out_dir`` (``s3://``, ...) keeps the backend its prefix selects.
    """

    def __init__(self, *args: Any, backend_args: Optional[dict] = None, **kwargs: Any):
        out_dir = kwargs.get('out_dir')
        local = out_dir is None or '://' not in str(out_dir)
        if backend_args is None and kwargs.get('file_client_args') is None and local:
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def _save_checkpoint_with_step(self, runner: Runner, step: int, meta: dict) -> None:
        keep = self.max_keep_ckpts
        stale = self._keep(runner, step) if keep > 0 else None
        self.max_keep_ckpts = -1
        try:  # mmengine's save, with its delete-before-write turned off
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        if stale is not None and is_main_process():
            self._remove(stale)

    def _keep(self, runner: Runner, step: int) -> Optional[int]:
        """Record ``step`` among the kept checkpoints before the save (so
        that the checkpoint itself holds the record, as with mmengine) and
        return the step whose checkpoint falls out, to be deleted after."""
        kept = self.keep_ckpt_ids
        if kept and kept[-1] == step:  # the regular and the best save of one step
            return None
        stale = kept.popleft() if len(kept) == self.max_keep_ckpts else None
        kept.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(kept))
        return stale

    def _remove(self, step: int) -> None:
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed saves directories
            self.file_backend.rmtree(path)
