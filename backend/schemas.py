"""Request and response models of the API (they make up its OpenAPI schema)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tdsnn_core.sheets import AREAS

MAX_TIMESTEPS = 64
MAX_UNIT = 2**31 - 1
SHEET_MAX_MM = max(area.sheet_size_mm for area in AREAS.values())  # IT's sheet, 70 mm
POSITIONS_ENCODING = (
    "base64 of float32 little-endian [units, 2]: (x, y) in mm, unit order c*H*W+h*W+w"
)


def _integral(value: Any) -> Any:
    """JSON Schema's integers include 3.0: integral floats pass as ints (bools never do)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def integer(ge: int, le: int) -> Any:
    """An integer in [ge, le] of a request (the bounds ahead of the validator, so that the
    JSON schema renders them as minimum and maximum)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_integral)]


Pair = Annotated[list[float], Field(min_length=2, max_length=2)]
Dims = Annotated[list[int], Field(min_length=3, max_length=3, description="(C, H, W)")]
SheetMM = Annotated[float, Field(ge=0.0, le=SHEET_MAX_MM)]
Percent = Annotated[float, Field(ge=0.0, le=100.0)]
Points = Annotated[float, Field(ge=-100.0, le=100.0, description="percentage points")]
PValue = Annotated[float, Field(gt=0.0, le=1.0)]
# A layer name; the served document lists the served layers (backend.openapi).
LayerName = Annotated[
    str, Field(min_length=1, max_length=128, json_schema_extra={"x-tdsnn-layer": True})
]


class Strict(BaseModel):
    """Unknown fields are an error (422 naming them)."""

    model_config = ConfigDict(extra="forbid")


class Request(Strict):
    """A request body: unknown fields and values of another JSON type (``false`` for a number,
    ``"3"`` for an integer) are a 422, exactly as the schema says."""

    model_config = ConfigDict(strict=True)


class Health(Strict):
    status: Literal["ok"] = "ok"
    models: int
    device: str
    message: str | None = None


class SkippedFile(Strict):
    file: str
    reason: str


class ModelSummary(Strict):
    id: str
    architecture: str
    timesteps: int
    input_size: int
    in_channels: int
    num_classes: int
    layers: list[str]


class ModelList(Strict):
    models: list[ModelSummary]
    skipped: list[SkippedFile] = Field(description="files of the models folder not loaded, why")
    message: str | None = None


class LayerInfo(Strict):
    name: str
    area: str
    dims: Dims
    units: int
    size_mm: float = Field(description="edge of the square cortical sheet")
    neighborhood_width_mm: float
    positions: str | None = Field(None, description=POSITIONS_ENCODING)


class ModelInfo(Strict):
    id: str
    architecture: str
    timesteps: int = Field(description="default T")
    max_timesteps: int = MAX_TIMESTEPS
    input_size: int
    in_channels: int
    classes: list[str]
    epoch: int | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict)
    config: dict[str, Any]
    layers: list[LayerInfo]
    positions_encoding: str = POSITIONS_ENCODING


class GratingSpec(Request):
    """A full-field sine grating (``tdsnn_core.data.sine_grating``) at the model's input size."""

    kind: Literal["grating"] = "grating"
    orientation_deg: float = Field(0.0, ge=-360.0, le=360.0)
    cycles_per_image: float = Field(
        4.0, gt=0.0, le=512.0, description="at most the model's input_size / 2 (else a 409)"
    )
    phase_deg: float = Field(0.0, ge=-360.0, le=360.0)
    contrast: float = Field(1.0, ge=0.0, le=1.0)


class SpikeOptions(Request):
    """Options of a spikes request (in multipart uploads: the JSON of the ``options`` field)."""

    layers: list[LayerName] | None = Field(
        None, min_length=1, max_length=64, description="default: every topographic layer"
    )
    timesteps: integer(1, MAX_TIMESTEPS) | None = Field(None, description="default: model's T")
    output: Literal["binary", "raster", "json", "nwb"] = Field(
        "binary",
        description="binary: bit-packed spikes (application/x-tdsnn-spikes, see backend.encoding);"
        " raster: spike counts per cell of a grid on each sheet; json: firing unit indices;"
        " nwb: an NWB 2 file (application/x-nwb, HDF5) of one trial: the units of the layers"
        " with their sheet positions and spike times, the stimulus (tdsnn_core.export.nwb)",
    )
    top_k: integer(1, 1000) = 5
    raster_cells: integer(1, 256) = Field(32, description="grid cells per sheet edge (raster)")


