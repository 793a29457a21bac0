"""A trainer killed (SIGKILL) while it saves a checkpoint loses nothing:
``--resume`` continues from the last complete checkpoint and ends with the
weights of a run that was never interrupted.

The kill lands inside the save every time: ``PauseInSaveHook``
(tests/helpers/pause_in_save.py) writes half of the file's bytes and freezes.
Before ``SafeCheckpointHook`` and ``find_resumable_checkpoint``, mmengine
0.10.7 left, in the two cases below (measured on the same runs):

* killed inside ``epoch_2.pth`` with ``max_keep_ckpts=1``: ``epoch_1.pth``
  already deleted, ``epoch_2.pth`` truncated (``PytorchStreamReader failed
  reading zip archive: failed finding central directory``), and ``--resume``
  stopped with ``FileNotFoundError: WORK_DIR/epoch_1.pth can not be found.``
* killed inside ``last_checkpoint``: the file half written, and ``--resume``
  stopped with ``FileNotFoundError: <half a path> can not be found.``
  (``FileNotFoundError:  can not be found.`` when nothing was written yet).
"""

import os
import os.path as osp
import signal
import subprocess
import time

import pytest
import torch

from helpers.synthetic import ROOT, assert_ok, run, tiny_overrides, tool_cmd

pytestmark = pytest.mark.slow

DEMO_GC = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'
PAUSING = 'tests/configs/demo_pause_in_save.py'  # the same plus PauseInSaveHook


def _opts(data_root):
    # 3 epochs of 1 iteration of 4 images (the narrow demo model), a
    # checkpoint after each, only the newest kept
    return tiny_overrides(data_root, epochs=3, num_train=4) + [
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        'train_cfg.val_interval=3',
    ]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('checkpoint_safety_data'))


@pytest.fixture(scope='module')
def uninterrupted(data_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('uninterrupted'))
    proc = run(tool_cmd('train.py', DEMO_GC, '--work-dir', work_dir, cfg_options=_opts(data_root)))
    assert_ok(proc)
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == ['epoch_3.pth']
    return torch.load(osp.join(work_dir, 'epoch_3.pth'), map_location='cpu', weights_only=False)


def _kill_inside_save(work_dir, data_root, target):
    env = dict(os.environ, PYTHONPATH=ROOT)
    log = open(work_dir + '.log', 'w')
    p = subprocess.Popen(
        tool_cmd(
            'train.py',
            PAUSING,
            '--work-dir',
            work_dir,
            cfg_options=_opts(data_root) + [f'custom_hooks.2.target={target}'],
        ),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 400
    while not osp.exists(osp.join(work_dir, 'paused')):
        assert p.poll() is None, open(work_dir + '.log').read()[-3000:]
        assert time.time() < deadline, 'the trainer never reached the save'
        time.sleep(0.1)
    p.send_signal(signal.SIGKILL)
    p.wait()
    os.remove(osp.join(work_dir, 'paused'))  # the test hook's flag, not the trainer's


@pytest.mark.parametrize('target', ['epoch_2.pth', 'last_checkpoint'])
def test_kill_inside_a_save_then_resume_is_bit_exact(uninterrupted, data_root, tmp_path, target):
    from gc_mmdet.utils import checkpoint_problem

    work_dir = str(tmp_path / 'killed')
    _kill_inside_save(work_dir, data_root, target)
    ckpt1, ckpt2 = osp.join(work_dir, 'epoch_1.pth'), osp.join(work_dir, 'epoch_2.pth')
    last = open(osp.join(work_dir, 'last_checkpoint')).read()
    if target == 'epoch_2.pth':
        # the old checkpoint is kept until the new one is complete, and the
        # new one is not under its name until it is
        assert checkpoint_problem(ckpt1) is None and not osp.exists(ckpt2)
        assert osp.getsize(ckpt2 + '.gc_mmdet-partial') > 0
        assert last == ckpt1
    else:
        # epoch_2.pth complete, epoch_1.pth not deleted yet (that comes
        # last); mmengine's own last_checkpoint write was cut in half
        assert checkpoint_problem(ckpt2) is None and checkpoint_problem(ckpt1) is None
        assert 0 < len(last) < len(ckpt2) and ckpt2.startswith(last)

    proc = run(
        tool_cmd(
            'train.py', DEMO_GC, '--work-dir', work_dir, '--resume', cfg_options=_opts(data_root)
        )
    )
    assert_ok(proc)
    if target == 'last_checkpoint':
        assert (
            f'warning: last_checkpoint names {last!r} (no such file); resuming from '
            f'{ckpt2}, the newest complete checkpoint'
        ) in proc.stderr
    resumed = torch.load(osp.join(work_dir, 'epoch_3.pth'), map_location='cpu', weights_only=False)
    assert resumed['meta']['iter'] == uninterrupted['meta']['iter'] == 3
    for k, v in uninterrupted['state_dict'].items():
        assert torch.equal(v, resumed['state_dict'][k]), k
    # max_keep_ckpts=1 holds from the resume on; an epoch_1.pth whose
    # deletion the kill prevented stays (it is complete)
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == (
        ['epoch_3.pth'] if target == 'epoch_2.pth' else ['epoch_1.pth', 'epoch_3.pth']
    )


def test_resume_from_an_incomplete_checkpoint_is_refused(tmp_path, data_root):
    """--resume CKPT with a truncated file: one line naming the file, before
    anything is built."""
    good = tmp_path / 'ok.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}}, str(good))
    cut = tmp_path / 'epoch_4.pth'
    cut.write_bytes(good.read_bytes()[:2000])
    proc = run(
        tool_cmd(
            'train.py',
            DEMO_GC,
            '--work-dir',
            str(tmp_path / 'w'),
            '--resume',
            str(cut),
            cfg_options=_opts(data_root),
        )
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: --resume {cut}: incomplete checkpoint (a zip archive without its central '
        "directory: the write was cut short; torch.load fails with 'failed finding central "
        "directory')"
    )
