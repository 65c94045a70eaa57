"""Export a model's spikes to field formats: NWB (:mod:`.nwb`, trials from :mod:`.stimuli`), a
Brain-Score plugin (:mod:`.brainscore`) and the ``tdsnn export`` command (:mod:`.command`)."""
