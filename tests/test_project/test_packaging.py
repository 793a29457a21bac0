# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The wheel is what a user installs: the package and its configs (under
gc_mmdet/.mim/configs, OpenMMLab's layout), none of this repository's own
tooling, and it works where the checkout is nowhere on the path: GC, the
headline config, and the training runs of a seed comparison."""

import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

from helpers.synthetic import ROOT, assert_ok, tiny_overrides

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
    import os, sys
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
    cfg.work_dir = os.path.abspath('work_dir')  # in the test's folder, not in /tmp for good
    runner = Runner.from_cfg(cfg)
    wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    assert gc_handle_of(wrapper) is not None and gc_handle_of(wrapper).targets
    print('ok', len(handle.targets), len(gc_handle_of(wrapper).targets))
""")


@pytest.fixture(scope='module')
def site(wheel, tmp_path_factory):
    """The wheel installed into a folder of its own, as pip installs it."""
    site = tmp_path_factory.mktemp('site')
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', str(site), wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_ok(proc)
    return str(site)


def _run_outside(site, tmp_path, script, *args, timeout=300):
    """``script`` run by this Python from a folder outside the checkout, with
    the installed wheel and no part of the checkout on the path."""
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    (cwd / 'user.py').write_text(script)
    # the wheel's folder first: the environment's editable install of this
    # checkout (a finder after the path's) never answers for gc_mmdet
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['PYTHONPATH'] = site
    proc = subprocess.run(
        [sys.executable, 'user.py', site, ROOT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert_ok(proc)
    return proc


def test_the_installed_wheel_works_outside_the_checkout(site, tmp_path):
    proc = _run_outside(site, tmp_path, _USER)
    assert proc.stdout.splitlines()[-1].startswith('ok ')


_COMPARE_RUNS = textwrap.dedent("""
    import json, subprocess, sys
    from gc_mmdet.cli import compare_seeds

    site, checkout, out, opts = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    ours = [p for p in sys.path if p.startswith(checkout) and not p.startswith(sys.prefix)]
    assert not ours, sys.path
    commands = []
    run = subprocess.run

    def recorded(cmd, *args, **kwargs):
        commands.append(cmd)
        return run(cmd, *args, **kwargs)

    subprocess.run = recorded
    # what `python -m gc_mmdet.cli.compare_seeds` runs, with its default pair
    compare_seeds.main(['--seeds', '0', '1', '--bootstrap', '0', '--out', out, '--cfg-options', *opts])
    # where the commands' module is found from here (their folder, path and environment)
    where = run(
        [sys.executable, '-c', 'import gc_mmdet.cli.train as m; print(m.__file__)'],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    print(json.dumps(dict(commands=commands, where=where)))
""")


def test_the_installed_wheel_compares_gc_against_its_baseline(site, synthetic_root, tmp_path):
    """The comparison command of the installed wheel alone (``python -m
    gc_mmdet.cli.compare_seeds``): its default pair is the wheel's own demo
    configs, 2 seeds of 2 iterations each, trained by the wheel's train
    command (no checkout's tools/train.py, which the old code needed)."""
    out = str(tmp_path / 'cmp')
    opts = tiny_overrides(synthetic_root, epochs=1) + ['model.test_cfg.rcnn.score_thr=0.0']
    proc = _run_outside(site, tmp_path, _COMPARE_RUNS, out, json.dumps(opts), timeout=500)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert [c[:3] for c in result['commands']] == [[sys.executable, '-m', 'gc_mmdet.cli.train']] * 4
    assert result['where'] == os.path.join(site, 'gc_mmdet', 'cli', 'train.py')
    summary = json.load(open(os.path.join(out, 'summary.json')))
    configs = os.path.join(site, 'gc_mmdet', '.mim', 'configs', 'synthetic')
    assert summary['configs'] == dict(
        baseline=os.path.join(configs, 'mask-rcnn_r18-half_fpn_gn-all_demo.py'),
        gc=os.path.join(configs, 'mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'),
    )
    for arm in ('baseline', 'gc'):
        assert sorted(summary['arms'][arm]['per_seed']) == ['0', '1']
        assert set(summary['arms'][arm]['per_seed']['0']) == {'bbox', 'segm'}
    assert os.path.isfile(os.path.join(out, 'ap_bands.png'))
