#!/usr/bin/env python
# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What Gradient Centralization costs, measured side by side in one process.

    PYTHONPATH=tests:tools python benchmarks/gc_overhead.py [--models r50 x101] [--threads 1 0]
        [--repeats 40] [--iters 6] [--device cpu|cuda] [--json out.json]

Three measurements, each as interleaved repetitions (A, B, A, B, ...) whose
per-repetition ratios are summarised by their median and interquartile range:

1. the GC pass alone (Φ, without weight decay) over the gradients of mmdet's
   Mask R-CNN (R50-FPN, X101-64x4d-FPN) versus one memory pass over the same
   tensors (``torch._foreach_add_`` of a scalar, the roofline proxy);
2. an optimizer step: torch SGD (momentum, weight decay) without GC, with
   gc_mmdet's GC, and the reference SGD_GC update rule as the reference code
   runs it (a per-parameter Python loop, re-implemented here);
3. a whole training iteration of Mask R-CNN R50-FPN on synthetic images,
   with and without GC.

``--threads 0`` means torch's default thread count. Prints a Markdown table;
``--json`` writes the numbers.
"""

import argparse
import json
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List

import torch

from gc_mmdet.cli.common import run_cli
from repo_tools.benchmark_tables import gc_overhead_table
from repo_tools.results import (
    add_publish_arg,
    benchmark_results,
    check_publish,
    publish_benchmark,
)

MODELS = {
    'r50': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'x101': 'mmdet::mask_rcnn/mask-rcnn_x101-64x4d_fpn_1x_coco.py',
}


def build_model(name: str, device: str = 'cpu'):
    from mmdet.registry import MODELS as REG
    from mmdet.utils import register_all_modules
    from mmengine.hub import get_config

    from gc_mmdet.utils import without_pretrained

    register_all_modules()
    cfg = get_config(MODELS[name])
    model = REG.build(without_pretrained(cfg.model))
    model.init_weights()
    return model.to(device), cfg


def _sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def timed(fn: Callable[[], None], device: str) -> float:
    """Seconds for one call (CUDA events on the GPU)."""
    if device == 'cuda':
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1000.0
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def interleaved(
    fns: Dict[str, Callable[[], None]], repeats: int, device: str, warmup: int = 2
) -> Dict[str, List[float]]:
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    _sync(device)
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            times[k].append(timed(fn, device))
    return times


def ratio_stats(num: List[float], den: List[float]) -> Dict[str, float]:
    ratios = sorted(a / b for a, b in zip(num, den))
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return dict(median=statistics.median(ratios), q1=q[0], q3=q[2], min=ratios[0], max=ratios[-1])


def _ms(ts: List[float]) -> float:
    return 1000.0 * statistics.median(ts)


def reference_sgd_gc(params, lr=0.02, momentum=0.9, weight_decay=1e-4):
    """The reference SGD_GC step as its code runs it: per parameter, in
    Python, d_p = g + λw, centralize when ndim > 1, momentum, update."""
    state: Dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def step():
        for p in params:
            if p.grad is None:
                continue
            d_p = p.grad.data
            if weight_decay != 0:
                d_p = d_p.add(p.data, alpha=weight_decay)
            if d_p.dim() > 1:
                d_p.add_(-d_p.mean(dim=tuple(range(1, d_p.dim())), keepdim=True))
            buf = state.get(id(p))
            if buf is None:
                buf = state[id(p)] = d_p.clone()
            else:
                buf.mul_(momentum).add_(d_p)
            p.data.add_(buf, alpha=-lr)

    return step


def bench_gc_pass(model, repeats: int, device: str) -> dict:
    """1. the GC pass vs one memory pass over the same gradients."""
    import gc_mmdet

    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p)
    # Φ alone: no weight decay to fold in (that is measured with the step)
    opt = torch.optim.SGD(params, lr=0.0, momentum=0.0, weight_decay=0.0)
    handle = gc_mmdet.attach(opt, model)
    targets = [t.param for t in handle.targets]
    grads = [t.grad for t in targets]

    def gc_pass():
        handle._centralize_grads(opt, (), {})

    def memory_pass():
        torch._foreach_add_(grads, 1.0)

    times = interleaved(dict(gc=gc_pass, memory=memory_pass), repeats, device)
    handle.remove()
    numel = sum(t.numel() for t in targets)
    return dict(
        tensors=len(targets),
        numel=numel,
        gc_ms=_ms(times['gc']),
        memory_pass_ms=_ms(times['memory']),
        ratio=ratio_stats(times['gc'], times['memory']),
    )


def bench_step(model, repeats: int, device: str) -> dict:
    """2. SGD step without GC, with gc_mmdet's GC, and the reference loop."""
    import gc_mmdet

    params = [p for p in model.parameters() if p.requires_grad]
    grads = {p: torch.randn_like(p) for p in params}

    def with_grads(fn):
        def run():
            for p in params:
                p.grad = grads[p].clone()
            _sync(device)
            return fn()

        return run

    plain = torch.optim.SGD(params, lr=1e-6, momentum=0.9, weight_decay=1e-4)
    ours = torch.optim.SGD(params, lr=1e-6, momentum=0.9, weight_decay=1e-4)
    gc_mmdet.attach(ours, model)
    ref = reference_sgd_gc(params, lr=1e-6)
    # time only the step: gradients are reset outside the timed region
    fns = {}
    for name, step in (('sgd', plain.step), ('sgd_gc', ours.step), ('reference', ref)):
        fns[name] = step
    times = {k: [] for k in fns}
    for _ in range(2):
        for fn in fns.values():
            with_grads(lambda: None)()
            fn()
    for _ in range(repeats):
        for k, fn in fns.items():
            with_grads(lambda: None)()
            times[k].append(timed(fn, device))
    return dict(
        sgd_ms=_ms(times['sgd']),
        sgd_gc_ms=_ms(times['sgd_gc']),
        reference_ms=_ms(times['reference']),
        with_over_without=ratio_stats(times['sgd_gc'], times['sgd']),
        reference_over_ours=ratio_stats(times['reference'], times['sgd_gc']),
    )


