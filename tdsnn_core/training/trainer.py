"""``tdsnn train``: task loss + topographic loss, one process or many (torchrun), resumable."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from tdsnn_core.checkpoints import (
    library_versions,
    load_checkpoint,
    load_optimizer_state,
    load_training_module,
    save_checkpoint,
)
from tdsnn_core.config import TrainConfig, save_config
from tdsnn_core.data import build_dataset
from tdsnn_core.data.classes import dataset_classes
from tdsnn_core.data.two_views import TwoViews
from tdsnn_core.losses.objective import TopographicObjective
from tdsnn_core.losses.simclr import ProjectionHead, nt_xent
from tdsnn_core.models import TopographicSNN, create_model
from tdsnn_core.training.distributed import (
    DistContext,
    all_reduce_sum,
    convert_sync_batchnorm,
    gather_views,
    init_distributed,
    shutdown,
)
from tdsnn_core.training.evaluate import evaluate
from tdsnn_core.training.sheets_setup import initial_sheets
from tdsnn_core.training.tensorboard import TrainingBoard


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, nothing to resume); checkpoints are untouched."""


def train(config: TrainConfig, resume: bool = False, progress: bool = True) -> dict[str, float]:
    """Train as configured; returns the last epoch's evaluation metrics."""
    ctx = init_distributed(config.run.device)
    try:
        return _Run(config, ctx, progress).fit(resume)
    finally:
        shutdown(ctx)


