"""fixture_format.py: the tiny binary format of cudistill's golden fixtures, and the weights that
both sides can regenerate without shipping them.

Format (little-endian): b"CDFX", uint32 version (1), uint32 count, then per tensor:
uint32 name length, name bytes (UTF-8), uint32 ndim, int64 dims[ndim], float32 data.
Read by tests/fixture.h.

formula_value(name, i): a deterministic uniform number in [0, 1) from the tensor's name and the
element's index (FNV-1a of the name, mixed with the index by splitmix64). tests/fixture.h
implements the same function, so a 233 MB ResNet152 never has to be stored: the test rebuilds
the exact weights that torchvision was given here, and only the logits travel.
"""
import struct

MASK = (1 << 64) - 1


def fnv1a(s: str) -> int:
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def formula_values(name: str, n: int):
    """n uniform values in [0, 1), as float64 (the C++ side computes the same doubles)."""
    h = fnv1a(name)
    return [(splitmix64(h ^ i) >> 11) / float(1 << 53) for i in range(n)]


def write_fixture(path, tensors):
    """tensors: list of (name, shape tuple, flat list of floats)."""
    with open(path, "wb") as f:
        f.write(b"CDFX")
        f.write(struct.pack("<II", 1, len(tensors)))
        for name, shape, data in tensors:
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", len(shape)))
            f.write(struct.pack("<%dq" % len(shape), *shape))
            f.write(struct.pack("<%df" % len(data), *data))
