# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""nn.MultiheadAttention's projection weights are fc weights for GC; tables
and positional embeddings are not, and nothing >= 2-D is dropped silently."""

import torch
from torch import nn

import gc_mmdet
from gc_mmdet.core.selection import SKIP_1D, SKIP_EMBEDDING, SKIP_OTHER, SKIP_POSITIONAL


class Mystery(nn.Module):
    """A module that owns a 2-D weight and is no known layer."""

    def __init__(self):
        super().__init__()
        self.mixing = nn.Parameter(torch.randn(4, 8))

    def forward(self, x):
        return x @ self.mixing.t()


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.query_embedding = nn.Embedding(5, 8)
        self.level_embed = nn.Parameter(torch.randn(2, 8))
        self.self_attn = nn.MultiheadAttention(8, 2)  # in_proj_weight
        self.cross_attn = nn.MultiheadAttention(8, 2, kdim=6, vdim=4)  # q/k/v_proj_weight
        self.norm = nn.LayerNorm(8)
        self.mystery = Mystery()

    def forward(self, memory_k, memory_v):
        q = self.query_embedding.weight[:, None] + self.level_embed.sum(0)
        q = self.norm(q + self.self_attn(q, q, q)[0])
        q = q + self.cross_attn(q, memory_k, memory_v)[0]
        return self.mystery(q).square().mean()


def _model_and_handle(layout='paper', layers='conv_fc'):
    torch.manual_seed(0)
    model = TinyTransformer()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    return model, opt, gc_mmdet.attach(opt, model, layers=layers, layout=layout)


def test_attention_projections_are_covered_and_embeddings_are_not():
    model, opt, handle = _model_and_handle()
    kinds = {t.name: t.kind for t in handle.targets}
    assert kinds == {
        'self_attn.in_proj_weight': 'attention',
        'self_attn.out_proj.weight': 'linear',
        'cross_attn.q_proj_weight': 'attention',
        'cross_attn.k_proj_weight': 'attention',
        'cross_attn.v_proj_weight': 'attention',
        'cross_attn.out_proj.weight': 'linear',
    }
    skipped = handle.selection.skipped
    assert skipped[SKIP_EMBEDDING] == ['query_embedding.weight']
    assert skipped[SKIP_POSITIONAL] == ['level_embed']
    assert skipped[SKIP_OTHER] == ['mystery.mixing']
    assert 'norm.weight' in skipped[SKIP_1D] and 'self_attn.in_proj_bias' in skipped[SKIP_1D]
    summary = handle.summary()
    assert 'attention: 4 tensors' in summary
    assert 'not centralized, not a known layer: mystery.mixing' in summary

    # one step: every covered weight keeps its per-output-row mean (e^T Δw = 0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model(torch.randn(3, 1, 6), torch.randn(3, 1, 4)).backward()
    opt.step()
    params = dict(model.named_parameters())
    for name in kinds:
        delta = params[name].detach() - before[name]
        assert delta.abs().max() > 0, name
        assert delta.mean(dim=1).abs().max() < 1e-7, name
    # skipped tensors move freely
    delta = params['query_embedding.weight'].detach() - before['query_embedding.weight']
    assert delta.mean(dim=1).abs().max() > 1e-6


def test_layers_conv_skips_attention_and_reference_keeps_its_rule():
    _, _, handle = _model_and_handle(layers='conv')
    assert not handle.targets
    assert 'self_attn.in_proj_weight' in handle.selection.skipped['fc (layers=conv)']
    # the reference rule: every optimized tensor with ndim > 1, embeddings included
    model, _, handle = _model_and_handle(layout='reference')
    assert {t.name for t in handle.targets} == {
        n for n, p in model.named_parameters() if p.dim() > 1
    }
