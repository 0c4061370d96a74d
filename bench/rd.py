#!/usr/bin/python3
"""Rate-distortion benchmark on Kodak: msic against JPEG, WebP, JPEG XL, AVIF,
HEIC and JPEG 2000, all run in the same session, plus BD-rates against the
published curves (VTM, the MSINN paper) in ../shared/anchors.

  bench/rd.py [--kodak DIR] [--msic PATH] [--model PATH] [--out DIR] [--images N] [--jobs N]
  bench/rd.py --set DIR --set-name NAME --out DIR ...   (any directory of PNGs instead of Kodak)
  bench/rd.py --codecs msic --merge --model CKPT.msicw --out DIR   (re-measure msic only)

Writes OUT/rd.csv (one row per codec and setting, averaged over the images),
OUT/bd.csv (BD-rates of msic against each curve) and OUT/rd.png (the curves).
rd.csv names the set; the published curves are Kodak's and are used only on it.
PSNR is PSNR-RGB per image, averaged; bpp is file bits over pixels. The
perceptual metric is MS-SSIM (Wang, Simoncelli, Bovik 2003: 5 scales, an
11-tap Gaussian of sigma 1.5, the paper's weights) on luma (BT.601),
averaged over the images and given in dB as -10 log10(1 - MS-SSIM), as
learned-compression papers report it. The second perceptual metric is
butteraugli's distance (Debian's `butteraugli`, the 2017 tool: the image's
largest perceived difference; 1.0 is about the limit of what a viewer
notices, lower is better), averaged over the images; it runs when the tool
is installed (--no-butteraugli skips it, about 0.8 s per Kodak image). Its
BD-rates are over the common range of distance. The published curves have
PSNR only.
"""
import argparse
import concurrent.futures as cf
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_image(path):
    """8-bit RGB pixels of any image libvips reads, as a numpy array."""
    with tempfile.TemporaryDirectory() as t:
        raw = os.path.join(t, "x.v")
        subprocess.run(["vips", "copy", path, raw], check=True)
        w = int(subprocess.check_output(["vipsheader", "-f", "width", raw]))
        h = int(subprocess.check_output(["vipsheader", "-f", "height", raw]))
        b = int(subprocess.check_output(["vipsheader", "-f", "bands", raw]))
        ppm = os.path.join(t, "x.raw")
        subprocess.run(["vips", "rawsave", raw, ppm], check=True)
        data = np.fromfile(ppm, dtype=np.uint8).reshape(h, w, b)
    if b == 1:
        data = np.repeat(data, 3, axis=2)
    return data[:, :, :3]


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim(a, b):
    """MS-SSIM of two 8-bit RGB images, on their luma."""
    from scipy.ndimage import gaussian_filter
    def luma(x):
        x = x.astype(np.float64)
        return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda z: gaussian_filter(z, 1.5, truncate=3.5, mode="reflect")  # 11 taps
    value = 1.0
    for scale, weight in enumerate(MS_SSIM_WEIGHTS):
        mx, my = blur(x), blur(y)
        sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        cs = np.mean((2 * sxy + c2) / (sxx + syy + c2))
        if scale == len(MS_SSIM_WEIGHTS) - 1:
            luminance = np.mean((2 * mx * my + c1) / (mx * mx + my * my + c1))
            value *= max(luminance * cs, 0.0) ** weight
        else:
            value *= max(cs, 0.0) ** weight
            h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
            x = x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
            y = y[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    return value


def write_png(path, pixels):
    """An 8-bit RGB PNG of a numpy array (butteraugli reads PNG and JPEG only)."""
    h, w = pixels.shape[:2]
    def chunk(kind, data):
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    rows = np.concatenate([np.zeros((h, 1), np.uint8), np.ascontiguousarray(pixels).reshape(h, w * 3)], axis=1)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0]))
                + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + chunk(b"IEND", b""))


def butteraugli(original_png, decoded, work_base):
    """Butteraugli distance of decoded pixels against the original (a PNG
    written by write_png, so that both are read alike)."""
    path = work_base + ".ba.png"
    write_png(path, decoded)
    try:
        return float(subprocess.check_output(["butteraugli", original_png, path], stderr=subprocess.DEVNULL))
    finally:
        os.remove(path)


