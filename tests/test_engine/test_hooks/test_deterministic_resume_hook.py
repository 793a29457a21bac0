# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""DeterministicResumeHook under both kinds of training loop: the data
pipeline draws new numbers for a sample on every pass over the data, and an
epoch-based loop draws the same numbers for a sample in the same epoch
whatever happened before."""

import numpy as np
import pytest
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from mmengine.model import BaseModel
from mmengine.registry import TRANSFORMS
from torch import nn

import gc_mmdet  # noqa: F401  (registers DeterministicResumeHook)
from helpers.toy_runner import toy_runner


@TRANSFORMS.register_module(force=True)
class DrawNumber(BaseTransform):
    """Augmentation stand-in: one number from numpy's global RNG."""

    def transform(self, results):
        results['inputs'] = torch.tensor([np.random.rand()], dtype=torch.float64)
        return results


class Four(BaseDataset):
    def load_data_list(self):
        return [dict(idx=i) for i in range(4)]


class Recorder(BaseModel):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1, dtype=torch.float64))
        self.seen = []

    def forward(self, inputs, idx=None, sample_idx=None, mode='loss'):
        self.seen += list(zip(sample_idx.tolist(), inputs[:, 0].tolist()))
        return dict(loss=(self.w * inputs[:, 0]).sum())


def _seen(tmp_path, loop):
    train_cfg = (
        dict(by_epoch=True, max_epochs=2) if loop == 'epoch' else dict(by_epoch=False, max_iters=4)
    )
    sampler = 'DefaultSampler' if loop == 'epoch' else 'InfiniteSampler'
    runner = toy_runner(
        tmp_path,
        f'resume_hook_{loop}_{tmp_path.name}',
        Recorder(),
        dict(
            dataset=Four(pipeline=[dict(type='DrawNumber')], serialize_data=False),
            sampler=dict(type=sampler, shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='default_collate'),
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        train_cfg=train_cfg,
        custom_hooks=[dict(type='DeterministicResumeHook')],
    )
    runner.train()
    return runner.model.seen


@pytest.mark.parametrize('loop', ['epoch', 'iteration'])
def test_each_pass_draws_new_numbers_for_a_sample(tmp_path, loop):
    seen = _seen(tmp_path, loop)
    assert [i for i, _ in seen] == [0, 1, 2, 3] * 2
    first, second = [v for _, v in seen[:4]], [v for _, v in seen[4:]]
    assert all(a != b for a, b in zip(first, second)), (first, second)


def test_epoch_loop_draws_a_function_of_seed_epoch_and_sample(tmp_path):
    assert _seen(tmp_path / 'a', 'epoch') == _seen(tmp_path / 'b', 'epoch')
