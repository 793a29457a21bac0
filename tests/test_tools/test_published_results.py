"""Every published result names the clean commit that reproduces it: a
``+changes`` commit (a working tree with uncommitted changes) reproduces
nothing (issue 41, item 4). test_times.json records its CI runs per phase
and names no commit."""

import glob
import json
import os.path as osp
import re
import subprocess

import pytest

from helpers.synthetic import ROOT

RESULTS = sorted(glob.glob(osp.join(ROOT, 'docs', 'results', '*.json')))


@pytest.mark.parametrize('path', RESULTS, ids=[osp.basename(p) for p in RESULTS])
def test_a_published_result_names_a_clean_commit_of_this_history(path):
    data = json.load(open(path))
    if data.get('kind') == 'test_times':
        assert 'commit' not in data
        return
    commit = data.get('commit')
    assert isinstance(commit, str) and re.fullmatch(r'[0-9a-f]{7,40}', commit), commit
    if osp.isdir(osp.join(ROOT, '.git')):
        known = subprocess.run(
            ['git', 'cat-file', '-e', f'{commit}^{{commit}}'], cwd=ROOT, capture_output=True
        )
        assert known.returncode == 0, f'{commit} is not a commit of this repository'
