# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``requires-python`` is true: every file of the project uses only syntax
and standard library of that Python. The suite runs on 3.11; vermin checks
the floor statically, since no older Python is on the test machines."""

import re
import subprocess
import sys

import pytest

from helpers.synthetic import ROOT

FOLDERS = ['gc_mmdet', 'tools', 'tests', 'benchmarks', 'configs']


def _floor():
    with open(f'{ROOT}/pyproject.toml') as f:
        return re.search(r'^requires-python = ">=(3\.\d+)"$', f.read(), re.M).group(1)


def _vermin(target, *paths):
    # str.decode: vermin takes bytes.decode (in coco_files.py) for Python 2's
    # str.decode; union-types: `X | Y` in annotations (3.10), which it also
    # reports for ints or-ed together (marked `# novm` where that happens)
    # vermin has no __main__; its console script calls vermin.main()
    return subprocess.run(
        [
            sys.executable,
            '-c',
            'import sys, vermin; sys.exit(vermin.main())',
            f'-t={target}-',
            '--violations',
            '--no-tips',
            '--eval-annotations',
            '--feature',
            'union-types',
            '--exclude',
            'str.decode',
            *paths,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_code_needs_no_newer_python_than_requires_python():
    proc = _vermin(_floor(), *FOLDERS)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.mark.parametrize(
    'code,needs',
    [('match x:\n    case 1: pass\n', '3.10'), ('def f(x: int | None): pass\n', '3.10')],
)
def test_the_check_sees_newer_syntax(tmp_path, code, needs):
    (tmp_path / 'newer.py').write_text(code)
    proc = _vermin(_floor(), str(tmp_path / 'newer.py'))
    assert proc.returncode != 0 and needs in proc.stdout, proc.stdout