def bench_iteration(iters: int, device: str, size: int = 256) -> dict:
    """3. a whole training iteration of Mask R-CNN R50-FPN, GC on / off."""
    import copy

    from mmdet.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    import gc_mmdet  # noqa: F401
    from gc_mmdet.datasets import ensure_synthetic_coco

    root = osp.join('data', 'synthetic_coco_bench')
    ensure_synthetic_coco(root, num_train=4, num_val=1, size=size, seed=0)
    model, cfg = build_model('r50', device)
    model_gc = copy.deepcopy(model)
    ds = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=root,
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            metainfo=dict(classes=gc_mmdet.datasets.SYNTHETIC_CLASSES),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='PackDetInputs'),
            ],
        )
    )
    batch = pseudo_collate([ds[0], ds[1]])
    ow_cfg = dict(
        optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=1e-4),
        clip_grad=dict(max_norm=10),
    )
    with DefaultScope.overwrite_default_scope('mmdet'):
        plain = build_optim_wrapper(model, ow_cfg)
        gc = build_optim_wrapper(model_gc, dict(ow_cfg, constructor='GCOptimWrapperConstructor'))

    def iteration(m, ow):
        def run():
            m.train_step(batch, ow)

        return run

    times = interleaved(
        dict(plain=iteration(model, plain), gc=iteration(model_gc, gc)), iters, device, warmup=1
    )
    return dict(
        plain_s=statistics.median(times['plain']),
        gc_s=statistics.median(times['gc']),
        overhead=ratio_stats(times['gc'], times['plain']),
    )


def _fmt(r: Dict[str, float]) -> str:
    return f'{r["median"]:.3f} [{r["q1"]:.3f}, {r["q3"]:.3f}]'


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=['r50', 'x101'], choices=list(MODELS))
    parser.add_argument('--threads', nargs='+', type=int, default=[1, 0])
    parser.add_argument('--repeats', type=int, default=40)
    parser.add_argument(
        '--iters', type=int, default=6, help='interleaved training iterations per variant (0: skip)'
    )
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--json', help='write the results here')
    add_publish_arg(parser, 'gc_overhead')
    args = parser.parse_args(argv)
    check_publish(args.publish, 'gc_overhead')
    default_threads = torch.get_num_threads()
    device_name = (
        torch.cuda.get_device_name()
        if args.device == 'cuda'
        else f'CPU ({default_threads} threads available)'
    )
    results = dict(device=device_name, torch=torch.__version__, repeats=args.repeats, runs=[])
    for name in args.models:
        model, _ = build_model(name, args.device)
        for threads in args.threads:
            torch.set_num_threads(threads or default_threads)
            gcp = bench_gc_pass(model, args.repeats, args.device)
            step = bench_step(model, args.repeats, args.device)
            results['runs'].append(
                dict(model=name, threads=threads or default_threads, gc_pass=gcp, step=step)
            )
        del model
    torch.set_num_threads(default_threads)
    if args.iters:
        results['iteration'] = dict(bench_iteration(args.iters, args.device), iters=args.iters)
    print(f'## GC overhead on {device_name}, torch {torch.__version__}\n')
    print(gc_overhead_table(benchmark_results('gc_overhead', results)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)
    if args.publish:
        print(f'published: {publish_benchmark(args.publish, "gc_overhead", results)}')
    return results


if __name__ == '__main__':
    run_cli(main)
