#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What the data check of tools/train.py costs, on a COCO-sized stand-in.

    PYTHONPATH=tests:tools python benchmarks/data_check_cost.py [--images 20000] [--anns-per-image 7.3]
        [--width 640] [--height 480] [--workdir DIR] [--json out.json]

Writes ``--images`` JPEGs (a smooth gradient with noise, ``--width`` x
``--height``, COCO's usual size) and a COCO annotation file with
``--anns-per-image`` annotations per image on average (COCO train2017: 860,001
for 118,287 images = 7.27), polygons of 12-40 points and 1 % crowd regions
in uncompressed RLE, into a new temporary folder (or ``--workdir``, which
must be new or empty; the temporary folder is removed afterwards). Then it
times, in one process:

* ``json``: parsing the annotation file (mmdet parses it again to train);
* ``annotations``: the content checks of the annotations, images unread;
* ``images, first run``: every image's header and tail read (cache empty);
* ``images, cached``: the same again, answered from the size/mtime cache;

and prints seconds per 10k images and per 100k annotations, and the
estimate for COCO train2017 (118,287 images, 860,001 annotations). The
first image pass reads files the writer has just left in the page cache: on
a cold disk it reads more slowly.
"""

import argparse
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time

import numpy as np

from gc_mmdet.cli.common import run_cli
from repo_tools.benchmark_tables import data_check_table
from repo_tools.results import (
    add_publish_arg,
    benchmark_results,
    check_publish,
    publish_benchmark,
)

COCO_IMAGES, COCO_ANNS = 118_287, 860_001


def write_standin(
    root: str, images: int, anns_per_image: float, w: int, h: int, seed: int = 0
) -> str:
    import cv2

    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'))
    yy, xx = np.mgrid[0:h, 0:w]
    base = ((xx * 255 // w)[..., None] + (yy * 255 // h)[..., None] + np.zeros(3, int)) // 2
    coco = dict(
        images=[], annotations=[], categories=[dict(id=i + 1, name=f'class_{i}') for i in range(80)]
    )
    ann_id = 1
    for i in range(images):
        img = np.clip(base + rng.integers(-20, 20, (1, 1, 3)), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        name = f'{i:012d}.jpg'
        buf.tofile(osp.join(root, 'images', name))
        coco['images'].append(dict(id=i + 1, file_name=name, width=w, height=h))
        for _ in range(rng.poisson(anns_per_image)):
            bw, bh = rng.integers(8, w // 2), rng.integers(8, h // 2)
            x, y = rng.integers(0, w - bw), rng.integers(0, h - bh)
            ann = dict(
                id=ann_id,
                image_id=i + 1,
                category_id=int(rng.integers(1, 81)),
                bbox=[float(x), float(y), float(bw), float(bh)],
                area=float(bw * bh) * 0.6,
                iscrowd=0,
            )
            if rng.random() < 0.01:
                ann['iscrowd'] = 1
                ann['segmentation'] = dict(
                    size=[h, w], counts=[int(y * w + x), int(bw), h * w - int(y * w + x) - int(bw)]
                )
            else:
                n = int(rng.integers(12, 41))
                t = np.sort(rng.random(n)) * 2 * np.pi
                poly = np.stack([x + bw / 2 * (1 + np.cos(t)), y + bh / 2 * (1 + np.sin(t))], 1)
                ann['segmentation'] = [np.round(poly.reshape(-1), 2).tolist()]
            coco['annotations'].append(ann)
            ann_id += 1
    path = osp.join(root, 'instances.json')
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=20000)
    parser.add_argument('--anns-per-image', type=float, default=COCO_ANNS / COCO_IMAGES)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--workdir', help='keep the stand-in here (new or empty folder)')
    parser.add_argument('--json', help='write the figures here')
    add_publish_arg(parser, 'data_check_cost')
    args = parser.parse_args(argv)
    check_publish(args.publish, 'data_check_cost')

    from gc_mmdet.datasets.checks.coco_sections import check_coco_contents
    from gc_mmdet.datasets.checks.findings import Findings

    root = args.workdir or tempfile.mkdtemp(prefix='gc_mmdet_check_bench_')
    if args.workdir and osp.exists(root) and os.listdir(root):
        sys.exit(f'error: --workdir {root}: not empty; give a new or empty folder')
    cache = tempfile.mkdtemp(prefix='gc_mmdet_check_cache_')
    os.environ['GC_MMDET_CACHE_DIR'] = cache
    try:
        t = time.perf_counter()
        ann_file = write_standin(root, args.images, args.anns_per_image, args.width, args.height)
        print(
            f'wrote {args.images} images and their annotations in {time.perf_counter() - t:.0f} s'
        )
        t = time.perf_counter()
        with open(ann_file, 'rb') as f:
            data = json.load(f)
        timings = {'json': time.perf_counter() - t}
        n_anns = len(data['annotations'])
        t = time.perf_counter()
        check_coco_contents(ann_file, data, Findings(), need_masks=True)
        timings['annotations'] = time.perf_counter() - t
        for name in ('images, first run', 'images, cached'):
            findings = Findings()
            data_images = dict(data, annotations=[])
            t = time.perf_counter()
            check_coco_contents(ann_file, data_images, findings, img_dir=osp.join(root, 'images'))
            timings[name] = time.perf_counter() - t
            assert not findings.has_errors, findings.error_lines()
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    per = {
        'json': timings['json'] / n_anns * 1e5,
        'annotations': timings['annotations'] / n_anns * 1e5,
        'images, first run': timings['images, first run'] / args.images * 1e4,
        'images, cached': timings['images, cached'] / args.images * 1e4,
    }
    coco_first = (
        COCO_ANNS / 1e5 * (per['json'] + per['annotations'])
        + COCO_IMAGES / 1e4 * per['images, first run']
    )
    coco_cached = (
        COCO_ANNS / 1e5 * (per['json'] + per['annotations'])
        + COCO_IMAGES / 1e4 * per['images, cached']
    )
    figures = dict(
        images=args.images,
        annotations=n_anns,
        seconds=timings,
        per=per,
        coco_first_s=coco_first,
        coco_cached_s=coco_cached,
    )
    print(data_check_table(benchmark_results('data_check_cost', figures)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(figures, f, indent=2)
    if args.publish:
        print(f'published: {publish_benchmark(args.publish, "data_check_cost", figures)}')
    return figures


if __name__ == '__main__':
    run_cli(main)
