"""A test-only hook that freezes the trainer in the middle of a file write
during a checkpoint save, so that a test can kill it there with SIGKILL.

``PauseInSaveHook(target='epoch_2.pth')``: the first file opened for writing
whose name contains ``target`` while epoch ``at_epoch`` is being saved gets
the first half of the bytes written to it (synced to disk); then the trainer
creates ``WORK_DIR/paused`` and sleeps. It works whatever writes the file:
mmengine into the final path, or an atomic writer into a temporary one.
``target='last_checkpoint'`` freezes inside the write of that file instead.
"""

import builtins
import os
import os.path as osp
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


class _HalfWriter:
    """A file whose first write stores half of the data and never returns."""

    def __init__(self, f, flag_dir):
        self._f, self._flag_dir = f, flag_dir

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        os.fsync(self._f.fileno())
        open(osp.join(self._flag_dir, 'paused'), 'w').close()
        while True:
            time.sleep(60)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@HOOKS.register_module()
class PauseInSaveHook(Hook):
    def __init__(self, target: str, at_epoch: int = 2):
        self.target, self.at_epoch = target, at_epoch

    def before_run(self, runner):
        real_open = builtins.open

        def paused_open(file, mode='r', *args, **kwargs):
            f = real_open(file, mode, *args, **kwargs)
            if (
                isinstance(file, (str, os.PathLike))
                and 'w' in mode
                and self.target in osp.basename(os.fspath(file))
                and runner.epoch + 1 == self.at_epoch
            ):  # epoch counts after the save
                return _HalfWriter(f, runner.work_dir)
            return f

        builtins.open = paused_open
