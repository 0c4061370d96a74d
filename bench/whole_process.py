#!/usr/bin/python3
"""Whole-process speed of the command-line tools, as a user's loop over files
pays it (process start, model preparation, PNG in and out): msic
encode/decode beside avifenc -s 6 / avifdec and cjxl -e 7 / djxl on the Kodak
images, every tool with 2 threads, in one run. Also the start-up cost (a
16x16 encode) and `vips copy kodim23.png x.msic` against AVIF and JPEG XL.

  bench/whole_process.py [--kodak DIR] [--msic PATH] [--quality Q] [--images N] [--threads N]

The peers' settings are chosen for file sizes like msic's at --quality: each
candidate setting is tried on four images and the one whose bpp is closest
is timed on all of them. Times are wall-clock per process, summed; MP/s is
pixels over that sum; RSS is the largest peak of one process.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


RSS_FILE = os.path.join(tempfile.gettempdir(), "msic-bench-rss-%d" % os.getpid())
STARTUP_RUNS = 30


def run(argv, env=None):
    """Runs argv; returns (seconds, peak RSS in MB). Raises on failure.
    The peak comes from GNU time around the tool: a child forked from this
    Python process would count Python's own 12 MB before its exec."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", RSS_FILE] + argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                   p.stderr.decode(errors="replace")[-400:]))
    with open(RSS_FILE) as f:
        return seconds, int(f.read().split()[-1]) / 1024.0


def staged_vipshome(module, work):
    """A VIPSHOME with the installed libvips modules (heif, jxl, ...) and
    `module` in place of the installed msic one."""
    libdir = subprocess.check_output(["pkg-config", "--variable=libdir", "vips"], text=True).strip()
    version = subprocess.check_output(["pkg-config", "--modversion", "vips"], text=True).strip()
    name = "vips-modules-%s" % ".".join(version.split(".")[:2])
    home = os.path.join(work, "vipshome")
    stage = os.path.join(home, os.path.basename(libdir), name)
    os.makedirs(stage, exist_ok=True)
    installed = os.path.join(libdir, name)
    for f in os.listdir(installed) if os.path.isdir(installed) else []:
        if f.endswith(".so") and f != "vips-msic.so":
            os.symlink(os.path.join(installed, f), os.path.join(stage, f))
    os.symlink(os.path.abspath(module), os.path.join(stage, "vips-msic.so"))
    return home


def pixels(path):
    w = int(subprocess.check_output(["vipsheader", "-f", "width", path]))
    h = int(subprocess.check_output(["vipsheader", "-f", "height", path]))
    return w * h


def codecs(args):
    t = str(args.threads)
    return {
        "msic": dict(ext="msic", settings=[args.quality],
                     enc=lambda png, f, s: [args.msic, "encode", png, f, "--quality", str(s), "--threads", t],
                     dec=lambda f, out: [args.msic, "decode", f, out, "--threads", t]),
        "AVIF (avifenc -s 6)": dict(ext="avif", settings=[4, 8, 12, 16, 20, 24, 28, 32, 40],
                     enc=lambda png, f, s: ["avifenc", "-c", "aom", "-y", "444", "-s", "6", "-j", t,
                                            "--min", str(s), "--max", str(s), png, f],
                     dec=lambda f, out: ["avifdec", "-j", t, f, out]),
        "JPEG XL (cjxl -e 7)": dict(ext="jxl", settings=[60, 70, 80, 85, 90, 93, 95, 97],
                     enc=lambda png, f, s: ["cjxl", "--quiet", "-e", "7", "-q", str(s), "--num_threads", t, png, f],
                     dec=lambda f, out: ["djxl", "--quiet", "--num_threads", t, f, out]),
    }


def bpp_of(spec, setting, images, work):
    bits = px = 0
    for png, n in images:
        f = os.path.join(work, "probe." + spec["ext"])
        run(spec["enc"](png, f, setting))
        bits += 8 * os.path.getsize(f)
        px += n
    return bits / px