class SpikesRequest(SpikeOptions):
    """JSON form of a spikes request: a generated stimulus and the options."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"stimulus": {"orientation_deg": 45}, "top_k": 3}]}
    )

    stimulus: GratingSpec


class ClassScore(Strict):
    index: int
    label: str
    probability: float


class Prediction(Strict):
    top_k: list[ClassScore] = Field(description="softmax of the time-averaged logits")


class LayerSpikes(Strict):
    name: str
    dims: Dims
    fired: list[list[int]] = Field(description="per timestep, the flat indices of firing units")


class LayerRaster(Strict):
    name: str
    size_mm: float
    counts: list[list[list[int]]] = Field(
        description="[T][row][col] spikes per cell; rows follow y from 0, columns x from 0"
    )
    units: list[list[int]] = Field(description="[row][col] units per cell")


class SpikesJSON(Strict):
    output: Literal["json"] = "json"
    model: str
    timesteps: int
    prediction: Prediction
    layers: list[LayerSpikes]


class SpikesRaster(Strict):
    output: Literal["raster"] = "raster"
    model: str
    timesteps: int
    prediction: Prediction
    cells: int
    layers: list[LayerRaster]


class Grid(Strict):
    """Values on a grid of the sheet: ``values[row][col]``, rows follow y; NaN is null."""

    extent_mm: list[float] = Field(
        min_length=4, max_length=4, description="x_min, x_max, y_min, y_max"
    )
    values: list[list[float | None]]


class Smoothness(Strict):
    """TDANN's smoothness of the analysed units' map beside its null and interval."""

    score: float | None
    interval: Pair | None = Field(
        description="95 % interval over square tiles of the sheet (null: too sparse to resample)"
    )
    null_percentile: float | None = Field(
        description="percentile of the score among maps with the preferences shuffled"
    )
    null_interval: Pair | None = Field(description="the shuffled maps' central 95 %")
    bin_centres_mm: list[float]
    mean_curve: list[float | None]


class OrientationBins(Strict):
    """Preferred orientations of the analysed units in 22.5-degree bins (0, 22.5, ... deg)."""

    fractions: list[float]
    intervals: list[Pair] | None = Field(description="each 95 % over sheet tiles")


class OrientationMapOut(Strict):
    kind: Literal["orientation"] = "orientation"
    layer: str
    preferred_orientation_deg: list[float | None] = Field(description="per unit")
    orientation_selectivity: list[float | None] = Field(description="per unit")
    analysed_units: list[int] = Field(description="most orientation-tuned responsive units")
    smoothness: Smoothness
    orientation_bins: OrientationBins


class PinwheelsOut(Strict):
    kind: Literal["pinwheels"] = "pinwheels"
    layer: str
    count: int
    resolvable: bool = Field(description="whether the map can resolve pinwheels at all")
    reason: str | None = Field(description="why not, when it cannot")
    column_spacing_mm: float | None = Field(description="Lambda, from the map's power spectrum")
    column_spacing_interval: Pair | None = Field(
        description="95 % interval of Lambda (a parametric bootstrap: maps of the same units, "
        "coherence and spectral peak width); null when the spectrum has no peak"
    )
    density: float | None = Field(
        description="pinwheels per Lambda^2 (band-limited random maps: pi); null when the map "
        "is not resolvable"
    )
    density_interval: Pair | None = Field(
        description="95 % interval of the density (the detector on band-limited random maps "
        "of the same Lambda, units and coherence); null when the map is not resolvable"
    )
    null_resolvable_fraction: float = Field(
        ge=0.0, le=1.0, description="fraction of shuffled maps (same units) that are resolvable"
    )
    smoothness: Smoothness = Field(description="the map's smoothness, as the orientation map's")
    centres_mm: list[Pair]
    signs: list[int]
    orientation_field: Grid = Field(description="smoothed preferred orientation (deg)")


class NullOut(Strict):
    """An observed statistic beside its permutation null (image labels permuted, or for a
    smoothness the values shuffled across units)."""

    observed: float | None
    null_mean: float | None
    null_interval: Pair | None = Field(description="the null's central 95 %")
    percentile: float | None = Field(description="share of null draws below the observed, %")
    p_greater: float | None = Field(description="(1 + #{null >= observed}) / (n + 1)")


class CategoryMapOut(Strict):
    kind: Literal["category"] = "category"
    layer: str
    categories: list[str]
    descriptions: dict[str, str]
    t_values: dict[str, list[float]] = Field(description="per category, Welch t of each unit")
    t_maps: dict[str, Grid]
    overlaps: dict[str, float | None]
    overlap_null: dict[str, NullOut | None] = Field(
        description="each overlap beside its label-permutation null (null where the overlap is)"
    )
    overlap_interval: dict[str, Pair | None] = Field(
        description="each overlap's 95 % interval: a jackknife over groups of the probes' "
        "source images, on Fisher's z (null where the overlap is or a category has too few "
        "images)"
    )
    smoothness: dict[str, NullOut] = Field(
        description="TDANN smoothness of each category's unit t-values beside its null, the "
        "t-values shuffled across units"
    )
    smoothness_interval: dict[str, Pair | None] = Field(
        description="each category's smoothness with its 95 % interval: a jackknife over groups "
        "of the probes' source images (null where a category has too few images)"
    )


class Patch(Strict):
    area_mm2: float
    centroid_mm: Pair
    units: int


class PatchesOut(Strict):
    kind: Literal["patches"] = "patches"
    layer: str
    patches: dict[str, list[Patch]]
    labels: dict[str, Grid] = Field(description="per cell: 0 outside patches, k in patch k")
    patch_null: dict[str, NullOut] = Field(
        description="each category's patch count beside its label-permutation null"
    )
    patch_interval: dict[str, Pair] = Field(
        description="each category's patch count with its 95 % interval in whole counts, from "
        "rescaled half-samples of the probes' source images"
    )


class _Lesion(Request):
    layer: LayerName
    scorer: Literal["classifier", "readout"] = Field(
        "classifier",
        description="classifier: the model's own classes on its test data; readout: a linear "
        "readout of the layer on the category probe set",
    )
    seed: integer(0, 2**31 - 1) = Field(0, description="of the random control lesions")


class DiscLesion(_Lesion):
    """Silence every unit of ``layer`` within ``radius_mm`` of ``centre_mm`` (any point of the
    largest sheet; a disc off the layer's own sheet may silence no unit)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"layer": "layer2.0", "centre_mm": [18.0, 18.0], "radius_mm": 5.0}]
        }
    )

    centre_mm: list[SheetMM] = Field(min_length=2, max_length=2, description="(x, y)")
    radius_mm: float = Field(ge=0.0, le=SHEET_MAX_MM * math.sqrt(2))


