# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What a run's times and float rounding depend on: the machine record that
reports and published results carry.

Example:
    >>> machine()['cpu_capability']
    'AVX512'
"""

import os
import platform
from typing import Any, Dict

import torch

__all__ = ['machine']


def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> Dict[str, Any]:
    """CPU, the vector instructions torch's CPU kernels use (e.g. AVX2,
    AVX512), cores, torch and its threads, Python."""
    get_capability = getattr(torch.backends.cpu, 'get_cpu_capability', None)
    return dict(
        cpu=_cpu_model(),
        cpu_capability=get_capability() if get_capability else 'unknown',
        cores=os.cpu_count(),
        torch=torch.__version__,
        torch_threads=torch.get_num_threads(),
        python=platform.python_version(),
    )
