"""gc_mmdet.utils.config_parts: the shapes a config's evaluator and datasets
come in, read one way by every part of the package."""

import pytest
from mmengine.dataset import BaseDataset, ConcatDataset, RepeatDataset

from gc_mmdet.utils.config_parts import add_metric, evaluator_metrics, leaf_datasets, type_name

COCO = dict(type='CocoMetric', ann_file='val.json')


class Leaf(BaseDataset):
    def load_data_list(self):
        return []


@pytest.mark.parametrize(
    'evaluator',
    [COCO, [COCO], (COCO,), dict(type='Evaluator', metrics=[COCO]), dict(metrics=COCO)],
)
def test_every_evaluator_shape_gives_its_metrics(evaluator):
    assert evaluator_metrics(evaluator) == [COCO]
    dump = dict(type='DumpDetResults', out_file_path='r.pkl')
    added = add_metric(evaluator, dump)
    assert evaluator_metrics(added) == [COCO, dump]
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        assert added is evaluator  # an Evaluator config stays one


def test_no_evaluator_has_no_metrics():
    assert evaluator_metrics(None) == [] and evaluator_metrics([]) == []


def test_wrapped_datasets_of_a_config_and_of_built_datasets():
    cfg = dict(
        type='ConcatDataset',
        datasets=[dict(ann_file='a.json'), dict(type='RepeatDataset', dataset=dict(ann_file='b'))],
    )
    assert [d['ann_file'] for d in leaf_datasets(cfg)] == ['a.json', 'b']
    a, b = Leaf(lazy_init=True), Leaf(lazy_init=True)
    assert list(leaf_datasets(ConcatDataset([a, b], lazy_init=True))) == [a, b]
    assert list(leaf_datasets(RepeatDataset(a, 2, lazy_init=True))) == [a]


def test_type_names():
    assert type_name('mmdet.CocoMetric') == 'mmdet.CocoMetric'
    assert type_name(ConcatDataset) == 'ConcatDataset'
    assert type_name(None) == 'None'
