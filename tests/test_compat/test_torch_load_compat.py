"""mmengine checkpoints load under torch.load(weights_only=True) once
gc_mmdet is imported, and untrusted pickles are still refused."""

import os
import pickle
import subprocess
import sys

import pytest
import torch
from torch import nn

import gc_mmdet  # noqa: F401  (registers the constructor, allow-lists checkpoint types)
from gc_mmdet.compat.torch_load import mmengine_checkpoint_globals
from helpers.torch_features import needs_checkpoint_allow_list
from helpers.toy_runner import Regressor, toy_dataset, toy_loader, toy_runner


class ToyModel(Regressor):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4, 1)

    def body(self, x):
        return self.fc(self.conv(x).mean((2, 3))).squeeze(1)


def _runner(work_dir, max_iters, resume=False):
    return toy_runner(
        work_dir,
        f'toy_{os.path.basename(str(work_dir))}_{max_iters}_{resume}',
        ToyModel(),
        toy_loader(toy_dataset(8, (1, 6, 6))),
        optim_wrapper=dict(
            constructor='GCOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
        ),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        resume=resume,
    )


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('toy')
    _runner(work_dir, 2).train()
    return work_dir, work_dir / 'iter_2.pth'


def _in_fresh_python(code):
    """Run code in a process that has not imported gc_mmdet."""
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)


def _names(globals_):
    return {g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}' for g in globals_}


@needs_checkpoint_allow_list
def test_allow_list_is_exactly_what_a_checkpoint_needs(checkpoint):
    _, ckpt = checkpoint
    proc = _in_fresh_python(
        'import torch, mmengine.logging\n'
        f'print(sorted(torch.serialization.get_unsafe_globals_in_checkpoint({str(ckpt)!r})))'
    )
    unsafe = set(eval(proc.stdout))
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
    assert unsafe <= _names(mmengine_checkpoint_globals())
    # nothing beyond those, except numpy 1.x's spelling of the same objects
    # and the classes of the other numeric dtypes a scalar may be logged in
    extra = _names(mmengine_checkpoint_globals()) - unsafe
    assert all(name.startswith(('numpy.core.', 'numpy.dtypes.')) for name in extra), extra
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(ckpt)) == []
    loaded = torch.load(str(ckpt), weights_only=True)  # the default since torch 2.6
    assert loaded['meta']['iter'] == 2
    assert loaded['message_hub']['log_scalars']['train/loss'].data[0].size == 2


def test_resume_from_own_checkpoint(checkpoint):
    work_dir, _ = checkpoint
    runner = _runner(work_dir, 4, resume=True)
    runner.train()
    assert runner.iter == 4
    assert (work_dir / 'iter_4.pth').exists()


@needs_checkpoint_allow_list
def test_without_the_shim_loading_fails(checkpoint):
    """Proof that the shim is what makes the difference."""
    _, ckpt = checkpoint
    proc = _in_fresh_python(
        f'import torch, mmengine.logging\ntorch.load({str(ckpt)!r}, weights_only=True)'
    )
    assert proc.returncode != 0
    assert 'HistoryBuffer' in proc.stderr


def test_getattr_is_limited_to_history_buffer_methods():
    from mmengine.logging import HistoryBuffer

    from gc_mmdet.compat.torch_load import _history_buffer_getattr

    assert _history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for obj, name in ((os, 'system'), (HistoryBuffer, '__init__'), (torch, 'load')):
        with pytest.raises(pickle.UnpicklingError, match='refuses getattr'):
            _history_buffer_getattr(obj, name)


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_untrusted_pickle_is_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Evil()}, str(path))
    with pytest.raises(pickle.UnpicklingError, match='posix.system|os.system'):
        torch.load(str(path), weights_only=True)
