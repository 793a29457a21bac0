"""gc_mmdet.datasets.checks.data_check: every evaluator shape a config may
use is read for its annotation files, the same way the evaluation reads it."""

import pytest
from mmengine.config import Config

from gc_mmdet.datasets.checks.data_check import check_data_report
from gc_mmdet.utils import UserError


@pytest.mark.parametrize('shape', ['metric', 'list', 'Evaluator'])
def test_a_missing_evaluator_annotation_file_is_named_in_every_shape(tmp_path, shape):
    metric = dict(type='CocoMetric', ann_file=str(tmp_path / 'missing.json'))
    evaluator = dict(
        metric=metric, list=[metric], Evaluator=dict(type='Evaluator', metrics=[metric])
    )[shape]
    cfg = Config(dict(val_evaluator=evaluator))
    with pytest.raises(UserError, match=r'val_evaluator.ann_file .*missing.json: no such file'):
        check_data_report(cfg, loaders=(), evaluators=('val_evaluator',))
