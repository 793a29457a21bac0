# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""``BackendCocoMetric``: mmdet's CocoMetric with a choice of evaluator,
pycocotools or faster-coco-eval."""

import contextlib
import functools
from typing import Any, Dict, Iterator, Optional

import numpy as np
from mmdet.evaluation.metrics import CocoMetric
from mmdet.evaluation.metrics import coco_metric as _mmdet_coco_metric
from mmdet.registry import METRICS

from ..utils.errors import UserError
from .backends import EVAL_BACKENDS, check_eval_backend, coco_api

__all__ = ['BackendCocoMetric']


class _RecordStats:
    """Mixin for a COCOeval class: ``summarize()`` also copies ``stats``
    into ``stats_sink`` (a dict), under the IoU type, or ``'proposal'`` for
    a class-agnostic evaluation."""

    stats_sink: Optional[Dict[str, np.ndarray]] = None

    def summarize(self) -> None:
        super().summarize()
        if self.stats_sink is not None:
            key = self.params.iouType if self.params.useCats else 'proposal'
            self.stats_sink[key] = np.array(self.stats, dtype=np.float64)


@functools.lru_cache(maxsize=None)
def _recording(cocoeval_cls: type) -> type:
    return type(cocoeval_cls.__name__, (_RecordStats, cocoeval_cls), {})


def _recorder(cocoeval_cls: type, sink: Dict[str, np.ndarray]):
    """A stand-in for the class ``cocoeval_cls`` whose instances record
    their ``stats`` in ``sink``."""

    def build(*args: Any, **kwargs: Any) -> Any:
        evaluator = _recording(cocoeval_cls)(*args, **kwargs)
        evaluator.stats_sink = sink
        return evaluator

    return build


@contextlib.contextmanager
def _mmdet_names(**names: Any) -> Iterator[None]:
    """Rebind module-level names of ``mmdet.evaluation.metrics.coco_metric``
    (``COCO``, ``COCOeval``, ...) for the duration of the block only."""
    saved = {name: getattr(_mmdet_coco_metric, name) for name in names}
    try:
        for name, value in names.items():
            setattr(_mmdet_coco_metric, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(_mmdet_coco_metric, name, value)


@METRICS.register_module()
class BackendCocoMetric(CocoMetric):
    """mmdet's :class:`~mmdet.evaluation.CocoMetric`, evaluated by pycocotools
    (as mmdet does) or by faster-coco-eval's C++ evaluator.

    Everything but the evaluator is mmdet's code: the results are converted,
    dumped and loaded, and the metrics read from ``COCOeval.stats``, by
    ``CocoMetric.compute_metrics`` itself. While it runs (and while
    ``CocoMetric.__init__`` loads ``ann_file``), the names ``COCO`` and
    ``COCOeval`` of the module ``mmdet.evaluation.metrics.coco_metric`` are
    bound to the backend's classes (:func:`~gc_mmdet.evaluation.coco_api`),
    and restored afterwards. Another CocoMetric evaluating at the same time
    in another thread of the process would see them too; mmengine evaluates
    metrics one after the other.

    With ``eval_backend='faster'`` the 12 statistics per IoU type are those of
    pycocotools to within floating-point summation order (the tests check
    1e-4 on three data sets, with crowd regions); see
    :class:`~gc_mmdet.evaluation.faster_cocoeval.FasterCOCOeval` for what
    differs in faster-coco-eval itself and is made the same.

    Args:
        eval_backend (str): ``'pycocotools'`` (default, mmdet's evaluator)
            or ``'faster'`` (faster-coco-eval; ``pip install
            faster-coco-eval``).
        *args, **kwargs: as for :class:`~mmdet.evaluation.CocoMetric`.

    Attributes:
        last_stats (dict[str, np.ndarray]): the unrounded ``COCOeval.stats``
            (12 values: AP, AP50, AP75, AP_s, AP_m, AP_l, AR@maxDets[0..2],
            AR_s, AR_m, AR_l) of the last evaluation, by IoU type
            (``'bbox'``, ``'segm'``; ``'proposal'`` for class-agnostic
            proposals). The metrics mmdet returns are these rounded to 3 decimals.

    Raises:
        UserError: at construction, for an unknown ``eval_backend``, for
            ``'faster'`` without faster-coco-eval installed, and for
            ``'faster'`` with ``use_mp_eval=True`` (mmdet's multi-process
            evaluator is pycocotools').

    Example:
        >>> val_evaluator = dict(type='BackendCocoMetric', eval_backend='faster',
        ...                      ann_file='data/coco/annotations/instances_val2017.json',
        ...                      metric=['bbox', 'segm'])
    """

    def __init__(self, *args: Any, eval_backend: str = EVAL_BACKENDS[0], **kwargs: Any) -> None:
        check_eval_backend(eval_backend)
        if eval_backend == 'faster' and kwargs.get('use_mp_eval'):
            raise UserError(
                "eval_backend='faster' and use_mp_eval=True exclude each "
                "other: use_mp_eval is mmdet's multi-process pycocotools "
                '(faster-coco-eval runs in C++ threads already)'
            )
        self.eval_backend = eval_backend
        self._backend_coco, self._backend_cocoeval = coco_api(eval_backend)
        self.last_stats: Dict[str, np.ndarray] = {}
        with _mmdet_names(COCO=self._backend_coco):
            super().__init__(*args, **kwargs)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """mmdet's ``CocoMetric.compute_metrics`` with this metric's backend;
        also sets :attr:`last_stats`.

        Args:
            results (list): The processed results of each batch.

        Returns:
            Dict[str, float]: as ``CocoMetric.compute_metrics``.
        """
        self.last_stats = {}
        names = dict(
            COCO=self._backend_coco, COCOeval=_recorder(self._backend_cocoeval, self.last_stats)
        )
        if self.eval_backend == 'pycocotools':
            names['COCOevalMP'] = _recorder(_mmdet_coco_metric.COCOevalMP, self.last_stats)
        with _mmdet_names(**names):
            return super().compute_metrics(results)
