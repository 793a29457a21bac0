# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC vs baseline over seeds: the statistics, and tools/compare_seeds.py end
to end on tiny runs of the demo pair."""

import json
import os.path as osp

import cv2
import pytest
import torch

from gc_mmdet.cli import compare_seeds as S
from gc_mmdet.cli.compare_seeds import _t975, verdict
from gc_mmdet.cli.render_docs import compare_table
from gc_mmdet.cli.results import load_results
from gc_mmdet.cli.run_logs import last_checkpoint
from helpers.synthetic import assert_ok, run, tiny_overrides, tool_cmd


def test_welch_verdict():
    # equal spread 0.02, means 0.10 apart: t = 0.1 / sqrt(2 * 0.02**2 / 3) = 6.12, df = 4
    t = verdict([0.50, 0.52, 0.48], [0.60, 0.62, 0.58])
    assert t['delta'] == pytest.approx(0.10)
    assert t['t'] == pytest.approx(6.124, abs=1e-3) and t['df'] == pytest.approx(4.0)
    assert t['t_crit'] == pytest.approx(2.776) and t['significant']
    # the same difference inside a spread of 0.1: noise
    t = verdict([0.50, 0.60, 0.40], [0.52, 0.62, 0.42])
    assert t['t'] == pytest.approx(0.245, abs=1e-3) and not t['significant']
    assert _t975(1.7) == pytest.approx(12.706) and _t975(100) == pytest.approx(1.96)


@pytest.mark.slow
def test_compare_seeds_end_to_end(synthetic_root, tmp_path):
    out = str(tmp_path / 'cmp')
    # 4 iterations of the demo model: keep every box so that each run is evaluated
    opts = tiny_overrides(synthetic_root, epochs=2) + ['model.test_cfg.rcnn.score_thr=0.0']
    proc = run(
        tool_cmd(
            'compare_seeds.py',
            *('--seeds', '0', '1', '--out', out, '--publish', str(tmp_path / 'results')),
            cfg_options=opts,
        ),
        timeout=550,  # under pytest-timeout (600 s), so the run's stderr is reported
    )
    assert_ok(proc)
    summary = json.load(open(osp.join(out, 'summary.json')))
    for arm in ('baseline', 'gc'):
        per_seed = summary['arms'][arm]['per_seed']
        assert sorted(per_seed) == ['0', '1']
        for seed, ap in per_seed.items():
            metrics = json.load(open(osp.join(out, f'{arm}_seed{seed}', 'metrics.json')))
            assert ap['bbox'] == pytest.approx(metrics['coco/bbox_mAP'])
            assert ap['segm'] == pytest.approx(metrics['coco/segm_mAP'])
    # the seed reaches training (init, data order): different final weights
    weights = [
        torch.load(last_checkpoint(osp.join(out, f'baseline_seed{s}')), map_location='cpu')[
            'state_dict'
        ]
        for s in '01'
    ]
    key = 'backbone.conv1.weight'
    assert not torch.equal(weights[0][key], weights[1][key])
    md = open(osp.join(out, 'summary.md')).read()
    assert md in proc.stdout and 'Verdict, GC minus baseline: box AP' in md
    img = cv2.imread(osp.join(out, 'ap_bands.png'))
    assert img is not None and img.shape == (400, 1000, 3)
    # --publish: the summary and every run, which README's table is rendered from
    published = load_results(str(tmp_path / 'results'), 'compare_demo')
    assert published['arms'] == json.loads(json.dumps(summary['arms']))
    assert sorted(published['runs']['gc']) == ['0', '1']
    assert published['runs']['gc']['0']['final']['coco/bbox_mAP'] == pytest.approx(
        summary['arms']['gc']['per_seed']['0']['bbox']
    )
    table = compare_table(published)
    assert S.summary_table(summary) in table and 'seeds. 4 runs one after another' in table
    assert cv2.imread(str(tmp_path / 'results' / 'compare_ap_bands.png')) is not None
    # a second call keeps the finished runs
    again = run(
        tool_cmd('compare_seeds.py', '--seeds', '0', '1', '--out', out, '--cfg-options', *opts),
        timeout=300,
    )
    assert again.returncode == 0 and again.stdout.count('finished earlier, kept') == 4