class UnitLesion(_Lesion):
    """Silence the listed units of ``layer`` (flat indices c*H*W + h*W + w)."""

    units: list[integer(0, MAX_UNIT)] = Field(max_length=1_000_000)


LesionRequest = DiscLesion | UnitLesion


class LesionResponse(Strict):
    """Accuracy per category (percent) before, after the lesion, and after random control
    lesions of as many units of the layer; deficits in percentage points with 95 % intervals
    (targeted: paired bootstrap over the scored images; control: one random lesion's deficit
    over the control draws and the images), and whether the lesion is category-specific
    (its deficit's interval lies entirely above the control's)."""

    layer: str
    scorer: str
    units: int
    centre_mm: Pair | None
    radius_mm: float | None
    categories: list[str]
    n_controls: int = Field(ge=1, description="random control lesions drawn")
    before: list[Percent]
    after: list[Percent]
    control_after: list[Percent] = Field(description="mean over the random control lesions")
    deficit: list[Points] = Field(description="before - after, percentage points")
    deficit_interval: list[Pair] = Field(description="per category, 95 % interval (points)")
    control_deficit: list[Points] = Field(description="before - control_after (points)")
    control_interval: list[Pair] = Field(
        description="per category, 95 % interval of a random control lesion's deficit (points)"
    )
    control_p: list[PValue] = Field(
        description="per category, the deficit's rank among the random control lesions' "
        "deficits (its null): (1 + controls losing at least as much) / (1 + n_controls)"
    )
    specific: list[bool] = Field(description="deficit interval above the control's")
