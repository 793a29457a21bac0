# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""`make demo` runs again and again: it trains and reports into its work dir
and changes no tracked file of the checkout. Publishing to docs/results and
rendering README and docs is the maintainers' `make demo-publish`."""

import hashlib
import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import Dict

import pytest

from helpers.synthetic import ROOT

pytestmark = pytest.mark.slow

TINY = 'tests/configs/demo_tiny.py'  # the demo config, 2 iterations


def _git(root: str, *args: str) -> str:
    return subprocess.run(
        ['git', '-c', 'user.name=test', '-c', 'user.email=test@example.invalid', *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _clean_checkout(dst: str) -> str:
    """A git repository holding this working tree's files (tracked, and new
    ones git does not ignore), all committed: a clean clone of it."""
    for rel in filter(None, _git(ROOT, 'ls-files', '-co', '--exclude-standard', '-z').split('\0')):
        src = osp.join(ROOT, rel)
        if osp.isfile(src):
            os.makedirs(osp.dirname(osp.join(dst, rel)), exist_ok=True)
            shutil.copy2(src, osp.join(dst, rel), follow_symlinks=False)
    _git(dst, 'init', '-q')
    _git(dst, 'add', '-A')
    _git(dst, 'commit', '-q', '-m', 'a clean checkout')
    return dst


def _tracked(root: str) -> Dict[str, str]:
    """sha256 of every tracked file."""
    digests = {}
    for rel in filter(None, _git(root, 'ls-files', '-z').split('\0')):
        with open(osp.join(root, rel), 'rb') as f:
            digests[rel] = hashlib.sha256(f.read()).hexdigest()
    return digests


def test_make_demo_twice_in_a_clean_clone_changes_no_tracked_file(tmp_path):
    root = _clean_checkout(str(tmp_path / 'clone'))
    before = _tracked(root)
    # the environment is this one (-o setup: not rebuilt), the code the clone's
    env = dict(os.environ, PYTHONPATH=root)
    cmd = ['make', '-o', 'setup', 'demo', f'PY={sys.executable}', f'DEMO_CONFIG={TINY}']
    for run in (1, 2):
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=500)
        assert proc.returncode == 0, f'make demo, run {run}:\n{proc.stderr[-3000:]}'
        after = _tracked(root)
        changed = sorted(p for p in before if after.get(p) != before[p])
        assert not changed, f'make demo, run {run}, changed tracked files: {changed}'
        assert _git(root, 'status', '--porcelain') == ''  # nothing new outside ignored folders
    work_dir = osp.join(root, 'work_dirs', 'demo')
    with open(osp.join(work_dir, 'report.md')) as f:
        report = f.read()
    for name in ('ap_curve.png', 'predictions.png'):
        assert osp.isfile(osp.join(work_dir, name))
        assert f'{osp.join("work_dirs", "demo", name)}' in report
    assert f'report: {osp.join("work_dirs", "demo", "report.md")}' in proc.stdout
