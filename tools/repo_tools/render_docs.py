# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Render every figure block of README and docs from the committed results
files, so that no figure is typed by hand (``tools/render_docs.py``).

A block is the text between ``<!-- results:NAME -->`` and
``<!-- /results -->``; :data:`BLOCKS` says what each name renders and from
which results file (:data:`SOURCES`: the few that live elsewhere than
``docs/results/``). A block whose opening marker ends its line holds lines;
one followed by text on the same line is a figure inside a sentence, and
renders to one line.

Example:
    >>> stale_blocks('.')   # [] when every block is what its results give
    []
"""

import glob
import json
import os.path as osp
import re
from typing import Callable, Dict, List, Mapping, Tuple

from gc_mmdet.cli.compare_seeds import arm_tests, seed_band, summary_table
from gc_mmdet.cli.run_logs import TASK_LABELS
from gc_mmdet.utils import UserError

from .benchmark_tables import (
    data_check_estimate,
    data_check_table,
    eval_backends_table,
    gc_overhead_table,
    on_machine,
)
from .results import RESULTS_DIR

__all__ = [
    'BLOCKS',
    'SOURCES',
    'doc_files',
    'paper_gain',
    'render_text',
    'render_docs',
    'stale_blocks',
]

_BLOCK = re.compile(
    r'(?P<open><!-- results:(?P<name>[\w-]+) -->(?P<nl>\n?))(?P<body>.*?)(?P<close><!-- /results -->)',
    re.S,
)


def _duration(seconds: float) -> str:
    minutes, sec = divmod(int(round(seconds)), 60)
    return f'{minutes} min {sec} s' if minutes else f'{sec} s'


def _run_time(timing: Mapping) -> str:
    parts = [f'{timing["iterations"]:,} iterations']
    if timing.get('median_iter_s'):
        parts.append(f'a median {timing["median_iter_s"]:.2f} s each')
    if timing.get('wall_s'):
        parts.append(f'{_duration(timing["wall_s"])} from start to the last checkpoint')
    return ', '.join(parts)


def demo_table(res: Mapping) -> str:
    """The demo's last evaluation, box and mask AP, and how it was run."""
    final = res['final']
    lines = ['| task | AP | AP50 | AP75 |', '|---|---|---|---|']
    for task in TASK_LABELS:
        if f'coco/{task}_mAP' in final:
            ap, ap50, ap75 = (final[f'coco/{task}_{c}'] for c in ('mAP', 'mAP_50', 'mAP_75'))
            lines.append(f'| {task} | **{ap:.3f}** | {ap50:.3f} | {ap75:.3f} |')
    lines += [
        '',
        f'Seed {res["seed"]}; {_run_time(res["timing"])}, {on_machine(res)} '
        f'([docs/results/demo.json](docs/results/demo.json)).',
    ]
    return '\n'.join(lines)


def demo_curve(res: Mapping) -> str:
    """The demo's AP at every evaluation."""
    lines = []
    for task, points in res['curve'].items():
        at = ', '.join(f'{ap:.3f} ({it})' for it, ap in points)
        lines.append(f'- {TASK_LABELS[task]} (after iteration): {at}')
    lines += ['', f'Run: seed {res["seed"]}; {_run_time(res["timing"])}, {on_machine(res)}.']
    return '\n'.join(lines)


