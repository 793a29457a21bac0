"""The restartable launch's settings, read before anything starts: MAX_RESTARTS,
the preemption signals, the init deadline (docs/distributed.md, "Preemptible
training")."""

import os
import signal
import subprocess
import sys

import pytest
from mmengine.config import Config

from gc_mmdet.cli.launch import torchrun_args
from gc_mmdet.utils import UserError, use_preemption_hook
from gc_mmdet.utils.launch import INIT_TIMED_OUT, signal_numbers


@pytest.fixture
def env(monkeypatch):
    """The launch variables unset; afterwards the session's environment as it
    was (torchrun_args sets TORCH_DISABLE_SHARE_RDZV_TCP_STORE, which
    monkeypatch does not undo for a variable that was unset)."""
    saved = dict(os.environ)
    for key in ('MAX_RESTARTS', 'NNODES', 'PREEMPT_GRACE', 'TORCH_DISABLE_SHARE_RDZV_TCP_STORE'):
        monkeypatch.delenv(key, raising=False)
    yield monkeypatch
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize('value', ['-1', 'abc', '1.5', '', 'two'])
def test_max_restarts_that_is_not_a_whole_number_stops_in_one_line(env, value):
    env.setenv('MAX_RESTARTS', value)
    with pytest.raises(UserError, match=r'MAX_RESTARTS=.*whole number of 0 or more') as e:
        torchrun_args('tools/train.py', '2', ['cfg.py'])
    assert '\n' not in str(e.value)


def test_no_restarts_is_the_static_launch_as_before(env):
    args = torchrun_args('tools/train.py', '2', ['cfg.py'])
    assert '--master_port=29500' in args and '--node_rank=0' in args
    assert not [a for a in args if a.startswith(('--rdzv', '--max-restarts'))]
    assert 'TORCH_DISABLE_SHARE_RDZV_TCP_STORE' not in os.environ
    assert args[-4:] == ['tools/train.py', 'cfg.py', '--launcher', 'pytorch']


@pytest.mark.parametrize('value', ['3', ' 3', '03'])
def test_restarts_use_c10d_without_the_shared_store(env, value):
    env.setenv('MAX_RESTARTS', value)
    env.setenv('PORT', '29999')
    args = torchrun_args('tools/train.py', '2', ['cfg.py'])
    assert '--max-restarts=3' in args and '--rdzv-backend=c10d' in args
    assert '--rdzv-endpoint=127.0.0.1:29999' in args
    assert os.environ['TORCH_DISABLE_SHARE_RDZV_TCP_STORE'] == '1'


@pytest.mark.parametrize(
    'names, expected',
    [
        (['SIGTERM', 'SIGUSR1'], [signal.SIGTERM, signal.SIGUSR1]),
        ('USR1', [signal.SIGUSR1]),
        (['sigterm', 'usr2'], [signal.SIGTERM, signal.SIGUSR2]),
    ],
)
def test_signal_names_as_users_write_them(names, expected):
    assert signal_numbers(names) == expected


@pytest.mark.parametrize('name', ['SIGFOO', 'SIGKILL', 'STOP', 'TERMINATE'])
def test_a_signal_that_cannot_be_caught_stops_the_config_in_one_line(name):
    cfg = Config(dict(custom_hooks=[dict(type='PreemptionHook', signals=['SIGTERM', name])]))
    with pytest.raises(UserError, match=f"PreemptionHook signals: '{name}' is not a signal"):
        use_preemption_hook(cfg)


def test_the_hook_is_added_once_and_a_users_own_is_kept():
    cfg = Config(dict(custom_hooks=[dict(type='DeterministicResumeHook')]))
    use_preemption_hook(cfg)
    use_preemption_hook(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == ['DeterministicResumeHook', 'PreemptionHook']
    own = Config(dict(custom_hooks=[dict(type='gc_mmdet.PreemptionHook', signals='SIGUSR2')]))
    use_preemption_hook(own)
    assert own.custom_hooks == [dict(type='gc_mmdet.PreemptionHook', signals='SIGUSR2')]


def test_a_process_group_that_never_forms_ends_the_process_in_one_line(tmp_path):
    """Rank 0 of 2 alone: init_process_group waits for rank 1 (a C++ wait,
    as gloo's connect to a dead attempt); the deadline ends it."""
    script = (
        'from gc_mmdet.utils.launch import prepare_distributed\n'
        'from mmengine.config import Config\n'
        "prepare_distributed(Config(dict(model=dict())), 'pytorch')\n"
    )
    env = dict(
        os.environ,
        RANK='0',
        WORLD_SIZE='2',
        LOCAL_RANK='0',
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT='29597',
        GC_MMDET_INIT_TIMEOUT='3',
    )
    proc = subprocess.run(
        [sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == INIT_TIMED_OUT, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(lines) == 1 and 'not formed within 3 s' in lines[0]


def test_a_restart_resumes_the_checkpoint_written_last(tmp_path):
    """A preemption's iter_6.pth (6 iterations) and a later epoch_2.pth (8)
    share no numbering: with last_checkpoint broken, the last written wins."""
    import torch

    from gc_mmdet.utils import find_resumable_checkpoint

    for name, mtime in (('iter_6.pth', 1000), ('epoch_2.pth', 2000), ('epoch_1.pth', 500)):
        torch.save({'meta': {}}, tmp_path / name)
        os.utime(tmp_path / name, (mtime, mtime))
    (tmp_path / 'last_checkpoint').write_text('')  # cut short while rewritten
    path, note = find_resumable_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'epoch_2.pth') and 'newest complete' in note
