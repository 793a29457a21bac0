# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC against its baseline over several training seeds: mean ± std per arm,
GC minus baseline with its confidence interval by the test the design calls
for (paired over common seeds, Welch's otherwise; scipy.stats), and AP
curves with a band per arm.

The command of an installed package (tools/compare_seeds.py of a checkout
adds ``--publish``)::

    python -m gc_mmdet.cli.compare_seeds --baseline MY_BASELINE.py --gc MY_GC.py \
        --seeds 0 1 2 --out work_dirs/compare
"""

import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import numpy as np
from scipy import stats

from ..utils.errors import UserError
from ..utils.work_dir import check_output_files
from .common import run_cli
from .config import read_config
from .eval_bootstrap import bootstrap_ap, bootstrap_bands
from .run_logs import TASK_LABELS, ap_by_iteration, last_checkpoint, last_evaluation
from .visualize import pyplot

__all__ = [
    'final_ap',
    'summarize',
    'arm_tests',
    'paired_test',
    'welch_test',
    'verdict',
    'seed_band',
    'band_line',
    'verdict_line',
    'summary_table',
    'to_markdown',
    'plot_bands',
    'OUTPUT_FILES',
    'OWNER_KEYS',
    'run_dir',
    'arms_runs',
    'train_arms',
    'predict_runs',
    'dets_prefix',
    'bootstrap_line',
    'tool_command',
]

#: What tools/compare_seeds.py writes into its --out folder (beside the runs);
#: summary.json (an object with these keys) marks an earlier comparison's.
OUTPUT_FILES = ('summary.md', 'summary.json', 'ap_bands.png')
OWNER_KEYS = ('arms', 'tests')


def _mean_std(xs: Sequence[float]):
    arr = np.asarray(xs, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def final_ap(work_dir: str) -> Dict[str, float]:
    """The last evaluation's box and mask AP of a run."""
    last = last_evaluation(work_dir)
    return {t: last[f'coco/{t}_mAP'] for t in TASK_LABELS if f'coco/{t}_mAP' in last}


def _ci(delta: float, se: float, df: float, level: float) -> List[float]:
    """``delta ± t_q * se``, ``t_q`` Student's two-sided ``level`` quantile."""
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se if se else 0.0
    return [delta - half, delta + half]


def paired_test(
    baseline: Mapping[int, float], gc: Mapping[int, float], level: float = 0.95
) -> dict:
    """GC minus baseline over the seeds both arms ran: each seed's runs share
    their initial weights, data order and augmentation, so the test is on the
    per-seed differences (Student's paired t-test, ``scipy.stats.ttest_rel``).

    Returns:
        dict: ``test`` ('paired t'), ``seeds``, ``diffs``, ``delta`` (their
        mean), ``ci`` (its two-sided ``level`` confidence interval), ``t``,
        ``df``, ``p``, ``wins`` (seeds where GC is ahead), ``n`` and
        ``significant`` (``p < 1 - level``).
    """
    seeds = sorted(s for s in gc if s in baseline)
    if len(seeds) < 2:
        raise ValueError(f'a paired test needs 2 or more common seeds, got {seeds}')
    b = np.array([baseline[s] for s in seeds], dtype=float)
    g = np.array([gc[s] for s in seeds], dtype=float)
    diffs = g - b
    n = len(seeds)
    sem = float(diffs.std(ddof=1)) / np.sqrt(n)
    if sem == 0:
        t, p = (math.inf if diffs.mean() else 0.0), (0.0 if diffs.mean() else 1.0)
    else:
        res = stats.ttest_rel(g, b)
        t, p = float(res.statistic), float(res.pvalue)
    return dict(
        test='paired t',
        seeds=seeds,
        diffs=diffs.tolist(),
        delta=float(diffs.mean()),
        ci=_ci(float(diffs.mean()), sem, n - 1, level),
        t=t,
        df=n - 1,
        p=p,
        wins=int((diffs > 0).sum()),
        n=n,
        level=level,
        significant=bool(p < 1 - level),
    )


def welch_test(baseline: Sequence[float], gc: Sequence[float], level: float = 0.95) -> dict:
    """``mean(gc) - mean(baseline)`` for arms trained with different seeds:
    Welch's unequal-variance t-test (``scipy.stats.ttest_ind(...,
    equal_var=False)``), its Welch-Satterthwaite degrees of freedom and the
    confidence interval of the difference at those degrees of freedom."""
    b, g = np.asarray(baseline, dtype=float), np.asarray(gc, dtype=float)
    vb, vg = b.var(ddof=1) / len(b), g.var(ddof=1) / len(g)
    se = float(np.sqrt(vb + vg))
    delta = float(g.mean() - b.mean())
    if se == 0:
        t, p, df = (math.inf if delta else 0.0), (0.0 if delta else 1.0), math.inf
    else:
        res = stats.ttest_ind(g, b, equal_var=False)
        t, p = float(res.statistic), float(res.pvalue)
        df = float((vb + vg) ** 2 / (vb**2 / (len(b) - 1) + vg**2 / (len(g) - 1)))
    return dict(
        test='Welch t',
        delta=delta,
        ci=_ci(delta, se, df, level),
        t=t,
        df=df,
        p=p,
        n=[len(b), len(g)],
        level=level,
        significant=bool(p < 1 - level),
    )


def verdict(baseline: Mapping[int, float], gc: Mapping[int, float], level: float = 0.95) -> dict:
    """The test the design calls for: paired when both arms ran the same
    seeds, Welch's otherwise."""
    if set(baseline) == set(gc) and len(gc) >= 2:
        return paired_test(baseline, gc, level)
    return welch_test(list(baseline.values()), list(gc.values()), level)


def summarize(runs: Mapping[str, Mapping[int, str]]) -> dict:
    """Per arm and seed, the final box / mask AP of each run; per arm their
    mean and std; GC minus baseline by :func:`arm_tests`.

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
    return dict(arms=arms, tests=arm_tests(arms))


def arm_tests(arms: Mapping) -> Dict[str, dict]:
    """GC minus baseline per task (:func:`verdict`) from each arm's
    ``per_seed`` AP, as :func:`summarize` stores them (also read back from a
    results file, whose seeds are strings)."""
    tests = {}
    for task in TASK_LABELS:
        by_arm = [
            {int(s): v[task] for s, v in arms[a]['per_seed'].items() if task in v}
            for a in ('baseline', 'gc')
        ]
        if all(by_arm):
            tests[task] = verdict(*by_arm)
    return tests


def verdict_line(summary: dict) -> str:
    """One line per task: GC minus baseline with its confidence interval,
    the test that gave it, and whether it exceeds seed-to-seed noise."""
    parts = []
    for task, t in summary['tests'].items():
        word = 'exceeds' if t['significant'] else 'does not exceed'
        lo, hi = t['ci']
        if t['test'] == 'paired t':
            how = (
                f'paired t-test over {t["n"]} seeds: t = {t["t"]:.2f}, p = {t["p"]:.3f}; '
                f'GC ahead on {t["wins"]} of {t["n"]}'
            )
        else:
            how = f'Welch t-test: t = {t["t"]:.2f}, df = {t["df"]:.1f}, p = {t["p"]:.3f}'
        parts.append(
            f'{TASK_LABELS[task]} {t["delta"]:+.3f} (95 % CI {lo:+.3f} to {hi:+.3f}; {how}) '
            f'{word} seed-to-seed noise'
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
    lines += ['', verdict_line(summary)]
    if summary.get('bootstrap'):
        lines += ['', bootstrap_line(summary['bootstrap'])]
    return '\n'.join(lines)


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


def tool_command(name: str) -> List[str]:
    """The command line of this package's ``train`` or ``test`` command
    (:mod:`gc_mmdet.cli.train`, :mod:`gc_mmdet.cli.test`) in this Python: what
    :func:`train_arms` and :func:`predict_runs` run, from an installed package
    as from a checkout."""
    if name not in ('train', 'test'):
        raise ValueError(f'no command {name!r}: train or test')
    return [sys.executable, '-m', f'{__package__}.{name}']


def _finished(work_dir: str) -> bool:
    return osp.isfile(osp.join(work_dir, 'metrics.json'))


def _run_tool(cmd: List[str], what: str, work_dir: str) -> None:
    # the run's own log is in its work dir; keep stderr for the error line
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [''])[-1]
        raise UserError(f'{what} failed (exit {proc.returncode}): {last} (log in {work_dir})')


def dets_prefix(work_dir: str) -> str:
    """Where a run's detections on the validation set are: ``PREFIX.bbox.json``
    and ``PREFIX.segm.json`` (mmdet's ``CocoMetric.outfile_prefix``)."""
    return osp.join(work_dir, 'val_dets')


def predict_runs(
    runs: Mapping[str, Mapping[int, str]],
    configs: Mapping[str, str],
    *,
    cfg_options: Sequence[str] = (),
) -> Dict[tuple, Dict[str, list]]:
    """Every run's detections on the validation set, in COCO result format:
    those its last evaluation wrote (:func:`train_arms` asks for them), or
    for a run trained without, its last checkpoint's through the package's
    test command (:func:`tool_command`; kept: a run is never predicted twice).

    Returns:
        dict: ``{(arm, seed): {'bbox': [...], 'segm': [...]}}``.
    """
    dets = {}
    for arm, by_seed in runs.items():
        for seed, wd in by_seed.items():
            prefix = dets_prefix(wd)
            if not osp.isfile(f'{prefix}.bbox.json'):
                out = osp.join(wd, 'val_test')
                cmd = [*tool_command('test'), configs[arm], last_checkpoint(wd)]
                cmd += ['--work-dir', out, '--cfg-options', f'randomness.seed={seed}', *cfg_options]
                cmd += [f'test_evaluator.outfile_prefix={prefix}']
                print(f'[compare] {arm} seed {seed}: detections on the validation set', flush=True)
                _run_tool(cmd, f'{arm} seed {seed}: test', out)
            dets[arm, seed] = {}
            for task in TASK_LABELS:
                if osp.isfile(f'{prefix}.{task}.json'):
                    with open(f'{prefix}.{task}.json') as f:
                        dets[arm, seed][task] = json.load(f)
    return dets


def bootstrap_line(bands: Mapping) -> str:
    """One line: what resampling the validation images alone does to one
    run's AP, to one seed's difference and to the mean difference."""
    parts = []
    for task, b in bands.items():
        text = f'{TASK_LABELS[task]}: one run ±{b["run_half"]:.3f}'
        if b.get('mean_diff'):
            lo, hi = b['mean_diff']
            text += (
                f", one seed's GC − baseline ±{b['seed_diff_half']:.3f}, the mean difference "
                f'over seeds {lo:+.3f} to {hi:+.3f}'
            )
        parts.append(text)
    first = next(iter(bands.values()))
    return (
        f'Evaluation noise, the models fixed ({first["n_boot"]} resamples of the '
        f'{first["n_images"]} validation images, 95 %): ' + '; '.join(parts) + '.'
    )


def train_arms(
    runs: Mapping[str, Mapping[int, str]],
    configs: Mapping[str, str],
    seeds: Sequence[int],
    *,
    cfg_options: Sequence[str] = (),
) -> None:
    """Train every arm once per seed with the package's train command
    (:func:`tool_command`, what tools/train.py runs), alternating arms
    so that a partial comparison compares like with like; a finished run
    (``metrics.json`` in its work dir) is kept. Each evaluation writes its
    detections to :func:`dets_prefix` (a config's ``val_evaluator`` must be
    one metric, as the demo's is)."""
    for seed in seeds:
        for arm in ('baseline', 'gc'):
            wd = runs[arm][seed]
            if _finished(wd):
                print(f'[compare] {arm} seed {seed}: finished earlier, kept ({wd})', flush=True)
                continue
            cmd = [*tool_command('train'), configs[arm], '--work-dir', wd, '--cfg-options']
            cmd += [f'randomness.seed={seed}', *cfg_options]
            # each evaluation writes its detections: the last one's are the run's final
            cmd += [f'val_evaluator.outfile_prefix={dets_prefix(wd)}']
            print(f'[compare] {arm} seed {seed}: training into {wd}', flush=True)
            start = time.time()
            _run_tool(cmd, f'{arm} seed {seed}', wd)
            print(f'[compare] {arm} seed {seed}: done in {time.time() - start:.0f} s', flush=True)


def seed_band(arms: Mapping, arm: str = 'gc') -> Dict[str, tuple]:
    """``{task: (lowest, highest, n)}``: the final AP band of ``arm`` over
    its seeds (``arms`` as :func:`summarize` stores them)."""
    band = {}
    for task in TASK_LABELS:
        vals = [v[task] for v in arms[arm]['per_seed'].values() if task in v]
        if vals:
            band[task] = (min(vals), max(vals), len(vals))
    return band


def band_line(final: Mapping[str, float], compare: Mapping, source: str, machine: Mapping) -> str:
    """Whether a run's final AP (``coco/bbox_mAP`` ...) lies in the GC arm's
    band over seeds of a published comparison; where it does not and the
    comparison ran on other CPU kernels than ``machine`` (this run's
    :func:`~gc_mmdet.utils.machine`), says that this alone can move a
    from-scratch run as much as a seed does."""
    parts, outside = [], False
    for task, (lo, hi, n) in seed_band(compare['arms']).items():
        ap = final.get(f'coco/{task}_mAP')
        if ap is None:
            continue
        inside = lo - 5e-4 <= ap <= hi + 5e-4  # AP is published to 3 decimals
        outside |= not inside
        parts.append(
            f'{TASK_LABELS[task]} {ap:.3f} {"inside" if inside else "OUTSIDE"} {lo:.3f}-{hi:.3f}'
        )
    if not parts:
        return ''
    line = f'this run against the GC arm over {n} seeds ({source}): ' + ', '.join(parts)
    theirs = compare.get('machine', {})
    ours = machine.get('cpu_capability', 'unknown')
    if outside and theirs.get('cpu_capability') != ours:
        line += (
            f'; the comparison ran on {theirs.get("cpu", "another CPU")} '
            f'(kernels {theirs.get("cpu_capability", "not recorded")}), this run on '
            f"{ours}: training from scratch amplifies the kernels' float rounding as much as "
            'a seed does'
        )
    return line


#: the demo pair, as the installed package carries it (``.mim/configs``)
DEMO_CONFIGS = {
    arm: osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'configs', rel)
    for arm, rel in (
        ('baseline', 'synthetic/mask-rcnn_r18-half_fpn_gn-all_demo.py'),
        ('gc', 'synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'),
    )
}


def build_parser(
    baseline: str = DEMO_CONFIGS['baseline'], gc: str = DEMO_CONFIGS['gc']
) -> argparse.ArgumentParser:
    """The flags of the comparison command, with the given default pair."""
    parser = argparse.ArgumentParser(description='GC vs baseline over several seeds')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    parser.add_argument('--out', default='work_dirs/compare_demo')
    parser.add_argument('--baseline', default=baseline, help='baseline config')
    parser.add_argument('--gc', default=gc, help='GC config')
    parser.add_argument(
        '--bootstrap',
        type=int,
        default=200,
        metavar='N',
        help='resamples of the validation images for the evaluation-noise band (0: none)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='passed to every training and testing run',
    )
    return parser


def _evaluation_noise(runs: Mapping, configs: Mapping[str, str], args: Any) -> dict:
    """Every run's detections on the validation set, then the bootstrap of
    their box and mask AP over resampled validation images."""
    dets = predict_runs(runs, configs, cfg_options=args.cfg_options)
    cfg = read_config(args.gc, args.cfg_options)  # as the train and test commands read it
    with open(cfg.test_evaluator.ann_file) as f:
        gt = json.load(f)
    tasks = sorted({t for by in dets.values() for t in by})
    print(
        f'[compare] bootstrap: {args.bootstrap} resamples of {len(gt["images"])} images', flush=True
    )
    samples = bootstrap_ap(gt, dets, tasks, n_boot=args.bootstrap)
    return bootstrap_bands(samples, len(gt['images']))


def compare(args: Any) -> Tuple[dict, Dict[str, Dict[int, str]], str]:
    """Train both arms once per seed into ``args.out`` (a finished run is
    kept), write ``summary.md``, ``summary.json`` and ``ap_bands.png`` there
    and print the table and the verdict.

    Returns:
        tuple: the summary, the runs (``{arm: {seed: work_dir}}``) and the
        band plot's path.
    """
    if len(set(args.seeds)) < 2:
        raise UserError('--seeds: give at least 2 different seeds (3 or more for a useful test)')
    for cfg in (args.baseline, args.gc):
        if not osp.isfile(cfg):
            raise UserError(f'config {cfg}: no such file')
    check_output_files(args.out, OUTPUT_FILES, 'summary.json', OWNER_KEYS)
    runs = arms_runs(args.out, args.seeds)
    configs = {'baseline': args.baseline, 'gc': args.gc}
    train_arms(runs, configs, args.seeds, cfg_options=args.cfg_options)

    summary = summarize(runs)
    summary.update(seeds=args.seeds, configs=configs)
    if args.bootstrap:
        summary['bootstrap'] = _evaluation_noise(runs, configs, args)
    md = to_markdown(summary, f'GC vs baseline, {len(args.seeds)} seeds ({osp.basename(args.gc)})')
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'summary.md'), 'w') as f:
        f.write(md)
    with open(osp.join(args.out, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    plot = plot_bands(runs, osp.join(args.out, 'ap_bands.png'))
    print(md)
    print(
        f'written: {osp.join(args.out, "summary.md")}, {osp.join(args.out, "summary.json")}, {plot}'
    )
    return summary, runs, plot


def main(argv: Sequence[str] = None) -> None:
    """``python -m gc_mmdet.cli.compare_seeds [flags]``."""
    compare(build_parser().parse_args(argv))


if __name__ == '__main__':
    run_cli(main)
