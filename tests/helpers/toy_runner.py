"""A toy mmengine model and data set for tests that run the real Runner
in-process: a small net regressing random targets."""

import itertools
import os
from typing import Sequence

import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

_RUNNERS = itertools.count()  # an experiment name for each runner of the process


class Regressor(BaseModel):
    """A subclass's ``body`` trained on squared error, with the ``forward``
    mmengine calls (``mode='loss'`` in training)."""

    def body(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, inputs, labels=None, mode='loss'):
        x = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        out = self.body(x)
        if mode == 'loss':
            return dict(loss=((out - labels) ** 2).mean())
        return out


class LinearRegressor(Regressor):
    """One linear layer from 4 inputs to 1 output."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 1)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x).squeeze(-1)


def toy_dataset(n: int, input_shape: Sequence[int], label_shape: Sequence[int] = ()) -> list:
    """``n`` samples of seeded random inputs and labels."""
    g = torch.Generator().manual_seed(0)
    return [
        dict(
            inputs=torch.randn(tuple(input_shape), generator=g),
            labels=torch.randn(tuple(label_shape), generator=g),
        )
        for _ in range(n)
    ]


def toy_loader(dataset: list, batch_size: int = 2) -> dict:
    """A ``train_dataloader`` config over ``dataset``, shuffled by the seed."""
    return dict(
        dataset=dataset,
        batch_size=batch_size,
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
    )


def toy_runner(work_dir, name: str, model, train_dataloader: dict, **cfg) -> Runner:
    """The real mmengine Runner over a toy model, as the in-process tests
    build it: no checkpoints, seed 0, no default scope, an experiment name
    of its own (``name``, the process id and a count); ``cfg`` adds or
    overrides any of the Runner's arguments.

    mmengine names the logger and visualizer instances after the experiment
    and hands an existing instance back by name: two runners of one name in
    one process (two cases of a parametrized test) logged into the first
    one's work_dir, and failed once pytest had removed it."""
    args = dict(
        model=model,
        work_dir=str(work_dir),
        train_dataloader=train_dataloader,
        default_hooks=dict(checkpoint=None),
        randomness=dict(seed=0),
        default_scope=None,
        experiment_name=f'{name}_{os.getpid()}_{next(_RUNNERS)}',
    )
    args.update(cfg)
    return Runner(**args)
