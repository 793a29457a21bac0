# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The import rules of docs/design.md, read from every module's imports."""

import glob
import os.path as osp

import pytest

from helpers.imports import is_stdlib, module_imports
from helpers.synthetic import ROOT

PACKAGE = osp.join(ROOT, 'gc_mmdet')
#: what each part of the package may import of the package itself
ALLOWED = {
    'core': {'core'},
    'utils': {'utils'},
    'compat': {'compat'},
    'datasets': {'datasets', 'utils'},
    'evaluation': {'evaluation', 'utils'},
    'engine': {'engine', 'core', 'datasets', 'utils'},
}


def _part(module):
    parts = module.split('.')
    return parts[1] if parts[0] == 'gc_mmdet' and len(parts) > 1 else None


@pytest.mark.parametrize('part', sorted(ALLOWED))
def test_import_rules(part):
    wrong = []
    for path in glob.glob(osp.join(PACKAGE, part, '**', '*.py'), recursive=True):
        for module, line in module_imports(path):
            top = module.split('.')[0]
            if top == 'gc_mmdet' and _part(module) not in ALLOWED[part]:
                wrong.append(f'{osp.relpath(path, ROOT)}:{line} imports {module}')
            if part == 'core' and top not in ('gc_mmdet', 'torch') and not is_stdlib(top):
                wrong.append(
                    f'{osp.relpath(path, ROOT)}:{line} imports {module} (core: torch only)'
                )
    assert not wrong, '\n'.join(wrong)


def test_the_package_imports_no_repository_code():
    """The installed package holds what users import: nothing of it imports
    this repository's tooling (tools/repo_tools), scripts or test helpers."""
    wrong = [
        f'{osp.relpath(path, ROOT)}:{line} imports {module}'
        for path in glob.glob(osp.join(PACKAGE, '**', '*.py'), recursive=True)
        for module, line in module_imports(path)
        if module.split('.')[0] in ('repo_tools', 'helpers', 'tools', 'benchmarks', 'tests')
    ]
    assert not wrong, '\n'.join(wrong)


@pytest.mark.parametrize('folder', ['tools', 'benchmarks'])
def test_scripts_do_not_edit_the_import_path(folder):
    """tools/ and benchmarks/ import through declared paths (their own folder,
    pyproject's pytest ``pythonpath``, ``PYTHONPATH=tests:tools``)."""
    wrong = [
        osp.relpath(path, ROOT)
        for path in glob.glob(osp.join(ROOT, folder, '**', '*.py'), recursive=True)
        if 'sys.path' in open(path).read()
    ]
    assert not wrong, wrong
