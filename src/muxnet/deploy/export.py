"""Export a model for inference: ONNX (dynamic batch, height and width) or a ``torch.export`` program.

Both formats can take the :func:`muxnet.deploy` form (``fuse=True``), which is exact and faster. The input size
is checked before anything is traced, so a size that spatial multiplexing cannot take fails here with the
layer's own message rather than inside ONNX Runtime, and the file is written only once the export succeeded.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from ..runtime import atomic_write, check_writable

FORMATS = ("onnx", "torch_export")
SUFFIXES = {"onnx": ".onnx", "torch_export": ".pt2"}
INPUT_NAME, OUTPUT_NAME = "input", "logits"
ONNX_OPSET = 17


def prepare_for_export(model: nn.Module, input_size: tuple[int, int, int], fuse: bool) -> nn.Module:
    """``model`` in eval mode (deployed when ``fuse``), after one forward pass at ``input_size`` that raises
    the model's own error for a size it cannot take."""
    from . import deploy

    model = deploy(model) if fuse else model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_size))
    return model


def _pixel_unshuffle_symbolic(g, x, factor):
    """``pixel_unshuffle`` as ONNX ``SpaceToDepth`` plus the channel gather that restores PyTorch's order.

    ``SpaceToDepth`` puts block position ``p`` of channel ``c`` at ``p * C + c`` (the DCR order) while
    PyTorch puts it at ``c * r^2 + p``; the gather makes the two agree. The builtin export writes a Reshape with
    the traced height and width, which would pin the input size.
    """
    from torch.onnx import symbolic_helper

    r = symbolic_helper._get_const(factor, "i", "downscale_factor")
    channels = symbolic_helper._get_tensor_sizes(x)[1]
    if channels is None:
        raise ValueError("pixel_unshuffle export needs a static channel count")
    order = [p * channels + c for c in range(channels) for p in range(r * r)]
    s2d = g.op("SpaceToDepth", x, blocksize_i=r)
    return g.op("Gather", s2d, g.op("Constant", value_t=torch.tensor(order, dtype=torch.int64)), axis_i=1)


def _pixel_shuffle_symbolic(g, x, factor):
    """``pixel_shuffle`` is ONNX ``DepthToSpace`` in CRD mode (the default DCR mode orders channels otherwise)."""
    from torch.onnx import symbolic_helper

    r = symbolic_helper._get_const(factor, "i", "upscale_factor")
    return g.op("DepthToSpace", x, blocksize_i=r, mode_s="CRD")


def export_onnx(model: nn.Module, path: str | Path, input_size: tuple[int, int, int] = (3, 224, 224),
                dynamic_size: bool = True, opset: int = ONNX_OPSET) -> Path:
    """Write ``model`` (already prepared) as ONNX with a dynamic batch (and height/width when ``dynamic_size``)."""
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic_size else {0: "batch"}
    example = torch.randn(2, *input_size)  # batch 2, so that the batch dimension is not specialised to 1
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.register_custom_op_symbolic("aten::pixel_unshuffle", _pixel_unshuffle_symbolic, opset)
        torch.onnx.register_custom_op_symbolic("aten::pixel_shuffle", _pixel_shuffle_symbolic, opset)
        try:
            torch.onnx.export(model, (example,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: {0: "batch"}}, opset_version=opset,
                              dynamo=False)
        finally:
            torch.onnx.unregister_custom_op_symbolic("aten::pixel_unshuffle", opset)
            torch.onnx.unregister_custom_op_symbolic("aten::pixel_shuffle", opset)
    return Path(path)


def export_program(model: nn.Module, path: str | Path, input_size: tuple[int, int, int] = (3, 224, 224)) -> Path:
    """Write a ``torch.export`` program (``.pt2``) with a dynamic batch; height and width stay as given."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    with torch.no_grad():
        program = torch.export.export(model, (torch.randn(2, *input_size),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    return Path(path)


def export_model(model: str | nn.Module, output: str | Path | None = None, format: str = "onnx",
                 checkpoint: str | Path | None = None, input_size: tuple[int, int, int] | None = None,
                 fuse: bool = False, num_classes: int | None = None, overwrite: bool = False) -> Path:
    """Build (zoo name or spec file), load ``checkpoint``, check ``input_size``, export; returns the file written.

    Exporting random initial weights warns; a checkpoint that does not fit raises
    :class:`~muxnet.CheckpointError` before anything is written; an existing ``output`` is kept unless
    ``overwrite``.
    """
    from ..models import create_model, load_checkpoint

    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; expected one of {list(FORMATS)}")
    name = model if isinstance(model, str) else type(model).__name__
    if isinstance(model, (str, Path)):
        model = create_model(model, num_classes=num_classes)
    output = Path(output) if output else Path(f"{Path(str(name)).stem}{SUFFIXES[format]}")
    check_writable(output, overwrite)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
    else:
        warnings.warn(f"exporting {name} with its random initial weights (no checkpoint given)", stacklevel=2)
    if input_size is None:
        input_size = tuple(getattr(getattr(model, "spec", None), "input_size", (3, 224, 224)))
    prepared = prepare_for_export(model, input_size, fuse)
    output.parent.mkdir(parents=True, exist_ok=True)
    write = export_onnx if format == "onnx" else export_program
    atomic_write(output, lambda partial: write(prepared, partial, input_size))
    return output
