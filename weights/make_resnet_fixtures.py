"""make_resnet_fixtures.py: golden logits of torchvision's ResNet18 and ResNet152 for the
engine's tests (tests/ops/test_resnet_golden.cpp). Run once wherever torch and torchvision exist:

    python3 weights/make_resnet_fixtures.py tests/fixtures

The weights are not random draws but formula_value(name, i) (weights/fixture_format.py), scaled
per tensor kind, so that the C++ test can rebuild them exactly; only the inputs' seed and the
logits are stored (a few KB), never the 233 MB of ResNet152.
"""
import math
import os
import sys

import torch
import torchvision

from fixture_format import formula_values, write_fixture


def formula_tensor(name, shape, kind):
    n = math.prod(shape)
    u = torch.tensor(formula_values(name, n), dtype=torch.float64).reshape(shape)
    if kind == "weight_conv" or kind == "weight_fc":
        fan_in = n // shape[0]
        return ((2 * u - 1) * math.sqrt(3.0 / fan_in)).float()  # unit-variance outputs
    if kind == "bn_weight":
        return (0.5 + 0.5 * u).float()
    if kind == "bn_var":
        return (0.5 + u).float()
    return (0.2 * (u - 0.5)).float()  # biases, BN bias, running means


def kind_of(name, shape):
    if name.endswith("running_var"):
        return "bn_var"
    if len(shape) == 4:
        return "weight_conv"
    if len(shape) == 2:
        return "weight_fc"
    if name.endswith("weight"):
        return "bn_weight"  # 1-d weights are BN scales in ResNet
    return "bias"


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.set_grad_enabled(False)
    for arch in ["resnet18", "resnet152"]:
        model = getattr(torchvision.models, arch)(weights=None, num_classes=1000).eval()
        sd = model.state_dict()
        for name, t in sd.items():
            if name.endswith("num_batches_tracked"):
                continue
            sd[name] = formula_tensor(name, tuple(t.shape), kind_of(name, tuple(t.shape)))
        model.load_state_dict(sd)
        x = torch.tensor(formula_values("input", 2 * 3 * 150 * 150), dtype=torch.float64)
        x = ((x - 0.5) * 4).float().reshape(2, 3, 150, 150)  # roughly normalised pixels
        logits = model(x)
        write_fixture(os.path.join(out_dir, f"{arch}_logits.cdfx"),
                      [("logits", tuple(logits.shape), logits.flatten().tolist())])
        print(arch, "logits", tuple(logits.shape), "range", float(logits.min()), float(logits.max()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
