"""Lesion experiments on a served model: per-category accuracy before and after silencing a
disc of a sheet (or a unit list), against a random control lesion of as many units."""

from __future__ import annotations

import numpy as np
from fastapi import HTTPException

from backend import schemas
from backend.maps import probe_set
from backend.registry import ModelEntry
from tdsnn_core.analysis import ClassifierScorer, ReadoutScorer, disc_lesion, unit_lesion
from tdsnn_core.analysis.report import AnalysisSettings, labelled_images
from tdsnn_core.data import DataNotFoundError


def run_lesion(
    entry: ModelEntry, request: schemas.LesionRequest, n_images: int, probes_per_category: int
) -> schemas.LesionResponse:
    """Score the lesion of ``request`` (call off the event loop; holds the analysis lock)."""
    sheet = entry.sheet(request.layer)
    if request.units is not None:
        units = np.unique(np.asarray(request.units, dtype=np.int64))
        if units.size and (units[0] < 0 or units[-1] >= sheet.num_units):
            raise HTTPException(
                422, f"units must lie in [0, {sheet.num_units}) for layer {request.layer!r}"
            )
    with entry.analysis_lock:
        scorer, categories = _scorer(
            entry, request.scorer, request.layer, n_images, probes_per_category
        )
        before_key = ("before", request.scorer, request.layer)
        if before_key not in entry.cache:
            entry.cache[before_key] = scorer({})
        before = entry.cache[before_key]
        if request.units is None:
            effect = disc_lesion(
                scorer,
                sheet,
                request.centre_mm,
                request.radius_mm,
                seed=request.seed,
                before=before,
            )
        else:
            effect = unit_lesion(
                scorer, request.layer, units, sheet.num_units, seed=request.seed, before=before
            )
    return schemas.LesionResponse(
        layer=request.layer,
        scorer=request.scorer,
        units=effect.n_units,
        centre_mm=effect.centre_mm,
        radius_mm=effect.radius_mm,
        categories=list(categories),
        before=effect.before.tolist(),
        after=effect.after.tolist(),
        control_after=effect.control_after.tolist(),
    )


def _scorer(entry: ModelEntry, kind: str, layer: str, n_images: int, per_category: int):
    """The cached scorer (and its categories): the model's own classes on its test data, or a
    readout of ``layer`` fitted to the category probes."""
    key = ("scorer", kind, layer if kind == "readout" else None)
    if key not in entry.cache:
        model = entry.analysis_model
        try:
            if kind == "classifier":
                images, labels = labelled_images(
                    entry.checkpoint, AnalysisSettings(subset=n_images)
                )
                entry.cache[key] = ClassifierScorer(model, images, labels, entry.classes)
            else:
                entry.cache[key] = ReadoutScorer.fit(model, probe_set(entry, per_category), layer)
        except (DataNotFoundError, ValueError) as exc:
            raise HTTPException(
                422, f"cannot score lesions with the {kind} scorer: {exc}"
            ) from None
    scorer = entry.cache[key]
    return scorer, scorer.categories
