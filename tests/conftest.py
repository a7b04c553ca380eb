import pytest
import torch

from data.makers import TINY_SPEC
from muxnet.models import create_model, save_weights


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """``make(num_classes)`` -> (spec file, weights file) of a randomly initialised tiny model."""
    def make(num_classes: int = 2):
        spec = TINY_SPEC.save(tmp_path / "tiny.yaml")
        torch.manual_seed(0)
        weights = save_weights(create_model(spec, num_classes=num_classes), tmp_path / f"tiny{num_classes}.safetensors")
        return spec, weights
    return make


@pytest.fixture
def no_model(monkeypatch):
    """Loading (or training) the model fails the test: a test that takes it must stop before it."""
    import muxnet.train.targets as targets

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr(targets, "load_target", refuse)
    monkeypatch.setattr(targets, "digits_run", refuse)
