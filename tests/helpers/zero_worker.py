"""A rank of the ZeroRedundancyOptimizer test (tests/test_core/test_amp_fused.py):
the same DDP training twice, once with mmengine's ZeroRedundancyOptimizer
(local SGD) and once with plain SGD, both built by GCOptimWrapperConstructor
with weight_decay_mode='auto'; rank 0 saves both final state dicts."""

import os

import torch
import torch.distributed as dist
from mmengine.optim import build_optim_wrapper
from torch.nn.parallel import DistributedDataParallel as DDP


def run(rank: int, world_size: int, init_file: str, out: str) -> None:
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    import gc_mmdet  # noqa: F401  (registers GCOptimWrapperConstructor)
    from gc_mmdet.utils.launch import leave_process_group
    from helpers.models import AllKinds

    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world_size
    )
    results = {}
    for name, optimizer in (
        (
            'zero',
            dict(
                type='ZeroRedundancyOptimizer',
                optimizer_type='SGD',
                lr=0.05,
                momentum=0.9,
                weight_decay=1e-2,
            ),
        ),
        ('sgd', dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-2)),
    ):
        torch.manual_seed(0)
        model = DDP(AllKinds())
        wrapper = build_optim_wrapper(
            model, dict(constructor='GCOptimWrapperConstructor', optimizer=optimizer)
        )
        for step in range(4):
            g = torch.Generator().manual_seed(2 * step + rank)  # each rank its own data
            x, target = torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 5, generator=g)
            wrapper.update_params(((model(x) - target) ** 2).mean())  # through DDP: all-reduced
        results[name] = {k: v.detach().clone() for k, v in model.module.state_dict().items()}
    if rank == 0:
        torch.save(results, out)
    leave_process_group()  # a barrier, then destroy: no SIGABRT at exit
