# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The package's dependencies are those it imports: every third-party module
that gc_mmdet imports comes from a distribution pyproject.toml declares (a
dependency, or an extra's for what only an option needs), and the mmengine
integration (``gc_mmdet.engine``) imports neither the data sets nor
pycocotools."""

import glob
import importlib.metadata
import os
import os.path as osp
import re
import subprocess
import sys
from collections import defaultdict

import tomllib  # novm (the suite runs on 3.11; only the package's floor is 3.9)

from helpers.imports import is_stdlib, module_imports
from helpers.synthetic import ROOT, assert_ok


def _normal(name):
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r'[-_.]+', '-', name).lower()


def _declared():
    """``{distribution: where}``: pyproject's dependencies and each extra's."""
    with open(osp.join(ROOT, 'pyproject.toml'), 'rb') as f:
        project = tomllib.load(f)['project']
    groups = {'dependencies': project['dependencies']}
    groups.update(
        (f'the {extra!r} extra', reqs)
        for extra, reqs in project.get('optional-dependencies', {}).items()
    )
    return {
        _normal(re.match(r'[A-Za-z0-9._-]+', req).group()): where
        for where, reqs in groups.items()
        for req in reqs
    }


def _providers():
    """``{top-level module: {distribution}}`` of the installed distributions
    (importlib.metadata.packages_distributions is 3.10+)."""
    found = defaultdict(set)
    for dist in importlib.metadata.distributions():
        tops = (dist.read_text('top_level.txt') or '').split()
        if not tops:  # no top_level.txt: the first part of each file installed
            tops = {
                f.parts[0].split('.')[0]
                for f in dist.files or ()
                if not f.parts[0].endswith(('.dist-info', '.egg-info', '.data'))
                and (len(f.parts) > 1 or f.suffix in ('.py', '.so', '.pyd'))
            }
        for top in tops:
            found[top].add(_normal(dist.metadata['Name']))
    return found


def test_every_third_party_import_is_declared():
    declared, providers = _declared(), _providers()
    undeclared = []
    for path in sorted(glob.glob(osp.join(ROOT, 'gc_mmdet', '**', '*.py'), recursive=True)):
        for module, line in module_imports(path):
            top = module.split('.')[0]
            if top == 'gc_mmdet' or is_stdlib(top):
                continue
            names = providers.get(top) or {_normal(top)}  # not installed: as it is spelt
            if not names & set(declared):
                undeclared.append(
                    f'{osp.relpath(path, ROOT)}:{line} imports {module}, from '
                    f'{" or ".join(sorted(names))}, which pyproject.toml does not declare'
                )
    assert not undeclared, '\n'.join(undeclared)


_ENGINE_ALONE = """
import os, sys, types
# gc_mmdet/__init__.py registers every part of the package (README: custom_imports
# ['gc_mmdet'] registers everything), so the engine's own modules are imported
# under the bare package
package = types.ModuleType('gc_mmdet')
package.__path__ = [os.path.join(sys.argv[1], 'gc_mmdet')]
sys.modules['gc_mmdet'] = package
import gc_mmdet.engine
from mmengine.registry import HOOKS, OPTIM_WRAPPER_CONSTRUCTORS
assert OPTIM_WRAPPER_CONSTRUCTORS.get('GCOptimWrapperConstructor') is not None
assert HOOKS.get('DeterministicResumeHook') is not None
print(sorted(m for m in sys.modules if m.split('.')[0] == 'pycocotools'
             or m.startswith(('gc_mmdet.datasets', 'gc_mmdet.evaluation', 'mmdet.datasets'))))
"""


def test_the_engine_imports_no_data_sets_and_no_pycocotools():
    """The optimizer wrapper constructor and the hooks (``gc_mmdet.engine``)
    need neither the data sets (the synthetic set's generator, mmdet's) nor
    pycocotools, which only the data sets and the evaluation use."""
    proc = subprocess.run(
        [sys.executable, '-c', _ENGINE_ALONE, ROOT],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_ok(proc)
    assert proc.stdout.splitlines()[-1] == '[]'
