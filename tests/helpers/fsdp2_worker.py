"""A rank of the FSDP2 tests (tests/test_core/test_fsdp2.py): a small net
with odd channel counts (an uneven split), a transposed convolution (its
channels span dim 0, the sharded one) and a 1-output linear layer (rank 1
holds no row of it), sharded with ``fully_shard`` on a 2-rank gloo CPU mesh,
GC attached after sharding, 3 steps on this rank's half of the batch; rank 0
saves the full weights."""

import os
import sys

import torch
import torch.distributed as dist
from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)  # 5 rows: 3 on rank 0, 2 on rank 1
        self.up = nn.ConvTranspose2d(5, 4, 2, stride=2)  # a channel spans dim 0 (5 inputs)
        self.mask = nn.Conv2d(4, 3, 1)
        self.fc = nn.Linear(3, 1)  # one row: rank 1 holds none

    def forward(self, x):
        x = torch.relu(self.mask(torch.relu(self.up(torch.relu(self.conv(x))))))
        return self.fc(x.mean((2, 3)))


OPTIMIZERS = {
    'sgd': (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2), 'grad'),
    'adamw': (lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=1e-2), 'update'),
}


def batch(step: int):
    g = torch.Generator().manual_seed(step)
    return torch.randn(4, 3, 6, 6, generator=g), torch.randn(4, 1, generator=g)


def train(model, optimizer, steps: int, rank=None, world_size=1):
    for step in range(steps):
        x, target = batch(step)
        if rank is not None:  # this rank's half of the global batch
            x, target = x.chunk(world_size)[rank], target.chunk(world_size)[rank]
        optimizer.zero_grad()
        ((model(x) - target) ** 2).mean().backward()
        optimizer.step()


def run(rank: int, world_size: int, init_file: str, out: str, case: str) -> None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    import gc_mmdet
    from gc_mmdet.utils.launch import leave_process_group

    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world_size
    )
    make_optimizer, location = OPTIMIZERS[case.split('-')[0]]
    torch.manual_seed(0)
    model = Net()
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    mesh = init_device_mesh('cpu', (world_size,))
    result = {'initial': initial}
    if case.endswith('-late'):  # fully_shard after attach: a clear error, not stale tensors
        optimizer = make_optimizer(model.parameters())
        gc_mmdet.attach(optimizer, model, location=location)
        fully_shard(model, mesh=mesh)
        try:
            train(model, optimizer, 1, rank, world_size)
        except gc_mmdet.core.GCNotSteppingError as e:
            result['error'] = str(e)
    elif case.endswith('-shard1'):
        fully_shard(model, mesh=mesh, shard_placement_fn=lambda p: _shard1(p))
        try:
            gc_mmdet.attach(make_optimizer(model.parameters()), model, location=location)
        except ValueError as e:
            result['error'] = str(e)
    else:
        fully_shard(model, mesh=mesh)
        optimizer = make_optimizer(model.parameters())
        if not case.endswith('-nogc'):
            gc_mmdet.attach(optimizer, model, location=location)
        train(model, optimizer, 3, rank, world_size)
        result['final'] = {
            k: v.full_tensor().detach().clone() for k, v in model.state_dict().items()
        }
    if rank == 0:
        torch.save(result, out)
    leave_process_group()  # a barrier, then destroy
    # After fully_shard, gloo's threads (gloo_tcp_loop, pt_gloo_runloop) outlive
    # destroy_process_group and a garbage collection, with no ProcessGroup left
    # in Python (plain gloo stops them); the interpreter's teardown then met
    # them and SIGABRT ended rank 1 once in 150 launches ("terminate called
    # without an active exception"). Everything is saved: end without teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _shard1(p):
    from torch.distributed.tensor import Shard

    # the mask conv's weight (3, 4, 1, 1) on its input channels (4: an even split)
    return Shard(1) if tuple(p.shape) == (3, 4, 1, 1) else Shard(0)
