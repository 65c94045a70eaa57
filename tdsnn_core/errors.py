"""Exceptions that are the user's to fix; the CLI prints them as one-line messages."""

from tdsnn_core.config import ConfigError
from tdsnn_core.data.fashion_mnist import DataNotFoundError
from tdsnn_core.storage import CheckpointError
from tdsnn_core.training.trainer import TrainingError

USER_ERRORS = (
    ConfigError,
    CheckpointError,
    DataNotFoundError,
    TrainingError,
    ValueError,
    FileNotFoundError,
)
