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


@HOOKS.register_module()
class CountLoadsHook(Hook):
    """Test-only: count the training samples the data set prepares in this
    process (``num_workers=0``), written to ``rank{r}_loads.txt`` after
    training."""

    priority = 'HIGHEST'

    def before_train(self, runner):
        dataset = runner.train_dataloader.dataset
        prepare, self.count = dataset.prepare_data, 0

        def counted(idx):
            self.count += 1
            return prepare(idx)

        dataset.prepare_data = counted

    def after_train(self, runner):
        with open(f'{runner.work_dir}/rank{get_rank()}_loads.txt', 'w') as f:
            f.write(str(self.count))
