# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Switching the COCO metrics of an evaluator config to an evaluation backend
(what ``tools/test.py --eval-backend`` does)."""

import copy
from typing import Any

from ..utils.config_parts import evaluator_metrics, is_type, type_name
from ..utils.errors import UserError
from .backends import check_eval_backend

__all__ = ['with_eval_backend']

# metric types switched: mmdet's CocoMetric and ours, by registry name
_SWITCHED = ('CocoMetric', 'BackendCocoMetric')


def _is_coco_metric(metric_type: Any) -> bool:
    """Whether a metric ``type`` (name, scoped name or class) is mmdet's
    CocoMetric itself or :class:`~gc_mmdet.evaluation.BackendCocoMetric`
    (not other subclasses of CocoMetric: they would lose what they add)."""
    if isinstance(metric_type, str):
        return is_type(metric_type, *_SWITCHED)
    if isinstance(metric_type, type):
        from mmdet.evaluation.metrics import CocoMetric

        from .coco_metric import BackendCocoMetric

        return metric_type is CocoMetric or issubclass(metric_type, BackendCocoMetric)
    return False


def with_eval_backend(
    evaluator: Any, backend: str, key: str = 'test_evaluator', option: str = 'eval_backend'
) -> Any:
    """A copy of an evaluator config whose COCO metrics evaluate with
    ``backend``.

    Every metric of type ``CocoMetric`` (also ``mmdet.CocoMetric`` or the
    class) or ``BackendCocoMetric`` becomes a ``BackendCocoMetric`` with
    ``eval_backend=backend`` and its other keys unchanged; every other
    metric (``DumpDetResults``, ...) is left as it is.

    Args:
        evaluator (dict | list): a metric config, a list of them, or an
            mmengine ``Evaluator`` config (a dict with ``metrics``).
        backend (str): one of :data:`~gc_mmdet.evaluation.EVAL_BACKENDS`.
        key (str): the config key of ``evaluator``, for messages.
        option (str): how the user asked for ``backend``, for messages
            (e.g. ``'--eval-backend'``).

    Returns:
        dict | list: the converted copy, of the same shape as ``evaluator``.

    Raises:
        UserError: if ``backend`` is unknown or unavailable, or if
            ``evaluator`` holds no COCO metric at all.

    Example:
        >>> with_eval_backend([dict(type='CocoMetric', metric='bbox'),
        ...                    dict(type='DumpDetResults', out_file_path='r.pkl')],
        ...                   'faster')
        [{'type': 'BackendCocoMetric', 'metric': 'bbox', 'eval_backend': 'faster'},
         {'type': 'DumpDetResults', 'out_file_path': 'r.pkl'}]
    """
    check_eval_backend(backend)
    evaluator = copy.deepcopy(evaluator)
    listed = evaluator_metrics(evaluator)
    switched = 0
    for metric in listed:
        if isinstance(metric, dict) and _is_coco_metric(metric.get('type')):
            metric['type'] = 'BackendCocoMetric'
            metric['eval_backend'] = backend
            switched += 1
    if not switched:
        types = [
            type_name(m.get('type')) if isinstance(m, dict) else type(m).__name__ for m in listed
        ]
        raise UserError(
            f'{option} {backend}: {key} has no CocoMetric to evaluate '
            f'with it (its metrics: {", ".join(types) or "none"})'
        )
    return evaluator
