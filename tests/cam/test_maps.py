import numpy as np
import pytest
import torch

from data.makers import TINY_SPEC
from muxnet.cam.maps import class_activation_map, grad_cam, normalize_map, raw_class_activation_map
from muxnet.models import create_model


@pytest.fixture
def model():
    torch.manual_seed(0)
    return create_model(TINY_SPEC, num_classes=5).eval()


def test_cam_is_the_classifier_on_the_features(model):
    x = torch.randn(3, 3, 16, 16)
    classes = [0, 4, 2]
    raw = raw_class_activation_map(model, x, classes)
    with torch.no_grad():
        logits = model(x)
    bias = model.get_classifier().bias[classes]
    # the spatial mean of M_c plus b_c is the class score (global average pooling is linear)
    assert torch.allclose(raw.mean(dim=(1, 2)) + bias, logits[torch.arange(3), classes], atol=1e-5)


def test_cam_shape_and_range(model):
    maps = class_activation_map(model, torch.randn(2, 3, 16, 16), [1, 3])
    assert maps.shape == (2, 16, 16)
    assert np.allclose(maps.reshape(2, -1).min(1), 0) and np.allclose(maps.reshape(2, -1).max(1), 1)


@pytest.mark.slow  # importing grad-cam (OpenCV, ttach) takes seconds
def test_grad_cam_at_the_last_layer_is_cam_without_negatives(model):
    pytest.importorskip("pytorch_grad_cam")
    x = torch.randn(2, 3, 16, 16)
    g = grad_cam(model, x, [1, 3])
    assert g.shape == (2, 16, 16) and g.min() >= 0 and g.max() <= 1
    # pooled gradients of a GAP + linear head are w_c / (h w): Grad-CAM = ReLU(M_c), rescaled
    raw = raw_class_activation_map(model, x, [1, 3]).clamp_min(0)
    up = torch.nn.functional.interpolate(raw[:, None], size=(16, 16), mode="bilinear", align_corners=False)[:, 0]
    expected = normalize_map(up).numpy()
    for a, b in zip(g, expected):
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_constant_maps_normalise_to_zero():
    maps = normalize_map(torch.stack([torch.full((4, 4), 3.0), torch.arange(16.0).reshape(4, 4)]))
    assert maps[0].eq(0).all() and maps[1].min() == 0 and maps[1].max() == 1


def test_class_out_of_range_and_missing_classifier(model):
    with pytest.raises(ValueError, match="class index 5 is out of range for a model with 5 classes"):
        class_activation_map(model, torch.randn(1, 3, 16, 16), [5])
    with pytest.raises(ValueError, match="class index -1"):
        grad_cam(model, torch.randn(1, 3, 16, 16), [-1])
    headless = create_model(TINY_SPEC, num_classes=0).eval()
    with pytest.raises(ValueError, match="no linear classifier"):
        class_activation_map(headless, torch.randn(1, 3, 16, 16), [0])
