#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""COCO evaluation time, pycocotools versus faster-coco-eval, on the same data
in one process.

    PYTHONPATH=tests:tools python benchmarks/coco_eval_backends.py [--images 2000] [--dets-per-image 100]
        [--min-size 320] [--max-size 640] [--categories 80] [--max-objects 14]
        [--repeats 1] [--seed 0] [--json out.json]

The data: synthetic ground truth with crowd regions, COCO-like in its number
of categories and objects per image, and detections synthesized from it (``tests/helpers/synthetic_detections.py``),
filled up to ``--dets-per-image`` as a detector's ``max_per_img`` does, each
with a box and a mask. For each IoU type (bbox, segm) and backend
(:func:`gc_mmdet.evaluation.coco_api`, the classes ``BackendCocoMetric``
evaluates with) it times what mmdet's CocoMetric does after writing the
results: ``loadRes`` of the detections (without their boxes for segm, as
mmdet), then ``evaluate``, ``accumulate`` and ``summarize`` with mmdet's
parameters (``maxDets=[100, 300, 1000]``). The ground truth is loaded anew,
untimed, before every run: pycocotools converts its polygons to RLE in place
during the first evaluation. Backends alternate within each repetition; the
median is reported.

Prints a Markdown table (seconds, speed-up, and the largest difference
between the backends' 12 statistics); ``--json`` writes the numbers.
"""

import argparse
import contextlib
import copy
import io
import json
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import Dict, List

import numpy as np

from gc_mmdet.cli.common import run_cli
from repo_tools.benchmark_tables import eval_backends_table
from repo_tools.results import add_publish_arg, check_publish, publish_benchmark

IOU_TYPES = ('bbox', 'segm')
MAX_DETS = [100, 300, 1000]  # mmdet's CocoMetric proposal_nums


def evaluate_once(backend: str, gt_file: str, dets: List[dict], iou_type: str) -> dict:
    """One timed evaluation; returns ``seconds`` and the 12 ``stats``."""
    from gc_mmdet.evaluation import coco_api

    COCO, COCOeval = coco_api(backend)  # noqa: N806
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_file)
        cat_ids = gt.get_cat_ids()
        img_ids = gt.get_img_ids()
        dets = copy.deepcopy(dets)
        if iou_type == 'segm':  # as mmdet: mask area, not box area
            for d in dets:
                d.pop('bbox')
        start = time.perf_counter()
        ev = COCOeval(gt, gt.loadRes(dets), iou_type)
        ev.params.catIds, ev.params.imgIds, ev.params.maxDets = cat_ids, img_ids, MAX_DETS
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        seconds = time.perf_counter() - start
    return dict(seconds=seconds, stats=np.asarray(ev.stats, dtype=np.float64))


def run(
    images: int,
    dets_per_image: int,
    min_size: int,
    max_size: int,
    categories: int,
    max_objects: int,
    repeats: int,
    seed: int,
    backends=('pycocotools', 'faster'),
) -> dict:
    from helpers.synthetic_detections import jitter_detections, synthetic_coco_gt

    t = time.perf_counter()
    gt = synthetic_coco_gt(
        images,
        min_size=min_size,
        max_size=max_size,
        seed=seed,
        max_objects=max_objects,
        num_categories=categories,
    )
    dets = jitter_detections(gt, seed=seed, dets_per_image=dets_per_image)
    made_s = time.perf_counter() - t
    results = dict(
        images=images,
        categories=categories,
        annotations=len(gt['annotations']),
        crowd=sum(a['iscrowd'] for a in gt['annotations']),
        detections=len(dets),
        data_seconds=made_s,
        rows=[],
    )
    with tempfile.TemporaryDirectory() as tmp:
        gt_file = osp.join(tmp, 'gt.json')
        with open(gt_file, 'w') as f:
            json.dump(gt, f)
        del gt
        for iou_type in IOU_TYPES:
            times: Dict[str, List[float]] = {b: [] for b in backends}
            stats: Dict[str, np.ndarray] = {}
            for _ in range(repeats):
                for backend in backends:
                    r = evaluate_once(backend, gt_file, dets, iou_type)
                    times[backend].append(r['seconds'])
                    stats[backend] = r['stats']
            ref, fast = backends
            results['rows'].append(
                dict(
                    iou_type=iou_type,
                    seconds={b: statistics.median(ts) for b, ts in times.items()},
                    all_seconds=times,
                    speedup=statistics.median(times[ref]) / statistics.median(times[fast]),
                    max_abs_diff=float(np.abs(stats[ref] - stats[fast]).max()),
                    stats={b: s.tolist() for b, s in stats.items()},
                )
            )
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=2000)
    parser.add_argument(
        '--dets-per-image',
        type=int,
        default=100,
        help='detections per image, as a detector keeps (max_per_img)',
    )
    parser.add_argument('--min-size', type=int, default=320, help='smallest image side')
    parser.add_argument('--max-size', type=int, default=640, help='largest image side')
    parser.add_argument('--categories', type=int, default=80, help='as COCO')
    parser.add_argument(
        '--max-objects',
        type=int,
        default=14,
        help='objects per image: 0 to this (COCO: 7.3 on average)',
    )
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='write the results here')
    add_publish_arg(parser, 'coco_eval_backends')
    args = parser.parse_args(argv)
    check_publish(args.publish, 'coco_eval_backends')

    from importlib.metadata import version

    results = run(
        args.images,
        args.dets_per_image,
        args.min_size,
        args.max_size,
        args.categories,
        args.max_objects,
        args.repeats,
        args.seed,
    )
    results.update(
        cpus=os.cpu_count(),
        repeats=args.repeats,
        versions={p: version(p) for p in ('pycocotools', 'faster-coco-eval')},
    )
    print(
        f'## COCO evaluation: pycocotools {results["versions"]["pycocotools"]} vs '
        f'faster-coco-eval {results["versions"]["faster-coco-eval"]}, '
        f'{results["cpus"]} CPUs\n'
    )
    print(
        f'{results["images"]} images ({args.min_size}-{args.max_size} px), '
        f'{results["categories"]} categories, '
        f'{results["annotations"]} objects ({results["crowd"]} crowd regions), '
        f'{results["detections"]} detections with masks (made in '
        f'{results["data_seconds"]:.1f} s); loadRes + evaluate + accumulate + '
        f'summarize, median of {args.repeats}\n'
    )
    print(eval_backends_table(results))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    if args.publish:
        print(f'published: {publish_benchmark(args.publish, "coco_eval_backends", results)}')
    return results


if __name__ == '__main__':
    run_cli(main)
