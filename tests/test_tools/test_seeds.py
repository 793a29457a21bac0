# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""GC vs baseline over seeds: the statistics, and tools/compare_seeds.py end
to end on tiny runs of the demo pair."""

import json
import os
import os.path as osp

import cv2
import pytest
import torch
from scipy import stats

from gc_mmdet.cli import compare_seeds as S
from gc_mmdet.cli.run_logs import last_checkpoint
from helpers.synthetic import assert_ok, run, tiny_overrides, tool_cmd
from repo_tools.render_docs import compare_table
from repo_tools.results import load_results

#: final AP per seed of the 3-seed comparison published at cb2a0e6+changes
#: (docs/results/compare_demo.json, 2026-12-03): the data of issue 33
PUBLISHED = {
    'bbox': ({0: 0.614, 1: 0.543, 2: 0.544}, {0: 0.687, 1: 0.656, 2: 0.647}),
    'segm': ({0: 0.659, 1: 0.609, 2: 0.587}, {0: 0.714, 1: 0.692, 2: 0.690}),
}


def test_paired_test_is_scipys():
    base = {0: 0.50, 1: 0.58, 2: 0.47, 3: 0.55}
    gc = {0: 0.56, 1: 0.60, 2: 0.55, 3: 0.57}
    t = S.paired_test(base, gc)
    ref = stats.ttest_rel(list(gc.values()), list(base.values()))
    assert t['test'] == 'paired t' and t['n'] == 4 and t['df'] == 3 and t['wins'] == 4
    assert t['t'] == pytest.approx(ref.statistic) and t['p'] == pytest.approx(ref.pvalue)
    assert t['delta'] == pytest.approx(0.045) and t['diffs'] == pytest.approx(
        [0.06, 0.02, 0.08, 0.02]
    )
    if hasattr(ref, 'confidence_interval'):  # scipy >= 1.10
        ci = ref.confidence_interval(0.95)
        assert t['ci'] == pytest.approx([ci.low, ci.high])


def test_welch_test_is_scipys():
    base, gc = [0.50, 0.52, 0.48, 0.55], [0.60, 0.66, 0.58]
    t = S.welch_test(base, gc)
    ref = stats.ttest_ind(gc, base, equal_var=False)
    assert t['test'] == 'Welch t' and t['n'] == [4, 3]
    assert t['t'] == pytest.approx(ref.statistic) and t['p'] == pytest.approx(ref.pvalue)
    if hasattr(ref, 'df'):  # scipy >= 1.11
        assert t['df'] == pytest.approx(ref.df)
        ci = ref.confidence_interval(0.95)
        assert t['ci'] == pytest.approx([ci.low, ci.high])


def test_verdict_pairs_common_seeds_and_falls_back_to_welch():
    assert S.verdict({0: 0.5, 1: 0.6}, {0: 0.55, 1: 0.66})['test'] == 'paired t'
    assert S.verdict({0: 0.5, 1: 0.6}, {2: 0.55, 3: 0.66})['test'] == 'Welch t'


def test_the_published_comparison_exceeds_noise_by_the_paired_test():
    """The old verdict (Welch's t against a typed quantile at the degrees of
    freedom rounded down: 4.303 for df 2.99) said noise for both tasks; the
    paired test the design calls for says GC is ahead, and so does Welch's
    test computed exactly for box AP."""
    box = S.verdict(*PUBLISHED['bbox'])
    assert box['test'] == 'paired t' and box['wins'] == 3 and box['significant']
    assert box['t'] == pytest.approx(8.02, abs=0.01) and box['p'] == pytest.approx(0.015, abs=1e-3)
    assert box['ci'][1] - box['delta'] == pytest.approx(0.052, abs=1e-3)
    mask = S.verdict(*PUBLISHED['segm'])
    assert mask['significant'] and mask['p'] == pytest.approx(0.029, abs=1e-3)
    welch = S.welch_test(list(PUBLISHED['bbox'][0].values()), list(PUBLISHED['bbox'][1].values()))
    assert welch['t'] == pytest.approx(3.64, abs=0.01) and welch['t'] < 4.303  # the old threshold
    assert welch['p'] == pytest.approx(0.036, abs=1e-3) and welch['significant']
    line = S.verdict_line(dict(tests=dict(bbox=box, segm=mask)))
    assert 'box AP +0.096 (95 % CI +0.045 to +0.148; paired t-test over 3 seeds' in line
    assert 'does not exceed' not in line


@pytest.mark.slow
def test_compare_seeds_end_to_end(synthetic_root, tmp_path):
    out = str(tmp_path / 'cmp')
    # 4 iterations of the demo model: keep every box so that each run is evaluated
    opts = tiny_overrides(synthetic_root, epochs=2) + ['model.test_cfg.rcnn.score_thr=0.0']
    proc = run(
        tool_cmd(
            'compare_seeds.py',
            *('--seeds', '0', '1', '--out', out, '--publish', str(tmp_path / 'results')),
            *('--bootstrap', '5'),
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
    # evaluation noise: every run's detections, 5 resamples of the 4 validation images
    assert summary['bootstrap']['bbox']['n_boot'] == 5
    assert summary['bootstrap']['segm']['n_images'] == 4
    assert 'Evaluation noise, the models fixed (5 resamples of the 4 validation images' in md
    for arm in ('baseline', 'gc'):
        for s in '01':
            assert osp.isfile(osp.join(out, f'{arm}_seed{s}', 'val_dets.segm.json'))
    assert 'detections on the validation set' not in proc.stdout  # the last evaluation's
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
    assert S.summary_table(summary) in table and '4 runs one after another' in table
    assert cv2.imread(str(tmp_path / 'results' / 'compare_ap_bands.png')) is not None
    # a second call keeps the finished runs; a run without detections gets them from its checkpoint
    for task in ('bbox', 'segm'):
        os.remove(osp.join(out, 'gc_seed1', f'val_dets.{task}.json'))
    again = run(
        tool_cmd(
            *('compare_seeds.py', '--seeds', '0', '1', '--out', out, '--bootstrap', '5'),
            cfg_options=opts,
        ),
        timeout=300,
    )
    assert again.returncode == 0 and again.stdout.count('finished earlier, kept') == 4
    assert again.stdout.count('detections on the validation set') == 1  # gc seed 1 only
    assert json.load(open(osp.join(out, 'summary.json')))['bootstrap'] == summary['bootstrap']
