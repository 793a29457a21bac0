# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""tools/gc_coverage.py: what GC covers in any config, and --verify of the
paper's constraint on two checkpoints of a run."""

import os.path as osp

import pytest

from gc_mmdet.engine.optimizers import gc_handle_of
from helpers.synthetic import BASELINE_CONFIG, GC_CONFIG, assert_ok, run, tool_cmd


@pytest.mark.slow  # starts a process: seconds
def test_coverage_of_an_mmdet_name_without_gc():
    proc = run(tool_cmd('gc_coverage.py', 'mmdet::detr/detr_r50_8xb2-150e_coco.py'))
    assert_ok(proc)
    out = proc.stdout
    assert "optimizer AdamW, gc_cfg {'location': 'update'} (added: the config has no GC)" in out
    assert '| GC: attention | 18 | 3,538,944 |' in out  # DETR's in_proj_weights
    assert '| skipped: embedding table | 1 | 25,600 |' in out  # query_embedding
    assert 'not a known layer' not in out


@pytest.mark.slow  # starts a process: seconds
def test_coverage_of_a_config_path_with_gc():
    proc = run(tool_cmd('gc_coverage.py', 'configs/beyond_paper/dino-4scale_r50_gc_12e_coco.py'))
    assert_ok(proc)
    assert "gc_cfg {'layers': 'conv_fc', 'location': 'update'}" in proc.stdout
    assert '| GC: attention | 6 |' in proc.stdout
    assert '| skipped: positional/level embedding | 1 | 1,024 |' in proc.stdout  # level_embed
    bad = run(tool_cmd('gc_coverage.py', 'mmdet::nope/nope.py'))
    assert bad.returncode == 2 and bad.stderr.startswith('error: config mmdet::nope/nope.py')


def _ckpts(work_dir):
    return [osp.join(work_dir, f'epoch_{e}.pth') for e in (1, 2)]


@pytest.mark.slow
def test_verify_passes_on_a_gc_run(trained_gc):
    proc = run(tool_cmd('gc_coverage.py', GC_CONFIG, '--verify', *_ckpts(trained_gc[0])))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'GC constraint holds on all 63 covered weights' in proc.stdout


@pytest.mark.slow
def test_verify_fails_on_a_baseline_run_naming_a_layer(trained_baseline):
    # the baseline config has no GC: the tool adds it to know what to check
    proc = run(
        tool_cmd('gc_coverage.py', BASELINE_CONFIG, '--verify', *_ckpts(trained_baseline[0]))
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('GC constraint violated')][0]
    assert 'of 63 covered weights; worst: ' in line and '.weight changed its channel means' in line


@pytest.mark.parametrize(
    'name,attention,embeddings,positional',
    [
        (
            'detr/detr_r50_8xb2-150e_coco.py',
            [
                f'{part}.layers.{i}.self_attn.attn.in_proj_weight'
                for part in ('encoder', 'decoder')
                for i in range(6)
            ]
            + [f'decoder.layers.{i}.cross_attn.attn.in_proj_weight' for i in range(6)],
            ['query_embedding.weight'],
            [],
        ),
        (
            'dino/dino-4scale_r50_8xb2-12e_coco.py',
            [f'decoder.layers.{i}.self_attn.attn.in_proj_weight' for i in range(6)],
            ['query_embedding.weight', 'dn_query_generator.label_embedding.weight'],
            ['level_embed'],
        ),
    ],
)
def test_detr_and_dino_attention_is_covered_and_embeddings_are_not(
    name, attention, embeddings, positional
):
    from gc_mmdet.cli.gc_coverage import build_model_with_gc, load_with_gc
    from gc_mmdet.core.selection import SKIP_EMBEDDING, SKIP_OTHER, SKIP_POSITIONAL

    cfg, _ = load_with_gc('mmdet::' + name)
    _, wrapper = build_model_with_gc(cfg)
    sel = gc_handle_of(wrapper).selection
    assert sorted(t.name for t in sel.targets if t.kind == 'attention') == sorted(attention)
    assert sel.skipped[SKIP_EMBEDDING] == embeddings
    assert sel.skipped.get(SKIP_POSITIONAL, []) == positional
    assert SKIP_OTHER not in sel.skipped
    covered = {t.name for t in sel.targets}
    assert not covered & set(embeddings + positional)
