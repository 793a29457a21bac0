# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC against its baseline over several training seeds: mean ± std per arm,
a test of whether the difference exceeds seed-to-seed noise, and AP curves
with a band per arm."""

import math
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Mapping, Sequence

from ..utils.errors import UserError
from .run_logs import TASK_LABELS, ap_by_iteration, last_evaluation
from .visualize import pyplot

__all__ = [
    'final_ap',
    'summarize',
    'verdict',
    'verdict_line',
    'summary_table',
    'to_markdown',
    'plot_bands',
    'OUTPUT_FILES',
    'OWNER_KEYS',
    'run_dir',
    'arms_runs',
    'train_arms',
]

#: What tools/compare_seeds.py writes into its --out folder (beside the runs);
#: summary.json (an object with these keys) marks an earlier comparison's.
OUTPUT_FILES = ('summary.md', 'summary.json', 'ap_bands.png')
OWNER_KEYS = ('arms', 'tests')

# two-sided 95 % quantiles of Student's t, by degrees of freedom (1..30)
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def _t975(df: float) -> float:
    """Student's t quantile for ``floor(df)`` degrees of freedom (rounding
    down is conservative); 1.96 beyond 30."""
    k = int(math.floor(df))
    return _T975[max(k, 1) - 1] if k <= 30 else 1.96


def _mean_std(xs: Sequence[float]):
    n = len(xs)
    mean = sum(xs) / n
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return mean, std


def final_ap(work_dir: str) -> Dict[str, float]:
    """The last evaluation's box and mask AP of a run."""
    last = last_evaluation(work_dir)
    return {t: last[f'coco/{t}_mAP'] for t in TASK_LABELS if f'coco/{t}_mAP' in last}


def verdict(a: Sequence[float], b: Sequence[float]) -> dict:
    """Welch's t-test of ``mean(b) - mean(a)`` (unequal variances, no
    pairing assumed) at the two-sided 5 % level."""
    (ma, sa), (mb, sb) = _mean_std(a), _mean_std(b)
    va, vb = sa**2 / len(a), sb**2 / len(b)
    se = math.sqrt(va + vb)
    delta = mb - ma
    if se == 0:
        return dict(
            delta=delta,
            se=0.0,
            t=math.inf if delta else 0.0,
            df=None,
            t_crit=None,
            significant=delta != 0,
        )
    # Welch-Satterthwaite degrees of freedom
    den = sum(v**2 / (n - 1) for v, n in ((va, len(a)), (vb, len(b))) if n > 1)
    df = (va + vb) ** 2 / den if den else math.inf
    t_crit = _t975(df)
    return dict(
        delta=delta, se=se, t=delta / se, df=df, t_crit=t_crit, significant=abs(delta / se) > t_crit
    )


def summarize(runs: Mapping[str, Mapping[int, str]]) -> dict:
    """Per arm and seed, the final box / mask AP of each run; per arm their
    mean and std; GC minus baseline with Welch's test.

    Args:
        runs: ``{arm: {seed: work_dir}}`` with arms ``'baseline'`` and
            ``'gc'``.
    """
    arms = {}
    for arm, by_seed in runs.items():
        per_seed = {int(s): final_ap(wd) for s, wd in sorted(by_seed.items())}
        stats = {}
        for task in TASK_LABELS:
            vals = [v[task] for v in per_seed.values() if task in v]
            if vals:
                mean, std = _mean_std(vals)
                stats[task] = dict(mean=mean, std=std, n=len(vals))
        arms[arm] = dict(per_seed=per_seed, stats=stats)
    tests = {}
    for task in TASK_LABELS:
        if all(task in arms[a]['stats'] for a in ('baseline', 'gc')):
            tests[task] = verdict(
                [v[task] for v in arms['baseline']['per_seed'].values()],
                [v[task] for v in arms['gc']['per_seed'].values()],
            )
    return dict(arms=arms, tests=tests)


def verdict_line(summary: dict) -> str:
    """One line: whether GC's difference exceeds seed-to-seed noise."""
    parts = []
    for task, t in summary['tests'].items():
        word = 'exceeds' if t['significant'] else 'does not exceed'
        parts.append(
            f'{TASK_LABELS[task]} {t["delta"]:+.3f} {word} seed-to-seed noise '
            f'(Welch t = {t["t"]:.2f}, 95 % threshold {t["t_crit"] or 0:.2f})'
        )
    return 'Verdict, GC minus baseline: ' + '; '.join(parts) + '.'


