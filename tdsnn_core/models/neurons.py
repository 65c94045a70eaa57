"""Spiking neuron factory: builds spikingjelly multi-step neurons from plain settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spikingjelly.activation_based import neuron, surrogate
from torch import nn

NEURONS: dict[str, type] = {
    "lif": neuron.LIFNode,
    "plif": neuron.ParametricLIFNode,
    "if": neuron.IFNode,
}
SURROGATES: dict[str, type] = {
    "atan": surrogate.ATan,
    "sigmoid": surrogate.Sigmoid,
    "erf": surrogate.Erf,
    "piecewise_quadratic": surrogate.PiecewiseQuadratic,
}


@dataclass(frozen=True)
class NeuronSettings:
    """Neuron kind and parameters shared by every spiking layer of a model."""

    neuron: str = "lif"
    tau: float = 2.0
    v_threshold: float = 1.0
    surrogate: str = "atan"
    detach_reset: bool = True

    def __post_init__(self) -> None:
        if self.neuron not in NEURONS:
            raise ValueError(f"unknown neuron {self.neuron!r}; known: {sorted(NEURONS)}")
        if self.surrogate not in SURROGATES:
            raise ValueError(f"unknown surrogate {self.surrogate!r}; known: {sorted(SURROGATES)}")
        if self.neuron != "if" and not self.tau > 1.0:
            raise ValueError(f"tau must be a float > 1, got {self.tau}")

    def spec(self) -> tuple[type, dict]:
        """The spikingjelly neuron class and its keyword arguments (multi-step mode), for
        spikingjelly building blocks that take ``spiking_neuron=cls, **kwargs``."""
        cls = NEURONS[self.neuron]
        kwargs = {
            "v_threshold": self.v_threshold,
            "surrogate_function": SURROGATES[self.surrogate](),
            "detach_reset": self.detach_reset,
            "step_mode": "m",
        }
        if self.neuron == "lif":
            kwargs["tau"] = float(self.tau)
        elif self.neuron == "plif":
            kwargs["init_tau"] = float(self.tau)
        return cls, kwargs

    def factory(self) -> Callable[[], nn.Module]:
        """A function returning a fresh multi-step neuron module."""
        cls, kwargs = self.spec()
        return lambda: cls(**kwargs)
