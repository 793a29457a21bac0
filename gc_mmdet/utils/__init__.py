# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Helpers for gc_mmdet's command-line tools."""
from .checkpoints import (checkpoint_problem, find_resumable_checkpoint,
                          use_safe_checkpoints)
from .data_check import (check_coco_file, check_data_report, check_datasets,
                         use_guarded_loading)
from .errors import SampleLoadError, UserError
from .launch import prepare_distributed
from .pretrained import (check_pretrained_available, find_pretrained,
                         without_pretrained)
from .work_dir import check_output_files, check_work_dir

__all__ = ['UserError', 'SampleLoadError', 'check_datasets', 'check_coco_file',
           'check_data_report', 'use_guarded_loading', 'prepare_distributed', 'check_pretrained_available',
           'find_pretrained', 'without_pretrained', 'check_work_dir',
           'check_output_files', 'checkpoint_problem', 'find_resumable_checkpoint',
           'use_safe_checkpoints']
