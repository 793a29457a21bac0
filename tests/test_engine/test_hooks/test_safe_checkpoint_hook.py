"""SafeCheckpointHook in a real Runner: it writes through the atomic backend,
keeps ``max_keep_ckpts`` and deletes an old checkpoint only after the new one
is complete (the kill itself: test_checkpoint_safety.py)."""

import os

import torch

from gc_mmdet.engine import SafeCheckpointHook
from gc_mmdet.utils.atomic_files import ATOMIC_BACKEND, PARTIAL_SUFFIX
from helpers.toy_runner import LinearRegressor, toy_dataset, toy_loader, toy_runner


def test_keeps_the_newest_complete_checkpoints(tmp_path):
    hook = dict(type='SafeCheckpointHook', interval=1, by_epoch=False, max_keep_ckpts=2)
    runner = toy_runner(
        tmp_path,
        'safe_ckpt',
        LinearRegressor(),
        toy_loader(toy_dataset(12, (4,))),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(checkpoint=hook),
    )
    runner.train()
    ckpt_hook = next(h for h in runner.hooks if isinstance(h, SafeCheckpointHook))
    assert ckpt_hook.backend_args == dict(backend=ATOMIC_BACKEND)
    files = sorted(os.listdir(tmp_path))
    assert [f for f in files if f.endswith('.pth')] == ['iter_3.pth', 'iter_4.pth']
    assert not [f for f in files if f.endswith(PARTIAL_SUFFIX)]
    assert (tmp_path / 'last_checkpoint').read_text().endswith('iter_4.pth')
    # the test's own file; torch < 2.4 cannot allow mmengine's classes for weights_only
    state = torch.load(tmp_path / 'iter_4.pth', map_location='cpu', weights_only=False)
    torch.testing.assert_close(state['state_dict']['lin.weight'], runner.model.lin.weight)
