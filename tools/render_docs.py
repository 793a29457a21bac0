#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Render every figure block of README.md and docs/*.md from the committed
results files in docs/results/ (`make demo-publish` and `make compare` write them).

    python tools/render_docs.py           # rewrite the blocks that differ
    python tools/render_docs.py --check   # only say which differ (exit 1)
"""

import argparse
import sys

from gc_mmdet.cli.common import run_cli
from repo_tools.render_docs import render_docs, stale_blocks


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Render README and docs figures from results')
    parser.add_argument('--root', default='.', help='the repository root')
    parser.add_argument(
        '--results-dir', default='', help='results files (default: ROOT/docs/results)'
    )
    parser.add_argument('--check', action='store_true', help='change nothing; exit 1 if stale')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.check:
        problems = stale_blocks(args.root, args.results_dir)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            sys.exit(1)
        print('every results block is up to date')
        return
    for path in render_docs(args.root, args.results_dir):
        print(f'rendered: {path}')


if __name__ == '__main__':
    run_cli(main)
