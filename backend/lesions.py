"""Lesion experiments on a served model: per-category accuracy before and after silencing a
disc of a sheet (or a unit list), against random control lesions of as many units."""

from __future__ import annotations

import numpy as np

from backend import schemas
from backend.errors import ApiError
from backend.maps import probe_set
from backend.registry import ModelEntry
from tdsnn_core.data import DataNotFoundError
from tdsnn_core.experiments import (
    AnalysisSettings,
    ClassifierScorer,
    ReadoutScorer,
    disc_lesion,
    labelled_data,
    unit_lesion,
)


def lesion_units(entry: ModelEntry, request: schemas.LesionRequest) -> np.ndarray | None:
    """The checked unit list of a unit lesion (None for a disc); a unit beyond the layer, or
    an unknown layer, is a 404."""
    sheet = entry.sheet(request.layer, "body.layer")
    if isinstance(request, schemas.DiscLesion):
        return None
    units = np.unique(np.asarray(request.units, dtype=np.int64))
    if units.size and units[-1] >= sheet.num_units:
        raise ApiError(
            404,
            f"layer {request.layer!r} has no unit {int(units[-1])}: its units are "
            f"0 ... {sheet.num_units - 1}",
            field="body.units",
        )
    return units


def run_lesion(
    entry: ModelEntry,
    request: schemas.LesionRequest,
    units: np.ndarray | None,
    n_images: int,
    probes_per_category: int,
) -> schemas.LesionResponse:
    """Score the lesion of ``request`` (run on the model's analysis lane)."""
    sheet = entry.sheets[request.layer]
    scorer, categories = _scorer(
        entry, request.scorer, request.layer, n_images, probes_per_category
    )
    before_key = ("before", request.scorer, request.layer)
    if before_key not in entry.cache:
        entry.cache[before_key] = scorer({})
    before = entry.cache[before_key]
    if units is None:
        effect = disc_lesion(
            scorer, sheet, request.centre_mm, request.radius_mm, seed=request.seed, before=before
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
        n_controls=len(effect.control_draws),
        before=effect.before.tolist(),
        after=effect.after.tolist(),
        control_after=effect.control_after.tolist(),
        deficit=effect.deficit.tolist(),
        deficit_interval=effect.deficit_interval.tolist(),
        control_deficit=effect.control_deficit.tolist(),
        control_interval=effect.control_interval.tolist(),
        control_p=effect.control_p.tolist(),
        specific=effect.specific.tolist(),
    )


def _scorer(entry: ModelEntry, kind: str, layer: str, n_images: int, per_category: int):
    """The cached scorer (and its categories): the model's own classes on its test data, or a
    readout of ``layer`` fitted to the category probes. One it cannot build is a 409."""
    key = ("scorer", kind, layer if kind == "readout" else None)
    if key not in entry.cache:
        model = entry.analysis_model
        try:
            if kind == "classifier":
                images, labels, sources = labelled_data(
                    entry.checkpoint, AnalysisSettings(subset=n_images)
                )
                entry.cache[key] = ClassifierScorer(
                    model, images, labels, entry.classes, sources=sources
                )
            else:
                entry.cache[key] = ReadoutScorer.fit(model, probe_set(entry, per_category), layer)
        except (DataNotFoundError, ValueError) as exc:
            raise ApiError(
                409, f"cannot score lesions with the {kind} scorer: {exc}", field="body.scorer"
            ) from None
    scorer = entry.cache[key]
    return scorer, scorer.categories
