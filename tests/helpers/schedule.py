"""A pytest plugin: the order of `make test`'s pytest-xdist run
(``--dist loadfile``: a test file is one unit of work, its module fixtures
run once). Files start longest first by the per-file seconds of the recorded
run (docs/results/test_times.json, written by helpers.timing), so that no
long one is left to run alone at the end. Without several workers it does
nothing.

(The session's trained runs are trained once for all workers: conftest's
``_train``. ``--dist loadgroup`` does not help here: pytest-xdist 3.8 marks a
group by assigning ``item._nodeid``, which pytest 9 no longer reads, so its
groups fall apart into single tests.)

Example:
    python -m pytest -n 3 --dist loadfile --no-loadscope-reorder
"""

import json
import os
import os.path as osp
from typing import Dict, List

#: the recorded run whose per-file seconds order the files
RECORD = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'docs',
    'results',
    'test_times.json',
)


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


def longest_first(items: List, seconds: Dict[str, float]) -> List:
    """``items`` by file, the longest recorded file first; a file not recorded
    counts as the longest when it has a slow test, else as the shortest; ties
    keep the collection's order, and so do each file's tests."""
    top = max(seconds.values(), default=0.0) + 1
    slow = {_file(i) for i in items if i.get_closest_marker('slow')}

    def key(item) -> float:
        f = _file(item)
        return -seconds.get(f, top if f in slow else 0.0)

    return sorted(items, key=key)  # stable


def pytest_collection_modifyitems(session, config, items) -> None:
    # every worker collects, and must order, alike (pytest-xdist checks)
    if int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0')) > 1:
        items[:] = longest_first(items, recorded_seconds())
