"""A CMYK ICC profile built by hand for the tests (Pillow can create sRGB, Lab and XYZ profiles
only, and no CMYK profile comes with the packages dev/setup installs)."""

from __future__ import annotations

import itertools
import struct

_D50 = (0.9642, 1.0, 0.8249)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def cmyk_profile(lightness) -> bytes:
    """A printer-class ICC v2 CMYK profile whose A2B0 table (a lut16 with 2 grid points per ink)
    maps each corner (c, m, y, k in {0, 1}) to L* = ``lightness(c, m, y, k)`` with a* = b* = 0:
    neutral grays, whatever the inks, where Pillow's uncalibrated formula gives colours."""
    grid = []
    for corner in itertools.product((0, 1), repeat=4):
        grid += [round(lightness(*corner) / 100 * 0xFF00), 0x8000, 0x8000]  # ICC v2 Lab encoding
    identity = (0, 0xFFFF)
    lut = (b"mft2" + bytes(4) + bytes([4, 3, 2, 0]) + b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
           + struct.pack(">HH", 2, 2) + struct.pack(">8H", *identity * 4) + struct.pack(f">{len(grid)}H", *grid)
           + struct.pack(">6H", *identity * 3))
    name = b"test CMYK"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(name) + 1) + name + bytes(1 + 8 + 3 + 67)
    white = b"XYZ " + bytes(4) + b"".join(_s15(v) for v in _D50)
    tags = [(b"desc", desc), (b"wtpt", white), (b"A2B0", lut)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        data += bytes(-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (struct.pack(">I", offset + len(body)) + bytes(4) + struct.pack(">I", 0x02100000) + b"prtrCMYKLab "
              + bytes(12) + b"acsp" + bytes(28) + b"".join(_s15(v) for v in _D50) + bytes(48))
    return header + table + body
