"""Stimulus controls: a grating (orientation, spatial frequency, phase, contrast), one of the
service's bundled probe images, or an uploaded image."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import panel as pn

from app.service import Service
from app.widgets import at_once

KINDS = ("Grating", "Probe image", "Upload")


@dataclass(frozen=True)
class Stimulus:
    """What the spikes request sends: a grating spec or image bytes; ``label`` describes it."""

    label: str
    grating: dict | None = None
    image: bytes | None = None

    def request(self) -> dict:
        """Keyword arguments of ``TDSNNClient.spikes``."""
        return {"grating": self.grating} if self.grating is not None else {"image": self.image}


class StimulusControls:
    """Widgets choosing the stimulus; ``on_change`` is awaited whenever it changes."""

    def __init__(self, service: Service, on_change: Callable[[], Awaitable[None]]) -> None:
        self.service, self.on_change = service, on_change

        def slider(**options) -> pn.widgets.FloatSlider:
            return at_once(pn.widgets.FloatSlider(**options))

        self.orientation = slider(name="Orientation (deg)", start=0, end=180, step=5, value=45)
        self.frequency = slider(
            name="Spatial frequency (cycles/image)", start=0.5, end=14, step=0.5, value=4
        )
        self.phase = slider(name="Phase (deg)", start=0, end=360, step=15, value=0)
        self.contrast = slider(name="Contrast", start=0, end=1, step=0.05, value=1)
        self.probe = at_once(pn.widgets.Select(label="Probe image", options={}))
        self.upload = at_once(pn.widgets.FileInput(accept=".png,.jpg,.jpeg", label="upload"))
        self.preview = pn.pane.HTML("", name="stimulus-preview", height=100)
        self._probes: dict[str, bytes] = {}
        grating = pn.Column(self.orientation, self.frequency, self.phase, self.contrast)
        self.tabs = at_once(
            pn.Tabs(
                ("Grating", grating),
                ("Probe image", self.probe),
                ("Upload", self.upload),
                dynamic=False,
                name="stimulus-tabs",
            )
        )
        self.panel = pn.Column(self.tabs, self.preview)
        self.tabs.param.watch(self._changed, "active")
        for widget in (self.orientation, self.frequency, self.phase, self.contrast):
            widget.param.watch(self._when("Grating"), "value_throttled")
        self.probe.param.watch(self._when("Probe image"), "value")
        self.upload.param.watch(self._when("Upload"), "value")

    @property
    def kind(self) -> str:
        return KINDS[self.tabs.active]

    async def load_probes(self) -> None:
        """The probe image choices, from the service."""
        probes = await self.service.call("probes")
        self.probe.options = {f"{p['label']} ({p['source']})": p["id"] for p in probes}

    def set_input_size(self, input_size: int) -> None:
        """Limit the spatial frequency to the model's Nyquist frequency."""
        self.frequency.end = input_size / 2
        self.frequency.value = min(self.frequency.value, input_size / 2)

    async def current(self) -> Stimulus | None:
        """The chosen stimulus (None while the chosen kind has nothing yet, e.g. no upload)."""
        if self.kind == "Grating":
            spec = {
                "orientation_deg": self.orientation.value,
                "cycles_per_image": self.frequency.value,
                "phase_deg": self.phase.value,
                "contrast": self.contrast.value,
            }
            label = (
                f"grating {spec['orientation_deg']:g}°, {spec['cycles_per_image']:g} "
                f"cycles/image, phase {spec['phase_deg']:g}°, contrast {spec['contrast']:g}"
            )
            return Stimulus(label, grating=spec)
        if self.kind == "Probe image" and self.probe.value:
            probe = self.probe.value  # read before awaiting: the choice may change meanwhile
            if probe not in self._probes:
                self._probes[probe] = await self.service.call("probe", probe)
            return Stimulus(f"probe image {probe}", image=self._probes[probe])
        if self.kind == "Upload" and self.upload.value:
            return Stimulus(f"upload {self.upload.filename}", image=self.upload.value)
        return None

    def show_preview(self, stimulus: Stimulus) -> None:
        """Show an image stimulus the service accepted (gratings are described by the label)."""
        if stimulus.image is None:
            self.preview.object = ""
            return
        kind = "jpeg" if stimulus.image.startswith(b"\xff\xd8") else "png"
        data = base64.b64encode(stimulus.image).decode()
        self.preview.object = (
            f'<img src="data:image/{kind};base64,{data}" alt="stimulus" '
            'style="height:96px;image-rendering:pixelated;border:1px solid #ccc">'
        )

    def _when(self, kind: str) -> Callable[[object], Awaitable[None]]:
        """A watcher that calls ``on_change`` while ``kind`` is the chosen stimulus."""

        async def changed(_event) -> None:
            if self.kind == kind:
                await self.on_change()

        return changed

    async def _changed(self, _event) -> None:
        await self.on_change()
