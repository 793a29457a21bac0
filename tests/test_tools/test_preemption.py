# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Training that survives preemption, through the real launchers: a notice
(SIGTERM to torchrun's launcher, SIGUSR1 to a process) saves the iteration
just trained and exits 75; the same command again ends with the weights of a
run never interrupted; under ``MAX_RESTARTS`` a rank SIGKILLed mid-epoch is
restarted, resumes by itself and ends alike; an iteration-based run resumes
without loading the batches it skips. Bad input stops in one line."""

import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import time

import pytest
import torch

from helpers.slurm_cluster import SlurmCluster, why_no_slurm
from helpers.synthetic import ROOT, data_root_overrides, synthetic_overrides, tiny_overrides
from helpers.warm_python import warm_run
from repo_tools.processes import Timeout, run_bounded

PREEMPT_CONFIG = 'tests/configs/synthetic_preempt.py'
ITER_CONFIG = 'tests/configs/synthetic_preempt_iter.py'
# 16 images, 2 per process: 4 iterations per epoch on 2 ranks, 8 on one
NUM_TRAIN = 16


def _opts(data_root, epochs=2):
    return tiny_overrides(data_root, epochs=epochs, num_train=NUM_TRAIN) + [
        'train_cfg.val_interval=1',  # an evaluation after each epoch: a kill can land there
        'default_hooks.checkpoint.interval=1',  # epoch_1.pth: what a restart resumes
    ]


def _env(**extra):
    # OMP_NUM_THREADS as the session has it (each pytest-xdist worker's share
    # of the cores): both runs a test compares get the same, and the one-process
    # runs start in the warm interpreter
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=ROOT, PORT='29571')
    env.pop('GC_TEST_NOTICE', None)
    env.update(extra)
    return env


def launch(cmd, env, timeout=300):
    """Run ``cmd``; at ``timeout`` end it and every process it started
    (torchrun's workers run in sessions of their own), then fail."""
    try:
        return run_bounded(cmd, timeout, cwd=ROOT, env=env)
    except Timeout as e:
        pytest.fail(f'{cmd[:4]} still running after {timeout} s:\n{e.proc.stderr[-3000:]}')


def dist_train(work_dir, data_root, nproc=2, config=PREEMPT_CONFIG, **env):
    cmd = ['bash', 'tools/dist_train.sh', config, str(nproc), '--work-dir', work_dir]
    return launch(cmd + ['--cfg-options', *_opts(data_root)], _env(**env))


def train(work_dir, opts, config=PREEMPT_CONFIG, *args, timeout=300, **env):
    """tools/train.py in one process, in a fork of the warm interpreter
    (helpers.warm_python) where the environment allows."""
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir, *args]
    cmd, env = cmd + ['--cfg-options', *opts], _env(**env)
    try:
        proc = warm_run(cmd, env, ROOT, timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f'{cmd[:4]} still running after {timeout} s:\n{e.stderr[-3000:]}')
    return proc if proc is not None else launch(cmd, env, timeout)


def weights(work_dir, rank=0):
    return torch.load(osp.join(work_dir, f'rank{rank}_after.pth'))


def max_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def saved_iterations(work_dir):
    return sorted(
        int(m.group(1))
        for m in map(re.compile(r'iter_(\d+)\.pth$').match, os.listdir(work_dir))
        if m
    )


def ok(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope='module')
def whole(synthetic_root, tmp_path_factory):
    """2 ranks, 2 epochs, never interrupted."""
    work_dir = str(tmp_path_factory.mktemp('whole'))
    ok(dist_train(work_dir, synthetic_root))
    return work_dir


@pytest.mark.slow
def test_sigterm_to_the_launcher_saves_and_the_same_command_resumes(
    whole, synthetic_root, tmp_path
):
    work_dir = str(tmp_path / 'run')
    # SIGTERM to torchrun's launcher at the end of iteration 6 (the middle of epoch 2)
    first = dist_train(work_dir, synthetic_root, GC_TEST_NOTICE='6:SIGTERM:parent')
    assert first.returncode == 75, first.stderr[-3000:]
    assert first.stderr.strip().splitlines()[-1].startswith('preempted (SIGTERM)')
    saved = saved_iterations(work_dir)
    assert len(saved) == 1 and saved[0] % 4, saved  # one checkpoint, mid-epoch
    record = json.load(open(osp.join(work_dir, 'preempted.json')))
    assert record['iter'] == saved[0] and record['signal'] == 'SIGTERM'
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))

    again = dist_train(work_dir, synthetic_root)  # the same command
    ok(again)
    assert f'resumed epoch: 1, iter: {saved[0]}' in again.stdout + again.stderr
    assert not osp.exists(osp.join(work_dir, 'preempted.json'))
    for rank in (0, 1):
        assert max_diff(weights(work_dir, rank), weights(whole, rank)) == 0.0


