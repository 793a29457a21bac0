# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The committed results files (``docs/results/*.json``) that every figure
of README and docs is rendered from (``tools/render_docs.py``): repository
tooling, as it records the checkout's git commit.

``make demo-publish`` and ``make compare`` publish their runs here: the metrics, the
AP curve, how long the run took and on what machine, and the commit.

Example:
    >>> write_results('docs/results', 'demo', demo_results(cfg_file, 0, 'work_dirs/demo'))
    'docs/results/demo.json'
"""

import json
import os
import os.path as osp
import shutil
import subprocess
from datetime import date
from typing import Any, Dict, List, Mapping, Optional

from gc_mmdet.cli.run_logs import run_record
from gc_mmdet.utils import UserError, check_output_files
from gc_mmdet.utils.machine import machine

__all__ = [
    'RESULTS_DIR',
    'demo_results',
    'compare_results',
    'write_results',
    'load_results',
    'publish_file',
    'DEMO_FILES',
    'COMPARE_FILES',
    'OWNER_KEYS',
    'add_publish_arg',
    'benchmark_results',
    'check_publish',
    'check_committed',
    'publish_benchmark',
]

#: what ``--publish DIR`` writes; the JSON file (with :data:`OWNER_KEYS`)
#: marks the folder's earlier files as ours, so they may be replaced
DEMO_FILES = ('demo.json', 'demo_ap_curve.png', 'demo_predictions.png')
COMPARE_FILES = ('compare_demo.json', 'compare_ap_bands.png')
OWNER_KEYS = ('kind', 'machine', 'commit')

#: Where the committed results files live, relative to the repository root.
RESULTS_DIR = osp.join('docs', 'results')


#: the checkout this module belongs to (tools/repo_tools/ -> the root)
_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _git(*args: str, root: str = _ROOT) -> Optional[str]:
    try:
        proc = subprocess.run(['git', *args], cwd=root, capture_output=True, text=True)
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def _changed_files(root: str = _ROOT) -> List[str]:
    """Tracked files with uncommitted changes (untracked files do not count)."""
    status = _git('status', '--porcelain', '--untracked-files=no', root=root) or ''
    return [line[3:] for line in status.splitlines() if line.strip()]


def _commit() -> str:
    """The checkout's commit, ``+changes`` when its tracked files differ."""
    head = _git('rev-parse', '--short', 'HEAD')
    if head is None:
        return 'unknown'
    return head.strip() + ('+changes' if _changed_files() else '')


def check_committed(out_dir: str, root: str = _ROOT) -> None:
    """Refuse to publish into the checkout ``root`` from a working tree with
    uncommitted changes to tracked files: a published figure must name a
    commit that reproduces it. Publishing elsewhere records ``+changes``.

    Raises:
        UserError: one line naming the changed files.
    """
    inside = osp.realpath(out_dir).startswith(osp.realpath(root) + os.sep)
    if not inside or _git('rev-parse', '--git-dir', root=root) is None:
        return
    changed = _changed_files(root)
    if changed:
        shown = ', '.join(changed[:3]) + (
            f' and {len(changed) - 3} more' if len(changed) > 3 else ''
        )
        raise UserError(
            f'--publish {out_dir}: the working tree has uncommitted changes to tracked files '
            f'({shown}); commit or stash them first, so that the published figures name a commit '
            'that reproduces them'
        )


def _provenance() -> Dict[str, Any]:
    return dict(commit=_commit(), date=date.today().isoformat(), machine=machine())


def demo_results(config: str, seed: Any, work_dir: str) -> Dict[str, Any]:
    """What ``make demo-publish`` publishes: the run of ``config`` at ``seed``."""
    return dict(kind='demo', config=config, seed=seed, **run_record(work_dir), **_provenance())


def compare_results(summary: Mapping, runs: Mapping[str, Mapping[int, str]]) -> Dict[str, Any]:
    """What ``make compare`` publishes: the summary of
    :func:`~gc_mmdet.cli.compare_seeds.summarize` and every run's record."""
    records = {arm: {str(s): run_record(wd) for s, wd in by.items()} for arm, by in runs.items()}
    return dict(kind='compare', **summary, runs=records, **_provenance())


def benchmark_results(name: str, figures: Mapping) -> Dict[str, Any]:
    """What a benchmark's ``--publish`` writes: its figures, the machine,
    the commit and the date."""
    return dict(kind=name, **figures, **_provenance())


def add_publish_arg(parser: Any, name: str) -> None:
    """A benchmark's ``--publish DIR`` flag (it writes ``DIR/NAME.json``)."""
    parser.add_argument(
        '--publish',
        metavar='DIR',
        help=f'also write DIR/{name}.json with the machine and commit '
        '(docs/results: the docs render it)',
    )


def check_publish(out_dir: Optional[str], name: str) -> None:
    """Before a benchmark runs: ``--publish OUT_DIR`` may write
    ``NAME.json`` there (never over a file the benchmark did not write)."""
    if out_dir:
        check_committed(out_dir)
        check_output_files(out_dir, [f'{name}.json'], f'{name}.json', OWNER_KEYS, '--publish')


def publish_benchmark(out_dir: str, name: str, figures: Mapping) -> str:
    """Write ``OUT_DIR/NAME.json`` (:func:`benchmark_results`); return its path."""
    return write_results(out_dir, name, benchmark_results(name, figures))


def write_results(out_dir: str, name: str, results: Mapping) -> str:
    """Write ``results`` to ``OUT_DIR/NAME.json``; return its path."""
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'{name}.json')
    with open(path, 'w') as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write('\n')
    return path


def load_results(results_dir: str, name: str) -> Dict[str, Any]:
    with open(osp.join(results_dir, f'{name}.json')) as f:
        return json.load(f)


def publish_file(src: str, out_dir: str, name: str) -> str:
    """Copy a picture a run drew (``src``) into ``OUT_DIR/NAME``."""
    os.makedirs(out_dir, exist_ok=True)
    dst = osp.join(out_dir, name)
    shutil.copyfile(src, dst)
    return dst
