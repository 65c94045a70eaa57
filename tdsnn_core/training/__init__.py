"""Training and evaluation: ``train(config)``, ``evaluate(model, loader, ctx)``."""

from tdsnn_core.training.evaluate import evaluate
from tdsnn_core.training.trainer import TrainingError, cosine_lr, train

__all__ = ["TrainingError", "cosine_lr", "evaluate", "train"]
