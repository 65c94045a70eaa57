"""Health, model listing and description; unsafe or broken files are skipped with a reason."""

from __future__ import annotations

import numpy as np
import pytest

from backend.client import ServiceError, TDSNNClient


def test_health(http):
    assert http.get("/healthz").json() == {
        "status": "ok",
        "models": 2,
        "device": "cpu",
        "message": None,
    }


def test_models_lists_loaded_and_skipped_files(http, server_log):
    listing = http.get("/v1/models").json()
    assert [m["id"] for m in listing["models"]] == ["mini", "tiny"]
    tiny = listing["models"][1]
    assert (tiny["timesteps"], tiny["input_size"], tiny["num_classes"]) == (2, 16, 4)
    skipped = {s["file"]: s["reason"] for s in listing["skipped"]}
    assert set(skipped) == {"corrupt.safetensors", "pickled.pt", "foreign.safetensors", "notes.txt"}
    assert "pickle" in skipped["pickled.pt"]
    assert "not a readable safetensors file" in skipped["corrupt.safetensors"]
    assert "not a TDSNN file" in skipped["foreign.safetensors"]
    log = server_log.read_text()
    assert all(f"skipped {name}" in log for name in skipped)


def test_model_description_with_positions(server, local):
    with TDSNNClient(server) as client:
        info = client.model("mini")
        assert client.model("mini", positions=False)["layers"][0]["positions"] is None
    ckpt = local["mini"]
    assert (info["architecture"], info["timesteps"], info["epoch"]) == ("sresnet_mini", 4, 3)
    assert info["classes"][:2] == ["0 deg", "18 deg"] and len(info["classes"]) == 10
    assert info["metrics"] == {"top1": 0.5}
    assert [layer["name"] for layer in info["layers"]] == list(ckpt.sheets)
    for layer in info["layers"]:
        sheet = ckpt.sheets[layer["name"]]
        assert (layer["area"], tuple(layer["dims"]), layer["size_mm"]) == (
            sheet.area,
            sheet.dims,
            sheet.size_mm,
        )
        np.testing.assert_array_equal(layer["positions"], sheet.positions)


def test_unknown_model_is_404(server, http):
    with TDSNNClient(server) as client, pytest.raises(ServiceError) as error:
        client.model("nope")
    assert error.value.status == 404 and "unknown model 'nope'" in error.value.detail
    assert http.get("/v1/models/..%2F..%2Fmini.safetensors").status_code == 404
