"""What the project's own runs leave on disk, and what setup does on a full
disk: a passing test run leaves nothing in the temporary folder (pyproject's
``tmp_path_retention_policy``), and setup stops with one line, before it
installs anything, where the disk cannot hold a torch (tools/setup/free_space.sh)."""

import os
import os.path as osp
import subprocess
import sys

import pytest

from helpers.synthetic import ROOT
from repo_tools.processes import run_bounded

SESSION = """
import pytest


@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp('trained')
    (folder / 'epoch_1.pth').write_bytes(b'0' * 4096)
    return folder


@pytest.mark.parametrize('i', range(4))
def test_writes(tmp_path, trained, i):
    (tmp_path / 'ckpt.pth').write_bytes(b'0' * 4096)
    assert i != {fail}
"""


def _files(folder):
    return sorted(
        osp.relpath(osp.join(d, f), folder)
        for d, _, names in os.walk(folder)
        for f in names
        if not osp.islink(osp.join(d, f))
    )


def _run_session(tmp_path, fail: int):
    """Runs a session of 4 tests, 2 xdist workers, with the project's pytest
    configuration; returns the files it left in its temporary root."""
    (tmp_path / 'test_session.py').write_text(SESSION.format(fail=fail))
    temproot = tmp_path / 'temproot'
    temproot.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}
    env['PYTEST_DEBUG_TEMPROOT'] = str(temproot)
    # at 300 s it and its workers are ended (by process group), and the test fails
    proc = run_bounded(
        [sys.executable, '-m', 'pytest', '-c', osp.join(ROOT, 'pyproject.toml'), '-n', '2',
         '-p', 'no:cacheprovider', str(tmp_path / 'test_session.py')],
        300, cwd=tmp_path, env=env,
    )  # fmt: skip
    return proc, _files(temproot)


@pytest.mark.slow  # starts pytest: seconds
def test_a_passing_run_leaves_nothing_in_the_temporary_folder(tmp_path):
    proc, left = _run_session(tmp_path, fail=-1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert left == []


@pytest.mark.slow  # starts pytest: seconds
def test_a_failing_run_keeps_the_folder_of_its_failed_test_only(tmp_path):
    proc, left = _run_session(tmp_path, fail=2)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    kept_tests = {osp.basename(osp.dirname(f)) for f in left if f.endswith('ckpt.pth')}
    assert kept_tests == {'test_writes_2_0'}, left


def _on_a_small_disk(script: str, tmp_path) -> subprocess.CompletedProcess:
    """Runs ``script`` (sh, with the small disk's mount point as $1) in a
    mount namespace of its own, with a 16 MiB tmpfs mounted on $1."""
    if (
        os.geteuid() != 0
        or subprocess.run(['unshare', '-m', 'true'], capture_output=True, timeout=30).returncode
    ):
        pytest.skip('needs root and unshare -m (CI runs as root) to mount a small disk')
    mnt = tmp_path / 'small_disk'
    mnt.mkdir()
    return run_bounded(
        ['unshare', '-m', 'sh', '-c', f'mount -t tmpfs -o size=16m none "$1" && {script}', 'sh', str(mnt)],
        300, env=dict(os.environ, ROOT=ROOT),
    )  # fmt: skip


def _stopped_for_space(proc, tmp_path, prefix: str, what: str, gib: int) -> None:
    """Setup stopped with exactly its one line about the small disk."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    env = f'{tmp_path}/small_disk/env'
    assert proc.stderr.splitlines() == [
        f'{prefix} ERROR: {what.format(env=env)} needs about {gib} GiB free where {env} is, '
        '0 GiB are free: free some space there, or put the environment on a larger disk'
    ]


@pytest.mark.slow  # starts a process: seconds
def test_oldest_stack_on_a_full_disk_stops_with_one_line_before_installing(tmp_path):
    proc = _on_a_small_disk(
        'bash "$ROOT/tools/setup/oldest_stack.sh" "$1/env"; rc=$?; ls -A "$1"; exit $rc', tmp_path
    )
    what = 'creating {env} with torch==2.1.2 torchvision==0.16.2 numpy==1.26.4'
    _stopped_for_space(proc, tmp_path, '[oldest-stack]', what, 8)
    assert proc.stdout == ''  # nothing was created on the disk, nothing started


@pytest.mark.slow  # starts a process: seconds
def test_setup_into_an_env_without_torch_on_a_full_disk_stops_before_installing(tmp_path):
    proc = _on_a_small_disk(
        'python3 -m venv --without-pip "$1/env" && GC_MMDET_ENV="$1/env" bash "$ROOT/tools/setup.sh";'
        ' rc=$?; ls -A "$1"/env/lib/python3*/site-packages; exit $rc',
        tmp_path,
    )
    what = 'installing torch==2.14.1 torchvision==0.29.1 into {env}'
    _stopped_for_space(proc, tmp_path, '[setup]', what, 7)
    env = f'{tmp_path}/small_disk/env'
    assert proc.stdout == f'[setup] using existing environment {env}\n'  # and installed nothing
