#!/usr/bin/env python3
"""Peak memory and time of every reader on hand-made hostile MSIC files.

Issue #16's bar: no hostile header makes any reader exceed 1 GB or 10 s.
Each file is written here, by the rules of formats/MSIC.md (format 1.1,
with tile frames), with a consistent container, so that the readers get
past the CRCs to the part each case attacks. Readers: msic info and
decode, vipsheader and vips avg (the module), gdalinfo and gdalinfo
-checksum (the driver); each under /usr/bin/time.

    bench/hostile.py BUILD_DIR          (e.g. build: uses BUILD_DIR/tools/msic/msic,
                                          its vips module and GDAL plugin)
"""
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib

LIMIT_KB, LIMIT_S = 1 << 20, 10.0


def container(width, height, tile, model_hash, boxes=(), tiles=None, bands=3, depth=8,
              declared_boxes=None, edit_index=None):
    """An MSIC 1.1 file. tiles: payload per tile (default empty)."""
    count = ((width + tile - 1) // tile) * ((height + tile - 1) // tile) if tile else 0
    body = b"".join(t + struct.pack("<Q", len(d)) + d for t, d in boxes)
    header_size = 96 + len(body) + 4
    fixed = (b"\x89MSIC\r\n\x1a" + struct.pack("<HHIIIHHIII", 1, 1, header_size, width, height,
                                                 bands, depth, tile, 7500, 1)
             + model_hash + struct.pack("<II", 0, len(boxes) if declared_boxes is None else declared_boxes)
             + bytes(16))
    head = fixed + body
    out = bytearray(head + struct.pack("<I", zlib.crc32(head)))
    index = bytearray()
    for i in range(count):
        payload = tiles(i) if tiles else b""
        crc = zlib.crc32(payload)
        out += b"TILE" + struct.pack("<III", i, len(payload), crc)
        index += struct.pack("<QII", len(out), len(payload), crc)
        out += payload
    if edit_index:
        edit_index(index)
    index_at = len(out)
    out += index
    out += struct.pack("<QII", index_at, count, zlib.crc32(bytes(index))) + bytes(8) + b"MSICEND\0"
    return bytes(out)


def measure(cmd, env):
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + cmd, capture_output=True, text=True, env=env)
    seconds, kb = r.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kb), r.returncode


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    cli = os.path.join(build, "tools/msic/msic")
    env = dict(os.environ, VIPSHOME=os.path.join(build, "plugin-vips/vipshome"),
               GDAL_DRIVER_PATH=os.path.join(build, "plugin-gdal/gdalplugins"))
    version = subprocess.run([cli, "version"], capture_output=True, text=True, check=True).stdout
    model_hash = bytes.fromhex(version.rsplit("(", 1)[1].split(")")[0])

    def one_payload_for_all(index):  # every entry points at tile 0's payload
        for i in range(16, len(index), 16):
            index[i:i + 16] = index[0:16]

    def garbage_tile(size):  # a payload header claiming a whole tile, then noise
        noise = random.Random(size).randbytes(1800)
        return struct.pack("<BBHHBBI", 2, 0, size, size, 0, 0, 0) + b"\xff" * 8 + noise

    def past_the_end(index):
        index[0:8] = struct.pack("<Q", 1 << 40)

    cases = [
        ("20000x20000, 25 empty tiles", container(20000, 20000, 4096, model_hash)),
        ("262144x262144 (2^36 px), 4096 empty tiles", container(262144, 262144, 4096, model_hash)),
        ("1000000x1000, 244,140 empty tiles", container(1000000, 1000, 64, model_hash)),
        ("20000x20000, every tile one payload (bomb)",
         container(20000, 20000, 512, model_hash, tiles=lambda i: b"x" * 64, edit_index=one_payload_for_all)),
        ("16 tiles of 4096 px, 1.8 KB of noise each",
         container(16384, 16384, 4096, model_hash, tiles=lambda i: garbage_tile(4096))),
        ("16 tiles of 2048 px, 1.8 KB of noise each",
         container(8192, 8192, 2048, model_hash, tiles=lambda i: garbage_tile(2048))),
        ("tile offset past the end", container(512, 512, 256, model_hash, edit_index=past_the_end)),
        ("256 MiB unknown box", container(64, 64, 64, model_hash, boxes=[(b"ZZZZ", bytes(256 << 20))])),
        ("65,537 boxes declared", container(64, 64, 64, model_hash, boxes=[(b"pad ", bytes(12 * 65537))],
                                            declared_boxes=65537)),
        ("zero tile size", container(64, 64, 0, model_hash)),
        ("5 bands", container(64, 64, 64, model_hash, bands=5)),
        ("16-bit", container(64, 64, 64, model_hash, depth=16)),
    ]
    readers = [
        ("msic info", lambda f: [cli, "info", f]),
        ("msic decode", lambda f: [cli, "decode", f, f + ".v"]),
        ("vipsheader", lambda f: ["vipsheader", f]),
        ("vips avg", lambda f: ["vips", "avg", f]),
        ("gdalinfo", lambda f: ["gdalinfo", f]),
        ("gdalinfo -checksum", lambda f: ["gdalinfo", "-checksum", f]),
    ]
    worst_s, worst_kb, over = 0.0, 0, []
    print("| file | " + " | ".join(name for name, _ in readers) + " |")
    print("|---|" + "---|" * len(readers))
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in cases:
            path = os.path.join(tmp, "hostile.msic")
            with open(path, "wb") as f:
                f.write(data)
            cells = []
            for reader, cmd in readers:
                s, kb, rc = measure(cmd(path), env)
                worst_s, worst_kb = max(worst_s, s), max(worst_kb, kb)
                if s > LIMIT_S or kb > LIMIT_KB:
                    over.append(f"{name} / {reader}")
                cells.append(f"{s:.2f} s, {kb / 1024:.0f} MB{'' if rc else ' (read!)'}")
            print(f"| {name} ({len(data):,} B) | " + " | ".join(cells) + " |")
    print(f"\nworst: {worst_s:.2f} s, {worst_kb / 1024:.0f} MB; over 1 GB or 10 s: {', '.join(over) or 'none'}")
    print("(read!) marks a reader that exited 0: it accepted the file (fine for info and headers).")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