def ms_ssim_db(value):
    return 99.0 if value >= 1 else -10 * np.log10(1 - value)


# Each codec: settings to sweep and a function giving (encode argv, decode
# argv) for (source png, source ppm, compressed file, decoded file, setting).
def codecs(args):
    msic = [args.msic] + (["--model", args.model] if args.model else [])
    effort = ["--effort", str(args.effort)] if args.effort else []
    effort += ["--tile-size", str(args.tile_size)] if args.tile_size else []
    return {
        "msic": dict(ext="msic", settings=args.msic_qualities,
                     cmd=lambda png, ppm, f, out, q: (
                         msic[:1] + ["encode", png, f, "--quality", str(q), "--threads", "1"] + msic[1:] + effort,
                         msic[:1] + ["decode", f, out, "--threads", "1"] + msic[1:])),
        "JPEG (libjpeg-turbo)": dict(ext="jpg", settings=[10, 20, 30, 50, 70, 85, 92, 97],
                     cmd=lambda png, ppm, f, out, q: (
                         ["cjpeg", "-quality", str(q), "-optimize", "-outfile", f, ppm],
                         ["djpeg", "-outfile", out, f])),
        "WebP": dict(ext="webp", settings=[5, 20, 40, 60, 75, 85, 95, 100],
                     cmd=lambda png, ppm, f, out, q: (
                         ["cwebp", "-quiet", "-q", str(q), "-m", "6", png, "-o", f],
                         ["dwebp", "-quiet", f, "-ppm", "-o", out])),
        "JPEG XL": dict(ext="jxl", settings=[20, 40, 60, 75, 85, 90, 95, 98],
                     cmd=lambda png, ppm, f, out, q: (
                         ["cjxl", "--quiet", "-q", str(q), "-e", "7", png, f],
                         ["djxl", "--quiet", f, out])),
        "AVIF (aom, 4:4:4)": dict(ext="avif", settings=[50, 42, 36, 30, 24, 18, 12, 6],
                     cmd=lambda png, ppm, f, out, q: (
                         ["avifenc", "-c", "aom", "-y", "444", "-s", "6", "-j", "1", "--min", str(q), "--max", str(q),
                          "--minalpha", "0", "--maxalpha", "0", png, f],
                         ["avifdec", f, out])),
        "HEIC (x265, 4:4:4)": dict(ext="heic", settings=[10, 25, 40, 55, 70, 80, 90, 96],
                     cmd=lambda png, ppm, f, out, q: (
                         ["heif-enc", "-q", str(q), "-p", "chroma=444", "--matrix_coefficients=0", png, "-o", f],
                         ["heif-convert", f, out])),
        "JPEG 2000 (OpenJPEG)": dict(ext="j2k", settings=[200, 100, 60, 40, 25, 15, 10, 6],
                     cmd=lambda png, ppm, f, out, q: (
                         ["opj_compress", "-i", ppm, "-o", f, "-r", str(q)],
                         ["opj_decompress", "-i", f, "-o", out])),
    }


def run_one(job):
    name, spec, png, ppm, original, setting, work, original_png = job
    base = os.path.join(work, "%s-%s-%s" % (spec["ext"], os.path.basename(png), setting))
    f, out = base + "." + spec["ext"], base + (".png" if spec["ext"] in ("msic", "jxl", "avif", "heic") else ".ppm")
    enc, dec = spec["cmd"](png, ppm, f, out, setting)
    t0 = time.perf_counter()
    r = subprocess.run(enc, capture_output=True)
    t1 = time.perf_counter()
    if r.returncode != 0:
        return None, "%s: %s" % (" ".join(enc), r.stderr.decode(errors="replace")[-300:])
    r = subprocess.run(dec, capture_output=True)
    t2 = time.perf_counter()
    if r.returncode != 0:
        return None, "%s: %s" % (" ".join(dec), r.stderr.decode(errors="replace")[-300:])
    decoded = read_image(out)
    h, w = original.shape[:2]
    try:
        distance = butteraugli(original_png, decoded, base) if original_png else float("nan")
    except (subprocess.CalledProcessError, ValueError) as e:
        return None, "butteraugli on %s: %s" % (out, e)
    result = dict(codec=name, setting=setting, bits=8 * os.path.getsize(f), pixels=w * h,
                  psnr=psnr(original, decoded), msssim=ms_ssim(original, decoded), enc_s=t1 - t0, dec_s=t2 - t1,
                  butteraugli=distance)
    os.remove(f)
    os.remove(out)
    return result, None