def timed_pass(spec, setting, images, work):
    enc_s = dec_s = bits = px = 0
    enc_rss = dec_rss = 0.0
    for png, n in images:
        f = os.path.join(work, "x." + spec["ext"])
        out = os.path.join(work, "x.png")
        s, rss = run(spec["enc"](png, f, setting))
        enc_s += s
        enc_rss = max(enc_rss, rss)
        s, rss = run(spec["dec"](f, out))
        dec_s += s
        dec_rss = max(dec_rss, rss)
        bits += 8 * os.path.getsize(f)
        px += n
    return dict(bpp=bits / px, enc_mps=px / enc_s / 1e6, dec_mps=px / dec_s / 1e6, enc_s=enc_s, dec_s=dec_s,
                enc_rss=enc_rss, dec_rss=dec_rss)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", default=os.path.join(ROOT, "..", "shared", "datasets", "kodak"))
    ap.add_argument("--msic", default=os.path.join(ROOT, "build", "tools", "msic", "msic"))
    ap.add_argument("--quality", type=float, default=75)
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vips-module", default=os.path.join(ROOT, "build", "plugin-vips", "vipshome", "x86_64-linux-gnu",
                                                          "vips-modules-8.14", "vips-msic.so"),
                    help="the msic module for vips copy (default: the build's; '' for the installed one)")
    args = ap.parse_args()
    if args.vips_module and not os.path.isfile(args.vips_module):
        args.vips_module = ""
    paths = sorted(glob.glob(os.path.join(args.kodak, "*.png")))[: args.images]
    if not paths:
        sys.exit("no images in %s" % args.kodak)
    images = [(p, pixels(p)) for p in paths]
    total_px = sum(n for _, n in images)
    print("%d Kodak images, %.2f MP; %d threads per tool; msic quality %g" %
          (len(images), total_px / 1e6, args.threads, args.quality))

    with tempfile.TemporaryDirectory() as work:
        specs = codecs(args)
        probe = images[:4]
        target = bpp_of(specs["msic"], args.quality, probe, work)
        results = {}
        for name, spec in specs.items():
            if len(spec["settings"]) > 1:
                tried = [(abs(bpp_of(spec, s, probe, work) - target), s) for s in spec["settings"]]
                setting = min(tried)[1]
            else:
                setting = spec["settings"][0]
            results[name] = (setting, timed_pass(spec, setting, images, work))

        print("\n%-22s %8s %6s %10s %10s %9s %9s" % ("codec", "setting", "bpp", "enc MP/s", "dec MP/s",
                                                      "enc MB", "dec MB"))
        for name, (setting, r) in results.items():
            print("%-22s %8s %6.3f %10.2f %10.2f %9.0f %9.0f" % (name, setting, r["bpp"], r["enc_mps"], r["dec_mps"],
                                                                 r["enc_rss"], r["dec_rss"]))
        m = results["msic"][1]
        for name, (_, r) in results.items():
            if name != "msic":
                print("msic / %-20s encode %.2fx, decode %.2fx" % (name, m["enc_mps"] / r["enc_mps"],
                                                                  m["dec_mps"] / r["dec_mps"]))

        # Start-up: a 16x16 encode. The tools take turns, so that the
        # machine's drift (a quarter between minutes here) falls on all of
        # them alike; the time is the bare process's (GNU time's own start
        # added 1-3 ms), the peak RSS that of one more run under GNU time.
        tiny = os.path.join(work, "tiny.png")
        subprocess.run(["vips", "crop", images[0][0], tiny, "0", "0", "16", "16"], check=True)
        tiny_argv = {name: spec["enc"](tiny, os.path.join(work, "tiny." + spec["ext"]), results[name][0])
                     for name, spec in specs.items()}
        times = {name: [] for name in specs}
        for _ in range(STARTUP_RUNS):
            for name, argv in tiny_argv.items():
                t0 = time.perf_counter()
                subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                times[name].append(time.perf_counter() - t0)
        print("\nstart-up (16x16 encode, median of %d runs in turns, wall-clock / peak RSS):" % STARTUP_RUNS)
        for name, argv in tiny_argv.items():
            print("  %-22s %7.1f ms %7.1f MB" % (name, 1000 * statistics.median(times[name]), run(argv)[1]))

        # vips copy of one image into each format: the build's msic module
        # beside copies of the installed heif and jxl ones, or all installed.
        k23 = next((p for p, _ in images if p.endswith("kodim23.png")), images[-1][0])
        env = dict(os.environ)
        if args.vips_module:
            env["VIPSHOME"] = staged_vipshome(args.vips_module, work)
        print("\nvips copy %s (msic module: %s; median of 3, peak RSS):" %
              (os.path.basename(k23), args.vips_module or "installed"))
        options = {"msic": "[Q=%g]" % args.quality, "avif": "[Q=%d,effort=4]" % 60, "jxl": "[Q=%d]" % 85}
        for ext, opt in options.items():
            out = os.path.join(work, "copy." + ext)
            try:
                runs = [run(["vips", "copy", k23, out + opt], env=env) for _ in range(3)]
            except RuntimeError as e:
                print("  %-6s failed: %s" % (ext, e))
                continue
            print("  %-6s %7.1f ms %7.1f MB  %7d bytes" % (ext, 1000 * statistics.median(s for s, _ in runs),
                                                         max(r for _, r in runs), os.path.getsize(out)))


if __name__ == "__main__":
    main()
