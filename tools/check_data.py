#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Check the data a config names, as tools/train.py and tools/test.py do
before they build the Runner, without training.

    python tools/check_data.py CONFIG [--test] [--cfg-options key=value ...]

Prints one summary line per annotation file, the warnings, and one line per
error (the first few of each kind and file, then a count). Exit status 0
when the data can be trained on, 2 when not. The rules: docs/own_data.md.
"""

import argparse

import gc_mmdet  # noqa: F401  (registers the dataset types)
from gc_mmdet.cli.common import add_cfg_options, run_cli
from gc_mmdet.cli.config import read_config
from gc_mmdet.datasets.checks import check_datasets


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Check the data of a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--test',
        action='store_true',
        help="check test_dataloader and test_evaluator (tools/test.py's data) instead of train/val",
    )
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = read_config(args.config, args.cfg_options)
    if args.test:
        check_datasets(cfg, ('test_dataloader',), ('test_evaluator',))
    else:
        check_datasets(cfg)
    print('data check: no errors')


if __name__ == '__main__':
    run_cli(main)
