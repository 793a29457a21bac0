"""A pytest plugin: with ``GC_MMDET_TEST_TIMES=FILE`` set, a session adds
its wall time, its counts and its slowest tests to FILE (a results file that
``tools/render_docs.py`` renders into docs/get_started.md), under a phase
named by its environment and its ``-m`` expression. Unset: it does nothing.

The per-file seconds it records order the next parallel run's work
(helpers.schedule).

Example:
    GC_MMDET_TEST_TIMES=docs/results/test_times.json make test
"""

import json
import os
import os.path as osp
import sys
import time
from collections import defaultdict

_START = 'gc_mmdet_session_start'
SLOWEST = 8


def pytest_sessionstart(session) -> None:
    setattr(session.config, _START, time.time())


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
