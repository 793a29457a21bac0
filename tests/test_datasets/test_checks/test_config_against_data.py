"""gc_mmdet.datasets.checks.config_against_data: a config's classes and
filters read against the categories and images of its annotation file."""

from gc_mmdet.datasets.checks.config_against_data import (
    check_class_mapping,
    check_type_classes,
    count_training_images,
)
from gc_mmdet.datasets.checks.findings import Findings

NAMED = [(1, 'cat'), (2, 'dog'), (3, 'bird')]


def _kinds(check, classes):
    findings = Findings()
    check('a.json', NAMED, classes, findings, 'train_dataloader.dataset')
    return [k for k in ('class-not-in-categories', 'class-order') if findings.count(k)], findings


def test_the_config_classes_must_name_categories_in_the_file_order():
    assert _kinds(check_class_mapping, ['cat', 'bird'])[0] == []  # a subset, in order
    assert _kinds(check_class_mapping, ['bird', 'cat'])[0] == ['class-order']
    kinds, findings = _kinds(check_class_mapping, ['Cat '])
    assert kinds == ['class-not-in-categories']
    assert "spelt differently: 'Cat ' ~ 'cat'" in findings.error_lines()[0]


def test_the_type_classes_must_cover_every_category():
    assert _kinds(check_type_classes, ['cat', 'dog', 'bird'])[0] == []
    assert _kinds(check_type_classes, ['cat', 'dog'])[0] == ['class-not-in-categories']
    assert _kinds(check_type_classes, ['dog', 'cat', 'bird'])[0] == ['class-order']


def test_training_images_as_mmdet_filter_data_keeps_them():
    images = {
        1: dict(width=64, height=64),
        2: dict(width=20, height=64),
        3: dict(width=64, height=64),
    }
    data = dict(annotations=[dict(image_id=1, category_id=1), dict(image_id=2, category_id=2)])
    checked = dict(images=images, categories=NAMED)
    assert count_training_images(checked, data, None, None) == (3, [])
    kept, why = count_training_images(
        checked, data, ['cat'], dict(filter_empty_gt=True, min_size=32)
    )
    assert kept == 1 and len(why) == 1 and '2 without an annotation' in why[0]
    kept, why = count_training_images(checked, data, None, dict(min_size=32))
    assert kept == 2 and why == ['1 with a side under filter_cfg.min_size=32']
