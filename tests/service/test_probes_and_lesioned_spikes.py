"""Bundled probe images, and spikes with a disc of a sheet silenced (the dashboard's lesion
re-run): equal to running the model directly with the same units silenced."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from service_helpers import png, run_direct, upload_input

from backend.client import ServiceError, TDSNNClient
from tdsnn_core.data import sine_grating
from tdsnn_core.experiments import disc_units
from tdsnn_core.models import lesioned

GRATING = {"orientation_deg": 60.0, "cycles_per_image": 4.0, "phase_deg": 0.0, "contrast": 1.0}
DISC = {"layer": "layer2.0", "x_mm": 18.0, "y_mm": 18.0, "radius_mm": 9.0}


@pytest.fixture(scope="module")
def client(server):
    with TDSNNClient(server) as c:
        yield c


def test_probe_images_are_listed_and_served_as_png(client):
    probes = client.probes()
    ids = [p["id"] for p in probes]
    assert {"category-faces", "category-places", "category-characters"} <= set(ids)
    assert len(ids) == len(set(ids)) and all(p["label"] and p["description"] for p in probes)
    for probe_id in (ids[0], "category-faces"):
        with Image.open(io.BytesIO(client.probe(probe_id))) as image:
            assert image.format == "PNG" and min(image.size) >= 28
    with pytest.raises(ServiceError) as error:
        client.probe("nope")
    assert error.value.status == 404 and "category-faces" in error.value.detail


def test_a_probe_runs_like_any_upload(client):
    result = client.spikes("mini", image=client.probe("category-faces"), top_k=2)
    assert len(result.prediction) == 2 and sum(s.sum() for s in result.spikes.values()) > 0


def direct_lesioned(ckpt, image, disc: dict, timesteps: int | None = None):
    sheet = ckpt.sheets[disc["layer"]]
    units = disc_units(sheet.positions, (disc["x_mm"], disc["y_mm"]), disc["radius_mm"])
    assert 0 < len(units) < sheet.num_units
    with lesioned(ckpt.model, {disc["layer"]: units}):
        spikes, probabilities = run_direct(ckpt, image, timesteps)
    return units, spikes, probabilities


def test_lesioned_grating_equals_direct_lesioned_run(client, local):
    ckpt = local["mini"]
    result = client.spikes("mini", grating=GRATING, lesion=DISC, top_k=3)
    image = sine_grating(28, *GRATING.values())
    units, expected, probabilities = direct_lesioned(ckpt, image, DISC)
    intact = client.spikes("mini", grating=GRATING)
    for name, spikes in expected.items():
        np.testing.assert_array_equal(result.spikes[name], spikes)
    assert not result.spikes["layer2.0"].reshape(4, -1)[:, units].any()
    assert intact.spikes["layer2.0"].reshape(4, -1)[:, units].any()
    assert not np.array_equal(intact.spikes["layer4.1"], result.spikes["layer4.1"])
    np.testing.assert_allclose(
        [p["probability"] for p in result.prediction], np.sort(probabilities)[::-1][:3]
    )


def test_lesioned_upload_with_options(client, local):
    data = png(seed=3)
    result = client.spikes("mini", image=data, lesion=DISC, layers=["layer3.0"], timesteps=3)
    _, expected, _ = direct_lesioned(local["mini"], upload_input(data, 28), DISC, timesteps=3)
    assert list(result.spikes) == ["layer3.0"]
    np.testing.assert_array_equal(result.spikes["layer3.0"], expected["layer3.0"])


def test_lesioned_spikes_errors(client, http):
    with pytest.raises(ServiceError) as error:
        client.spikes("mini", grating=GRATING, lesion={**DISC, "layer": "nope"})
    assert error.value.status == 404 and "unknown layer 'nope'" in error.value.detail
    response = http.post(
        "/v1/models/mini/spikes/lesioned",
        params={"layer": "layer2.0", "x_mm": 1.0, "y_mm": 1.0},
        json={"stimulus": GRATING},
    )
    assert response.status_code == 422 and response.json()["field"] == "query.radius_mm"
    response = http.post("/v1/models/mini/spikes/lesioned", params={**DISC, "radius_mm": -1})
    assert response.status_code == 422 and response.json()["field"] == "query.radius_mm"
