# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The test-times recorder (tests/helpers/timing.py): a session with
GC_MMDET_TEST_TIMES set adds its phase to the results file that
docs/get_started.md's table is rendered from; without it, nothing is written."""

import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from helpers.synthetic import ROOT
from repo_tools.render_docs import PHASES, suite_times

pytestmark = pytest.mark.slow  # each test starts pytest sessions

TESTS = """
import time
import pytest

def test_slow():
    time.sleep(1.2)

def test_fast():
    pass

@pytest.mark.skip(reason='not here')
def test_skipped():
    pass
"""


def _session(tmp_path, *args, times=None):
    env = dict(os.environ, PYTHONPATH=osp.join(ROOT, 'tests'))
    env.pop('GC_MMDET_TEST_TIMES', None)
    if times:
        env['GC_MMDET_TEST_TIMES'] = str(times)
    return subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'helpers.timing', *args, 'test_a.py'],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_session_records_its_phase(tmp_path):
    (tmp_path / 'test_a.py').write_text(TESTS)
    times = tmp_path / 'results' / 'times.json'
    assert _session(tmp_path, times=times).returncode == 0
    assert _session(tmp_path, '-m', 'not slow', times=times).returncode == 0
    res = json.load(open(times))
    env = osp.basename(sys.prefix)
    assert sorted(res['phases']) == [f'{env}: all', f'{env}: not slow']
    phase = res['phases'][f'{env}: all']
    assert phase['counts'] == dict(passed=2, skipped=1, failed=0, error=0)
    assert phase['slowest'][0] == ['test_a.py::test_slow', 1]
    assert phase['wall_s'] >= 1 and phase['machine']['cores'] >= 1
    table = suite_times(res)
    label = PHASES.get(f'{env}: not slow', f'{env}: not slow')
    assert f'| {label} | 2 | 1 | 0 |' in table
    assert '- `test_a.py::test_slow`: 1 s' in table


def test_without_the_variable_nothing_is_written(tmp_path):
    (tmp_path / 'test_a.py').write_text(TESTS)
    assert _session(tmp_path).returncode == 0
    assert not [p for p in tmp_path.rglob('*.json')]
