# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The tables of the benchmarks in ``benchmarks/``, from their results: what
each benchmark prints, and what ``tools/render_docs.py`` renders into
docs/benchmarks.md and docs/evaluation.md from ``docs/results/*.json``.

Example:
    >>> print(eval_backends_table(load_results('docs/results', 'coco_eval_backends')))
    | IoU type | pycocotools (s) | faster-coco-eval (s) | speed-up | max abs diff, 12 stats |
    ...
"""

from typing import Mapping

__all__ = [
    'gc_overhead_table',
    'data_check_table',
    'data_check_estimate',
    'eval_backends_table',
    'on_machine',
]

#: the models of benchmarks/gc_overhead.py
MODEL_LABELS = {'r50': 'Mask R-CNN R50-FPN', 'x101': 'Mask R-CNN X101-64x4d-FPN'}
#: the cost goals docs/benchmarks.md states
GOALS = dict(gc_pass=2.0, step=1.3, iteration=1.01)


def on_machine(res: Mapping) -> str:
    """Where and when a published run was measured."""
    m = res['machine']
    return (
        f'on one {m["cores"]}-core {m["cpu"]} machine (torch {m["torch"]}, '
        f'{m["torch_threads"]} threads), commit {res["commit"]}, {res["date"]}'
    )


def _iqr(r: Mapping) -> str:
    return f'{r["median"]:.2f} [{r["q1"]:.2f}, {r["q3"]:.2f}]'


def _met(ok: bool) -> str:
    return 'met' if ok else '**not met**'


def gc_overhead_table(res: Mapping) -> str:
    """benchmarks/gc_overhead.py: GC pass, optimizer step and (when run) a
    whole training iteration, each as ratios measured side by side."""
    lines = [
        '| model | threads | GC pass / memory pass | SGD step with GC / without | '
        'reference SGD_GC / ours |',
        '|---|---|---|---|---|',
    ]
    for r in res['runs']:
        g, step = r['gc_pass'], r['step']
        model = (
            f'{MODEL_LABELS.get(r["model"], r["model"])} ({g["tensors"]} GC tensors, '
            f'{g["numel"] / 1e6:.1f}M parameters)'
        )
        lines.append(
            f'| {model} | {r["threads"]} | {_iqr(g["ratio"])} | '
            f'{_iqr(step["with_over_without"])} | {_iqr(step["reference_over_ours"])} |'
        )
    worst_pass = max(r['gc_pass']['ratio']['median'] for r in res['runs'])
    worst_step = max(r['step']['with_over_without']['median'] for r in res['runs'])
    ref_gain = [r['step']['reference_over_ours']['median'] for r in res['runs']]
    spread = (
        f'{min(ref_gain):.2f}'
        if round(min(ref_gain), 2) == round(max(ref_gain), 2)
        else f'{min(ref_gain):.2f} to {max(ref_gain):.2f}'
    )
    goals = [
        f'GC pass <= {GOALS["gc_pass"]:g} memory passes ({_met(worst_pass <= GOALS["gc_pass"])})',
        f'step with / without <= {GOALS["step"]:g} ({_met(worst_step <= GOALS["step"])})',
        "ours faster than the reference's per-parameter loop "
        f'({_met(min(ref_gain) > 1)}: reference / ours {spread})',
    ]
    lines.append('')
    it = res.get('iteration')
    if it:
        ratio = it['overhead']['median']
        lines += [
            f'Whole training iteration (Mask R-CNN R50-FPN, 2 synthetic 256-px images, '
            f'{res["machine"]["torch_threads"]} threads, {it["iters"]} interleaved iterations '
            f'each): without GC {it["plain_s"]:.2f} s, with GC {it["gc_s"]:.2f} s, ratio '
            f'{_iqr(it["overhead"])}.',
            '',
        ]
        goals.append(
            f'whole-iteration overhead <= {GOALS["iteration"] - 1:.0%} '
            f'({_met(ratio <= GOALS["iteration"])})'
        )
    lines += [
        'Goals: ' + ', '.join(goals) + '.',
        '',
        f'Median [interquartile range] of the per-repetition ratios of {res["repeats"]} '
        f'interleaved repetitions, measured {on_machine(res)} '
        '([docs/results/gc_overhead.json](docs/results/gc_overhead.json)).',
    ]
    return '\n'.join(lines)


def data_check_table(res: Mapping) -> str:
    """benchmarks/data_check_cost.py: each step of the data check, and the
    estimate for COCO train2017."""
    sec, per = res['seconds'], res['per']
    lines = [
        f'{res["images"]:,} images, {res["annotations"]:,} annotations:',
        '',
        '| step | seconds | per |',
        '|---|---|---|',
        f'| parse the JSON (mmdet parses it again to train) | {sec["json"]:.2f} | '
        f'{per["json"]:.2f} s per 100k annotations |',
        f'| check the annotations | {sec["annotations"]:.2f} | '
        f'{per["annotations"]:.2f} s per 100k annotations |',
        f'| check the images, first run (header and last bytes of each file) | '
        f'{sec["images, first run"]:.2f} | {per["images, first run"]:.2f} s per 10k images |',
        f'| check the images, second run (size/mtime cache) | {sec["images, cached"]:.2f} | '
        f'{per["images, cached"]:.2f} s per 10k images |',
        '',
        f'Estimate for COCO train2017: **{res["coco_first_s"]:.0f} s** on a first run, '
        f'**{res["coco_cached_s"]:.0f} s** with the cache. Measured {on_machine(res)} '
        '([docs/results/data_check_cost.json](docs/results/data_check_cost.json)).',
    ]
    return '\n'.join(lines)


def data_check_estimate(res: Mapping) -> str:
    """benchmarks/data_check_cost.py's estimate for COCO train2017, as a
    clause of a sentence (docs/own_data.md)."""
    return (
        f'about **{res["coco_first_s"]:.0f} s** on a first run and **{res["coco_cached_s"]:.0f} s** '
        f'when repeated, measured on {res["images"]:,} images and {res["annotations"]:,} '
        f'annotations {on_machine(res)}'
    )


def eval_backends_table(res: Mapping) -> str:
    """benchmarks/coco_eval_backends.py: seconds per backend and IoU type,
    and how far the 12 statistics differ."""
    lines = [
        '| IoU type | pycocotools (s) | faster-coco-eval (s) | speed-up | max abs diff, 12 stats |',
        '|---|---|---|---|---|',
    ]
    for r in res['rows']:
        s = r['seconds']
        lines.append(
            f'| {r["iou_type"]} | {s["pycocotools"]:.2f} | {s["faster"]:.2f} | '
            f'{r["speedup"]:.1f}x | {r["max_abs_diff"]:.1e} |'
        )
    if 'machine' in res:  # published: where and on what
        v = res['versions']
        lines += [
            '',
            f'{res["images"]:,} images, {res["categories"]} categories, {res["annotations"]:,} '
            f'objects ({res["crowd"]} crowd regions), {res["detections"]:,} detections with '
            f'masks; pycocotools {v["pycocotools"]}, faster-coco-eval {v["faster-coco-eval"]}; '
            f'median of {res["repeats"]}, measured {on_machine(res)} '
            '([docs/results/coco_eval_backends.json](docs/results/coco_eval_backends.json)).',
        ]
    return '\n'.join(lines)
