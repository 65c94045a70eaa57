"""The dashboard page: pick a model and a stimulus, watch the cortical sheets fire, overlay
selectivity maps, run lesions. Everything it shows comes from the service's HTTP API."""

from __future__ import annotations

import html

import panel as pn
from bokeh.models import Div

from app.lesions import LesionView
from app.overlays import Overlays
from app.server import FAVICON
from app.service import Problem, Service
from app.sheets import SheetPlayer
from app.status import Status
from app.stimulus import Stimulus, StimulusControls
from app.temporal import FiringRates, timestep_cursor
from app.text import markdown
from app.widgets import at_once
from backend.client import Spikes

DEFAULT_MODEL = "categories_stc"  # the bundled default model (or the first categories_stc*)
MAX_TIMESTEPS = 32


def build_page(service_url: str, token: str | None = None) -> pn.template.BootstrapTemplate:
    """One browser session's page, driving the service at ``service_url``."""
    service = Service(service_url, token)
    pn.state.on_session_destroyed(lambda _context: service.close())
    return Dashboard(service).template


class ModelViews:
    """The views of one model: the sheets with their player and overlays at once; the firing
    rates and the lesion view when their tab is first opened."""

    def __init__(self, info: dict, dashboard: Dashboard) -> None:
        self.info, self.model, self.dashboard = info, info["id"], dashboard
        self.cursor = timestep_cursor()
        self.player = SheetPlayer(layers=info["layers"], cursor=self.cursor)
        self.overlays = Overlays(
            dashboard.service, dashboard.status, self.model, self.player.canvas
        )
        self.rates: FiringRates | None = None
        self.lesions: LesionView | None = None
        self.result: Spikes | None = None

    def show(self, result: Spikes) -> None:
        """Spikes on the sheets (and the firing rates, once built)."""
        self.result = result
        self.player.show(result.spikes, result.timesteps)
        if self.rates is not None:
            self.rates.show(result.spikes, result.timesteps)

    def open_rates(self) -> FiringRates:
        """The firing-rate view, built (with the last spikes) on first use."""
        if self.rates is None:
            self.rates = FiringRates(self.info["layers"], self.cursor)
            if self.result is not None:
                self.rates.show(self.result.spikes, self.result.timesteps)
        return self.rates

    def open_lesions(self) -> LesionView:
        """The lesion view, built on first use."""
        if self.lesions is None:
            dashboard = self.dashboard
            self.lesions = LesionView(
                dashboard.service, dashboard.status, self.model, self.info["layers"],
                self.player.canvas, dashboard.show_stimulus,
            )  # fmt: skip
        return self.lesions

    def active_lesion(self) -> dict | None:
        """The applied lesion (None before the lesion view is opened)."""
        return self.lesions.active() if self.lesions is not None else None


