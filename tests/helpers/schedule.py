"""A pytest plugin: the units of work of `make test`'s pytest-xdist run
(``--dist loadgroup``) and their order.

A test file is one unit (its module fixtures run once); the files whose
tests use a session fixture that trains (``trained_gc``, ``trained_baseline``
in tests/conftest.py) are one unit together, so that one worker trains them
once instead of each worker again. Units start longest first by the
per-file seconds of the recorded run (docs/results/test_times.json, written
by helpers.timing), so that no long one is left to run alone at the end.
Without several workers it does nothing.

Example:
    python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder
"""

import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List

import pytest

#: the recorded run whose per-file seconds order the units
RECORD = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'docs',
    'results',
    'test_times.json',
)
#: session fixtures that train: their users share one worker
SHARED = frozenset({'trained_gc', 'trained_baseline'})
SHARED_UNIT = 'trained-runs'


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


def _file(item) -> str:
    return item.nodeid.split('::')[0]


def units(items: List) -> Dict[str, str]:
    """Each file's unit: the file itself, or :data:`SHARED_UNIT`."""
    unit = {_file(i): _file(i) for i in items}
    for i in items:
        if SHARED & set(getattr(i, 'fixturenames', ())):
            unit[_file(i)] = SHARED_UNIT
    return unit


def longest_first(items: List, seconds: Dict[str, float]) -> List:
    """``items`` by unit, the longest recorded unit first; a file not recorded
    counts as the longest when it has a slow test, else as the shortest; ties
    keep the collection's order, and so does each unit's tests."""
    unit = units(items)
    top = max(seconds.values(), default=0.0) + 1
    slow = {_file(i) for i in items if i.get_closest_marker('slow')}
    total: Dict[str, float] = defaultdict(float)
    for f, u in unit.items():
        total[u] += seconds.get(f, top if f in slow else 0.0)
    first = {}
    for n, i in enumerate(items):
        first.setdefault(unit[_file(i)], n)
    return sorted(items, key=lambda i: (-total[unit[_file(i)]], first[unit[_file(i)]]))


def pytest_collection_modifyitems(session, config, items) -> None:
    if int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0')) < 2:
        return
    # every worker collects, and must order, alike (pytest-xdist checks)
    items[:] = longest_first(items, recorded_seconds())
    unit = units(items)
    for i in items:
        i.add_marker(pytest.mark.xdist_group(unit[_file(i)]))