def cosine_lr(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up then cosine decay to 0."""
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * base * (1 + math.cos(math.pi * (step - warmup) / max(total - warmup, 1)))


def topography_weight(step: int, ramp_steps: int) -> float:
    """Weight of the topographic loss at ``step``: grows linearly to 1 over ``ramp_steps``
    steps (``topography.ramp_epochs``), then stays 1; always 1 without a ramp."""
    if ramp_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / ramp_steps)


class _Run:
    def __init__(self, config: TrainConfig, ctx: DistContext, progress: bool) -> None:
        self.config, self.ctx = config, ctx
        self.progress = progress and ctx.is_main
        self.out = Path(config.run.out_dir)
        self.last, self.best = self.out / "last.safetensors", self.out / "best.safetensors"
        if config.run.threads:
            torch.set_num_threads(config.run.threads)
        torch.manual_seed(config.run.seed)
        self.model: TopographicSNN = create_model(config.model.name, **config.model.options)
        spec = self.model.config
        data, shape = (
            config.data,
            dict(
                input_size=spec["input_size"],
                channels=spec["in_channels"],
                num_classes=spec["num_classes"],
            ),
        )
        self.train_set = build_dataset(
            data.kind,
            data.root,
            "train",
            augment=data.augment,
            subset=data.train_subset,
            crop_scale=tuple(data.crop_scale),
            rotate=data.rotate,
            **shape,
        )
        self.test_set = build_dataset(
            data.kind, data.root, "test", subset=data.eval_subset, rotate=data.rotate, **shape
        )
        self.simclr = config.objective.kind != "supervised"  # two views per image, NT-Xent
        self.probe = config.objective.kind == "simclr"  # the readout learns on detached features
        readout = self.model.get_submodule(self.model.readout_name)
        self.head = (
            ProjectionHead(readout.in_features, config.objective.projection_dim)
            if self.simclr
            else None
        )

    def _training_modules(self) -> dict[str, torch.nn.Module]:
        """Trained parts of the objective that the model does not hold (saved for --resume)."""
        return {"projection_head": self.head} if self.head is not None else {}

    def fit(self, resume: bool) -> dict[str, float]:
        cfg, ctx = self.config, self.ctx
        state = {"epoch": 0, "global_step": 0, "best_top1": -1.0}
        if resume:
            if not self.last.is_file():
                raise TrainingError(f"--resume: no checkpoint to resume from at {self.last}")
            ckpt = load_checkpoint(self.last)
            if ckpt.meta["model"]["name"] != self.model.model_name:
                raise TrainingError(
                    f"--resume: {self.last} holds a {ckpt.meta['model']['name']} "
                    f"model, the config asks for {self.model.model_name}"
                )
            self.model.load_state_dict(ckpt.model.state_dict())
            sheets = ckpt.sheets
            state.update(ckpt.meta["train_state"])
            self._note_other_kernels(ckpt.meta.get("versions", {}).get("cpu_isa"))
        else:
            sheets = initial_sheets(self.model, cfg.topography)
        self.sheets = sheets
        if resume:
            for name, module in self._training_modules().items():
                load_training_module(self.last, name, module)
        model = self.model.to(ctx.device)
        head = self.head.to(ctx.device) if self.head is not None else None
        if cfg.run.sync_bn and ctx.distributed:
            if ctx.device.type != "cuda":
                raise TrainingError(
                    "run.sync_bn needs CUDA GPUs (torch's SyncBatchNorm has no "
                    "CPU implementation); set run.sync_bn=false"
                )
            model = convert_sync_batchnorm(model)
        optimizer = self._optimizer([model, *self._training_modules().values()])
        if resume:
            load_optimizer_state(self.last, optimizer)
        net = model
        if ctx.distributed:
            ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            net = DistributedDataParallel(model, device_ids=ids)
            if head is not None:
                head = DistributedDataParallel(head, device_ids=ids)
        self.project = head
        objective = TopographicObjective(cfg.topography, sheets, ctx.device)
        if self.progress:
            self._log_clusters(objective)

        sampler = DistributedSampler(
            self.train_set,
            ctx.world_size,
            ctx.rank,
            shuffle=True,
            seed=cfg.run.seed,
            drop_last=True,
        )
        loader = DataLoader(
            TwoViews(self.train_set) if self.simclr else self.train_set,
            cfg.optim.batch_size,
            sampler=sampler,
            num_workers=cfg.data.workers,
            drop_last=True,
        )
        test_loader = DataLoader(
            self.test_set,
            cfg.optim.batch_size,
            sampler=DistributedSampler(self.test_set, ctx.world_size, ctx.rank, shuffle=False),
            num_workers=cfg.data.workers,
        )
        if len(loader) == 0:
            raise TrainingError(
                f"the training set ({len(self.train_set)} items) is smaller than one batch of "
                f"{cfg.optim.batch_size} per process"
            )
        if ctx.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.out / "config.yaml")
        self.board = TrainingBoard(
            self.out / "tensorboard", cfg.run.tensorboard and ctx.is_main, ctx.device
        )

        metrics: dict[str, float] = {}
        try:
            for epoch in range(state["epoch"], cfg.optim.epochs):
                sampler.set_epoch(epoch)
                torch.manual_seed(cfg.run.seed * 100_003 + epoch)
                generator = torch.Generator().manual_seed(
                    (cfg.run.seed * 100_003 + epoch) * 1_009 + ctx.rank
                )
                train_stats = self._epoch(
                    net, model, optimizer, objective, loader, generator, epoch, state
                )
                metrics = {
                    **train_stats,
                    **{
                        f"eval_{k}": v
                        for k, v in evaluate(net, test_loader, ctx, progress=self.progress).items()
                    },
                }
                state["epoch"] = epoch + 1
                if ctx.is_main:
                    self._save(model, optimizer, state, metrics)
                    self.board.log_epoch(epoch + 1, metrics, model, self.sheets, self.test_set)
        finally:
            self.board.close()  # flushed events survive a failed run
        return metrics

    def _optimizer(self, modules: list[torch.nn.Module]) -> torch.optim.Optimizer:
        params = [p for module in modules for p in module.parameters()]
        decay = [p for p in params if p.dim() > 1]
        no_decay = [p for p in params if p.dim() <= 1]
        return torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.config.optim.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.config.optim.lr,
        )

    def _epoch(self, net, model, optimizer, objective, loader, generator, epoch, state) -> dict:
        cfg, ctx = self.config, self.ctx
        net.train()
        steps = len(loader)
        total_steps = steps * cfg.optim.epochs
        warmup = int(cfg.optim.warmup_epochs * steps)
        ramp = math.ceil(cfg.topography.ramp_epochs * steps)
        use_amp = cfg.run.amp and ctx.device.type == "cuda"
        amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
        sums = torch.zeros(6, dtype=torch.float64)  # loss, task, rate, timing, correct, count
        started = time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.optim.epochs}", disable=not self.progress)
        for images, labels in bar:
            if self.simclr:  # [B, 2, C, H, W]: two views per image, interleaved
                images, labels = images.flatten(0, 1), labels.repeat_interleave(2)
            images = images.to(ctx.device, non_blocking=True)
            labels = labels.to(ctx.device, non_blocking=True)
            lr = cosine_lr(state["global_step"], total_steps, warmup, cfg.optim.lr)
            weight = topography_weight(state["global_step"], ramp)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with torch.autocast(ctx.device.type, dtype=amp_dtype, enabled=use_amp):
                full = objective.needs_spikes or self.simclr
                output = net(images, return_spikes=full, detach_readout=self.probe)
                logits = output.logits if full else output
                task = F.cross_entropy(
                    logits.float(), labels, label_smoothing=cfg.optim.label_smoothing
                )
                if self.simclr:
                    embeddings = self.project(output.features.mean(0))
                    embeddings = gather_views(embeddings, ctx)  # negatives from every process
                    contrastive = nt_xent(embeddings, cfg.objective.temperature)
                    task = task + cfg.objective.simclr_weight * contrastive
            with self.board.timed_topography():
                topo = objective(model, output, generator)  # float32, outside autocast
            loss = task + weight * topo.total
            self._check_loss(objective, loss, task, topo, epoch, state["global_step"])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.optim.grad_clip:
                scaler.unscale_(optimizer)
                trained = [p for group in optimizer.param_groups for p in group["params"]]
                torch.nn.utils.clip_grad_norm_(trained, cfg.optim.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            self.board.log_step(
                state["global_step"],
                len(labels) * ctx.world_size,
                lr,
                loss=loss,
                task_loss=task,
                L_L=topo.rate,
                L_S=topo.timing,
            )
            state["global_step"] += 1
            correct = (logits.argmax(1) == labels).sum().item()
            sums += torch.tensor(
                [
                    loss.item() * len(labels),
                    task.item() * len(labels),
                    topo.rate.item() * len(labels),
                    topo.timing.item() * len(labels),
                    correct,
                    len(labels),
                ],
                dtype=torch.float64,
            )
            n = sums[5].item()
            bar.set_postfix(
                loss=f"{sums[0] / n:.3f}",
                task=f"{sums[1] / n:.3f}",
                L_L=f"{sums[2] / n:.3f}",
                L_S=f"{sums[3] / n:.3f}",
                acc=f"{100 * sums[4] / n:.1f}",
                img_s=f"{n * ctx.world_size / (time.perf_counter() - started):.0f}",
                refresh=False,
            )
        sums = all_reduce_sum(sums.to(ctx.device), ctx).cpu()
        n = max(sums[5].item(), 1.0)
        return {
            "epoch": epoch + 1,
            "lr": lr,
            "train_loss": sums[0].item() / n,
            "train_task_loss": sums[1].item() / n,
            "train_rate_loss": sums[2].item() / n,
            "train_timing_loss": sums[3].item() / n,
            "train_top1": 100 * sums[4].item() / n,
            "images_per_s": n / (time.perf_counter() - started),
        }

    def _check_loss(self, objective, loss, task, topo, epoch: int, step: int) -> None:
        """Stop (on every rank) on a non-finite loss or a topographic part out of its range."""
        problem = None if torch.isfinite(loss) else "non-finite loss"
        problem = problem or objective.out_of_range(topo)
        bad = torch.tensor([0.0 if problem is None else 1.0], device=self.ctx.device)
        if all_reduce_sum(bad, self.ctx).item() == 0:
            return
        kept = (
            f"the last good checkpoint {self.last} is kept"
            if self.last.is_file()
            else ("no checkpoint was written")
        )
        raise TrainingError(
            f"{problem or 'a bad loss on another process'} at epoch {epoch + 1}, step {step} "
            f"(task {task.item():.4g}, L_L {topo.rate.item():.4g}, L_S {topo.timing.item():.4g}); "
            f"{kept}. Lower optim.lr or the topography weights (alpha, beta)."
        )

    def _note_other_kernels(self, trained_on: str | None) -> None:
        """Say so when a CPU run resumes a checkpoint made on another kernel set: the epochs
        after it round differently, so the run will not match an uninterrupted one."""
        here = library_versions()["cpu_isa"]
        if self.ctx.device.type == "cpu" and trained_on not in (None, here) and self.ctx.is_main:
            tqdm.write(
                f"note: {self.last} was trained on CPU kernels {trained_on}, this run uses "
                f"{here}: the resumed run will not match an uninterrupted one bit for bit",
                file=sys.stderr,
            )

    def _log_clusters(self, objective: TopographicObjective) -> None:
        """Print each layer's effective loss cluster (units, extent) before training."""
        for layer, stats in objective.cluster_report().items():
            tqdm.write(
                f"clusters {layer}: width {stats['width_mm']:.4g} mm, median "
                f"{stats['median_units']:.0f} units (size {self.config.topography.cluster_size}),"
                f" median extent {stats['median_extent_mm']:.4g} mm, "
                f"{100 * stats['valid_fraction']:.0f} % with >= 3 units",
                file=sys.stderr,
            )

    def _save(self, model, optimizer, state: dict, metrics: dict) -> None:
        is_best = metrics["eval_top1"] > state["best_top1"]
        if is_best:
            state["best_top1"] = metrics["eval_top1"]
        meta = {
            "train_state": dict(state),
            "epoch": state["epoch"],
            "metrics": metrics,
            "train_config": self.config.to_dict(),
            "world_size": self.ctx.world_size,
            "classes": dataset_classes(self.train_set),  # ImageFolder: its folder names
        }
        save_checkpoint(self.last, model, self.sheets, meta, optimizer, self._training_modules())
        if is_best:
            save_checkpoint(self.best, model, self.sheets, meta)
        with open(self.out / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(metrics) + "\n")
