# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Distributed launch that also works on machines without a GPU.

mmengine 0.10.7's ``pytorch``/``slurm`` launchers call
``torch.cuda.set_device(local_rank)`` before creating the process group, and
its default DDP wrapper passes ``device_ids=[local_rank]``; both fail on a
CPU-only machine. On such a machine :func:`prepare_distributed` creates a
gloo process group itself (mmengine then skips its own ``init_dist``) and
asks for a DDP wrapper without device ids. With CUDA nothing is changed.
"""
import os
import subprocess
from typing import Any

import torch
import torch.distributed as dist

__all__ = ['prepare_distributed']


def _slurm_env() -> None:
    """Translate Slurm's variables into torch's ``env://`` ones."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1')
    os.environ.setdefault('MASTER_PORT', '29500')


def _mpi_env() -> None:
    os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
    os.environ.setdefault('WORLD_SIZE', os.environ['OMPI_COMM_WORLD_SIZE'])
    os.environ.setdefault('LOCAL_RANK', os.environ['OMPI_COMM_WORLD_LOCAL_RANK'])
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29500')


def prepare_distributed(cfg: Any, launcher: str) -> bool:
    """Prepare ``cfg`` and the process group for ``launcher``.

    Args:
        cfg: the config the Runner will be built from (modified in place).
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True when the CPU (gloo) path was taken.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        if launcher == 'slurm':
            _slurm_env()
        elif launcher == 'mpi':
            _mpi_env()
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', 1800)
        from datetime import timedelta
        dist.init_process_group('gloo', init_method='env://',
                                timeout=timedelta(seconds=timeout))
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    return True
