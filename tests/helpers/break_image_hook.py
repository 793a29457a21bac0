"""A test-only hook that breaks an image file after a training epoch, as a
disk error or another process would after the data check passed.

``BreakImageHook(path=..., after_epoch=1)`` empties the file (0 bytes) after
epoch ``after_epoch`` has been trained and saved, so the next epoch meets it.
"""

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class BreakImageHook(Hook):
    priority = 'LOWEST'  # after the checkpoint of that epoch is saved

    def __init__(self, path: str, after_epoch: int = 1):
        self.path, self.after_epoch = path, after_epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.after_epoch:  # runner.epoch counts from 0 here
            open(self.path, 'wb').close()