def summary_table(summary: dict) -> str:
    """The per-arm table (mean ± std and every seed) and the verdict line."""
    arms = summary['arms']
    seeds = sorted({s for a in arms.values() for s in a['per_seed']}, key=int)
    lines = [
        '| arm | box AP (mean ± std) | mask AP (mean ± std) | '
        + ' | '.join(f'seed {s} box / mask' for s in seeds)
        + ' |',
        '|---|---|---|' + '---|' * len(seeds),
    ]
    for arm, name in (('baseline', 'baseline'), ('gc', 'GC')):
        st, ps = arms[arm]['stats'], arms[arm]['per_seed']
        cells = [
            f'{st[t]["mean"]:.3f} ± {st[t]["std"]:.3f}' if t in st else '-' for t in TASK_LABELS
        ]
        cells += [
            ' / '.join(f'{ps[s][t]:.3f}' for t in TASK_LABELS if t in ps[s]) if s in ps else '-'
            for s in seeds
        ]
        lines.append(f'| {name} (n={len(ps)}) | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines + ['', verdict_line(summary)])


def to_markdown(summary: dict, title: str) -> str:
    return f'### {title}\n\n{summary_table(summary)}\n'


def plot_bands(runs: Mapping[str, Mapping[int, str]], out_file: str) -> str:
    """AP against iteration, mean over seeds with a ± std band, per arm;
    box AP left, mask AP right."""
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for arm, colour in (('baseline', 'tab:blue'), ('gc', 'tab:red')):
        curves = [ap_by_iteration(wd) for wd in runs[arm].values()]
        for ax, task in zip(axes, TASK_LABELS):
            series = [c[task] for c in curves if task in c]
            if not series:
                continue
            iters = series[0][0]
            n = min(len(s[0]) for s in series)
            stats = [_mean_std([s[1][i] for s in series]) for i in range(n)]
            mean = [m for m, _ in stats]
            ax.plot(
                iters[:n],
                mean,
                '-o',
                color=colour,
                label=f'{"GC" if arm == "gc" else "baseline"} (n={len(series)})',
            )
            ax.fill_between(
                iters[:n],
                [m - s for m, s in stats],
                [m + s for m, s in stats],
                color=colour,
                alpha=0.2,
            )
    for ax, task in zip(axes, TASK_LABELS):
        ax.set(xlabel='training iteration', title=f'{TASK_LABELS[task]}: mean ± std over seeds')
        ax.grid(alpha=0.3)
        ax.legend(loc='lower right')
    axes[0].set_ylabel('COCO AP')
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file


def run_dir(out_dir: str, arm: str, seed: int) -> str:
    """Where tools/compare_seeds.py trains ``arm`` with ``seed``."""
    return osp.join(out_dir, f'{arm}_seed{seed}')


def arms_runs(out_dir: str, seeds: List[int]) -> Dict[str, Dict[int, str]]:
    return {arm: {s: run_dir(out_dir, arm, s) for s in seeds} for arm in ('baseline', 'gc')}


def _finished(work_dir: str) -> bool:
    return osp.isfile(osp.join(work_dir, 'metrics.json'))


def train_arms(
    runs: Mapping[str, Mapping[int, str]],
    configs: Mapping[str, str],
    seeds: Sequence[int],
    cfg_options: Sequence[str] = (),
) -> None:
    """Train every arm once per seed with tools/train.py, alternating arms
    so that a partial comparison compares like with like; a finished run
    (``metrics.json`` in its work dir) is kept."""
    train_py = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools', 'train.py'
    )
    for seed in seeds:
        for arm in ('baseline', 'gc'):
            wd = runs[arm][seed]
            if _finished(wd):
                print(f'[compare] {arm} seed {seed}: finished earlier, kept ({wd})', flush=True)
                continue
            cmd = [sys.executable, train_py, configs[arm], '--work-dir', wd, '--cfg-options']
            cmd += [f'randomness.seed={seed}', *cfg_options]
            print(f'[compare] {arm} seed {seed}: training into {wd}', flush=True)
            start = time.time()
            # the run's own log is in its work dir; keep stderr for the error line
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or [''])[-1]
                raise UserError(
                    f'{arm} seed {seed} failed (exit {proc.returncode}): {last} (log in {wd})'
                )
            print(f'[compare] {arm} seed {seed}: done in {time.time() - start:.0f} s', flush=True)
