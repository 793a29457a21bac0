# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Baseline-vs-GC comparison of two runs, beside the paper's Table 8/9 row
and mmdet's reference number (``configs/paper_results.json``)."""

import glob
import json
import os
import os.path as osp
from typing import Dict, List, Optional

from .run_logs import last_evaluation, read_scalars, train_records, val_records
from .visualize import pyplot

__all__ = [
    'load_results_table',
    'guess_row',
    'run_metrics',
    'comparison',
    'to_markdown',
    'plot_runs',
]

# the package's configs: a link to configs/ in a checkout, copies in a wheel
RESULTS_FILE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'configs', 'paper_results.json'
)
TASKS = ('bbox', 'segm')
COLS = ('AP', 'AP50', 'AP75')
_METRIC = {'AP': 'mAP', 'AP50': 'mAP_50', 'AP75': 'mAP_75'}


def load_results_table(path: str = RESULTS_FILE) -> Dict[str, dict]:
    with open(path) as f:
        return json.load(f)['rows']


def guess_row(work_dir: str, rows: Dict[str, dict]) -> Optional[str]:
    """The paper row whose baseline or GC config mmengine dumped in
    ``work_dir`` (``WORK_DIR/<config name>.py``)."""
    dumped = {osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.py'))}
    for name, row in rows.items():
        if {osp.basename(row['baseline_config']), osp.basename(row['gc_config'])} & dumped:
            return name
    return None


def run_metrics(work_dir: str) -> Dict[str, Dict[str, float]]:
    """The last evaluation of a run as ``{task: {AP, AP50, AP75}}`` in %."""
    last = last_evaluation(work_dir)
    out = {}
    for task in TASKS:
        if f'coco/{task}_mAP' in last:
            out[task] = {c: 100.0 * last[f'coco/{task}_{_METRIC[c]}'] for c in COLS}
    return out


def _delta(a: dict, b: dict) -> dict:
    return {t: {c: b[t][c] - a[t][c] for c in COLS} for t in a if t in b}


#: What tools/compare_gc.py writes into its --out folder; compare.json (an
#: object with these keys) marks the folder as an earlier comparison's.
OUTPUT_FILES = ('compare.md', 'compare.json', 'loss.png', 'ap.png', 'grad_norm.png')
OWNER_KEYS = ('ours', 'row')


def comparison(
    baseline_dir: str,
    gc_dir: str,
    row: Optional[str] = None,
    rows: Optional[Dict[str, dict]] = None,
) -> dict:
    """Everything the report shows, as a JSON-serialisable dict."""
    rows = load_results_table() if rows is None else rows
    row = row or guess_row(gc_dir, rows) or guess_row(baseline_dir, rows)
    if row is not None and row not in rows:
        raise KeyError(f'--row {row!r}: unknown; one of {sorted(rows)}')
    ours = dict(baseline=run_metrics(baseline_dir), gc=run_metrics(gc_dir))
    ours['delta'] = _delta(ours['baseline'], ours['gc'])
    out = dict(row=row, baseline_dir=baseline_dir, gc_dir=gc_dir, ours=ours)
    if row is not None:
        paper = rows[row]['paper']
        out['paper'] = dict(
            baseline=paper['baseline'], gc=paper['gc'], delta=_delta(paper['baseline'], paper['gc'])
        )
        out['mmdet_baseline'] = rows[row].get('mmdet_baseline')
        out['title'] = (
            f'Table {rows[row]["table"]}: {rows[row]["model"]} '
            f'{rows[row]["backbone"]} ({rows[row]["schedule"]})'
        )
    return out


def _cells(result: Optional[dict], tasks: List[str], signed: bool = False) -> List[str]:
    cells = []
    for t in tasks:
        for c in COLS:
            v = (result or {}).get(t, {}).get(c)
            cells.append('-' if v is None else (f'{v:+.1f}' if signed else f'{v:.1f}'))
    return cells


def to_markdown(cmp: dict) -> str:
    """The Table 8/9-style row(s) as a Markdown table."""
    tasks = [t for t in TASKS if t in cmp['ours']['gc']]
    names = {'bbox': 'box', 'segm': 'mask'}
    header = ['', *[f'{names[t]} {c}' for t in tasks for c in COLS]]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]

    def add(label, result, signed=False):
        lines.append('| ' + ' | '.join([label, *_cells(result, tasks, signed)]) + ' |')

    if 'paper' in cmp:
        add('paper: baseline', cmp['paper']['baseline'])
        add('paper: GC', cmp['paper']['gc'])
        add('paper: Δ', cmp['paper']['delta'], True)
        mm = cmp.get('mmdet_baseline')
        if mm:
            ref = {t: {'AP': mm.get(f'{t}_mAP')} for t in tasks if mm.get(f'{t}_mAP') is not None}
            add('mmdet baseline (metafile)', ref)
    add('ours: baseline', cmp['ours']['baseline'])
    add('ours: GC', cmp['ours']['gc'])
    add('ours: Δ', cmp['ours']['delta'], True)
    title = cmp.get('title', 'baseline vs GC')
    return f'### {title}\n\n' + '\n'.join(lines) + '\n'


def _series(records: List[dict], key: str, x: str = 'step'):
    pts = [(r[x], r[key]) for r in records if key in r and x in r]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_runs(baseline_dir: str, gc_dir: str, out_dir: str) -> List[str]:
    """loss.png, ap.png and (when GCStatsHook ran) grad_norm.png."""

    plt = pyplot()

    runs = {'baseline': read_scalars(baseline_dir), 'GC': read_scalars(gc_dir)}
    os.makedirs(out_dir, exist_ok=True)
    written = []

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, recs in runs.items():
        ax.plot(*_series(train_records(recs), 'loss', 'iter'), label=name)
    ax.set(xlabel='iteration', ylabel='training loss', title='Loss')
    ax.legend()
    written.append(osp.join(out_dir, 'loss.png'))
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, recs in runs.items():
        for task, style in (('bbox', '-o'), ('segm', '--s')):
            xs, ys = _series(val_records(recs), f'coco/{task}_mAP')
            if xs:
                ax.plot(xs, ys, style, label=f'{name} {task}')
    ax.set(xlabel='evaluation (epoch)', ylabel='COCO AP', title='AP per evaluation')
    ax.legend()
    written.append(osp.join(out_dir, 'ap.png'))
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)

    key = 'train/gc/grad_norm_before'
    if any(key in r for recs in runs.values() for r in recs):
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, recs in runs.items():
            for which, style in (('before', '-'), ('after', '--')):
                xs, ys = _series(recs, f'train/gc/grad_norm_{which}')
                if xs:
                    ax.plot(xs, ys, style, label=f'{name}: {which} GC')
        ax.set(
            xlabel='iteration',
            ylabel='gradient L2 norm (conv + fc weights)',
            title='Gradient norm before / after Φ_GC',
        )
        ax.legend()
        written.append(osp.join(out_dir, 'grad_norm.png'))
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    return written
