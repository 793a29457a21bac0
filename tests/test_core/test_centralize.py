"""Φ_GC as an operator: zero channel means, idempotence, orthogonality."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gc_mmdet.core import ChannelLayout, centralize_, channel_mean
from helpers.reference import center_loop, channel_means_loop


@st.composite
def weight_case(draw):
    """(tensor, layout, kind, groups) for every layer shape GC handles."""
    kind = draw(
        st.sampled_from(
            [
                'linear',
                'conv1d',
                'conv2d',
                'conv3d',
                'grouped',
                'depthwise',
                'transposed',
                'grouped_transposed',
            ]
        )
    )
    groups = draw(st.integers(1, 3))
    per_in = draw(st.integers(1, 4))
    per_out = draw(st.integers(1, 4))
    k = draw(st.integers(1, 3))
    if kind == 'linear':
        shape, layout, ref = (
            (per_out * groups, per_in + 1),
            ChannelLayout.output_first(2),
            ('linear', 1),
        )
    elif kind in ('conv1d', 'conv2d', 'conv3d'):
        nk = int(kind[4])
        shape = (per_out, per_in) + (k,) * nk
        layout, ref = ChannelLayout.output_first(len(shape)), ('conv', 1)
    elif kind in ('grouped', 'depthwise'):
        per_in = 1 if kind == 'depthwise' else per_in
        shape = (per_out * groups, per_in, k + 1, k)
        layout, ref = ChannelLayout.output_first(4), ('conv', groups)
    else:
        g = 1 if kind == 'transposed' else groups
        shape = (per_in * g, per_out, k, k + 1)
        layout, ref = ChannelLayout.transposed(4, g), ('conv_transpose', g)
    seed = draw(st.integers(0, 2**31 - 1))
    t = torch.randn(
        shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    ) * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    return t, layout, ref


@settings(max_examples=150, deadline=None)
@given(weight_case())
def test_matches_per_channel_loop_and_zero_means(case):
    t, layout, ref = case
    out = centralize_(t.clone(), layout)
    torch.testing.assert_close(out, center_loop(t, *ref))
    scale = t.abs().max().item()
    for m in channel_means_loop(out, *ref):
        assert abs(m) <= 1e-12 * max(scale, 1)


@settings(max_examples=100, deadline=None)
@given(weight_case())
def test_idempotent_orthogonal_projection(case):
    t, layout, _ = case
    once = centralize_(t.clone(), layout)
    twice = centralize_(once.clone(), layout)
    torch.testing.assert_close(twice, once)
    assert once.norm() <= t.norm() * (1 + 1e-12)
    inner = torch.dot(once.flatten(), (t - once).flatten())
    assert abs(inner.item()) <= 1e-9 * max(t.norm().item() ** 2, 1)


@settings(max_examples=60, deadline=None)
@given(weight_case(), st.floats(1e-5, 1.0))
def test_coupled_weight_decay_form(case, wd):
    """centralize_(g, w, λ) = Φ(g + λw) - λw."""
    g, layout, ref = case
    w = torch.randn_like(g)
    out = centralize_(g.clone(), layout, w, wd)
    torch.testing.assert_close(out, center_loop(g + wd * w, *ref) - wd * w)


def test_transposed_layout_is_not_dim0():
    """A (in, out) transposed weight: channel j is the column W[:, j]."""
    t = torch.arange(6.0).reshape(3, 2, 1, 1)  # in=3, out=2
    out = centralize_(t.clone(), ChannelLayout.transposed(4))
    torch.testing.assert_close(out.sum(0), torch.zeros(2, 1, 1))
    assert out[:, 0].flatten().tolist() == [-2.0, 0.0, 2.0]


def test_channel_mean_shapes():
    w = torch.randn(6, 4, 3, 3)  # grouped transposed: in=6, groups=2, out=8
    layout = ChannelLayout.transposed(4, groups=2)
    assert channel_mean(w, layout).shape == (2, 1, 4, 1, 1)
    assert layout.fan_in(w.shape) == 3 * 9


def test_non_contiguous_gradient_in_place():
    g = torch.randn(8, 3, 3, 3).to(memory_format=torch.channels_last)
    expected = center_loop(g, 'conv')
    out = centralize_(g, ChannelLayout.output_first(4))
    assert out.data_ptr() == g.data_ptr()
    torch.testing.assert_close(g, expected)


def test_rejects_vectors():
    with pytest.raises(ValueError, match='ndim >= 2'):
        ChannelLayout.output_first(1)