def average(results):
    """bpp and the quality metrics of one codec and setting, over its images'
    results (run_one's): bits over pixels, the metrics averaged per image."""
    return dict(bpp=sum(r["bits"] for r in results) / sum(r["pixels"] for r in results),
                psnr_rgb_db=float(np.mean([r["psnr"] for r in results])),
                ms_ssim_db=float(ms_ssim_db(np.mean([r["msssim"] for r in results]))),
                butteraugli=float(np.mean([r["butteraugli"] for r in results])))


def read_rows(path):
    with open(path) as f:
        return [dict(r, set=r.get("set") or "Kodak", bpp=float(r["bpp"]), psnr_rgb_db=float(r["psnr_rgb_db"]),
                     ms_ssim_db=float(r.get("ms_ssim_db") or "nan"),
                     butteraugli=float(r.get("butteraugli") or "nan"),
                     encode_mp_s=float(r["encode_mp_s"]), decode_mp_s=float(r["decode_mp_s"]))
                for r in csv.DictReader(f)]


def bd_rate(ref, test):
    """Bjontegaard delta rate (%) of `test` against `ref`, each a list of
    (bpp, psnr): piecewise cubic (PCHIP) log-rate over the common PSNR range."""
    from scipy.interpolate import PchipInterpolator
    def curve(points):
        pts = sorted(set((p, np.log(r)) for r, p in points if r > 0))
        ps = np.array([p for p, _ in pts]); lr = np.array([l for _, l in pts])
        keep = np.concatenate([[True], np.diff(ps) > 1e-9])  # strictly increasing PSNR
        return ps[keep], lr[keep]
    p1, r1 = curve(ref)
    p2, r2 = curve(test)
    lo, hi = max(p1.min(), p2.min()), min(p1.max(), p2.max())
    if hi - lo < 0.1 or len(p1) < 2 or len(p2) < 2:
        return float("nan"), lo, hi
    grid = np.linspace(lo, hi, 200)
    i1 = np.trapz(PchipInterpolator(p1, r1)(grid), grid)
    i2 = np.trapz(PchipInterpolator(p2, r2)(grid), grid)
    return (np.exp((i2 - i1) / (hi - lo)) - 1) * 100, lo, hi


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", default=os.path.join(ROOT, "..", "shared", "datasets", "kodak"))
    ap.add_argument("--set", default=None, help="a directory of PNG images to run on instead of Kodak")
    ap.add_argument("--set-name", default=None,
                    help="the set's name in rd.csv, the report and the plot (default: Kodak, or the --set directory's "
                         "name); the published curves are used only for Kodak")
    ap.add_argument("--anchors", default=os.path.join(ROOT, "..", "shared", "anchors", "kodak-published-rd.csv"))
    ap.add_argument("--msic", default=os.path.join(ROOT, "build", "tools", "msic", "msic"))
    ap.add_argument("--model", default=None, help="model file (default: the embedded one)")
    ap.add_argument("--effort", type=int, default=None, help="msic's encoder effort (default: its default)")
    ap.add_argument("--tile-size", type=int, default=None,
                    help="msic's tile size (default: its default, one tile for an image of 513 to 1024 px)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--images", type=int, default=24, help="first N images of the set")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-butteraugli", action="store_true", help="skip the butteraugli distance")
    ap.add_argument("--codecs", default=None, help="comma-separated subset, e.g. msic,WebP")
    ap.add_argument("--msic-qualities", default="0,10,25,40,55,70,85,95,100")
    ap.add_argument("--replot", action="store_true", help="only redo BD-rates and the plot from OUT/rd.csv")
    ap.add_argument("--markdown", action="store_true",
                    help="also print msic's points and the BD-rates as markdown tables (for models/README.md)")
    ap.add_argument("--merge", action="store_true",
                    help="with --codecs: keep the other codecs' rows of OUT/rd.csv (an earlier run) and replace "
                         "only the re-run ones; the report says which rows are kept")
    args = ap.parse_args()
    if args.replot:
        rows = read_rows(os.path.join(args.out, "rd.csv"))
        args.set_name = args.set_name or rows[0]["set"]
        names = list(dict.fromkeys(r["codec"] for r in rows))
        report(args, names, rows, int(rows[0]["images"]))
        return
    args.msic_qualities = [float(q) for q in args.msic_qualities.split(",")]
    directory = args.set or args.kodak
    args.set_name = args.set_name or ("Kodak" if not args.set else os.path.basename(os.path.normpath(args.set)))
    images = sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".png"))[:args.images]
    specs = codecs(args)
    if args.codecs:
        specs = {k: v for k, v in specs.items() if any(k.startswith(c) for c in args.codecs.split(","))}
    for name, spec in specs.items():
        tool = spec["cmd"]("a", "b", "c", "d", 1)[0][0]
        if not shutil.which(tool) and not os.path.exists(tool):
            sys.exit("%s needs %s (tools/install-deps.sh --bench installs the codecs)" % (name, tool))
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="msic-rd-")
    originals, ppms, pngs = load_originals(images, work, use_butteraugli(args))
    jobs = [(n, s, png, ppms[png], originals[png], q, work, pngs[png]) for n, s in specs.items()
            for q in s["settings"] for png in images]
    results = []
    with cf.ThreadPoolExecutor(args.jobs) as pool:
        for r, err in pool.map(run_one, jobs):
            if err:
                sys.exit("failed: " + err)
            results.append(r)
    shutil.rmtree(work)

    rows, names = [], list(specs)
    if args.merge and os.path.exists(os.path.join(args.out, "rd.csv")):
        kept = [r for r in read_rows(os.path.join(args.out, "rd.csv"))
                if r["codec"] not in specs and int(r["images"]) == len(images) and r["set"] == args.set_name]
        rows += kept
        names = list(dict.fromkeys([r["codec"] for r in kept] + names))
        print("kept from the earlier run in %s: %s" % (args.out, ", ".join(dict.fromkeys(r["codec"] for r in kept))))
    for name, spec in specs.items():
        for q in spec["settings"]:
            rs = [r for r in results if r["codec"] == name and r["setting"] == q]
            px = sum(r["pixels"] for r in rs)
            rows.append(dict(set=args.set_name, codec=name, setting=q, images=len(rs), **average(rs),
                             encode_mp_s=px / 1e6 / sum(r["enc_s"] for r in rs),
                             decode_mp_s=px / 1e6 / sum(r["dec_s"] for r in rs)))
    with open(os.path.join(args.out, "rd.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            w.writerow({k: ("%.4f" % v if isinstance(v, float) else v) for k, v in r.items()})
    report(args, names, rows, len(images))


def use_butteraugli(args):
    if args.no_butteraugli:
        return False
    if not shutil.which("butteraugli"):
        print("butteraugli is not installed (apt-get install butteraugli): measuring without it")
        return False
    return True


def load_originals(images, work, with_pngs):
    """Each image's pixels, a PPM of it (for the codecs that read only PNM)
    and, for butteraugli, a plain PNG of the same pixels (or None)."""
    originals, ppms, pngs = {}, {}, {}
    for png in images:
        originals[png] = read_image(png)
        base = os.path.join(work, os.path.basename(png)[:-4])
        ppms[png] = base + ".ppm"
        subprocess.run(["vips", "copy", png, ppms[png]], check=True)
        pngs[png] = None
        if with_pngs:
            pngs[png] = base + ".original.png"
            write_png(pngs[png], originals[png])
    return originals, ppms, pngs


def report(args, names, rows, image_count):
    """BD-rates (printed and OUT/bd.csv) and the plot (OUT/rd.png)."""
    curves = {n: [(r["bpp"], r["psnr_rgb_db"]) for r in rows if r["codec"] == n] for n in names}
    if os.path.exists(args.anchors) and image_count == 24 and args.set_name == "Kodak":
        with open(args.anchors) as f:
            for r in csv.DictReader(f):
                curves.setdefault("published: " + r["codec"], []).append((float(r["bpp"]), float(r["psnr_rgb_db"])))
    elif args.set_name != "Kodak":
        print("set %s: no published curves (those are Kodak's)" % args.set_name)
    bd_rows = []
    if "msic" in curves:
        for name, pts in curves.items():
            if name == "msic":
                continue
            bd, lo, hi = bd_rate(pts, curves["msic"])
            bd_rows.append(dict(reference=name, metric="PSNR-RGB", bd_rate_percent="%.2f" % bd,
                                psnr_from="%.2f" % lo, psnr_to="%.2f" % hi))
        # The perceptual metrics: the codecs measured in this run. Butteraugli
        # is lower-better, so its curves run on minus the distance.
        for metric, key, sign in (("MS-SSIM (dB)", "ms_ssim_db", 1), ("butteraugli", "butteraugli", -1)):
            curves_of = {n: [(r["bpp"], sign * r[key]) for r in rows
                             if r["codec"] == n and not np.isnan(r.get(key, float("nan")))] for n in names}
            for name, pts in curves_of.items():
                if name == "msic" or not pts or not curves_of.get("msic"):
                    continue
                bd, lo, hi = bd_rate(pts, curves_of["msic"])
                lo, hi = sorted((sign * lo, sign * hi))
                bd_rows.append(dict(reference=name, metric=metric, bd_rate_percent="%.2f" % bd,
                                    psnr_from="%.2f" % lo, psnr_to="%.2f" % hi))
        with open(os.path.join(args.out, "bd.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["reference", "metric", "bd_rate_percent", "psnr_from", "psnr_to"])
            w.writeheader()
            w.writerows(bd_rows)

    print("%-28s %8s %8s %8s %9s %11s %10s %10s" % ("codec", "setting", "bpp", "PSNR", "MS-SSIM", "butteraugli",
                                                     "enc MP/s", "dec MP/s"))
    for r in rows:
        print("%-28s %8s %8.4f %8.3f %9.3f %11.3f %10.3f %10.3f" % (
            r["codec"], r["setting"], r["bpp"], r["psnr_rgb_db"], r["ms_ssim_db"], r.get("butteraugli", float("nan")),
            r["encode_mp_s"], r["decode_mp_s"]))
    if bd_rows:
        print("\nBD-rate of msic against each (negative: msic needs fewer bits at equal quality)")
        for r in bd_rows:
            print("  %-50s %-13s %8s %%   (%s..%s %s)" % (r["reference"], r["metric"], r["bd_rate_percent"],
                                                       r["psnr_from"], r["psnr_to"],
                                                       "distance" if r["metric"] == "butteraugli" else "dB"))

    if args.markdown:
        print("\n| quality | bpp | PSNR-RGB (dB) | encode MP/s | decode MP/s |\n|---|---|---|---|---|")
        for r in rows:
            if r["codec"] == "msic":
                print("| %g | %.3f | %.2f | %.2f | %.2f |" % (float(r["setting"]), r["bpp"], r["psnr_rgb_db"],
                                                         r["encode_mp_s"], r["decode_mp_s"]))
        print("\n| BD-rate of msic against | metric | % (negative: msic needs fewer bits) | range (dB; butteraugli: distance) |\n|---|---|---|---|")
        for r in bd_rows:
            print("| %s | %s | %+.1f | %s-%s |" % (r["reference"], r["metric"], float(r["bd_rate_percent"]),
                                                  r["psnr_from"], r["psnr_to"]))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, 6))
    for name, pts in curves.items():
        pts = sorted(pts)
        style = dict(lw=2.5, color="black", marker="o") if name == "msic" else dict(lw=1, marker=".")
        if name.startswith("published"):
            style["ls"] = "--"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name, **style)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR-RGB (dB)")
    ax.set_xlim(0, 2.5)
    if args.set_name == "Kodak":
        ax.set_ylim(24, 48)
    else:  # the range of the points left of 2.5 bpp
        shown = [p for pts in curves.values() for b, p in pts if b <= 2.5]
        ax.set_ylim(np.floor(min(shown)) - 1, np.ceil(max(shown)) + 1)
    ax.grid(alpha=0.3)
    ax.set_title("%s (%d images)" % (args.set_name, image_count))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "rd.png"), dpi=110)
    print("\nwrote %s/rd.csv, bd.csv, rd.png" % args.out)


if __name__ == "__main__":
    main()
