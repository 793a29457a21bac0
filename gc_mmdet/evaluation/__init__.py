# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""COCO evaluation with a choice of backend: pycocotools or faster-coco-eval;
importing this package registers ``BackendCocoMetric`` in ``METRICS``."""

from .backends import EVAL_BACKENDS, check_eval_backend, coco_api
from .coco_metric import BackendCocoMetric
from .evaluator_cfg import with_eval_backend

__all__ = [
    'EVAL_BACKENDS',
    'check_eval_backend',
    'coco_api',
    'BackendCocoMetric',
    'with_eval_backend',
]
