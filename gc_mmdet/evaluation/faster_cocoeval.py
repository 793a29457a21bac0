# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""faster-coco-eval's COCO API and C++ evaluator, behaving as pycocotools'
where mmdet's CocoMetric can tell them apart.

Imported only when the ``'faster'`` evaluation backend is used (see
:func:`gc_mmdet.evaluation.coco_api`): it needs faster-coco-eval installed.
"""

from typing import Any, Optional

import numpy as np
from faster_coco_eval import COCO, COCOeval_faster

__all__ = ['FasterCOCO', 'FasterCOCOeval']


class FasterCOCO(COCO):
    """faster-coco-eval's ``COCO`` (which has mmdet's snake_case aliases
    ``get_cat_ids``, ``get_img_ids``, ``get_ann_ids``, ``load_anns``,
    ``load_cats``, ``load_imgs`` itself), except that ``loadRes`` of an
    empty result list raises ``IndexError`` as pycocotools' does: mmdet's
    CocoMetric catches it to report "The testing results of the whole
    dataset is empty" and return no metrics, where faster-coco-eval would
    evaluate nothing and report zeros.
    """

    def loadRes(self, resFile: Any, *args: Any, **kwargs: Any) -> COCO:  # noqa: N802
        if isinstance(resFile, list) and not resFile:
            raise IndexError('empty detection results (as pycocotools: list index out of range)')
        return super().loadRes(resFile, *args, **kwargs)


class FasterCOCOeval(COCOeval_faster):
    """faster-coco-eval's ``COCOeval_faster`` (``evaluate`` and
    ``accumulate`` in C++) whose ``stats`` are chosen and ordered exactly as
    pycocotools' ``COCOeval.summarize`` does, and which prints like it.

    Two differences from pycocotools 2.0 are removed:

    1. pycocotools computes ``stats[0]`` (AP at IoU 0.50:0.95) at
       ``maxDets=100``, a literal, whatever ``params.maxDets`` holds (mmdet
       sets ``[100, 300, 1000]``), and reports -1 when 100 is not among them;
       faster-coco-eval uses ``maxDets[-1]``. The two differ as soon as an
       image has more than 100 detections of one class.
    2. faster-coco-eval sizes ``stats`` by ``len(maxDets)``; pycocotools
       always reports 12 values, at ``maxDets[0]``, ``[1]`` and ``[2]``.

    Every statistic is a mean over faster-coco-eval's accumulated
    ``eval['precision']`` / ``eval['recall']`` taken by its own
    ``_summarize``. The summary lines go to ``print`` as pycocotools' do
    (faster-coco-eval logs them at INFO level by default, where nothing
    shows them).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault('print_function', print)
        super().__init__(*args, **kwargs)

    def _stat(
        self, ap: int, max_dets: int, iou_thr: Optional[float] = None, area_rng: str = 'all'
    ) -> float:
        if max_dets not in self.params.maxDets:  # pycocotools selects nothing
            return -1.0
        return float(self._summarize(ap, iouThr=iou_thr, areaRng=area_rng, maxDets=max_dets))

    def summarize(self) -> None:
        """Set ``stats``: the 12 detection statistics in pycocotools' order
        and definition (keypoints: faster-coco-eval's own summary)."""
        if self.params.iouType not in ('bbox', 'segm'):
            return super().summarize()
        if not self.eval:
            raise Exception('Please run accumulate() first')
        m = self.params.maxDets
        self.stats = np.array(
            [
                self._stat(1, 100),
                self._stat(1, m[2], iou_thr=0.5),
                self._stat(1, m[2], iou_thr=0.75),
                self._stat(1, m[2], area_rng='small'),
                self._stat(1, m[2], area_rng='medium'),
                self._stat(1, m[2], area_rng='large'),
                self._stat(0, m[0]),
                self._stat(0, m[1]),
                self._stat(0, m[2]),
                self._stat(0, m[2], area_rng='small'),
                self._stat(0, m[2], area_rng='medium'),
                self._stat(0, m[2], area_rng='large'),
            ]
        )
        self.all_stats = self.stats
