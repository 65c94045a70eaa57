"""Request and response models of the API (they make up its OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_TIMESTEPS = 64
POSITIONS_ENCODING = (
    "base64 of float32 little-endian [units, 2]: (x, y) in mm, unit order c*H*W+h*W+w"
)


class Strict(BaseModel):
    """Unknown fields are an error (422 naming them)."""

    model_config = ConfigDict(extra="forbid")


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
    dims: tuple[int, int, int] = Field(description="(C, H, W)")
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


class GratingSpec(Strict):
    """A full-field sine grating (``tdsnn_core.data.sine_grating``) at the model's input size."""

    kind: Literal["grating"] = "grating"
    orientation_deg: float = Field(0.0, ge=-360.0, le=360.0)
    cycles_per_image: float = Field(4.0, gt=0.0, le=512.0, description="at most input_size / 2")
    phase_deg: float = Field(0.0, ge=-360.0, le=360.0)
    contrast: float = Field(1.0, ge=0.0, le=1.0)


class SpikeOptions(Strict):
    """Options of a spikes request (in multipart uploads: the JSON of the ``options`` field)."""

    layers: list[str] | None = Field(
        None, min_length=1, max_length=64, description="default: every topographic layer"
    )
    timesteps: int | None = Field(None, ge=1, le=MAX_TIMESTEPS, description="default: model's T")
    output: Literal["binary", "raster", "json"] = Field(
        "binary",
        description="binary: bit-packed spikes (application/x-tdsnn-spikes, see backend.encoding);"
        " raster: spike counts per cell of a grid on each sheet; json: firing unit indices",
    )
    top_k: int = Field(5, ge=1, le=1000)
    raster_cells: int = Field(32, ge=1, le=256, description="grid cells per sheet edge (raster)")


class SpikesRequest(SpikeOptions):
    """JSON form of a spikes request: a generated stimulus and the options."""

    stimulus: GratingSpec


class ClassScore(Strict):
    index: int
    label: str
    probability: float


class Prediction(Strict):
    top_k: list[ClassScore] = Field(description="softmax of the time-averaged logits")


class LayerSpikes(Strict):
    name: str
    dims: tuple[int, int, int]
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

    extent_mm: tuple[float, float, float, float] = Field(description="x_min, x_max, y_min, y_max")
    values: list[list[float | None]]


class Smoothness(Strict):
    score: float | None
    bin_centres_mm: list[float]
    mean_curve: list[float | None]


class OrientationMapOut(Strict):
    kind: Literal["orientation"] = "orientation"
    layer: str
    preferred_orientation_deg: list[float | None] = Field(description="per unit")
    orientation_selectivity: list[float | None] = Field(description="per unit")
    analysed_units: list[int] = Field(description="most orientation-tuned responsive units")
    smoothness: Smoothness


class PinwheelsOut(Strict):
    kind: Literal["pinwheels"] = "pinwheels"
    layer: str
    count: int
    density: float | None = Field(description="pinwheels per hypercolumn area (biology: ~pi)")
    centres_mm: list[tuple[float, float]]
    signs: list[int]
    orientation_field: Grid = Field(description="smoothed preferred orientation (deg)")


class CategoryMapOut(Strict):
    kind: Literal["category"] = "category"
    layer: str
    categories: list[str]
    descriptions: dict[str, str]
    t_values: dict[str, list[float]] = Field(description="per category, Welch t of each unit")
    t_maps: dict[str, Grid]
    overlaps: dict[str, float | None]
    smoothness: dict[str, float | None]


class Patch(Strict):
    area_mm2: float
    centroid_mm: tuple[float, float]
    units: int


class PatchesOut(Strict):
    kind: Literal["patches"] = "patches"
    layer: str
    patches: dict[str, list[Patch]]
    labels: dict[str, Grid] = Field(description="per cell: 0 outside patches, k in patch k")


class LesionRequest(Strict):
    """A disc (``centre_mm`` and ``radius_mm``) or an explicit unit list (``units``)."""

    layer: str
    centre_mm: tuple[float, float] | None = None
    radius_mm: float | None = Field(None, ge=0.0, le=1e4)
    units: list[int] | None = Field(None, max_length=10_000_000)
    scorer: Literal["classifier", "readout"] = Field(
        "classifier",
        description="classifier: the model's own classes on its test data; readout: a linear "
        "readout of the layer on the category probe set",
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="of the random control lesion")

    @model_validator(mode="after")
    def _disc_or_units(self) -> LesionRequest:
        disc = (self.centre_mm is not None, self.radius_mm is not None)
        if disc not in ((True, True), (False, False)) or disc[0] == (self.units is not None):
            raise ValueError("give either centre_mm and radius_mm, or units")
        return self


class LesionResponse(Strict):
    layer: str
    scorer: str
    units: int
    centre_mm: tuple[float, float] | None
    radius_mm: float | None
    categories: list[str]
    before: list[float]
    after: list[float]
    control_after: list[float] = Field(description="after silencing as many random units")
