"""PreemptionHook in the real mmengine Runner, in-process: a notice saves the
iteration just trained and exits 75; notices twice, or during a checkpoint
save, write one complete checkpoint; the resumed run, mid-epoch, ends with
the weights of a run never interrupted; the process's own handlers come back
after training."""

import os
import os.path as osp
import signal

import pytest
import torch
from mmengine.hooks import Hook

from gc_mmdet.utils.launch import PREEMPTED
from helpers.toy_runner import LinearRegressor, toy_dataset, toy_loader, toy_runner


class Notice(Hook):
    """SIGUSR1 to this process ``times`` times at the end of iteration ``at``."""

    priority = 'HIGHEST'

    def __init__(self, at, times=1):
        self.at, self.times = at, times

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGUSR1)


@pytest.fixture
def fallback():
    """A handler of SIGUSR1 that only counts, so that a notice the hook does
    not catch fails the test instead of ending pytest."""
    seen = []
    previous = signal.signal(signal.SIGUSR1, lambda *a: seen.append(a[0]))
    yield seen
    signal.signal(signal.SIGUSR1, previous)


def _runner(work_dir, name, hooks=(), **cfg):
    torch.manual_seed(0)
    return toy_runner(
        work_dir,
        name,
        LinearRegressor(),
        toy_loader(toy_dataset(16, (4,)), batch_size=2),  # 8 iterations an epoch
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        custom_hooks=[dict(type='PreemptionHook'), *hooks],
        **cfg,
    )


def _weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def _preempt(tmp_path, name, hooks, patch=None):
    runner = _runner(tmp_path / name, name, hooks)
    if patch:
        patch(runner)
    with pytest.raises(SystemExit) as stop:
        runner.train()
    assert stop.value.code == PREEMPTED
    return runner


@pytest.mark.parametrize('times', [1, 2])
def test_a_notice_mid_epoch_saves_once_and_the_resumed_run_ends_alike(tmp_path, fallback, times):
    _preempt(tmp_path, 'cut', [Notice(at=11, times=times)])
    saved = sorted(f for f in os.listdir(tmp_path / 'cut') if f.endswith('.pth'))
    assert saved == ['iter_11.pth'] and not fallback
    resumed = _runner(tmp_path / 'cut', 'resumed', resume=True)
    resumed.train()
    whole = _runner(tmp_path / 'whole', 'whole')
    whole.train()
    for k, v in _weights(whole).items():
        assert torch.equal(_weights(resumed)[k], v), k
    assert resumed.iter == whole.iter == 16


def test_a_notice_during_a_checkpoint_save_leaves_it_whole(tmp_path, fallback):
    """SIGUSR1 arrives while the checkpoint hook writes iter_4.pth: that save
    completes, then the hook saves iteration 4 once more and stops."""

    def notice_inside_save(runner):
        save = runner.save_checkpoint

        def noticed(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGUSR1)
            return save(*args, **kwargs)

        runner.save_checkpoint = noticed

    name = 'cut'
    runner = _runner(
        tmp_path / name,
        name,
        default_hooks=dict(checkpoint=dict(type='SafeCheckpointHook', by_epoch=False, interval=4)),
    )
    notice_inside_save(runner)
    with pytest.raises(SystemExit) as stop:
        runner.train()
    assert stop.value.code == PREEMPTED and not fallback
    work_dir = tmp_path / name
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == ['iter_4.pth']
    state = torch.load(work_dir / 'iter_4.pth', map_location='cpu', weights_only=False)
    assert state['meta']['iter'] == 4
    assert open(work_dir / 'last_checkpoint').read() == str(work_dir / 'iter_4.pth')


def test_the_handlers_of_the_process_come_back_after_training(tmp_path, fallback):
    before = signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGTERM)
    _runner(tmp_path / 'run', 'run').train()
    assert (signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGTERM)) == before
    assert not osp.exists(tmp_path / 'run' / 'preempted.json')
