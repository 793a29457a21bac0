"""Small models that contain every layer kind GC must handle."""

import torch
from torch import nn


class AllKinds(nn.Module):
    """conv, grouped conv, depth-wise conv, transposed conv, grouped
    transposed conv, Conv1d, Linear, BatchNorm, Embedding, a scalar."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.up = nn.ConvTranspose2d(8, 6, 2, stride=2)
        self.up_grouped = nn.ConvTranspose2d(6, 4, 2, stride=2, groups=2, bias=False)
        self.conv1d = nn.Conv1d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 5)
        self.emb = nn.Embedding(3, 5)
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = torch.relu(self.dw(self.grouped(x)))
        x = self.up_grouped(torch.relu(self.up(x)))  # (N, 4, 4H, 4W)
        x = self.conv1d(x.flatten(2))  # (N, 4, L)
        x = self.fc(x.mean(-1))  # (N, 5)
        return self.scale * (x + self.emb.weight.sum(0))


def loss_of(model, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    dtype = model.conv.weight.dtype
    x = torch.randn(2, 3, 4, 4, generator=g, dtype=dtype)
    target = torch.randn(2, 5, generator=g, dtype=dtype)
    return ((model(x) - target) ** 2).mean()
