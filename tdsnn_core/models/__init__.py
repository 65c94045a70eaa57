"""Topographic spiking networks: ``create_model(name, **overrides)`` and ``list_models()``."""

from tdsnn_core.models import cornet_rt, spikformer, spiking_resnet  # noqa: F401  (registers)
from tdsnn_core.models._registry import create_model, list_models, register_model
from tdsnn_core.models.base import SpikingOutput, TopographicSNN, TopoLayer
from tdsnn_core.models.silencing import UnitSilencer, lesioned

__all__ = [
    "SpikingOutput",
    "TopoLayer",
    "TopographicSNN",
    "UnitSilencer",
    "create_model",
    "lesioned",
    "list_models",
    "register_model",
]
