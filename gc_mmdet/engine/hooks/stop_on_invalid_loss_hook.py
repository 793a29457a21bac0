# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``StopOnInvalidLossHook``: a diverging run stops at once and says so.

mmdet's ``CheckInvalidLossHook`` stops training at a NaN/inf loss with a
bare ``AssertionError`` (its message is the return value of
``logger.info``, i.e. ``None``), a stack trace from inside mmengine's loop.
This hook makes the same check (registered in mmdet's ``HOOKS`` as that one
is, but a plain mmengine ``Hook``: importing ``mmdet.engine`` would load all
of mmdet's data sets and metrics) and raises :class:`TrainingDiverged`
instead, a :class:`~gc_mmdet.utils.UserError` that names the iteration, the
losses that are not finite and what to change; ``tools/train.py`` prints it
as one line and exits with status 2. The check runs before the checkpoint
hook, so no checkpoint of the diverged weights is written and the last one
saved stays the one to resume from.

.. code-block:: python

    custom_hooks = [dict(type='StopOnInvalidLossHook', interval=1)]
"""

from typing import Optional

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import Runner

from ...utils.errors import UserError


class TrainingDiverged(UserError):
    """The training loss became NaN or infinite."""


@HOOKS.register_module()
class StopOnInvalidLossHook(Hook):
    """Stop at the first NaN/inf training loss with a clear message.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1,
            so that a diverging run stops at the iteration it diverges.
    """

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: Optional[dict] = None,
        outputs: Optional[dict] = None,
    ) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        loss = outputs['loss']
        if torch.isfinite(loss).all():
            return
        bad = ', '.join(
            f'{k}={float(v.detach())}'
            for k, v in outputs.items()
            if torch.is_tensor(v) and not torch.isfinite(v).all()
        )
        raise TrainingDiverged(
            f'training diverged at iteration {runner.iter + 1} '
            f'(epoch {runner.epoch + 1}): {bad}. Lower optim_wrapper.optimizer.lr, '
            'lengthen the warm-up or set optim_wrapper.clip_grad; checkpoints '
            f'already in {runner.work_dir} are unchanged (resume with --resume).'
        )
