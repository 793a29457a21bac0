#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The checks that need a GPU, as one short script.

    PYTHONPATH=tests:tools python benchmarks/gpu_check.py --json gpu_check.json        # on a CUDA machine
    PYTHONPATH=tests:tools python benchmarks/gpu_check.py --device cpu --quick --no-cost  # the same logic on the CPU

1. ``fused``: SGD (momentum, weight decay), Adam and AdamW with ``fused=True``
   under ``torch.amp.GradScaler``, GC attached (``location='grad'`` and
   ``'update'``), against the same run unscaled and not fused: largest weight
   difference relative to the largest weight.
2. ``bf16``: the same net trained under ``torch.autocast(dtype=torch.bfloat16)``
   with GC: the largest drift of a covered weight's channel mean, relative to
   its largest entry (GC keeps them: ~1e-7 is float rounding).
3. ``nccl``: whether NCCL is there and how many GPUs (a 2-rank run needs two).
4. ``cost``: a whole Mask R-CNN R50-FPN training iteration with and without
   GC, interleaved (benchmarks/gc_overhead.py), median seconds and the ratio.

Prints one line per check and, with ``--json``, writes every number. Exits 1
when a check is outside its tolerance.
"""

import argparse
import json
import sys
from typing import Dict, List

import torch
from torch import nn

import gc_mmdet
from gc_mmdet.core import channel_mean

TOLERANCE = {'fused': 1e-5, 'bf16': 1e-6}


class SmallNet(nn.Module):
    """Every layer kind GC treats: conv, transposed conv, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.up(torch.relu(self.conv(x)))).mean((2, 3)))


def _batches(steps: int, device: str) -> List:
    g = torch.Generator().manual_seed(0)
    return [
        (torch.randn(4, 3, 8, 8, generator=g).to(device), torch.randn(4, 5, generator=g).to(device))
        for _ in range(steps)
    ]


def _optimizer(name: str, params, fused: bool):
    kwargs = dict(fused=True) if fused else {}
    if name == 'sgd':
        return torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-2, **kwargs)
    cls = torch.optim.Adam if name == 'adam' else torch.optim.AdamW
    return cls(params, lr=1e-2, weight_decay=1e-2, **kwargs)


def _train(device: str, name: str, location: str, steps: int, scaled: bool, bf16: bool = False):
    torch.manual_seed(0)
    model = SmallNet().to(device)
    opt = _optimizer(name, model.parameters(), fused=scaled)
    handle = gc_mmdet.attach(opt, model, location=location)
    before = {t.name: t.param.detach().clone() for t in handle.targets}
    scaler = torch.amp.GradScaler(device, init_scale=2.0**10) if scaled else None
    for x, y in _batches(steps, device):
        opt.zero_grad()
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            loss = ((model(x).float() - y) ** 2).mean()
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
    return model, handle, before


def check_fused(device: str, steps: int) -> Dict[str, float]:
    out = {}
    for name in ('sgd', 'adam', 'adamw'):
        for location in ('grad', 'update'):
            fused, _, _ = _train(device, name, location, steps, scaled=True)
            plain, _, _ = _train(device, name, location, steps, scaled=False)
            err = max(
                ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()
                for a, b in zip(fused.state_dict().values(), plain.state_dict().values())
            )
            out[f'{name}-{location}'] = err
    return out


def check_bf16(device: str, steps: int) -> Dict[str, float]:
    out = {}
    for location in ('grad', 'update'):
        _, handle, before = _train(device, 'sgd', location, steps, scaled=False, bf16=True)
        out[location] = max(
            (
                (channel_mean(t.param.detach(), t.layout) - channel_mean(before[t.name], t.layout))
                .abs()
                .max()
                / before[t.name].abs().max()
            ).item()
            for t in handle.targets
        )
    return out


def check_nccl() -> Dict[str, object]:
    available = torch.distributed.is_available() and torch.distributed.is_nccl_available()
    gpus = torch.cuda.device_count()
    return dict(
        available=bool(available),
        gpus=gpus,
        two_rank_run='possible' if gpus >= 2 else 'needs 2 GPUs',
    )


def check_cost(device: str, iters: int, size: int) -> Dict[str, object]:
    from gc_overhead import bench_iteration

    return bench_iteration(iters, device, size)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--quick', action='store_true', help='3 steps per check instead of 20')
    parser.add_argument('--no-cost', action='store_true', help='skip the R50 iteration timing')
    parser.add_argument('--iters', type=int, default=20, help='timed iterations of the cost check')
    parser.add_argument('--json', help='write every number here')
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        print(
            'error: --device cuda: no CUDA GPU here; use --device cpu for a dry run',
            file=sys.stderr,
        )
        return 2
    steps = 3 if args.quick else 20
    results = dict(
        device=torch.cuda.get_device_name() if args.device == 'cuda' else 'cpu',
        torch=torch.__version__,
        fused=check_fused(args.device, steps),
        bf16=check_bf16(args.device, steps),
        nccl=check_nccl(),
    )
    if not args.no_cost:
        results['cost'] = check_cost(args.device, args.iters, 256)
    ok = True
    for check in ('fused', 'bf16'):
        worst = max(results[check].values())
        good = worst <= TOLERANCE[check]
        ok &= good
        print(
            f'{check}: worst {worst:.2e} (tolerance {TOLERANCE[check]:.0e}) '
            f'{"ok" if good else "OUT OF TOLERANCE"} {results[check]}'
        )
    print(f'nccl: {results["nccl"]}')
    if 'cost' in results:
        c = results['cost']
        print(f'cost: plain {c["plain_s"]:.3f} s, GC {c["gc_s"]:.3f} s, ratio {c["overhead"]}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
