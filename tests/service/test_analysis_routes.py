"""Selectivity maps (computed once, cached) and lesion experiments."""

from __future__ import annotations

import numpy as np
import pytest
from service_helpers import error

from backend.client import ServiceError, TDSNNClient
from tdsnn_core.experiments import disc_units, layer_orientation_map


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
    # every statistic beside its null and interval, as the core measures them
    model = local["mini"]
    expected = layer_orientation_map(model.model, model.sheets["layer2.0"])
    smoothness = orientation["smoothness"]
    assert smoothness["score"] == pytest.approx(expected.smoothness.score)
    assert smoothness["null_percentile"] == pytest.approx(expected.smoothness_null.score.percentile)
    assert smoothness["null_interval"] == pytest.approx(
        list(expected.smoothness_null.score.interval)
    )
    interval = expected.smoothness_interval
    if np.isfinite([interval.low, interval.high]).all():
        assert smoothness["interval"] == pytest.approx([interval.low, interval.high])
    else:
        assert smoothness["interval"] is None
    bins = orientation["orientation_bins"]
    assert bins["fractions"] == pytest.approx(expected.diversity.fractions.tolist())
    np.testing.assert_allclose(bins["intervals"], expected.diversity.fraction_intervals)
    pinwheels = client.maps("mini", "pinwheels")
    assert pinwheels["count"] == len(pinwheels["signs"]) == len(pinwheels["centres_mm"])
    assert pinwheels["count"] == expected.pinwheels.count
    assert (pinwheels["density_interval"] is None) == (expected.pinwheels.density_interval is None)
    spacing = expected.pinwheels.column_spacing_interval
    assert pinwheels["column_spacing_interval"] == (None if spacing is None else spacing.bounds)
    field = np.array(pinwheels["orientation_field"]["values"], dtype=float)
    assert field.ndim == 2 and np.nanmax(field) < 180


def test_category_map_and_patches(client):
    category = client.maps("mini", "category", layer="layer4.0")
    assert category["layer"] == "layer4.0" and category["categories"][0] == "faces"
    assert set(category["t_values"]) == set(category["categories"]) == set(category["t_maps"])
    assert all(category["descriptions"][c] for c in category["categories"])
    patches = client.maps("mini", "patches", layer="layer4.0")
    assert set(patches["patches"]) == set(category["categories"])
    for name, null in patches["patch_null"].items():  # counts beside their permutation null
        assert null["observed"] == len(patches["patches"][name])
        low, high = patches["patch_interval"][name]  # and their interval, in whole counts
        assert low == int(low) and high == int(high) and 0 <= low <= null["observed"] <= high
        assert 0 < null["p_greater"] <= 1 and null["null_interval"][0] <= null["null_interval"][1]
    for pair, overlap in category["overlaps"].items():
        null, interval = category["overlap_null"][pair], category["overlap_interval"][pair]
        assert (overlap is None) == (null is None) == (interval is None)
        if null is not None:
            assert null["observed"] == pytest.approx(overlap) and 0 <= null["percentile"] <= 100
            assert interval[0] <= overlap <= interval[1]
    for name, labels in patches["labels"].items():
        assert np.max(labels["values"]) == len(patches["patches"][name])
    assert set(category["smoothness"]) == set(category["categories"])
    for name, null in category["smoothness"].items():  # vs t-values shuffled across units
        assert -1 <= null["observed"] <= 1 and 0 <= null["percentile"] <= 100
        low, high = category["smoothness_interval"][name]  # and its jackknife interval
        assert low <= null["observed"] <= high
        assert null["null_interval"][0] <= null["null_mean"] <= null["null_interval"][1]


def test_map_errors(client, http):
    with pytest.raises(ServiceError) as raised:
        client.maps("mini", "orientation", layer="nope")
    assert raised.value.status == 404 and "unknown layer 'nope'" in raised.value.detail
    assert http.get("/v1/models/mini/maps/colour").status_code == 422
    with pytest.raises(ServiceError) as raised:
        client.maps("tiny", "orientation")  # too few units for a map: a 409 saying why
    assert raised.value.status == 409 and "no orientation map" in raised.value.detail


def test_disc_lesion_with_random_control(client, local):
    sheet = local["mini"].sheets["layer2.0"]
    effect = client.lesion("mini", "layer2.0", centre_mm=(18.0, 18.0), radius_mm=10.0, seed=1)
    assert effect["units"] == len(disc_units(sheet.positions, (18.0, 18.0), 10.0)) > 0
    assert len(effect["categories"]) == 10
    for key in ("before", "after", "control_after"):  # percent
        assert len(effect[key]) == 10 and all(0 <= a <= 100 for a in effect[key])
    assert effect["n_controls"] >= 20
    for k in range(10):  # deficits in points, each inside its interval
        low, high = effect["deficit_interval"][k]
        assert effect["deficit"][k] == pytest.approx(effect["before"][k] - effect["after"][k])
        assert low <= effect["deficit"][k] <= high
        assert effect["specific"][k] == (low > effect["control_interval"][k][1])
        rank = effect["control_p"][k] * (1 + effect["n_controls"])  # 1 + controls losing as much
        assert rank == pytest.approx(round(rank)) and 1 <= round(rank) <= 1 + effect["n_controls"]


def test_unit_lesion_with_readout_scorer(client):
    effect = client.lesion("tiny", "layer4.1", units=[0, 1, 2, 1], scorer="readout")
    assert effect["units"] == 3 and effect["categories"][0] == "faces"
    silenced_all = client.lesion("tiny", "layer4.1", units=list(range(8)), scorer="readout")
    assert silenced_all["before"] == effect["before"]


def test_a_disc_off_the_layers_sheet_silences_nothing(client, local):
    size = local["tiny"].sheets["layer1.0"].size_mm  # the early sheet, 2.4 mm
    effect = client.lesion("tiny", "layer1.0", centre_mm=(60.0, 60.0), radius_mm=1.0)
    assert size < 10 and effect["units"] == 0 and effect["after"] == effect["before"]
    assert effect["control_p"] == [1.0] * len(effect["categories"])  # no deficit: every control


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"layer": "layer2.0"}, 422, "body.centre_mm"),
        ({"layer": "layer2.0", "units": [1], "radius_mm": 2}, 422, "body.radius_mm"),
        ({"layer": "layer2.0", "centre_mm": [1, 2], "radius_mm": -1}, 422, "body.radius_mm"),
        ({"layer": "layer2.0", "centre_mm": [1, 71], "radius_mm": 1}, 422, "body.centre_mm.1"),
        ({"layer": "layer2.0", "centre_mm": [1, 2, 3], "radius_mm": 1}, 422, "body.centre_mm"),
        ({"layer": "layer2.0", "units": [5320, 2741863567349376081685608098955264]}, 422, None),
        ({"layer": "layer2.0", "units": [True]}, 422, "body.units.0"),
        ({"layer": "layer2.0", "units": [1], "surgeon": "x"}, 422, "body.surgeon"),
        ({"layer": "layer2.0", "units": [99999]}, 404, "body.units"),
        ({"layer": "layer9", "units": [1]}, 404, "body.layer"),
    ],
)
def test_bad_lesions(http, body, status, field):
    answer = error(http.post("/v1/models/tiny/lesions", json=body), status)
    assert answer["field"] == (field or "body.units.1")
