# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The data check: every fault of a COCO data set that would stop or spoil
training, named before the first iteration (docs/own_data.md).

One concern per module: ``data_check`` (a config's data sets, the entry
point), ``coco_sections`` (an annotation file, section by section),
``config_against_data`` (the config's classes and filters against the file),
``image_files`` with ``image_probe`` and ``image_cache`` (the image files),
``findings`` (the fault kinds and the report)."""

from .data_check import (
    check_data_report,
    check_datasets,
    use_guarded_loading,
)

__all__ = ['check_data_report', 'check_datasets', 'use_guarded_loading']
