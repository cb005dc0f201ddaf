"""make_conversion_check.py: the full-size converter check, for a machine with torch (the GPU
machine's tests/gpu/run.sh runs it; so can a developer's). It saves torchvision's ResNet18 and
ResNet152, with random weights, in torch.save's zip format exactly as a user's download would be
(233 MB for ResNet152: too large for the repo, hence made here), plus inputs and torchvision's
logits. The test `golden: converted torchvision checkpoints` (tests/ops/test_golden_convert.cpp)
then reads the .pth files with the engine's own reader and compares logits (max |diff| < 1e-3).

    python3 weights/make_conversion_check.py OUT_DIR
    CUDISTILL_CONVERSION_DIR=OUT_DIR ./build/tests/test_ops -tc="golden: converted*"
"""
import os
import sys

import torch
import torchvision

from fixture_format import write_fixture


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    torch.set_grad_enabled(False)
    for arch in ["resnet18", "resnet152"]:
        model = getattr(torchvision.models, arch)(weights=None, num_classes=1000)
        # Random running statistics too, so eval-mode BN is exercised, not just the identity.
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.2, 0.5)  # keeps 50 residual blocks from exploding
                m.bias.uniform_(-0.1, 0.1)
        model.eval()
        torch.save(model.state_dict(), os.path.join(out_dir, f"{arch}.pth"))
        x = torch.randn(2, 3, 150, 150)
        y = model(x)
        write_fixture(os.path.join(out_dir, f"{arch}_io.cdfx"),
                      [("input", tuple(x.shape), x.flatten().tolist()),
                       ("logits", tuple(y.shape), y.flatten().tolist())])
        print(arch, "saved; logits range", float(y.min()), float(y.max()))


if __name__ == "__main__":
    main(sys.argv[1])