@pytest.mark.slow
def test_a_rank_killed_mid_epoch_is_restarted_and_ends_as_uninterrupted(
    whole, synthetic_root, tmp_path
):
    work_dir = str(tmp_path / 'run')
    # rank 1 SIGKILLed at the end of iteration 6 (after epoch 1's checkpoint)
    proc = dist_train(work_dir, synthetic_root, MAX_RESTARTS='2', GC_TEST_NOTICE='6:SIGKILL:self:1')
    ok(proc)
    assert 'resumed epoch: 1, iter: 4' in proc.stdout + proc.stderr  # restarted from epoch_1
    for rank in (0, 1):
        assert max_diff(weights(work_dir, rank), weights(whole, rank)) == 0.0


@pytest.fixture(scope='module')
def whole_one_process(synthetic_root, tmp_path_factory):
    """One process (8 iterations an epoch), 2 epochs, never interrupted."""
    work_dir = str(tmp_path_factory.mktemp('whole_one'))
    ok(train(work_dir, _opts(synthetic_root)))
    return work_dir


@pytest.mark.slow
@pytest.mark.parametrize('at', [3, 8])  # the middle of epoch 1, its last iteration
def test_a_notice_to_one_process_saves_that_iteration_and_resumes_it(
    whole_one_process, synthetic_root, tmp_path, at
):
    """SIGUSR1 (Slurm's notice) to tools/train.py itself; also at the last
    iteration of an epoch, before the epoch's own checkpoint and evaluation."""
    opts, work_dir = _opts(synthetic_root), str(tmp_path / 'run')
    first = train(work_dir, opts, GC_TEST_NOTICE=f'{at}:SIGUSR1:self')
    assert first.returncode == 75, first.stderr[-3000:]
    assert saved_iterations(work_dir) == [at]
    ok(train(work_dir, opts))
    assert max_diff(weights(work_dir), weights(whole_one_process)) == 0.0


def _iter_opts(data_root, workers=0):
    # the data set of _opts (the same root): none generated again
    return (
        data_root_overrides(data_root)
        + synthetic_overrides(num_train=NUM_TRAIN)
        + [
            f'train_dataloader.num_workers={workers}',
            f'train_dataloader.persistent_workers={bool(workers)}',
        ]
    )


@pytest.fixture(scope='module')
def whole_iterations(synthetic_root, tmp_path_factory):
    """The iteration-based run (6 iterations, 0 workers), never interrupted."""
    work_dir = str(tmp_path_factory.mktemp('whole_iter'))
    ok(train(work_dir, _iter_opts(synthetic_root), ITER_CONFIG))
    return work_dir


@pytest.mark.slow
@pytest.mark.parametrize('workers', [0, 2])
def test_an_iteration_based_run_resumes_exactly_without_loading_the_skipped_batches(
    whole_iterations, synthetic_root, tmp_path, workers
):
    """An InfiniteSampler loop preempted at iteration 3 of 6: the same command
    ends with the uninterrupted weights (RandomFlip drawn in 2 persistent
    workers too, against the run with none), and with 0 workers the resumed
    run loads exactly the samples of its 3 remaining iterations."""
    opts, work_dir = _iter_opts(synthetic_root, workers), str(tmp_path / 'run')
    first = train(work_dir, opts, ITER_CONFIG, GC_TEST_NOTICE='3:SIGTERM:self')
    assert first.returncode == 75, first.stderr[-3000:]
    ok(train(work_dir, opts, ITER_CONFIG))
    if not workers:  # counted in this process
        # 3 iterations left of 6, 2 images each: mmengine's own resume ("Advance
        # dataloader 3 steps", which it still prints) would load 12
        assert open(osp.join(work_dir, 'rank0_loads.txt')).read() == str(3 * 2)
    assert max_diff(weights(work_dir), weights(whole_iterations)) == 0.0


@pytest.mark.slow
def test_resuming_a_checkpoint_of_another_model_stops_in_one_line(synthetic_root, tmp_path):
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(3)}, 'meta': {}}, other)
    work_dir = str(tmp_path / 'run')
    proc = train(work_dir, _opts(synthetic_root), PREEMPT_CONFIG, '--resume', other)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'a checkpoint of another model' in errors[0], proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    assert not osp.exists(osp.join(work_dir, 'rank0_before.pth'))  # before training


# --- a real one-node Slurm (tests/helpers/slurm_cluster.py; root and `make slurm-extra`) ---


@pytest.fixture(scope='module')
def slurm(tmp_path_factory):
    why = why_no_slurm()
    if why:
        pytest.skip(why)
    with SlurmCluster(str(tmp_path_factory.mktemp('slurm'))) as cluster:
        yield cluster


def _slurm_env(cluster, **extra):
    return _env(
        SLURM_CONF=cluster.env['SLURM_CONF'],  # not the rest: the caller's PYTHONPATH would win
        GPUS='2',
        GPUS_PER_NODE='2',
        CPUS_PER_TASK='1',
        GRES='',  # a node without GPUs refuses --gres=gpu:N
        MASTER_PORT='29573',
        **extra,
    )


