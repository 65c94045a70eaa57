"""The files of a Brain-Score model plugin that ``tdsnn export brainscore`` copies as they are.

:mod:`.network` runs the exported weights without Brain-Score (per-timestep activations, tissue
coordinates); :mod:`.model` is the Brain-Score glue; :mod:`.test` is the plugin's test. The
exporter writes the plugin's own ``__init__.py`` (its registration), ``plugin.json``,
``requirements.txt``, ``metadata.yaml`` and the weights beside them.
"""