def compare_table(res: Mapping) -> str:
    """GC against its baseline over seeds: the table, the verdict (computed
    from the per-seed AP the file holds, by :func:`compare_seeds.arm_tests`),
    and how the runs were made."""
    its = sorted(
        r['timing']['median_iter_s']
        for by in res['runs'].values()
        for r in by.values()
        if r['timing'].get('median_iter_s')
    )
    total = f', a median {its[len(its) // 2]:.2f} s an iteration' if its else ''
    walls = [r['timing']['wall_s'] for by in res['runs'].values() for r in by.values()]
    walls = sorted(w for w in walls if w)
    cost = (
        f' At its median run time ({walls[len(walls) // 2] / 60:.0f} min), the default 5 seeds '
        f'(10 runs) of `make compare` take about {10 * walls[len(walls) // 2] / 3600:.1f} h there.'
        if walls
        else ''
    )
    band = '; '.join(
        f'{TASK_LABELS[t]} {lo:.3f} to {hi:.3f}'
        for t, (lo, hi, _) in seed_band(res['arms']).items()
    )
    return '\n'.join(
        [
            summary_table(dict(res, tests=arm_tests(res['arms']))),
            '',
            f"The GC arm over its {len(res['arms']['gc']['per_seed'])} seeds, the demo's seed 0 "
            f'included: {band}. A demo run on another machine (other CPU kernels) or seed is '
            'expected in this band rather than at the seed-0 figure; `make demo` says where its run '
            'falls.',
            '',
            f'{len(res["runs"]["gc"]) * len(res["runs"])} runs one after another{total}, '
            f'{on_machine(res)} '
            f'([docs/results/compare_demo.json](docs/results/compare_demo.json)).{cost}',
        ]
    )


def paper_gain(res: Mapping) -> str:
    """What GC adds in the paper's Tables 8 and 9 (``configs/paper_results.json``):
    the range of GC minus baseline AP over the rows, per task."""
    gains: Dict[str, List[float]] = {}
    for row in res['rows'].values():
        paper = row['paper']
        for task, ap in paper['gc'].items():
            gains.setdefault(task, []).append(round(ap['AP'] - paper['baseline'][task]['AP'], 1))
    return ' and '.join(
        f'{min(gains[t]):+.1f} to {max(gains[t]):+.1f} {label}'
        for t, label in TASK_LABELS.items()
        if t in gains
    )


#: what each recorded test session is (tests/helpers/timing.py names them)
PHASES = {
    '.venv: all': '`make test`: the whole suite',
    '.venv-oldest: not slow': '`make test`: the fast tests on the oldest stack',
    '.venv: not slow': '`make test-fast`',
}


def suite_times(res: Mapping) -> str:
    """How long the test sessions took, and their slowest tests."""
    lines = ['| session | passed | skipped | failed | wall time |', '|---|---|---|---|---|']
    phases = res['phases']
    for name in sorted(phases, key=lambda n: list(PHASES).index(n) if n in PHASES else 99):
        p, c = phases[name], phases[name]['counts']
        lines.append(
            f'| {PHASES.get(name, name)} | {c["passed"]} | {c["skipped"]} | '
            f'{c["failed"] + c["error"]} | {_duration(p["wall_s"])} |'
        )
    first = phases[next(iter(sorted(phases)))]
    m = first['machine']
    workers = first.get('workers', 1)
    lines += [
        '',
        f'Measured on one {m["cores"]}-core {m["cpu"]} machine'
        + (f' in {workers} pytest-xdist workers' if workers > 1 else '')
        + f', {first["date"]} '
        '([docs/results/test_times.json](docs/results/test_times.json)). The slowest tests of '
        'the whole suite (fixture setup included):',
        '',
    ]
    whole = phases.get('.venv: all', first)
    lines += [f'- `{nodeid}`: {_duration(s)}' for nodeid, s in whole['slowest']]
    return '\n'.join(lines)


#: block name -> (results file name, renderer)
BLOCKS: Dict[str, Tuple[str, Callable[[Mapping], str]]] = {
    'demo-table': ('demo', demo_table),
    'demo-curve': ('demo', demo_curve),
    'compare-table': ('compare_demo', compare_table),
    'test-times': ('test_times', suite_times),
    'gc-overhead': ('gc_overhead', gc_overhead_table),
    'data-check-cost': ('data_check_cost', data_check_table),
    'eval-backends': ('coco_eval_backends', eval_backends_table),
    'data-check-estimate': ('data_check_cost', data_check_estimate),
    'paper-gain': ('paper_results', paper_gain),
}

