"""gc_mmdet.utils.machine: what a run's times and float rounding depend on."""

import torch

from gc_mmdet.utils import machine


def test_the_machine_record_names_the_cpu_kernels_and_threads():
    record = machine()
    assert record['torch_threads'] == torch.get_num_threads()
    assert record['cpu_capability'] == torch.backends.cpu.get_cpu_capability()
    assert record['cpu_capability'] in (
        'DEFAULT',
        'AVX2',
        'AVX512',
        'ZVECTOR',
        'VSX',
        'NEON',
        'SVE256',
    )
