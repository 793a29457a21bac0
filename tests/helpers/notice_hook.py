"""A test-only hook: a signal at a chosen iteration of a run's first start.

``GC_TEST_NOTICE=ITER:SIGNAL:WHO[:RANK]`` (e.g. ``5:SIGTERM:parent``): at the
end of training iteration ITER (1-based) rank RANK (0) sends SIGNAL to itself
(``self``), to its launcher (``parent``: torchrun's agent) or to its process
group (``group``), as a scheduler or a failing node would. Only in a first
start (not after a torchrun restart). Without the variable it does nothing."""

import os
import signal

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class NoticeAtIterHook(Hook):
    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        spec = os.environ.get('GC_TEST_NOTICE')
        if not spec:
            return
        at, name, who, rank = (spec.split(':') + ['0'])[:4]
        restarted = int(os.environ.get('TORCHELASTIC_RESTART_COUNT') or 0)
        if restarted or runner.iter + 1 != int(at) or get_rank() != int(rank):
            return
        sig = signal.Signals[name]
        if who == 'self':
            os.kill(os.getpid(), sig)
        elif who == 'parent':
            os.kill(os.getppid(), sig)
        else:
            os.killpg(os.getpgid(0), sig)
