#!/usr/bin/env python3
"""Hand-made hostile MSIC files, from a valid one, with every CRC (header,
tile frames, index entries, index) recomputed so that a reader gets past
the checksums. Made the regression inputs that no fuzzer found first.

  craft.py empty-tile IN OUT            tile 0's payload length set to 0
  craft.py big-tile IN OUT TILE W H     tile size TILE, image W x H, tile 0's
                                        payload header claiming the padded
                                        size of the first tile (the rest
                                        of the payload as it was)
  craft.py bomb IN OUT TILE ACROSS DOWN a TILE-sized tile grid, every tile
                                        a copy of IN's first payload claiming
                                        the full tile size (format 1.1)
"""
import struct
import sys
import zlib

FRAME = 16


def fix(d):
    d = bytearray(d)
    hs = struct.unpack_from('<I', d, 12)[0]
    struct.pack_into('<I', d, hs - 4, zlib.crc32(bytes(d[:hs - 4])))
    io, n = struct.unpack_from('<QI', d, len(d) - 32)
    for i in range(n):
        off, ln = struct.unpack_from('<QI', d, io + 16 * i)
        crc = zlib.crc32(bytes(d[off:off + ln]))
        struct.pack_into('<I', d, io + 16 * i + 12, crc)
        if off >= FRAME and d[off - FRAME:off - FRAME + 4] == b'TILE':
            struct.pack_into('<II', d, off - 8, ln, crc)
    struct.pack_into('<I', d, len(d) - 32 + 12, zlib.crc32(bytes(d[io:io + 16 * n])))
    return bytes(d)


def entry(d, i):
    io = struct.unpack_from('<Q', d, len(d) - 32)[0]
    return io + 16 * i


def main(argv):
    kind, src, dst = argv[1], argv[2], argv[3]
    d = bytearray(open(src, 'rb').read())
    if kind == 'empty-tile':
        struct.pack_into('<I', d, entry(d, 0) + 8, 0)
    elif kind == 'big-tile':
        ts, w, h = (int(v) for v in argv[4:7])
        struct.pack_into('<II', d, 16, w, h)
        struct.pack_into('<I', d, 28, ts)
        off = struct.unpack_from('<Q', d, entry(d, 0))[0]
        pad = lambda v: (v + 15) // 16 * 16
        tw, th = min(ts, w), min(ts, h)
        struct.pack_into('<HH', d, off + 2, pad(tw), pad(th))
        if d[off] >= 2:  # payload version 2 records the padding
            struct.pack_into('<BB', d, off + 6, pad(tw) - tw, pad(th) - th)
    elif kind == 'bomb':
        ts, across, down = (int(v) for v in argv[4:7])
        hs = struct.unpack_from('<I', d, 12)[0]
        off, ln = struct.unpack_from('<QI', d, entry(d, 0))
        payload = bytearray(d[off:off + ln])
        c = ts  # a multiple of 16
        struct.pack_into('<HH', payload, 2, c, c)
        if payload[0] >= 2:
            struct.pack_into('<BB', payload, 6, 0, 0)
        head = bytearray(d[:hs])
        struct.pack_into('<II', head, 16, ts * across, ts * down)
        struct.pack_into('<I', head, 28, ts)
        out, index = bytearray(head), bytearray()
        frames = head[10] >= 1  # version_minor
        for i in range(across * down):
            if frames:
                out += b'TILE' + struct.pack('<III', i, len(payload), 0)
            index += struct.pack('<QII', len(out), len(payload), 0)
            out += payload
        io = len(out)
        out += index + struct.pack('<QIIQ', io, across * down, 0, 0) + b'MSICEND\0'
        d = out
    else:
        sys.exit(__doc__)
    open(dst, 'wb').write(fix(d))


if __name__ == '__main__':
    main(sys.argv)
