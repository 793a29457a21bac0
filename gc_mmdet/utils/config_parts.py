# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Reading the parts of a config that come in several shapes, one way
everywhere: a registry ``type``, an evaluator's metrics, the data sets under
dataset wrappers.

Example:
    >>> from mmcv.transforms import LoadImageFromFile
    >>> [is_type(t, 'LoadImageFromFile') for t in
    ...  ('LoadImageFromFile', 'mmdet.LoadImageFromFile', LoadImageFromFile, 'LoadAnnotations')]
    [True, True, True, False]
    >>> evaluator_metrics(dict(type='Evaluator', metrics=[dict(type='CocoMetric')]))
    [{'type': 'CocoMetric'}]
    >>> [d['ann_file'] for d in leaf_datasets(dict(type='ConcatDataset', datasets=[
    ...     dict(ann_file='a.json'), dict(type='RepeatDataset', dataset=dict(ann_file='b.json'))]))]
    ['a.json', 'b.json']
"""

from typing import Any, Iterator, List

__all__ = [
    'type_name',
    'bare_type_name',
    'is_type',
    'evaluator_metrics',
    'add_metric',
    'leaf_datasets',
]


def type_name(kind: Any) -> str:
    """The name of a config's ``type``: a registry name as written, a
    class's ``__name__``, ``'None'`` when there is none."""
    if kind is None:
        return 'None'
    return kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))


def bare_type_name(kind: Any) -> str:
    """:func:`type_name` without a registry scope: ``'mmdet.CocoMetric'``,
    ``'CocoMetric'`` and the class itself all give ``'CocoMetric'``."""
    return type_name(kind).rsplit('.', 1)[-1]


def is_type(kind: Any, *names: str) -> bool:
    """Whether a config's ``type`` is one of ``names``, however it is
    written: the registry name, the name with a scope, or the class."""
    return bare_type_name(kind) in names


def evaluator_metrics(evaluator: Any) -> List[Any]:
    """The metric configs of an evaluator config: one metric (a dict), a list
    of them, or an mmengine ``Evaluator`` config (a dict with ``metrics``).
    The configs themselves, not copies; ``[]`` for none."""
    if not evaluator:
        return []
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    return list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]


def add_metric(evaluator: Any, metric: dict) -> Any:
    """``evaluator`` (any shape :func:`evaluator_metrics` reads) with
    ``metric`` evaluated after its own metrics."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator['metrics'] = evaluator_metrics(evaluator) + [metric]
        return evaluator
    return evaluator_metrics(evaluator) + [metric]


def leaf_datasets(node: Any) -> Iterator[Any]:
    """The data sets under Concat/Repeat/ClassBalanced-style wrappers
    (``datasets=[...]`` or ``dataset=...``), of a config dict or of built
    data sets alike."""
    keys = ('datasets', 'dataset')
    if isinstance(node, dict):
        wrapped = {k: node[k] for k in keys if k in node}
    else:
        wrapped = {k: getattr(node, k) for k in keys if hasattr(node, k)}
    if 'datasets' in wrapped:
        for d in wrapped['datasets']:
            yield from leaf_datasets(d)
    elif 'dataset' in wrapped:
        yield from leaf_datasets(wrapped['dataset'])
    elif node is not None:
        yield node
