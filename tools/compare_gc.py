#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Compare a baseline run with a GC run, beside the paper's row.

    python tools/compare_gc.py BASELINE_WORK_DIR GC_WORK_DIR [--row NAME] [--out DIR]

Prints the Table 8/9-style row (AP, AP50, AP75 for box, and mask where
present) for baseline, GC and their difference, beside the paper's row and
mmdet's reference baseline (configs/paper_results.json; the row is guessed
from the config each run dumped), and writes compare.md, compare.json,
loss.png, ap.png and grad_norm.png (when GCStatsHook ran) to
OUT (default GC_WORK_DIR/compare). Files of those names in OUT are replaced only
when OUT holds an earlier comparison; anything else there is left alone.
"""

import argparse
import json
import os
import os.path as osp

from gc_mmdet.cli.common import run_cli
from gc_mmdet.cli.compare_gc import OUTPUT_FILES, OWNER_KEYS, comparison, plot_runs, to_markdown
from gc_mmdet.utils import UserError, check_output_files


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Compare a baseline and a GC run')
    parser.add_argument('baseline_work_dir')
    parser.add_argument('gc_work_dir')
    parser.add_argument(
        '--row', help='row of configs/paper_results.json (default: guessed from the dumped configs)'
    )
    parser.add_argument('--out', help='output folder (default: GC_WORK_DIR/compare)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    for d in (args.baseline_work_dir, args.gc_work_dir):
        if not osp.isdir(d):
            raise UserError(f'work dir {d}: no such folder')
    out = args.out or osp.join(args.gc_work_dir, 'compare')
    check_output_files(out, OUTPUT_FILES, 'compare.json', OWNER_KEYS)
    try:
        cmp = comparison(args.baseline_work_dir, args.gc_work_dir, args.row)
    except KeyError as e:
        raise UserError(str(e).strip('"')) from e
    os.makedirs(out, exist_ok=True)
    md = to_markdown(cmp)
    print(md)
    with open(osp.join(out, 'compare.md'), 'w') as f:
        f.write(md)
    with open(osp.join(out, 'compare.json'), 'w') as f:
        json.dump(cmp, f, indent=2)
    plots = plot_runs(args.baseline_work_dir, args.gc_work_dir, out)
    print(
        f'written: {", ".join([osp.join(out, "compare.md"), osp.join(out, "compare.json"), *plots])}'
    )


if __name__ == '__main__':
    run_cli(main)
