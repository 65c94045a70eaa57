"""TDSNN core: topographic spiking networks, cortical sheets, the STC loss, training, analysis."""

__version__ = "0.1.0"
