"""A pytest plugin: with ``GC_MMDET_TEST_TIMES=FILE`` set, a session adds
its wall time, its counts and its slowest tests to FILE (a results file that
``tools/render_docs.py`` renders into docs/get_started.md), under a phase
named by its environment and its ``-m`` expression. Unset: it does nothing.

Under pytest-xdist it also orders the files: those that took longest in
the recorded run (docs/results/test_times.json) start first, so that no long
one is left to run alone at the end.

Example:
    GC_MMDET_TEST_TIMES=docs/results/test_times.json make test
"""

import json
import os
import os.path as osp
import sys
import time
from collections import defaultdict
from typing import Dict, List

_START = 'gc_mmdet_session_start'
#: the recorded run whose times order the files under pytest-xdist
RECORD = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'docs',
    'results',
    'test_times.json',
)
SLOWEST = 8


def pytest_sessionstart(session) -> None:
    setattr(session.config, _START, time.time())


def recorded_seconds(path: str = RECORD) -> Dict[str, float]:
    """Each test file's seconds in the recorded run (the most any phase took)."""
    try:
        phases = json.load(open(path))['phases'].values()
    except (OSError, ValueError, KeyError):
        return {}
    seconds: Dict[str, float] = {}
    for phase in phases:
        for f, s in phase.get('files', {}).items():
            seconds[f] = max(s, seconds.get(f, 0.0))
    return seconds


def longest_first(items: List, seconds: Dict[str, float]) -> List:
    """``items`` with whole files in the order of their recorded seconds,
    longest first; a file not recorded counts as the longest when it has a
    slow test, else as the shortest; ties keep the collection's order."""
    top = max(seconds.values(), default=0.0) + 1
    slow = {i.nodeid.split('::')[0] for i in items if i.get_closest_marker('slow')}

    def key(item) -> float:
        f = item.nodeid.split('::')[0]
        return -seconds.get(f, top if f in slow else 0.0)

    return sorted(items, key=key)  # stable: a file's tests stay together, in order


def pytest_collection_modifyitems(session, config, items) -> None:
    # only where the order is a schedule: several pytest-xdist workers
    # (each sorts its collection alike, as xdist requires)
    if int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0')) > 1:
        items[:] = longest_first(items, recorded_seconds())


def phase_name(markexpr: str) -> str:
    """``'.venv: all'``, ``'.venv-oldest: not slow'``, ..."""
    return f'{osp.basename(sys.prefix)}: {markexpr or "all"}'


def pytest_sessionfinish(session, exitstatus) -> None:
    path = os.environ.get('GC_MMDET_TEST_TIMES')
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    if not path or reporter is None or session.config.option.collectonly:
        return
    if hasattr(session.config, 'workerinput'):  # a pytest-xdist worker: the controller records
        return
    # here, not at import: a session without the variable imports no torch
    from gc_mmdet.utils import machine

    counts = {k: len(reporter.stats.get(k, [])) for k in ('passed', 'failed', 'skipped', 'error')}
    per_test = defaultdict(float)  # setup (module fixtures: trained runs) + call + teardown
    for reports in reporter.stats.values():
        for r in reports:
            if hasattr(r, 'duration') and hasattr(r, 'nodeid'):
                per_test[r.nodeid] += r.duration
    slowest = sorted(per_test.items(), key=lambda kv: -kv[1])[:SLOWEST]
    per_file = defaultdict(float)
    for nodeid, s in per_test.items():
        per_file[nodeid.split('::')[0]] += s
    results = json.load(open(path)) if osp.isfile(path) else {'kind': 'test_times', 'phases': {}}
    results['phases'][phase_name(session.config.option.markexpr)] = dict(
        wall_s=round(time.time() - getattr(session.config, _START)),
        counts=counts,
        exitstatus=int(exitstatus),
        slowest=[[nodeid, round(s)] for nodeid, s in slowest],
        files={f: round(s, 1) for f, s in sorted(per_file.items())},  # the next run's order
        workers=int(getattr(session.config.option, 'numprocesses', None) or 1),  # pytest-xdist's -n
        machine=machine(),
        date=time.strftime('%Y-%m-%d'),
    )
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write('\n')
