# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Every figure block of README and docs is what tools/render_docs.py renders
from the committed results files, and the check catches a block that is not."""

import json
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from gc_mmdet.utils import UserError
from helpers.synthetic import ROOT
from repo_tools.render_docs import BLOCKS, SOURCES, doc_files, render_docs, stale_blocks
from repo_tools.results import load_results

RESULTS = osp.join(ROOT, 'docs', 'results')


def _copy_docs(dst) -> str:
    """README.md, docs/*.md, docs/results/ and the other sources of
    :data:`SOURCES` copied under ``dst``."""
    shutil.copy(osp.join(ROOT, 'README.md'), dst / 'README.md')
    (dst / 'docs').mkdir()
    for page in doc_files(ROOT)[1:]:
        shutil.copy(page, dst / 'docs')
    shutil.copytree(RESULTS, dst / 'docs' / 'results')
    for rel in SOURCES.values():
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(osp.join(ROOT, rel), dst / rel)
    return str(dst)


def test_committed_figures_are_what_their_results_render():
    assert stale_blocks(ROOT) == []
    text = ''.join(open(p).read() for p in doc_files(ROOT))
    for name in BLOCKS:  # every kind of figure is shown somewhere
        assert f'<!-- results:{name} -->' in text, name


def test_demo_and_compare_results_are_of_the_same_code():
    """`make demo` trains the GC arm of `make compare`'s seed 0: their results
    agree unless one of them is stale."""
    demo, cmp = load_results(RESULTS, 'demo'), load_results(RESULTS, 'compare_demo')
    assert demo['seed'] == 0 and demo['config'] == cmp['configs']['gc']
    assert demo['final'] == cmp['runs']['gc']['0']['final']


def test_a_changed_result_is_caught_then_rendered(tmp_path):
    root = _copy_docs(tmp_path)
    demo_file = osp.join(root, 'docs', 'results', 'demo.json')
    demo = json.load(open(demo_file))
    demo['final']['coco/bbox_mAP'] = 0.123
    json.dump(demo, open(demo_file, 'w'))
    assert stale_blocks(root) == [
        "README.md: block 'demo-table' differs from docs/results/demo.json; "
        'run python tools/render_docs.py'
    ]
    check = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'render_docs.py'), '--root', root, '--check'],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1 and "block 'demo-table' differs" in check.stderr
    assert render_docs(root) == [osp.join(root, 'README.md')]
    assert stale_blocks(root) == []
    assert '| bbox | **0.123** |' in open(osp.join(root, 'README.md')).read()


def test_a_block_without_its_results_or_unknown_is_one_line(tmp_path):
    root = _copy_docs(tmp_path)
    page = osp.join(root, 'docs', 'extra.md')
    with open(page, 'w') as f:
        f.write('<!-- results:demo-tabel -->\n<!-- /results -->\n')
    with pytest.raises(UserError, match=r"extra.md: unknown results block 'demo-tabel'; one of"):
        stale_blocks(root)
    with open(page, 'w') as f:
        f.write('<!-- results:compare-table -->\n<!-- /results -->\n')
    os_remove = osp.join(root, 'docs', 'results', 'compare_demo.json')
    shutil.move(os_remove, os_remove + '.bak')
    with pytest.raises(
        UserError, match=r"block 'compare-table' needs .*compare_demo.json; make compare"
    ):
        render_docs(root)


def test_a_figure_inside_a_sentence_is_caught_then_rendered(tmp_path):
    """README's AP gain of the paper is an inline block, rendered from
    configs/paper_results.json; it stays one line of the sentence."""
    root = _copy_docs(tmp_path)
    paper_file = osp.join(root, 'configs', 'paper_results.json')
    paper = json.load(open(paper_file))
    paper['rows']['mask_rcnn_r50']['paper']['gc']['bbox']['AP'] += 1.0  # +0.5 -> +1.5
    json.dump(paper, open(paper_file, 'w'))
    assert stale_blocks(root) == [
        "README.md: block 'paper-gain' differs from configs/paper_results.json; "
        'run python tools/render_docs.py'
    ]
    assert render_docs(root) == [osp.join(root, 'README.md')]
    readme = open(osp.join(root, 'README.md')).read()
    assert (
        'adds <!-- results:paper-gain -->+0.3 to +1.5 box AP and +0.3 to +0.7 mask AP'
        '<!-- /results -->\n' in readme
    )
    page = osp.join(root, 'docs', 'extra.md')
    with open(page, 'w') as f:
        f.write('a table in a sentence: <!-- results:demo-table --><!-- /results -->\n')
    with pytest.raises(UserError, match=r"extra.md: block 'demo-table' renders several lines"):
        stale_blocks(root)
