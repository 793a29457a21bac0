# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The configs travel with the package: a wheel carries them under
gc_mmdet/.mim/configs (OpenMMLab's layout for package configs)."""

import glob
import subprocess
import sys
import zipfile

from helpers.synthetic import ROOT, assert_ok


def test_wheel_carries_the_configs(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            ROOT,
            '--no-deps',
            '--no-build-isolation',
            '-q',
            '-w',
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_ok(proc)
    names = set(zipfile.ZipFile(glob.glob(str(tmp_path / '*.whl'))[0]).namelist())
    on_disk = {p[len(ROOT) + 1 :] for p in glob.glob(f'{ROOT}/configs/**/*.py', recursive=True)}
    assert on_disk and {'gc_mmdet/.mim/' + p for p in on_disk} <= names
    assert 'gc_mmdet/.mim/configs/paper_results.json' in names
