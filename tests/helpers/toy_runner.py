"""A toy mmengine model and data set for tests that run the real Runner
in-process: a small net regressing random targets."""

from typing import Sequence

import torch
from mmengine.model import BaseModel


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