def _slurm_train_cmd(work_dir, data_root, job):
    return ['bash', 'tools/slurm_train.sh', 'debug', job, PREEMPT_CONFIG, work_dir,
            '--cfg-options', *_opts(data_root)]  # fmt: skip


def _until(what, ready, cluster, timeout=240):
    deadline = time.monotonic() + timeout
    while True:
        found = ready()
        if found:
            return found
        if time.monotonic() > deadline:
            log = open(osp.join(cluster.folder, 'log', 'slurmctld.log')).read()[-3000:]
            pytest.fail(f'{what}: not within {timeout} s; slurmctld.log ends:\n{log}')
        time.sleep(0.5)


def _job(cluster, job_id):
    out = cluster.run('scontrol', 'show', 'job', job_id).stdout
    return dict(re.findall(r'(\w+)=(\S+)', out))


@pytest.mark.slow
def test_slurm_train_runs_two_tasks_through_the_real_srun(whole, synthetic_root, slurm, tmp_path):
    work_dir = str(tmp_path / 'run')
    ok(launch(_slurm_train_cmd(work_dir, synthetic_root, 'gc-srun'), _slurm_env(slurm)))
    for rank in (0, 1):
        seen = json.load(open(osp.join(work_dir, f'rank{rank}_launch.json')))
        assert (seen['rank'], seen['world_size']) == (rank, 2)
        assert max_diff(weights(work_dir, rank), weights(whole, rank)) == 0.0


@pytest.mark.slow
def test_a_preempted_batch_job_requeues_itself_and_ends_as_uninterrupted(
    whole, synthetic_root, slurm, tmp_path
):
    """sbatch --requeue --signal=USR1@30, then the notice at once with
    scancel --signal=USR1 --batch while it trains: the script saves, requeues
    the job; the requeued job resumes and ends with the uninterrupted weights."""
    work_dir, out = str(tmp_path / 'run'), str(tmp_path / 'job.out')
    script = tmp_path / 'job.sh'
    script.write_text(
        '#!/bin/bash\nexec '
        + ' '.join(map(shlex.quote, _slurm_train_cmd(work_dir, synthetic_root, 'gc-requeue')))
        + '\n'
    )
    submit = slurm.run(
        'sbatch', '--requeue', '--signal=USR1@30', '--open-mode=append', '-o', out,
        '-n', '2', '-c', '1', f'--chdir={ROOT}', str(script),
        env=_slurm_env(slurm),
    )  # fmt: skip
    assert submit.returncode == 0, submit.stderr
    job_id = submit.stdout.split()[-1]

    def training():
        logs = (
            [f for f in os.listdir(work_dir) if re.fullmatch(r'\d{8}_\d{6}', f)]
            if osp.isdir(work_dir)
            else []
        )
        text = ''.join(
            open(osp.join(work_dir, d, d + '.log')).read()
            for d in logs
            if osp.isfile(osp.join(work_dir, d, d + '.log'))
        )
        return 'Epoch(train) [1][1/' in text

    _until('the job trains', training, slurm)
    assert slurm.run('scancel', '--signal=USR1', '--batch', job_id).returncode == 0

    def requeued():
        job = _job(slurm, job_id)
        return job.get('Restarts') == '1' and job.get('JobState') == 'PENDING'

    _until('the job is requeued', requeued, slurm)
    # Slurm refuses to launch the job again ("Job credential revoked") before the
    # node has cleaned up after the first run, and in the second its credential
    # was revoked (it compares whole seconds): 2 s after the node was last busy
    start_after = [time.time() + 2]
    saved = saved_iterations(work_dir)
    assert len(saved) == 1 and not osp.exists(osp.join(work_dir, 'epoch_2.pth')), saved

    def started():  # Slurm holds a requeued job back ~2 minutes: start it now
        if _job(slurm, job_id).get('JobState') != 'PENDING':
            return True
        if not slurm.node_idle():
            start_after[0] = time.time() + 2
        elif time.time() >= start_after[0]:
            slurm.run('scontrol', 'update', f'JobId={job_id}', 'StartTime=now')
        time.sleep(2)
        return False

    _until('the requeued job starts', started, slurm)
    state = _until(
        'the requeued job ends',
        lambda: (
            _job(slurm, job_id).get('JobState') in ('COMPLETED', 'FAILED', 'CANCELLED')
            and _job(slurm, job_id)
        ),
        slurm,
    )
    log = open(out).read()
    assert state['JobState'] == 'COMPLETED', log[-3000:]
    assert f'preempted: requeueing job {job_id}' in log
    assert 'preempted (SIGUSR1) after iteration' in log
    assert (
        f'resumed epoch: 1, iter: {saved[0]}' in log or f'resumed epoch: 0, iter: {saved[0]}' in log
    )
    for rank in (0, 1):
        assert max_diff(weights(work_dir, rank), weights(whole, rank)) == 0.0
