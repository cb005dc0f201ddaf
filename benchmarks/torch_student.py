#!/usr/bin/env python3
"""torch_student.py: the same student step as `apps/bench --student-step`, in PyTorch, for a
side-by-side speed comparison (benchmarks/student_speed.sh). PyTorch is an optional benchmark
dependency only: the engine never imports or links it.

The network is models/student.h (MobileNet-v1-style depthwise-separable stack, width multiplier,
Kaiming fan-out init), the loss kd_loss (T^2 KL(softmax(t/T) || softmax(s/T)) * alpha + (1 - alpha)
CE, T 4, alpha 0.9) against fixed teacher logits, AdamW (lr 1e-3, weight decay 0.05), batch 64
at 96 px; then batch-1 inference latency in eval mode without autograd. Medians of --reps runs
after warm-up, on --threads intra-op threads.

  python3 benchmarks/torch_student.py --threads 1 --width 1.0 [--json out.json]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(c, d=8):  # models/student.cpp: make_divisible
    v = max(d, int(c + d / 2.0) // d * d)
    return v + d if v < 0.9 * c else v


def conv_bn_relu(i, o, k, s, groups=1):
    return [nn.Conv2d(i, o, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


def student(width, classes=6):
    stem = make_divisible(16 * width)
    layers = conv_bn_relu(3, stem, 3, 2)
    c = stem
    for ch, blocks, stride in [(32, 1, 1), (64, 2, 2), (128, 2, 2), (256, 2, 2)]:
        out = make_divisible(ch * width)
        for b in range(blocks):
            layers += conv_bn_relu(c, c, 3, stride if b == 0 else 1, groups=c) + conv_bn_relu(c, out, 1, 1)
            c = out
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return net


def kd_loss(s, t, y, T=4.0, alpha=0.9):
    kl = F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1), reduction="batchmean", log_target=True)
    return alpha * T * T * kl + (1 - alpha) * F.cross_entropy(s, y)


def median_ms(fn, reps):
    t = []
    for _ in range(reps):
        a = time.perf_counter()
        fn()
        t.append((time.perf_counter() - a) * 1e3)
    return statistics.median(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = student(a.width)
    x = torch.randn(a.batch, 3, a.size, a.size)
    t = torch.randn(a.batch, 6) * 3
    y = torch.arange(a.batch) % 6
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.05)

    def step():
        opt.zero_grad(set_to_none=True)
        kd_loss(net(x), t, y).backward()
        opt.step()

    net.train()
    for _ in range(3):
        step()
    step_ms = median_ms(step, a.reps)
    net.eval()
    one = torch.randn(1, 3, a.size, a.size)
    with torch.no_grad():
        for _ in range(10):
            net(one)
        lat = median_ms(lambda: net(one), max(a.reps, 50))
    r = {"framework": "pytorch " + torch.__version__, "threads": a.threads, "width": a.width,
         "params": sum(p.numel() for p in net.parameters()), "batch": a.batch, "size": a.size,
         "step_ms": step_ms, "images_per_s": 1e3 * a.batch / step_ms, "latency_ms": lat}
    print(f"pytorch {torch.__version__}: student width {a.width:g} ({r['params']} params), batch {a.batch}, "
          f"{a.size}px, kd_loss + AdamW: step {step_ms:.2f} ms, {r['images_per_s']:.1f} images/s; "
          f"batch-1 latency {lat:.3f} ms")
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            json.dump(r, f, indent=2)
        import os
        os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
