#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Evaluate a checkpoint: COCO bbox (and segm) AP through pycocotools, or
faster-coco-eval with ``--eval-backend faster``.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
        [--show-dir DIR] [--eval-backend pycocotools|faster]
        [--cfg-options ...] [--launcher pytorch]

Prints the AP table and writes it as JSON to WORK_DIR/metrics.json.

The command is gc_mmdet.cli.test (``python -m gc_mmdet.cli.test`` where
the package is installed without this checkout); this script runs it.
"""

from gc_mmdet.cli.common import run_cli
from gc_mmdet.cli.test import main, parse_args

__all__ = ['main', 'parse_args']  # the tests call both

if __name__ == '__main__':
    run_cli(main)
