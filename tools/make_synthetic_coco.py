# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Write the deterministic synthetic COCO instance-segmentation data set.

--out must be a new or empty folder, or one this tool (or a synthetic config)
wrote before: then only the files its marker lists are replaced. Any other
folder is refused with an error and left unchanged.

Example::

    python tools/make_synthetic_coco.py --out data/synthetic_coco \
        --train 64 --val 16 --size 256 --seed 0
"""

import argparse
import sys

from gc_mmdet.datasets import generate_synthetic_coco
from gc_mmdet.utils.errors import UserError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the synthetic COCO shapes data set '
        '(same arguments give byte-identical files).'
    )
    parser.add_argument(
        '--out',
        required=True,
        help='root folder of the data set: new, empty, or written by this tool',
    )
    parser.add_argument('--train', type=int, default=64, help='number of training images')
    parser.add_argument('--val', type=int, default=16, help='number of validation images')
    parser.add_argument('--size', type=int, default=256, help='image height and width')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--min-objects', type=int, default=1, help='minimum number of shapes sampled per image'
    )
    parser.add_argument(
        '--max-objects', type=int, default=4, help='maximum number of shapes sampled per image'
    )
    parser.add_argument(
        '--rle-fraction',
        type=float,
        default=0.3,
        help='probability that a polygon-representable mask is stored as RLE anyway',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = generate_synthetic_coco(
            args.out,
            num_train=args.train,
            num_val=args.val,
            size=args.size,
            seed=args.seed,
            min_objects=args.min_objects,
            max_objects=args.max_objects,
            rle_fraction=args.rle_fraction,
        )
    except (ValueError, UserError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(f'synthetic COCO data set written to {summary["root"]}')
    for split in ('train', 'val'):
        info = summary[split]
        print(
            f'  {split}: {info["num_images"]} images, '
            f'{info["num_instances"]} instances '
            f'({info["num_polygons"]} polygon, {info["num_rles"]} RLE, '
            f'{info["num_occluded"]} occluded) -> '
            f'{info["ann_file"]}, images in {info["img_dir"]}'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
