# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The data check: every fault of a COCO data set that would stop or spoil
training, named before the first iteration (docs/own_data.md)."""

from .data_check import (
    check_data_report,
    check_datasets,
    use_guarded_loading,
)

__all__ = ['check_data_report', 'check_datasets', 'use_guarded_loading']
