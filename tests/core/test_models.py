"""Model registry, spiking forward, topographic layers and lesions."""

from __future__ import annotations

import pytest
import torch
from spikingjelly.activation_based import neuron

from tdsnn_core.models import create_model, lesioned, list_models


def tiny(**kw):
    return create_model("sresnet_mini", widths=[4, 8, 8, 8], stem_width=4, input_size=16, **kw)


def test_registry_lists_models_and_rejects_unknown_names() -> None:
    assert {"sresnet18", "sresnet_mini"} <= set(list_models())
    with pytest.raises(ValueError, match="known models: .*sresnet18"):
        create_model("resnet9000")
    with pytest.raises(ValueError, match="unknown option"):
        create_model("sresnet_mini", depth=3)


def test_sresnet18_layers_areas_and_shapes() -> None:
    model = create_model("sresnet18", input_size=64, num_classes=7).eval()
    layers = model.topographic_layers()
    assert [t.name for t in layers] == [f"layer{s}.{b}" for s in range(1, 5) for b in range(2)]
    assert [t.area for t in layers] == ["early", "early", "V1", "V1", "V2", "V4", "IT", "IT"]
    out = model(torch.rand(2, 3, 64, 64), return_spikes=True)
    assert out.logits.shape == (2, 7) and out.logits_per_step.shape == (4, 2, 7)
    torch.testing.assert_close(out.logits, out.logits_per_step.mean(0))
    for t in layers:
        spikes = out.spikes[t.name]
        assert spikes.shape == (4, 2, *t.dims)
        assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert layers[0].dims == (64, 16, 16) and layers[-1].dims == (512, 2, 2)
    assert isinstance(model.stem[2], neuron.LIFNode) and model.stem[2].tau == 2.0


def test_neuron_settings_and_timesteps_are_configurable() -> None:
    model = tiny(timesteps=6, neuron="if", surrogate="sigmoid", v_threshold=0.7)
    assert isinstance(model.stem[2], neuron.IFNode) and model.stem[2].v_threshold == 0.7
    out = model(torch.rand(3, 1, 16, 16), return_spikes=True)
    assert out.logits_per_step.shape[0] == 6
    assert (
        model(torch.rand(3, 1, 16, 16), timesteps=2, return_spikes=True).spikes["layer1.0"].shape[0]
        == 2
    )
    with pytest.raises(ValueError, match="tau must be"):
        tiny(tau=0.5)
    with pytest.raises(ValueError, match="unknown surrogate"):
        tiny(surrogate="magic")


def test_calls_are_independent_and_leave_no_monitors() -> None:
    model = tiny().eval()
    images = torch.rand(4, 1, 16, 16)
    first = model(images, return_spikes=True)
    model(torch.rand(4, 1, 16, 16))  # different input in between must not leak state
    second = model(images, return_spikes=True)
    torch.testing.assert_close(first.logits, second.logits)
    alone = model(images[:1], return_spikes=True)
    torch.testing.assert_close(alone.spikes["layer4.1"][:, 0], first.spikes["layer4.1"][:, 0])
    assert all(not m._forward_hooks for m in model.modules())


def test_wrong_input_shape_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"expected images \[B, 1, H, W\]"):
        tiny()(torch.rand(2, 3, 16, 16))


def test_lesion_silences_exactly_the_chosen_units_at_every_step() -> None:
    torch.manual_seed(0)
    model = tiny(v_threshold=0.2).eval()
    images = torch.rand(6, 1, 16, 16)
    intact = model(images, return_spikes=True).spikes["layer2.0"]
    c, h, w = model.layer_dims("layer2.0")
    units = torch.tensor([0, 5, 17, c * h * w - 1])
    with lesioned(model, {"layer2.0": units}):
        hit = model(images, return_spikes=True).spikes["layer2.0"]
    flat_hit, flat_intact = hit.flatten(2), intact.flatten(2)
    assert flat_hit[:, :, units].sum() == 0
    assert flat_intact[:, :, units].sum() > 0  # they did fire before
    keep = torch.ones(c * h * w, dtype=torch.bool)
    keep[units] = False
    assert flat_hit[:, :, keep].sum() > 0
    after = model(images, return_spikes=True).spikes["layer2.0"]
    torch.testing.assert_close(after, intact)  # the lesion is lifted on exit
    with (
        pytest.raises(ValueError, match="unknown topographic layer"),
        lesioned(model, {"layer9.9": [0]}),
    ):
        pass
    with (
        pytest.raises(ValueError, match="unit indices"),
        lesioned(model, {"layer2.0": [c * h * w]}),
    ):
        pass
