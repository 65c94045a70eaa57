"""Two random augmentations of each item, for self-supervised objectives (SimCLR)."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


class TwoViews(Dataset):
    """Each item of an augmenting ``dataset`` drawn twice: (views [2, C, H, W], label)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        (first, label), (second, _) = self.dataset[index], self.dataset[index]
        return torch.stack([first, second]), label
