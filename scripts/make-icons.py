#!/usr/bin/env python3
"""Draws the app icons into public/icons/ (run by hand when the design changes; the PNGs are
committed). Standard library only: a white "P" over a teal tile with an orange sole line, 4x4
supersampled. The maskable variant is full-bleed with the glyph inside the 80 % safe zone."""
import struct
import zlib
from pathlib import Path

TEAL = (15, 92, 99)
WHITE = (255, 255, 255)
ORANGE = (242, 140, 40)
OUT = Path(__file__).resolve().parent.parent / "public" / "icons"


def in_rect(x, y, x0, y0, x1, y1):
    return x0 <= x <= x1 and y0 <= y <= y1


def in_circle(x, y, cx, cy, r):
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def glyph(x, y):
    """Colour of the artwork at unit coordinates, or None for background."""
    stem = in_rect(x, y, 0.30, 0.20, 0.42, 0.76)
    outer = in_rect(x, y, 0.36, 0.20, 0.52, 0.58) or in_circle(x, y, 0.52, 0.39, 0.19)
    inner = in_rect(x, y, 0.42, 0.30, 0.52, 0.48) or in_circle(x, y, 0.52, 0.39, 0.09)
    if stem or (outer and not inner and x >= 0.36):
        return WHITE
    if in_rect(x, y, 0.26, 0.81, 0.74, 0.86):
        return ORANGE
    return None


def tile(x, y, maskable):
    if maskable:
        scale = 0.8
        gx, gy = 0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale
        return glyph(gx, gy) or TEAL
    # Rounded square with transparent corners.
    r = 0.18
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
        return None
    return glyph(x, y) or TEAL


def render(size, maskable):
    ss = 4
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    x = (px + (sx + 0.5) / ss) / size
                    y = (py + (sy + 0.5) / ss) / size
                    c = tile(x, y, maskable)
                    if c is not None:
                        acc[0] += c[0]
                        acc[1] += c[1]
                        acc[2] += c[2]
                        acc[3] += 255
            n = ss * ss
            alpha = acc[3] // n
            if alpha:
                cover = acc[3] // 255
                row += bytes([acc[0] // cover, acc[1] // cover, acc[2] // cover, alpha])
            else:
                row += bytes([0, 0, 0, 0])
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(w, h, raw):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon-192.png").write_bytes(render(192, False))
    (OUT / "icon-512.png").write_bytes(render(512, False))
    (OUT / "icon-maskable-512.png").write_bytes(render(512, True))
    print("icons written to", OUT)
