#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Train a detector, with or without Gradient Centralization.

    python tools/train.py configs/mask_rcnn_r50_gc.py
    python tools/train.py CONFIG --work-dir DIR --amp --auto-scale-lr \
        --resume [CKPT] --eval-backend faster --cfg-options key=value ... --launcher pytorch

The flags are those of mmdet's tools/train.py; on a machine without a GPU a
distributed launch falls back to gloo (see gc_mmdet.utils.launch).

The command is gc_mmdet.cli.train (``python -m gc_mmdet.cli.train`` where
the package is installed without this checkout); this script runs it.
"""

from gc_mmdet.cli.common import run_cli
from gc_mmdet.cli.train import main, parse_args

__all__ = ['main', 'parse_args']  # the tests call both

if __name__ == '__main__':
    run_cli(main)
