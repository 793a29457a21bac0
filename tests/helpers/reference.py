"""Independent re-implementations of the reference GC update rules.

Written from the paper (Yong et al., ECCV 2020, Algorithms 1-2) and the
semantics of the reference optimizers (SGD_GC, SGD_GCC, Adam with gc_loc),
with explicit loops over output channels so that they share no code with
gc_mmdet.
"""

import math
from typing import Dict, List

import torch
from torch import nn


def center_loop(t: torch.Tensor, kind: str, groups: int = 1) -> torch.Tensor:
    """Φ_GC by looping over output channels; returns a new tensor."""
    out = t.clone()
    if kind == 'conv_transpose':
        in_per_group = t.shape[0] // groups
        for k in range(groups):
            rows = slice(k * in_per_group, (k + 1) * in_per_group)
            for j in range(t.shape[1]):
                out[rows, j] = t[rows, j] - t[rows, j].mean()
    else:  # output channel i is t[i] (conv, linear, reference rule)
        for i in range(t.shape[0]):
            out[i] = t[i] - t[i].mean()
    return out


def channel_means_loop(t: torch.Tensor, kind: str, groups: int = 1) -> List[float]:
    if kind == 'conv_transpose':
        in_per_group = t.shape[0] // groups
        return [
            t[k * in_per_group : (k + 1) * in_per_group, j].mean().item()
            for k in range(groups)
            for j in range(t.shape[1])
        ]
    return [t[i].mean().item() for i in range(t.shape[0])]


def gc_kinds(model: nn.Module, layers: str = 'conv_fc') -> Dict[str, tuple]:
    """name -> (kind, groups) of the weights the paper's GC applies to."""
    found = {}
    for mname, m in model.named_modules():
        prefix = f'{mname}.' if mname else ''
        if isinstance(m, nn.modules.conv._ConvNd):
            kind = 'conv_transpose' if m.transposed else 'conv'
            found[prefix + 'weight'] = (kind, m.groups)
        elif isinstance(m, nn.Linear) and layers == 'conv_fc':
            found[prefix + 'weight'] = ('linear', 1)
    return found


def reference_kinds(model: nn.Module, layers: str = 'conv_fc') -> Dict[str, tuple]:
    """The reference code's rule: every tensor with ndim > 1 (> 3 for conv)."""
    min_ndim = 2 if layers == 'conv_fc' else 4
    return {n: ('reference', 1) for n, p in model.named_parameters() if p.dim() >= min_ndim}


class RefSGD:
    """SGD_GC / SGD_GCC as the reference implements it: d = g + λw, then
    Φ(d) for the selected weights, then (Nesterov) momentum."""

    def __init__(
        self, model, kinds, lr, momentum=0.0, weight_decay=0.0, nesterov=False, dampening=0.0
    ):
        self.params = dict(model.named_parameters())
        self.kinds, self.lr, self.mu = kinds, lr, momentum
        self.wd, self.nesterov, self.damp = weight_decay, nesterov, dampening
        self.buf: Dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def step(self):
        for name, p in self.params.items():
            if p.grad is None:
                continue
            d = p.grad.clone()
            if self.wd:
                d = d + self.wd * p
            if name in self.kinds:
                d = center_loop(d, *self.kinds[name])
            if self.mu:
                if name not in self.buf:
                    self.buf[name] = d.clone()
                else:
                    self.buf[name] = self.mu * self.buf[name] + (1 - self.damp) * d
                d = d + self.mu * self.buf[name] if self.nesterov else self.buf[name]
            p -= self.lr * d


class RefAdam:
    """Adam with GC on the gradient (gc_loc=True) or on the update
    (gc_loc=False); coupled L2 weight decay as in torch.optim.Adam."""

    def __init__(
        self,
        model,
        kinds,
        lr,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        gc_loc=True,
        decoupled=False,
    ):
        self.params = dict(model.named_parameters())
        self.kinds, self.lr, self.betas, self.eps = kinds, lr, betas, eps
        self.wd, self.gc_loc, self.decoupled = weight_decay, gc_loc, decoupled
        self.m: Dict[str, torch.Tensor] = {}
        self.v: Dict[str, torch.Tensor] = {}
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for name, p in self.params.items():
            if p.grad is None:
                continue
            g = p.grad.clone()
            if self.wd and not self.decoupled:
                g = g + self.wd * p
            if self.gc_loc and name in self.kinds:
                g = center_loop(g, *self.kinds[name])
            m = self.m.setdefault(name, torch.zeros_like(p))
            v = self.v.setdefault(name, torch.zeros_like(p))
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(1 - b2**self.t)).add_(self.eps)
            update = -(self.lr / (1 - b1**self.t)) * m / denom
            if self.wd and self.decoupled:
                update = update - self.lr * self.wd * p
            if not self.gc_loc and name in self.kinds:
                update = center_loop(update, *self.kinds[name])
            p += update
