"""gc_mmdet.datasets.checks.findings: how faults are counted and reported."""

import pytest

from gc_mmdet.datasets.checks.findings import (
    KINDS,
    Findings,
    format_ids,
    format_names,
    format_value,
)


def test_errors_are_shown_up_to_a_limit_then_counted():
    findings = Findings(shown=2)
    for i in range(5):
        findings.add('missing-image', 'train.json', f'image {i}: file not found')
    findings.add('tiny-box', 'train.json', 'annotation 7')
    assert findings.has_errors and findings.count('missing-image') == 5
    assert findings.error_lines() == [
        'train.json: image 0: file not found',
        'train.json: image 1: file not found',
        f'train.json: ... and 3 more {KINDS["missing-image"][1]}',
    ]
    assert findings.warning_lines() == [
        f'train.json: 1 {KINDS["tiny-box"][1]}, first: annotation 7'
    ]


def test_warnings_alone_are_not_errors_and_unknown_kinds_are_refused():
    findings = Findings()
    findings.add('degenerate-polygon', 'val.json', 'annotation 1')
    assert not findings.has_errors and findings.error_lines() == []
    with pytest.raises(KeyError):
        findings.add('no-such-kind', 'val.json', '')


def test_values_read_short_in_a_message():
    assert format_ids([3, 1, 2]) == '[1, 2, 3]'
    assert format_ids(['b', 1]) == '[1, b]'
    assert format_ids(range(20), limit=3) == '[0, 1, 2, ...]'
    assert format_names(['cat', 'dog']) == "['cat', 'dog']"
    assert format_value('x' * 100).endswith('...') and len(format_value('x' * 100)) == 60
    assert format_value([1, None]) == '[1, null]'
