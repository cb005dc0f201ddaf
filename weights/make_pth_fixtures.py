"""make_pth_fixtures.py: writes the tiny PyTorch checkpoints that test engine/io/pth.cpp.

Why: the C++ .pth reader must read what real torch.save writes, so its fixtures come from real
torch, not from a hand-written imitation. Not a converter and not run at build time: the outputs
are committed (a few KB) and this script only regenerates them.

Run:  /opt/torchenv/bin/python weights/make_pth_fixtures.py [out_dir]   (default tests/fixtures)
Writes:
  tiny.pth            torch.save(state, f): the zip format (default since torch 1.6)
  tiny_legacy.pth     the same state with _use_new_zipfile_serialization=False (torch < 1.6 layout)
  tiny_nested.pth     {"epoch": 3, "state_dict": {...}}: a training checkpoint, not a bare state dict
  tiny_nested_zip64.pth  tiny_nested.pth's entries rewritten with every size and offset in zip64
                      extra fields, as miniz does for archives over 4 GB (too big to commit, so
                      the layout is reproduced on a small archive; torch.load accepts it)
  tiny_int64_range.pth   an int64 tensor beyond int32 (legacy format, the smaller one)
  tiny_expected.txt   what the reader must return for tiny.pth and tiny_legacy.pth, one tensor a
                      line (format in write_expected)
Tested by tests/ops/test_pth.cpp (-tc="pth*").
"""
import os
import struct
import sys
import zipfile
import zlib
from collections import OrderedDict

import torch


def state_dict():
    """Every case the reader must get right, with values that are exact in every dtype."""
    sd = OrderedDict()
    sd["f32"] = torch.tensor([[0.5, -1.25, 3.0], [1e-3, 2.5e6, -0.0]], dtype=torch.float32)
    sd["f64"] = torch.tensor([0.1, -2.0, 1e300], dtype=torch.float64)
    # 2**-24 is float16's smallest subnormal and 65504 its largest finite: the half->float
    # conversion must get both ends right.
    sd["f16"] = torch.tensor([1.5, -0.0009765625, 65504.0, 2.0 ** -24], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.0, -3.5, 1.0e30], dtype=torch.bfloat16)
    sd["i64"] = torch.tensor([0, -7, 2147483647, -2147483648, 12345], dtype=torch.int64)
    sd["i32"] = torch.tensor([[1, -2], [3, 4]], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 255, 7], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True])
    # 0-d tensors, like BatchNorm's num_batches_tracked.
    sd["num_batches_tracked"] = torch.tensor(42, dtype=torch.int64)
    sd["scalar"] = torch.tensor(-0.75)
    # A transposed view saved as is: its storage is the (3, 4) base, its strides are (1, 4).
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd["transposed"] = base.t()
    # An offset, strided view of the same storage: base[1:, ::2] has offset 4, strides (4, 2).
    sd["sliced"] = base[1:, ::2]
    # Two tensors sharing one storage at different offsets (one storage record in the file).
    flat = torch.arange(10, dtype=torch.float32) * 0.5
    sd["shared_a"] = flat[2:5]
    sd["shared_b"] = flat[6:10].view(2, 2)
    sd["empty"] = torch.zeros(0, 3)
    # A Parameter is pickled through torch._utils._rebuild_parameter, not _rebuild_tensor_v2.
    sd["param"] = torch.nn.Parameter(torch.tensor([2.0, -4.0]))
    return sd


def engine_values(t):
    """The values the C++ reader returns: float16/bfloat16 widen to float32, integers to int32."""
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    if t.dtype in (torch.int64, torch.uint8, torch.bool):
        t = t.to(torch.int64)
    return [repr(float(v)) for v in t.reshape(-1).tolist()]


def write_expected(path, sd):
    # Format (whitespace separated, read by test_pth.cpp with std::ifstream):
    #   line 1: cudistill-pth-expected 1 <count>
    #   then per tensor, in file order: <name> <source dtype> <ndim> <dims...> <numel> <values...>
    # Values are Python reprs of doubles, so strtod recovers them exactly.
    with open(path, "w") as f:
        f.write(f"cudistill-pth-expected 1 {len(sd)}\n")
        for name, t in sd.items():
            dtype = str(t.dtype).replace("torch.", "")
            dims = " ".join(str(d) for d in t.shape)
            vals = engine_values(t)
            f.write(f"{name} {dtype} {t.dim()} {dims}{' ' if dims else ''}{len(vals)} {' '.join(vals)}\n")


def rewrite_zip64(src, dst):
    """Re-lays out a torch zip with every size and offset moved into zip64 extra fields.

    Local headers get torch's 'FB' padding extra so that data stays 64-byte aligned.
    """
    zin = zipfile.ZipFile(src)
    out = bytearray()
    central = bytearray()
    for info in zin.infolist():
        data = zin.read(info.filename)
        name = info.filename.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        z64_local = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        pad = (-(offset + 30 + len(name) + len(z64_local) + 4)) % 64
        extra = z64_local + struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra)) + name + extra + data
        z64_central = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(name), len(z64_central), 0, 0, 0, 0,
                               0xFFFFFFFF) + name + z64_central
    cd_offset, n = len(out), len(zin.infolist())
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)


def same(a, b):
    return list(a.keys()) == list(b.keys()) and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k]) for k in a)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    sd = state_dict()
    torch.save(sd, p("tiny.pth"))
    torch.save(sd, p("tiny_legacy.pth"), _use_new_zipfile_serialization=False)
    nested = {"epoch": 3, "best_acc": 0.5, "state_dict": OrderedDict(f32=sd["f32"], i64=sd["i64"])}
    torch.save(nested, p("tiny_nested.pth"))
    rewrite_zip64(p("tiny_nested.pth"), p("tiny_nested_zip64.pth"))
    torch.save({"big": torch.tensor([1, 5_000_000_000])}, p("tiny_int64_range.pth"),
               _use_new_zipfile_serialization=False)
    write_expected(p("tiny_expected.txt"), sd)
    # Every file must load back in torch itself: the fixtures test our reader, not torch's quirks.
    for name in ("tiny.pth", "tiny_legacy.pth"):
        assert same(sd, torch.load(p(name), weights_only=True)), name
    for name in ("tiny_nested.pth", "tiny_nested_zip64.pth"):
        assert same(nested["state_dict"], torch.load(p(name), weights_only=True)["state_dict"]), name
    for name in sorted(os.listdir(out)):
        if name.startswith("tiny"):
            print(f"{name:22s} {os.path.getsize(p(name)):6d} bytes")


if __name__ == "__main__":
    main()
