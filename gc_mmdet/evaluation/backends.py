# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""COCO evaluation backends: pycocotools (mmdet's default) and faster-coco-eval.

:func:`coco_api` returns the ``(COCO, COCOeval)`` pair of a backend, with the
names and behaviour mmdet's :class:`~mmdet.evaluation.CocoMetric` relies on:

* ``'pycocotools'``: mmdet's own wrappers (``mmdet.datasets.api_wrappers``).
* ``'faster'``: faster-coco-eval's ``COCO`` (it has mmdet's snake_case aliases
  ``get_cat_ids``, ``get_img_ids``, ``get_ann_ids``, ``load_anns``, ... itself)
  and its C++ ``COCOeval_faster``, with the three differences from
  pycocotools that mmdet's CocoMetric would show removed
  (:mod:`gc_mmdet.evaluation.faster_cocoeval`).

faster-coco-eval is an optional dependency (``pip install faster-coco-eval``, or
the ``fast-eval`` extra: ``pip install -e ".[fast-eval]"`` in a clone);
it is imported only when the ``'faster'`` backend is asked for.
"""

from typing import Tuple

from ..utils.errors import UserError

__all__ = ['EVAL_BACKENDS', 'check_eval_backend', 'coco_api']

#: The values of ``eval_backend``; the first is the default.
EVAL_BACKENDS = ('pycocotools', 'faster')

_INSTALL_HINT = (
    'pip install faster-coco-eval (or, in a gc_mmdet clone: pip install -e ".[fast-eval]")'
)


def check_eval_backend(backend: str) -> None:
    """Check that ``backend`` is a known backend and can be used here.

    Raises:
        UserError: naming ``eval_backend`` and the allowed values, or how to
            install faster-coco-eval when ``'faster'`` is asked for without it.
    """
    if backend not in EVAL_BACKENDS:
        raise UserError(
            f'eval_backend={backend!r} is not a COCO evaluation backend; '
            f'use one of {", ".join(map(repr, EVAL_BACKENDS))}'
        )
    if backend == 'faster':
        try:
            import faster_coco_eval  # noqa: F401
        except ImportError as e:
            raise UserError(
                "eval_backend='faster' needs faster-coco-eval, which is "
                f'not installed ({e}); install it with {_INSTALL_HINT}, '
                "or use eval_backend='pycocotools'"
            ) from e


def coco_api(backend: str) -> Tuple[type, type]:
    """The ``(COCO, COCOeval)`` classes of an evaluation backend.

    Args:
        backend (str): One of :data:`EVAL_BACKENDS`.

    Returns:
        tuple: ``(COCO, COCOeval)``: ground-truth/result API and evaluator
        classes, interchangeable in mmdet's ``CocoMetric``.

    Raises:
        UserError: see :func:`check_eval_backend`.
    """
    check_eval_backend(backend)
    if backend == 'pycocotools':
        from mmdet.datasets.api_wrappers import COCO, COCOeval

        return COCO, COCOeval
    from .faster_cocoeval import FasterCOCO, FasterCOCOeval

    return FasterCOCO, FasterCOCOeval
