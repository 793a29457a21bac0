#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Sweep GC over mmdet's own configs and write the table in docs/.

    python tools/gc_zoo_sweep.py [--out docs/gc_zoo_sweep.md]
    python tools/gc_zoo_sweep.py --rerender   # the page's text from this tool, its rows kept

For each config of gc_mmdet.cli.gc_zoo_sweep.ZOO: build the model from scratch, its
optimizer wrapper from the config's own optim_wrapper through
GCOptimWrapperConstructor (SGD: location='grad'; AdamW: 'update'), run one
training step on a synthetic batch of two 128 px images (R-CNN heads: 64
sampled RoIs per image), and check that the
loss is finite and every covered weight kept its output-channel means. A
config that cannot be built or stepped on this machine is listed with its
error, not left out. tests/test_tools/test_zoo_sweep.py asserts the same per config.
The ConvNeXt configs import mmpretrain, which `make setup` does not install: run
with it importable (`make mmpretrain-extra`, then PYTHONPATH=.venv-mmpretrain-lib);
without it the sweep stops before it starts. --rerender runs no config: it
rewrites the page's text, notes and config fixes from this tool and keeps the
measured rows of the table as they are.
"""

import argparse
import importlib.util
import os.path as osp
import re
import warnings
from typing import Dict, List

from gc_mmdet.cli.common import run_cli
from gc_mmdet.cli.gc_zoo_sweep import CONFIG_FIXES, NOT_ASSERTED, ZOO, sweep_config
from gc_mmdet.utils import UserError


def to_markdown(rows: List[Dict], families: Dict[str, str]) -> str:
    """The table of docs/gc_zoo_sweep.md: one row per swept config."""
    lines = [
        '| family | config (mmdet 3.3) | optimizer, gc location | GC tensors / params '
        '| skipped by reason | step checked |',
        '|---|---|---|---|---|---|',
    ]
    for r in rows:
        if 'error' in r:
            lines.append(
                f'| {families[r["config"]]} | `{r["config"]}` | - | - | - | '
                f'**failed on CPU**: {r["error"]} |'
            )
            continue
        kinds = ', '.join(f'{k} {r["tensors"][k]}' for k in sorted(r['tensors']))
        total_t, total_p = sum(r['tensors'].values()), sum(r['params'].values())
        skipped = ', '.join(f'{v} {k}' for k, v in r['skipped'].items())
        check = (
            f'loss {r["loss"]:.2f}; {r["moved"]}/{total_t} moved, channel means kept'
            if r['ok']
            else f'✗ loss {r["loss"]:.2f}; '
            + (
                f'{len(r["nonfinite"])} weights not finite after the step'
                if r['nonfinite']
                else 'no covered weight moved'
                if not r['moved']
                else f'broken: {", ".join(r["broken"][:3])}'
            )
        )
        base = r['gc_cfg'].get('base_constructor')
        on = f' on {base} ({r["lrs"]} learning rates)' if base else ''
        lines.append(
            f'| {families[r["config"]]} | `{r["config"]}` | {r["optimizer"]}, '
            f'{r["gc_cfg"].get("location", "grad")}{on} | {total_t} / {total_p:,} ({kinds}) '
            f'| {skipped} | {check} |'
        )
    return '\n'.join(lines) + '\n'


HEADER = (
    "# GC across mmdet 3.3's model zoo\n\nWritten by `tools/gc_zoo_sweep.py` in the environment "
    '`make setup` builds (`source .venv/bin/activate`), with mmpretrain for the ConvNeXt configs '
    '(`make mmpretrain-extra`): `PYTHONPATH=.venv-mmpretrain-lib python tools/gc_zoo_sweep.py`; '
    'what `tests/test_tools/test_zoo_sweep.py` asserts per config. Each config is built from '
    'scratch, with its own `optim_wrapper` through `GCOptimWrapperConstructor` (on top of '
    'the constructor the config names, if any), and '
    'takes one training step on two synthetic 128 px images (256 px for the '
    'query-based ones; the R-CNN heads sample at most 64 RoIs per image instead of 512); '
    '"channel means kept": '
    'every covered weight that moved kept the mean of each output channel '
    '(paper, Sec. 3.3) to float rounding.\n\n'
)


def page(table: str) -> str:
    """docs/gc_zoo_sweep.md around ``table`` (:func:`to_markdown`'s rows):
    the header, the configs not asserted and the config fixes, with their
    reasons as this tool and gc_mmdet.cli.gc_zoo_sweep give them."""
    md = HEADER + table.rstrip('\n') + '\n'
    md += '\nNot asserted by the test (why):\n\n'
    md += ''.join(f'- `{name}`: {why}\n' for _, name, why in NOT_ASSERTED)
    if CONFIG_FIXES:
        md += '\nChanged before the build (why):\n\n'
        md += ''.join(
            f'- `{name}`: `{opts}`: {why}\n' for name, (opts, why) in CONFIG_FIXES.items()
        )
    return md


def measured_table(text: str, path: str = 'the page') -> str:
    """The table of a page :func:`page` wrote: its first run of ``|`` lines."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith('| family |')), None)
    if start is None:
        raise UserError(f'{path}: no sweep table (a line starting "| family |") to keep')
    end = start
    while end < len(lines) and lines[end].startswith('|'):
        end += 1
    return '\n'.join(lines[start:end]) + '\n'


def check_mmpretrain() -> None:
    """The ConvNeXt configs import mmpretrain; without it they would be
    written to the page as failed."""
    if importlib.util.find_spec('mmpretrain') is None:
        raise UserError(
            'the ConvNeXt configs of the sweep import mmpretrain, which is not importable; '
            '`make mmpretrain-extra`, then PYTHONPATH=.venv-mmpretrain-lib python '
            'tools/gc_zoo_sweep.py'
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='GC across the mmdet zoo')
    parser.add_argument('--out', default='docs/gc_zoo_sweep.md')
    parser.add_argument(
        '--rerender',
        action='store_true',
        help="rewrite --out's text, notes and fixes from this tool, keeping its measured rows; "
        'runs no config',
    )
    args = parser.parse_args(argv)
    if args.rerender:
        if not osp.isfile(args.out):
            raise UserError(f'--rerender: {args.out} does not exist; run the sweep to write it')
        with open(args.out) as f:
            md = page(measured_table(f.read(), args.out))
        with open(args.out, 'w') as f:
            f.write(md)
        print(f'rerendered: {args.out}')
        return
    check_mmpretrain()
    warnings.filterwarnings('ignore')  # 17 models' build-time warnings would bury the table

    rows = []
    for family, name in ZOO + [(f, n) for f, n, _ in NOT_ASSERTED]:
        try:
            row = sweep_config(name, family)
        except Exception as e:  # reported in the table, never hidden
            # file names only: the folder a library was built in says nothing
            first = re.sub(r'(?:/[^/\s:]+)+/([^/\s:]+)', r'\1', str(e).splitlines()[0])
            row = dict(config=name, error=f'{type(e).__name__}: {first[:120]}')
        rows.append(row)
        print(
            f'{name}: '
            + (
                'error ' + row['error']
                if 'error' in row
                else f'ok={row["ok"]} loss={row["loss"]:.2f} {row["seconds"]:.0f}s'
            ),
            flush=True,
        )
    md = page(to_markdown(rows, {n: f for f, n in ZOO} | {n: f for f, n, _ in NOT_ASSERTED}))
    with open(args.out, 'w') as f:
        f.write(md)
    print(md)
    print(f'written: {args.out}')


if __name__ == '__main__':
    run_cli(main)
