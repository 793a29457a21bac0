"""``GC_MMDET_ENV=... make setup`` keeps what a user's environment has: where
a requirement needs another version of an installed package, setup stops
with one line naming both and changes nothing."""

import os
import os.path as osp
import site
import subprocess
import sys

import pytest

from helpers.folders import hash_tree
from helpers.synthetic import ROOT


@pytest.mark.slow  # starts a process: seconds
def test_setup_stops_with_one_line_instead_of_downgrading(tmp_path):
    """A user's environment whose setuptools (99.0) is newer than gc_mmdet's
    ``setuptools<81``: setup stops, and leaves it as it is."""
    env = tmp_path / 'user_env'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(env)], check=True)
    pyver = f'python{sys.version_info[0]}.{sys.version_info[1]}'
    own = env / 'lib' / pyver / 'site-packages'
    # the rest of the stack (torch, pip, ...) comes from this test's
    # environment, behind the environment's own packages
    (own / 'stack.pth').write_text('\n'.join(site.getsitepackages()) + '\n')
    dist = own / 'setuptools-99.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: setuptools\nVersion: 99.0\n')
    before = hash_tree(env)
    tmp = tmp_path / 'tmp'
    tmp.mkdir()

    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'setup.sh')],
        env=dict(os.environ, GC_MMDET_ENV=str(env), TMPDIR=str(tmp)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(
        f'[setup] ERROR: pip install wheel ninja setuptools<81 into {env}: '
    )
    assert 'setuptools==99.0' in errors[0] and 'setuptools<81' in errors[0], errors[0]
    assert 'setup does not change a package the environment already has' in errors[0]
    assert hash_tree(env) == before
    # of its temporary files (mktemp's tmp.*), only pip's output that the line names is left
    pip_output = errors[0].rsplit("(pip's output: ", 1)[1].rstrip(')')
    assert [str(p) for p in tmp.glob('tmp.*')] == [pip_output]