#: sources that are not in the results folder: name -> path from the root
SOURCES = {'paper_results': osp.join('configs', 'paper_results.json')}


_WRITER = {
    'demo': 'make demo-publish writes it',
    'compare_demo': 'make compare writes it',
    'test_times': 'GC_MMDET_TEST_TIMES=docs/results/test_times.json make test writes it',
    'gc_overhead': 'PYTHONPATH=tests:tools python benchmarks/gc_overhead.py --publish docs/results writes it',
    'data_check_cost': 'PYTHONPATH=tests:tools python benchmarks/data_check_cost.py --publish docs/results writes it',
    'coco_eval_backends': 'PYTHONPATH=tests:tools python benchmarks/coco_eval_backends.py --publish docs/results writes it',
    'paper_results': "it is the repository's (the paper's Tables 8 and 9)",
}


def source_file(source: str, root: str, results_dir: str) -> str:
    """The file a block's ``source`` is read from."""
    if source in SOURCES:
        return osp.join(root, SOURCES[source])
    return osp.join(results_dir, f'{source}.json')


def doc_files(root: str) -> List[str]:
    """README.md and every page of docs/."""
    return [osp.join(root, 'README.md')] + sorted(glob.glob(osp.join(root, 'docs', '*.md')))


def _links_from(path: str, root: str, body: str) -> str:
    """Results links are written from the root; make them relative to the
    page (docs/x.md links to results/...)."""
    if osp.dirname(osp.relpath(path, root)) == 'docs':
        return body.replace('](docs/', '](')
    return body


def render_text(text: str, path: str, root: str, results_dir: str) -> str:
    """``text`` with every block rendered from the files in ``results_dir``."""
    cache: Dict[str, Mapping] = {}

    def fill(m: re.Match) -> str:
        name = m.group('name')
        if name not in BLOCKS:
            raise UserError(
                f'{path}: unknown results block {name!r}; one of {", ".join(sorted(BLOCKS))}'
            )
        source, render = BLOCKS[name]
        if source not in cache:
            file = source_file(source, root, results_dir)
            try:
                with open(file) as f:
                    cache[source] = json.load(f)
            except FileNotFoundError:
                raise UserError(f'{path}: block {name!r} needs {file}; {_WRITER[source]}') from None
        body = _links_from(path, root, render(cache[source]))
        if not m.group('nl'):  # a figure inside a sentence
            if '\n' in body:
                raise UserError(
                    f'{path}: block {name!r} renders several lines; put its opening '
                    'marker on a line of its own'
                )
            return f'{m.group("open")}{body}{m.group("close")}'
        return f'{m.group("open")}{body}\n{m.group("close")}'

    return _BLOCK.sub(fill, text)


def _rendered(root: str, results_dir: str):
    for path in doc_files(root):
        with open(path) as f:
            text = f.read()
        yield path, text, render_text(text, path, root, results_dir)


def render_docs(root: str = '.', results_dir: str = '') -> List[str]:
    """Rewrite the blocks of every page that differ; return those pages."""
    changed = []
    for path, text, new in _rendered(root, results_dir or osp.join(root, RESULTS_DIR)):
        if new != text:
            with open(path, 'w') as f:
                f.write(new)
            changed.append(path)
    return changed


def stale_blocks(root: str = '.', results_dir: str = '') -> List[str]:
    """One line per block that differs from what its results render."""
    problems = []
    results = results_dir or osp.join(root, RESULTS_DIR)
    for path, text, new in _rendered(root, results):
        for m_old, m_new in zip(_BLOCK.finditer(text), _BLOCK.finditer(new)):
            if m_old.group('body') != m_new.group('body'):
                source = source_file(BLOCKS[m_old.group('name')][0], root, results)
                problems.append(
                    f'{osp.relpath(path, root)}: block {m_old.group("name")!r} differs from '
                    f'{osp.relpath(source, root)}; run python tools/render_docs.py'
                )
    return problems
