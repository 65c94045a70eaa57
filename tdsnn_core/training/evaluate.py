"""Top-1 / top-5 accuracy of a model on a data loader (summed across processes)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from tdsnn_core.training.distributed import DistContext, all_reduce_sum


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    loader: DataLoader,
    ctx: DistContext,
    progress: bool = True,
    timesteps: int | None = None,
) -> dict[str, float]:
    """Cross-entropy, top-1 and top-5 accuracy (in %) over the loader."""
    model.eval()
    totals = torch.zeros(4, dtype=torch.float64, device=ctx.device)  # loss, top1, top5, count
    for images, labels in tqdm(loader, desc="eval", leave=False, disable=not progress):
        images, labels = images.to(ctx.device), labels.to(ctx.device)
        logits = model(images, timesteps=timesteps).float()
        k = min(5, logits.shape[1])
        top = logits.topk(k, dim=1).indices
        hits = top == labels.unsqueeze(1)
        totals += torch.stack(
            [
                F.cross_entropy(logits, labels, reduction="sum").double(),
                hits[:, 0].sum().double(),
                hits.any(dim=1).sum().double(),
                torch.tensor(float(len(labels)), dtype=torch.float64, device=ctx.device),
            ]
        )
    loss, top1, top5, count = all_reduce_sum(totals, ctx).tolist()
    count = max(count, 1.0)
    return {"loss": loss / count, "top1": 100 * top1 / count, "top5": 100 * top5 / count}
