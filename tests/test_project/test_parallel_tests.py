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
from helpers.synthetic import assert_ok, run


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
