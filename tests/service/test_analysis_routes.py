"""Selectivity maps (computed once, cached) and lesion experiments."""

from __future__ import annotations

import numpy as np
import pytest

from backend.client import ServiceError, TDSNNClient
from tdsnn_core.analysis import disc_units


@pytest.fixture(scope="module")
def client(server):
    with TDSNNClient(server) as c:
        yield c


def test_orientation_map_and_pinwheels(client, local):
    orientation = client.maps("mini", "orientation")
    n_units = local["mini"].sheets["layer2.0"].num_units
    assert orientation["layer"] == "layer2.0"  # the first V1 layer
    assert len(orientation["preferred_orientation_deg"]) == n_units
    assert 0 < len(orientation["analysed_units"]) < n_units
    assert client.maps("mini", "orientation") == orientation  # cached, identical
    pinwheels = client.maps("mini", "pinwheels")
    assert pinwheels["count"] == len(pinwheels["signs"]) == len(pinwheels["centres_mm"])
    field = np.array(pinwheels["orientation_field"]["values"], dtype=float)
    assert field.ndim == 2 and np.nanmax(field) < 180


def test_category_map_and_patches(client):
    category = client.maps("mini", "category", layer="layer4.0")
    assert category["layer"] == "layer4.0" and category["categories"][0] == "faces"
    assert set(category["t_values"]) == set(category["categories"]) == set(category["t_maps"])
    assert all(category["descriptions"][c] for c in category["categories"])
    patches = client.maps("mini", "patches", layer="layer4.0")
    assert set(patches["patches"]) == set(category["categories"])
    for name, labels in patches["labels"].items():
        assert np.max(labels["values"]) == len(patches["patches"][name])


def test_map_errors(client, http):
    with pytest.raises(ServiceError) as error:
        client.maps("mini", "orientation", layer="nope")
    assert error.value.status == 422 and "unknown layer 'nope'" in error.value.detail
    assert http.get("/v1/models/mini/maps/colour").status_code == 422
    with pytest.raises(ServiceError) as error:
        client.maps("tiny", "orientation")  # too few units for a map: a 422 saying why
    assert error.value.status == 422 and "no orientation map" in error.value.detail


def test_disc_lesion_with_random_control(client, local):
    sheet = local["mini"].sheets["layer2.0"]
    effect = client.lesion("mini", "layer2.0", centre_mm=(18.0, 18.0), radius_mm=10.0, seed=1)
    assert effect["units"] == len(disc_units(sheet.positions, (18.0, 18.0), 10.0)) > 0
    assert len(effect["categories"]) == 10
    for key in ("before", "after", "control_after"):
        assert len(effect[key]) == 10 and all(0 <= a <= 1 for a in effect[key])


def test_unit_lesion_with_readout_scorer(client):
    effect = client.lesion("tiny", "layer4.1", units=[0, 1, 2, 1], scorer="readout")
    assert effect["units"] == 3 and effect["categories"][0] == "faces"
    silenced_all = client.lesion("tiny", "layer4.1", units=list(range(8)), scorer="readout")
    assert silenced_all["before"] == effect["before"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"layer": "layer2.0"}, "either centre_mm and radius_mm, or units"),
        ({"layer": "layer2.0", "units": [1], "radius_mm": 2}, "either"),
        ({"layer": "layer2.0", "centre_mm": [1, 2], "radius_mm": -1}, "radius_mm"),
        ({"layer": "layer2.0", "units": [99999]}, "units must lie in"),
        ({"layer": "layer9", "units": [1]}, "unknown layer"),
        ({"layer": "layer2.0", "units": [1], "surgeon": "x"}, "surgeon"),
    ],
)
def test_bad_lesions(http, body, words):
    response = http.post("/v1/models/tiny/lesions", json=body)
    assert response.status_code == 422 and words in response.text
