#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What GC covers in a config, and whether a run's checkpoints obey it.

    python tools/gc_coverage.py CONFIG                         # config path or mmdet::NAME
    python tools/gc_coverage.py CONFIG --verify CKPT_A CKPT_B  # exit 1 unless GC was in effect

Builds the config's model (no pretrained weights, no training) and its
optimizer wrapper through GCOptimWrapperConstructor (a config without GC gets
it as the README says: location='update' for adaptive optimizers, 'grad'
otherwise) and prints the covered tensors and parameters by kind and the
skipped ones by reason. With --verify it checks, for every covered weight,
that the mean of each output channel is the same in both checkpoints while
the weights moved (the paper's e^T(w - w0) = 0), prints the worst layers and
exits 1 when a layer breaks it.
"""

import argparse
import sys

from gc_mmdet.cli.common import add_cfg_options, run_cli
from gc_mmdet.cli.gc_coverage import (
    build_model_with_gc,
    coverage_table,
    load_with_gc,
    verify_checkpoints,
    verify_report,
)
from gc_mmdet.engine.optimizers import gc_handle_of


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='GC coverage of a config')
    parser.add_argument('config', help='config file or mmdet::NAME')
    parser.add_argument(
        '--verify',
        nargs=2,
        metavar=('CKPT_A', 'CKPT_B'),
        help='two checkpoints of one run of this config',
    )
    parser.add_argument(
        '--tol',
        type=float,
        default=1e-3,
        help='channel-mean change accepted, as a fraction of the largest '
        'channel RMS weight change (plus float rounding)',
    )
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg, added = load_with_gc(args.config, args.cfg_options)
    model, wrapper = build_model_with_gc(cfg)
    sel = gc_handle_of(wrapper).selection
    opt = type(wrapper.optimizer).__name__
    print(
        f'{args.config}: {type(model).__name__}, optimizer {opt}, '
        f'gc_cfg {dict(cfg.optim_wrapper.gc_cfg or {})}'
        + (' (added: the config has no GC)' if added else '')
    )
    print(coverage_table(sel, model))
    if not args.verify:
        return
    ok, rows = verify_checkpoints(sel, *args.verify, tol=args.tol)
    print(verify_report(ok, rows))
    if not ok:
        sys.exit(1)


if __name__ == '__main__':
    run_cli(main)
