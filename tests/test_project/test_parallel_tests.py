# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""How `make test` runs the suite in pytest-xdist workers: each worker and
the tools it starts get their share of the cores as torch threads
(tests/conftest.py), and whole files run longest first
(tests/helpers/schedule.py)."""

import json
import os
import sys

import pytest

from helpers.schedule import longest_first, recorded_seconds
from helpers.synthetic import ROOT, assert_ok, run
from repo_tools.processes import run_bounded


class _Item:
    """What the ordering reads of a collected test: its node id and marks."""

    def __init__(self, nodeid, slow=False):
        self.nodeid, self.slow = nodeid, slow

    def get_closest_marker(self, name):
        return object() if name == 'slow' and self.slow else None


def test_files_run_longest_recorded_first_and_stay_whole():
    items = [
        _Item('a.py::t1'),
        _Item('a.py::t2'),
        _Item('b.py::t1', slow=True),
        _Item('new_slow.py::t1', slow=True),
        _Item('new_fast.py::t1'),
        _Item('c.py::t1'),
        _Item('c.py::t2'),
    ]
    seconds = {'a.py': 5.0, 'b.py': 1.0, 'c.py': 30.0}
    order = [i.nodeid for i in longest_first(items, seconds)]
    assert order == [
        'new_slow.py::t1',  # not recorded, has a slow test: as the longest
        'c.py::t1',
        'c.py::t2',
        'a.py::t1',
        'a.py::t2',
        'b.py::t1',
        'new_fast.py::t1',  # not recorded, fast: last
    ]


def test_the_recorded_seconds_are_the_most_any_phase_took(tmp_path):
    path = tmp_path / 'times.json'
    path.write_text(
        json.dumps(
            {
                'phases': {
                    'x: all': {'files': {'a.py': 3.0}},
                    'y: not slow': {'files': {'a.py': 4.5}},
                }
            }
        )
    )
    assert recorded_seconds(str(path)) == {'a.py': 4.5}
    assert recorded_seconds(str(tmp_path / 'missing.json')) == {}


@pytest.mark.slow  # starts a tool process
def test_a_worker_and_the_tools_it_starts_share_the_cores(tmp_path):
    """Under `make test` (2 workers on 2 cores): 1 torch thread in the worker's
    tools; one at a time: torch's own default, as before."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0'))
    probe = tmp_path / 'threads.py'
    probe.write_text('import torch\nprint(torch.get_num_threads())\n')
    proc = run([sys.executable, str(probe)])
    assert_ok(proc)
    if workers > 1:
        share = max(1, (os.cpu_count() or 1) // workers)
        assert os.environ['OMP_NUM_THREADS'] == str(share)
        assert int(proc.stdout) == share
    elif 'OMP_NUM_THREADS' not in os.environ:
        import torch

        assert int(proc.stdout) == torch.get_num_threads()


_ONCE = """
import json, os, time
import pytest
from helpers.once import once

OUT = {out!r}


def _make(name):
    def make(folder):
        with open(os.path.join(OUT, name + '.made'), 'a') as f:
            f.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')
        if name == 'flaky' and not os.path.exists(os.path.join(OUT, 'failed_once')):
            open(os.path.join(OUT, 'failed_once'), 'w').close()
            raise RuntimeError('the first try fails')
        time.sleep(1)  # the other workers ask meanwhile
        (folder / 'data').write_text('made')
        return {{'by': os.environ['PYTEST_XDIST_WORKER']}}
    return make


@pytest.fixture(scope='session')
def shared(tmp_path_factory):
    return once(tmp_path_factory, 'shared', _make('shared'))


@pytest.fixture(scope='session')
def flaky(tmp_path_factory):
    return once(tmp_path_factory, 'flaky', _make('flaky'))


def test_uses(shared, request):
    folder, made = shared
    assert (folder / 'data').read_text() == 'made'
    with open(os.path.join(OUT, 'seen'), 'a') as f:
        f.write(json.dumps([os.environ['PYTEST_XDIST_WORKER'], made['by']]) + '\\n')


def test_uses_flaky(flaky):
    assert (flaky[0] / 'data').read_text() == 'made'
"""


@pytest.mark.slow  # starts pytest with 3 workers: seconds
def test_a_shared_run_is_made_once_for_all_workers(tmp_path):
    """helpers.once (the session's trained runs): three workers ask at once,
    one makes it and all three use that one; a make that fails is tried
    again by the next worker that asks."""
    out = tmp_path / 'out'
    out.mkdir()
    for i in range(3):
        (tmp_path / f'test_once_{i}.py').write_text(_ONCE.format(out=str(out)))
    temproot = tmp_path / 'temproot'
    temproot.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}
    env['PYTEST_DEBUG_TEMPROOT'] = str(temproot)
    env['PYTHONPATH'] = os.path.join(ROOT, 'tests')  # helpers
    # at 300 s it and its workers are ended (by process group), and the test fails
    proc = run_bounded(
        [sys.executable, '-m', 'pytest', '-c', os.path.join(ROOT, 'pyproject.toml'),
         '--rootdir', str(tmp_path), '-n', '3', '--dist', 'loadfile', '-p', 'no:cacheprovider',
         *(str(tmp_path / f'test_once_{i}.py') for i in range(3))],
        300, cwd=tmp_path, env=env,
    )  # fmt: skip
    # the flaky make failed once (one test errors), then was made by another worker
    assert proc.returncode == 1 and '1 error' in proc.stdout, proc.stdout[-3000:]
    assert '5 passed' in proc.stdout, proc.stdout[-3000:]
    seen = [json.loads(line) for line in (out / 'seen').read_text().splitlines()]
    assert len({worker for worker, _ in seen}) == 3  # three workers used it
    assert len({by for _, by in seen}) == 1  # all the one made
    assert (out / 'shared.made').read_text().count('\n') == 1
    assert (out / 'flaky.made').read_text().count('\n') == 2
