"""One process or many (torchrun): DistributedDataParallel set-up from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.nn.functional import all_gather


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(preference: str) -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without a GPU is an error."""
    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("run.device is 'cuda' but no CUDA GPU is available")
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(preference)


def init_distributed(preference: str) -> DistContext:
    """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK; NCCL on GPUs, gloo on CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(preference)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world_size, local_rank, device)


def all_reduce_sum(values: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum a tensor over processes (identity in a single process)."""
    if ctx.distributed:
        values = values.clone()
        dist.all_reduce(values)
    return values


def gather_views(views: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Every process's rows of ``views`` [b, ...], concatenated in rank order [W * b, ...], with
    the gradient sent back to each process's own rows (identity in a single process). A loss
    of the gathered rows, averaged by DDP over processes, has the one-process gradient: each
    process's rows collect the gradient of all W copies of the loss, DDP divides by W."""
    if not ctx.distributed:
        return views
    return torch.cat(all_gather(views), dim=0)


def shutdown(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


class MultiStepSyncBatchNorm(torch.nn.SyncBatchNorm):
    """SyncBatchNorm over [T, B, C, H, W] sequences (time folded into the batch)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            return super().forward(x.flatten(0, 1)).view_as(x)
        return super().forward(x)


def convert_sync_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """Replace every BatchNorm2d (spikingjelly's multi-step ones included) by a synced one."""
    for name, child in model.named_children():
        if isinstance(child, torch.nn.BatchNorm2d):
            synced = MultiStepSyncBatchNorm(
                child.num_features,
                child.eps,
                child.momentum,
                child.affine,
                child.track_running_stats,
            )
            synced.load_state_dict(child.state_dict())
            setattr(model, name, synced)
        else:
            convert_sync_batchnorm(child)
    return model
