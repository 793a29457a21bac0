"""A rank of the DeepSpeed test (tests/test_core/test_deepspeed.py): the
FSDP2 test's net, SGD (momentum, weight decay) with GC attached, handed to
``deepspeed.initialize`` as mmengine's DeepSpeedStrategy does, 3 steps on
this rank's half of the batch with ZeRO stage ``stage`` on the CPU
accelerator over gloo; rank 0 saves the final weights, or GC's error."""

import os
import sys

import torch
import torch.distributed as dist

#: where tools/setup/test_extra.sh installs deepspeed (not into the
#: environment: mmengine would import it in every tool)
DEEPSPEED_LIB = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    '.venv-deepspeed-lib',
)
#: where its ops are built (torch's default is one folder per user, and a
#: build from another checkout's sources is rebuilt: a minute of the test)
TORCH_EXTENSIONS = os.path.join(DEEPSPEED_LIB, 'torch_extensions')


def run(rank: int, world_size: int, init_file: str, out: str, stage: int, gc: bool = True) -> None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    sys.path.append(DEEPSPEED_LIB)  # after the environment: its torch and numpy win
    os.environ.update(
        DS_ACCELERATOR='cpu', RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size)
    )
    # the CPU accelerator's shared-memory op, built there by test_extra.sh
    os.environ['TORCH_EXTENSIONS_DIR'] = TORCH_EXTENSIONS
    import deepspeed

    import gc_mmdet
    from gc_mmdet.utils.launch import leave_process_group
    from helpers.fsdp2_worker import Net, batch

    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=world_size
    )
    torch.manual_seed(0)
    model = Net()
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    if gc:
        gc_mmdet.attach(optimizer, model)
    config = dict(
        train_batch_size=4,
        train_micro_batch_size_per_gpu=2,
        zero_optimization=dict(stage=stage),
        zero_allow_untested_optimizer=True,
    )
    engine, *_ = deepspeed.initialize(model=model, optimizer=optimizer, config=config)
    result = {'initial': initial}
    try:
        for step in range(3):
            x, target = batch(step)
            x, target = x.chunk(world_size)[rank], target.chunk(world_size)[rank]
            engine.backward(((engine(x) - target) ** 2).mean())
            engine.step()
        result['final'] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    except gc_mmdet.core.GCNotSteppingError as e:
        result['error'] = str(e)
    if rank == 0:
        torch.save(result, out)
    leave_process_group()
