"""What the installed torch offers. Tests of a feature that a supported but
older torch lacks skip there, with the torch version and the reason."""

import pytest
import torch

TORCH = torch.__version__


def _cpu_fused_optimizers() -> bool:
    weight = torch.zeros(2, requires_grad=True)
    weight.grad = torch.ones(2)
    try:
        torch.optim.SGD([weight], lr=0.1, fused=True).step()
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


needs_cpu_grad_scaler = pytest.mark.skipif(
    not hasattr(torch.amp, 'GradScaler'),
    reason=f"torch {TORCH} has no torch.amp.GradScaler('cpu') (torch >= 2.3); "
    'its CUDA GradScaler is off without a GPU',
)
needs_cpu_fused = pytest.mark.skipif(
    not _cpu_fused_optimizers(),
    reason=f'torch {TORCH} has no fused optimizers on the CPU (torch >= 2.4)',
)
needs_checkpoint_allow_list = pytest.mark.skipif(
    not hasattr(torch.serialization, 'get_unsafe_globals_in_checkpoint'),
    reason=f'torch {TORCH} loads checkpoints with weights_only=False by default and has no '
    'allow-list to inspect (torch >= 2.5); gc_mmdet.compat.torch_load does nothing there',
)
