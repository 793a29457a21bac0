# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The wheel is what a user installs: the package and its configs (under
gc_mmdet/.mim/configs, OpenMMLab's layout), none of this repository's own
tooling, and it works where the checkout is nowhere on the path."""

import glob
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

from helpers.synthetic import ROOT, assert_ok

pytestmark = pytest.mark.slow  # builds and installs the wheel, runs it in a new process


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    # from a copy of the sources: setuptools would add what a checkout's
    # build/ still holds of an earlier build (modules since moved or removed)
    src = tmp_path_factory.mktemp('src') / 'gc_mmdet'
    shutil.copytree(
        ROOT,
        src,
        symlinks=True,
        ignore=shutil.ignore_patterns('.venv*', '.git', 'build', '*.egg-info', 'work_dirs', 'data'),
    )
    cmd = [sys.executable, '-m', 'pip', 'wheel', str(src), '--no-deps', '--no-build-isolation']
    proc = subprocess.run([*cmd, '-q', '-w', str(out)], capture_output=True, text=True, timeout=300)
    assert_ok(proc)
    return glob.glob(str(out / '*.whl'))[0]


def test_wheel_carries_the_configs_and_no_repository_tooling(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    on_disk = {p[len(ROOT) + 1 :] for p in glob.glob(f'{ROOT}/configs/**/*.py', recursive=True)}
    assert on_disk and {'gc_mmdet/.mim/' + p for p in on_disk} <= names
    assert 'gc_mmdet/.mim/configs/paper_results.json' in names
    modules = [n for n in names if n.endswith('.py') and not n.startswith('gc_mmdet/.mim/')]
    assert modules and all(n.startswith('gc_mmdet/') for n in modules), modules
    # what works in a checkout only (git, docs/, benchmarks/) stays in tools/repo_tools
    for module in modules:
        with zipfile.ZipFile(wheel).open(module) as f:
            text = f.read().decode()
        assert "'git'" not in text and 'docs/results' not in text, module


_USER = textwrap.dedent("""
    import os, sys, tempfile
    import torch
    import gc_mmdet
    from gc_mmdet.engine.optimizers import gc_handle_of

    site, checkout = sys.argv[1], sys.argv[2]
    assert gc_mmdet.__file__.startswith(site), gc_mmdet.__file__
    # the stack's environment may live in the checkout (.venv); nothing else of it is on the path
    ours = [p for p in sys.path if p.startswith(checkout) and not p.startswith(sys.prefix)]
    assert not ours, sys.path

    # GC on a plain torch optimizer
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    model(torch.zeros(1, 3, 8, 8))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    handle = gc_mmdet.attach(opt, model)
    w0 = model[0].weight.detach().clone()
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    drift = (model[0].weight - w0).mean(dim=(1, 2, 3)).abs().max().item()
    assert drift < 1e-6, drift

    # the headline config from the wheel, as mmdet's tools/train.py builds it
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(os.path.join(site, 'gc_mmdet', '.mim', 'configs', 'mask_rcnn_r50_gc.py'))
    cfg.model.backbone.init_cfg = None
    cfg.work_dir = tempfile.mkdtemp()
    runner = Runner.from_cfg(cfg)
    wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    assert gc_handle_of(wrapper) is not None and gc_handle_of(wrapper).targets
    print('ok', len(handle.targets), len(gc_handle_of(wrapper).targets))
""")


def test_the_installed_wheel_works_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / 'site'
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', str(site), wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_ok(proc)
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    (cwd / 'user.py').write_text(_USER)
    # the wheel's folder first: the environment's editable install of this
    # checkout (a finder after the path's) never answers for gc_mmdet
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['PYTHONPATH'] = str(site)
    proc = subprocess.run(
        [sys.executable, 'user.py', str(site), ROOT],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_ok(proc)
    assert proc.stdout.splitlines()[-1].startswith('ok ')