class Dashboard:
    """The page's widgets and the work they trigger."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.status = Status()
        self.model = at_once(pn.widgets.Select(label="Model", options=[]))
        self.about = markdown("", name="model-summary")
        self.timesteps = at_once(
            pn.widgets.IntSlider(label="Timesteps (T)", start=1, end=MAX_TIMESTEPS, value=4)
        )
        self.stimulus = StimulusControls(service, self.show_stimulus)
        self.prediction = markdown("", name="prediction")
        self.shown = Div(text="", name="stimulus-label", styles={"font-size": "1.05em"})
        self.views: ModelViews | None = None
        self.sheets_tab, self.rates_tab, self.lesion_tab = (
            pn.Column(markdown("Waiting for the service…")) for _ in range(3)
        )
        self.tabs = pn.Tabs(
            ("Cortical sheets", self.sheets_tab),
            ("Temporal", self.rates_tab),
            ("Lesions", self.lesion_tab),
            dynamic=True,  # a view is built in the browser when first opened
            name="views",
        )
        self._request = 0
        self.template = pn.template.BootstrapTemplate(
            title="TDSNN Lab · cortical map explorer",
            favicon=FAVICON,
            sidebar_width=320,
            sidebar=[
                self.model,
                self.about,
                markdown("### Stimulus"),
                self.stimulus.panel,
                self.timesteps,
                markdown("### Prediction"),
                self.prediction,
            ],
            main=[self.status.panel, pn.pane.Bokeh(self.shown), self.tabs],
        )
        self.model.param.watch(self._model_changed, "value")
        self.timesteps.param.watch(self.show_stimulus, "value_throttled")
        self.tabs.param.watch(lambda event: self._open_tab(event.new), "active")
        # Started once the browser has rendered the page: a change made while the browser
        # still builds the first document can reach it before the models it refers to
        # ("reference ... isn't known"), and the sheets then never appear.
        pn.state.onload(self.start)

    async def start(self) -> None:
        """List the models and probe images, then show the default model."""

        async def work() -> None:
            listing = await self.service.call("models")
            ids = [m["id"] for m in listing["models"]]
            if not ids:
                raise Problem(listing.get("message") or "the service serves no models")
            await self.stimulus.load_probes()
            ids.sort(key=lambda i: (i != DEFAULT_MODEL, not i.startswith(DEFAULT_MODEL)))
            self.model.param.update(options=ids, value=ids[0])  # the default model first

        if not await self.status.run(f"Connecting to {self.service.url}", work):
            self.about.object = "The service could not be reached or serves no models."

    async def _model_changed(self, event) -> None:
        async def work() -> None:
            info = await self.service.call("model", event.new)
            if self.model.value == event.new:
                await self.status.apply(lambda: self._show_model(info))

        if await self.status.run(f"Loading model {event.new}", work):
            await self.show_stimulus()

    def _show_model(self, info: dict) -> None:
        self.views = views = ModelViews(info, self)
        self.about.object = summary(info)
        self.stimulus.set_input_size(info["input_size"])
        self.timesteps.param.update(
            end=min(info["max_timesteps"], MAX_TIMESTEPS), value=info["timesteps"]
        )
        self.sheets_tab.objects = [
            views.overlays.panel,
            pn.Row(views.player, views.overlays.beside),
        ]
        self.rates_tab.objects, self.lesion_tab.objects = [], []
        self._open_tab(self.tabs.active)

    def _open_tab(self, index: int) -> None:
        """Build the firing rates or the lesion view of the model when its tab opens."""
        views = self.views
        if views is None:
            return
        if index == 1 and views.rates is None:
            self.rates_tab.objects = [views.open_rates().figure]
        elif index == 2 and views.lesions is None:
            self.lesion_tab.objects = [views.open_lesions().panel]

    async def show_stimulus(self, _event=None) -> None:
        """Run the chosen stimulus (with the applied lesion, if any) and show the spikes."""
        views = self.views
        if views is None:
            return
        self._request += 1
        request = self._request

        async def work() -> None:
            stimulus = await self.stimulus.current()
            if stimulus is None:
                return
            lesion = views.active_lesion()
            result = await self.service.call(
                "spikes",
                views.model,
                **stimulus.request(),
                timesteps=self.timesteps.value,
                lesion=lesion,
            )
            if request == self._request and views is self.views:  # else: superseded
                await self.status.apply(lambda: self._show_spikes(views, stimulus, lesion, result))

        await self.status.run("Running the stimulus through the model", work)

    def _show_spikes(
        self, views: ModelViews, stimulus: Stimulus, lesion: dict | None, result: Spikes
    ) -> None:
        views.show(result)
        self.stimulus.show_preview(stimulus)
        self.prediction.object = prediction_table(result.prediction)
        lesioned = (
            f" · lesion: {lesion['layer']} disc r = {lesion['radius_mm']:.1f} mm" if lesion else ""
        )
        self.shown.text = f"<b>{views.model}</b> · {html.escape(stimulus.label)}{lesioned}"


def summary(info: dict) -> str:
    """A model's architecture, T, input, classes and stored metrics, in Markdown."""
    metrics = ", ".join(
        f"{k} {v:.3g}" for k, v in info["metrics"].items() if v is not None and "top" in k
    )
    areas = ", ".join(dict.fromkeys(layer["area"] for layer in info["layers"]))
    return (
        f"{info['architecture']} · T = {info['timesteps']} · {info['input_size']} px, "
        f"{info['in_channels']} channel(s) · {len(info['classes'])} classes · "
        f"{len(info['layers'])} topographic layers ({areas})" + (f" · {metrics}" if metrics else "")
    )


def prediction_table(top_k: list[dict]) -> str:
    """The top-k prediction as a Markdown table."""
    rows = [f"| {p['label']} | {p['probability']:.1%} |" for p in top_k]
    return "\n".join(["| class | probability |", "|---|---:|", *rows])
