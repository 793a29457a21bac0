# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Figures README and docs state agree with the file they come from: the
paper's AP gain with configs/paper_results.json, the data check's cost with
its published benchmark, the zoo sweep's page with its tool, the tolerances
and settings the docs name with the tests and pyproject.toml that set them."""

import json
import os.path as osp
import re

import pytest
import tomllib  # novm (the suite runs on 3.11; only the package's floor is 3.9)

from helpers.synthetic import ROOT, load_script


def _read(rel: str) -> str:
    with open(osp.join(ROOT, rel)) as f:
        return f.read()


def _prose(text: str) -> str:
    """``text`` without its HTML comments (the results markers)."""
    return re.sub(r'<!--.*?-->', '', text, flags=re.S)


def test_readme_states_the_papers_gain_as_its_results_file_gives_it():
    rows = json.loads(_read('configs/paper_results.json'))['rows'].values()
    gains = {}
    for row in rows:
        for task, ap in row['paper']['gc'].items():
            base = row['paper']['baseline'][task]['AP']
            gains.setdefault(task, []).append(round(ap['AP'] - base, 1))
    expected = (
        f'{min(gains["bbox"]):+.1f} to {max(gains["bbox"]):+.1f} box AP and '
        f'{min(gains["segm"]):+.1f} to {max(gains["segm"]):+.1f} mask AP'
    )
    readme = ' '.join(_prose(_read('README.md')).split())
    said = re.search(r'in the paper, adds (.+?) to Faster and Mask R-CNN', readme)
    assert said and said.group(1) == expected


def test_own_data_states_the_published_data_check_cost():
    cost = json.loads(_read('docs/results/data_check_cost.json'))
    section = _read('docs/own_data.md').split('### What it costs')[1].split('\n## ')[0]
    said = [int(s) for s in re.findall(r'\*\*(\d+) s\*\*', section)]
    assert said == [round(cost['coco_first_s']), round(cost['coco_cached_s'])]


def test_the_zoo_sweep_page_is_what_its_tool_writes_around_its_rows():
    """Text, notes and config fixes of docs/gc_zoo_sweep.md are the tool's
    (tools/gc_zoo_sweep.py --rerender rewrites them without a sweep)."""
    sweep = load_script('tools/gc_zoo_sweep.py')
    text = _read('docs/gc_zoo_sweep.md')
    for _, name, why in sweep.NOT_ASSERTED:  # the reasons the tool gives now
        assert f'- `{name}`: {why}\n' in text, name
    assert text == sweep.page(sweep.measured_table(text))
    # every config of the tool has its row, and only those
    listed = re.findall(r'^\| [^|]+ \| `([^`]+)` \|', text, re.M)
    assert sorted(listed) == sorted(
        [c for _, c in sweep.ZOO] + [c for _, c, _ in sweep.NOT_ASSERTED]
    )


def test_any_detector_states_the_zero_tolerance_its_test_asserts():
    test = _read('tests/test_core/test_amp_fused.py')
    body = test.split('def test_zero_redundancy_optimizer_auto_is_exact')[1].split('\ndef ')[0]
    tolerance = re.search(r'err <= ([0-9.e-]+)', body).group(1)
    page = _read('docs/any_detector.md')
    row = next(line for line in page.splitlines() if line.startswith('| `ZeroRedundancyOptimizer`'))
    assert f'within {tolerance}' in row and 'bit-identical' not in row
    said = re.search(r'ZeRO on 2 gloo ranks ends ([^.;]+)', ' '.join(page.split())).group(1)
    assert f'within {tolerance}' in said


def test_get_started_states_pytests_pythonpath():
    with open(osp.join(ROOT, 'pyproject.toml'), 'rb') as f:
        pythonpath = tomllib.load(f)['tool']['pytest']['ini_options']['pythonpath']
    said = re.search(r'`pythonpath = (\[[^\]]*\])`', _read('docs/get_started.md')).group(1)
    assert json.loads(said) == pythonpath


def test_the_zoo_sweep_rerenders_its_page_and_never_sweeps_without_mmpretrain(tmp_path):
    """--rerender rewrites a stale page's text and keeps its rows; without
    mmpretrain the sweep stops before it would write the ConvNeXt rows as failed."""
    from unittest import mock

    from gc_mmdet.utils import UserError

    sweep = load_script('tools/gc_zoo_sweep.py')
    text = _read('docs/gc_zoo_sweep.md')
    stale = tmp_path / 'gc_zoo_sweep.md'
    stale.write_text(text.replace('Not asserted by the test (why):', 'Not asserted (old words):'))
    sweep.main(['--rerender', '--out', str(stale)])
    assert stale.read_text() == text

    out = tmp_path / 'sweep.md'
    real = sweep.importlib.util.find_spec
    no_mmpretrain = lambda name, *a: None if name == 'mmpretrain' else real(name, *a)  # noqa: E731
    with mock.patch.object(sweep.importlib.util, 'find_spec', no_mmpretrain):
        with pytest.raises(
            UserError,
            match=r'import mmpretrain, which is not importable; '
            r'`make mmpretrain-extra`',
        ):
            sweep.main(['--out', str(out)])
    assert not out.exists()
