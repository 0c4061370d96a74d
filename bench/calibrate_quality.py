#!/usr/bin/python3
"""Calibrates msic's quality scale against libjpeg's: at each quality Q, a
msic file should look at least as good as a JPEG at Q (by default: PSNR
and butteraugli each at least as good) and be smaller.

  bench/calibrate_quality.py [--kodak DIR | --set DIR] [--msic PATH] [--jobs N] [--images N]
                             [--metrics PSNR,butteraugli] [--save F.json] [--load F.json | --jpeg-from F.json]

It codes every image with cjpeg at Q = 5, 10, .. 95 (rd.py's settings:
-optimize, 4:2:0) and with msic at Q = 0, 5, .. 100, and reads from each
msic file the model quality that Q mapped to (`msic info --json`). Then:

1. The check, measured as it is: msic at Q against JPEG at Q, for every Q
   both were run at: bits, and each metric. This is the README's table.
2. The fit: for each JPEG Q, the lowest model quality at which msic's
   curve (linear between the measured points, over model quality) reaches
   JPEG's value in every metric of --metrics. MS-SSIM is not among them by
   default: rd.py computes it on luma only, where JPEG's 4:2:0 puts all its
   bits, and at equal butteraugli msic trails in it. A point that would not
   rise above the one before is left out (the line over it is higher). It
   prints the table for
   `codec-core/src/api/quality_scale.cpp`; after it is changed there and the
   library rebuilt, a second run checks it. Butteraugli is not smooth at
   the 0.01 level, so that run's own fit differs from the table it checks
   by up to 0.4 model quality: the table to keep is one whose check holds.
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import rd

JPEG_QUALITIES = list(range(5, 100, 5))
MSIC_QUALITIES = list(range(0, 101, 5))
JPEG = "JPEG (libjpeg-turbo)"
# metric -> (key in the averaged row, True if higher is better)
METRICS = {"PSNR": ("psnr_rgb_db", True), "MS-SSIM (dB)": ("ms_ssim_db", True), "butteraugli": ("butteraugli", False)}


def model_quality(msic, path):
    info = json.loads(subprocess.check_output([msic, "info", path, "--json"]))
    return info.get("model_quality", info["quality"])


def measure(args, jpeg_rows=None):
    directory = args.set or args.kodak
    images = sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".png"))[:args.images]
    specs = rd.codecs(argparse.Namespace(msic=args.msic, model=args.model, effort=None, tile_size=None,
                                         msic_qualities=MSIC_QUALITIES))
    specs = {"msic": specs["msic"], JPEG: dict(specs[JPEG], settings=JPEG_QUALITIES)}
    if jpeg_rows:  # measured before, on the same images
        if jpeg_rows["images"] != len(images):
            sys.exit("--jpeg-from: measured on %d images, not %d" % (jpeg_rows["images"], len(images)))
        jpeg_rows = jpeg_rows["rows"]
        del specs[JPEG]
    work = tempfile.mkdtemp(prefix="msic-calibrate-")
    try:
        originals, ppms, pngs = rd.load_originals(images, work, True)
        jobs = [(n, s, png, ppms[png], originals[png], q, work, pngs[png]) for n, s in specs.items()
                for q in s["settings"] for png in images]
        results = []
        with cf.ThreadPoolExecutor(args.jobs) as pool:
            for r, err in pool.map(rd.run_one, jobs):
                if err:
                    sys.exit("failed: " + err)
                results.append(r)
        # The model quality each msic Q maps to (the same for every image).
        model = {}
        for q in MSIC_QUALITIES:
            f = os.path.join(work, "probe-%s.msic" % q)
            subprocess.run([args.msic, "encode", images[0], f, "--quality", str(q)] +
                           (["--model", args.model] if args.model else []), check=True, capture_output=True)
            model[q] = model_quality(args.msic, f)
    finally:
        shutil.rmtree(work)
    rows = dict(jpeg_rows or {})
    for name, spec in specs.items():
        for q in spec["settings"]:
            rows[(name, q)] = rd.average([r for r in results if r["codec"] == name and r["setting"] == q])
    return rows, model, len(images)


def load(path):
    """The measurements of a --save: rows, msic Q -> model quality, images."""
    with open(path) as f:
        saved = json.load(f)
    rows = {(r["codec"], r["setting"]): r["values"] for r in saved["rows"]}
    return rows, {int(q): v for q, v in saved["model"].items()}, saved["images"]


def reach(model_qs, values, target, higher_better):
    """Lowest model quality where the piecewise-linear curve reaches target
    (None if it never does)."""
    sign = 1 if higher_better else -1
    v = [sign * x for x in values]
    t = sign * target
    if v[0] >= t:
        return model_qs[0]
    for i in range(1, len(v)):
        if v[i] >= t:
            return model_qs[i - 1] + (model_qs[i] - model_qs[i - 1]) * (t - v[i - 1]) / (v[i] - v[i - 1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kodak", default=os.path.join(rd.ROOT, "..", "shared", "datasets", "kodak"))
    ap.add_argument("--set", default=None, help="a directory of PNG images instead of Kodak")
    ap.add_argument("--msic", default=os.path.join(rd.ROOT, "build", "tools", "msic", "msic"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--metrics", default="PSNR,butteraugli",
                    help="what msic must reach at each Q, of: " + ", ".join(METRICS))
    ap.add_argument("--save", default=None, help="also write the measurements to this JSON file")
    ap.add_argument("--load", default=None, help="measure nothing: fit the measurements of a --save")
    ap.add_argument("--jpeg-from", default=None,
                    help="measure msic only and take JPEG's measurements from a --save of the same images")
    args = ap.parse_args()
    fit_metrics = [m.strip() for m in args.metrics.split(",")]
    if any(m not in METRICS for m in fit_metrics):
        sys.exit("--metrics: each of " + ", ".join(METRICS))
    if args.load:
        rows, model, count = load(args.load)
    else:
        if not shutil.which("butteraugli"):
            sys.exit("needs butteraugli (apt-get install butteraugli)")
        jpeg_rows = None
        if args.jpeg_from:
            saved, _, saved_count = load(args.jpeg_from)
            jpeg_rows = dict(images=saved_count, rows={k: v for k, v in saved.items() if k[0] == JPEG})
        rows, model, count = measure(args, jpeg_rows)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(dict(images=count, model=model,
                           rows=[dict(codec=c, setting=q, values=v) for (c, q), v in rows.items()]), f, indent=1)

    print("%d images. msic Q -> model quality: %s\n" % (count, ", ".join("%g: %.2f" % (q, model[q])
                                                                             for q in MSIC_QUALITIES)))
    print("The check: msic at Q against JPEG at Q (better: msic at least as good)\n")
    print("| Q | JPEG bpp | msic bpp | msic / JPEG size | PSNR JPEG / msic | MS-SSIM dB JPEG / msic "
          "| butteraugli JPEG / msic | msic at least as good in |")
    print("|---|---|---|---|---|---|---|---|")
    for q in JPEG_QUALITIES:
        if q not in MSIC_QUALITIES:
            continue
        j, m = rows[(JPEG, q)], rows[("msic", q)]
        better = [name for name, (key, higher) in METRICS.items()
                  if (m[key] >= j[key] if higher else m[key] <= j[key])]
        print("| %d | %.3f | %.3f | %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %s |" % (
            q, j["bpp"], m["bpp"], m["bpp"] / j["bpp"], j["psnr_rgb_db"], m["psnr_rgb_db"], j["ms_ssim_db"],
            m["ms_ssim_db"],
            j["butteraugli"], m["butteraugli"], ", ".join(better) or "none"))

    # The fit, over model quality (the measured msic points, in its order).
    order = sorted(MSIC_QUALITIES, key=lambda q: model[q])
    mq = [model[q] for q in order]
    log_bpp = [np.log(rows[("msic", q)]["bpp"]) for q in order]
    print("\nThe fit: the model quality at which msic reaches JPEG at Q in each metric (the scale: the highest "
          "of %s, up to the next 0.1)\n" % ", ".join(fit_metrics))
    print("| JPEG Q | JPEG bpp | %s | scale | msic bpp there | msic / JPEG size |" % " | ".join(METRICS))
    print("|---|---|%s---|---|---|" % ("---|" * len(METRICS)))
    fit = {0: 0.0}
    for q in JPEG_QUALITIES:
        j = rows[(JPEG, q)]
        need = {name: reach(mq, [rows[("msic", p)][key] for p in order], j[key], higher)
                for name, (key, higher) in METRICS.items()}
        chosen = [need[m] for m in fit_metrics]
        point = 100.0 if None in chosen else math.ceil(max(chosen) * 10 - 1e-9) / 10
        bpp = float(np.exp(np.interp(point, mq, log_bpp)))
        print("| %d | %.3f | %s | %.1f | %.3f | %.2f |" % (q, j["bpp"], " | ".join(
            "%.2f" % v if v is not None else "beyond 100" for v in need.values()), point, bpp, bpp / j["bpp"]))
        if point > max(fit.values()) and point < 100:
            fit[q] = point
    fit[100] = 100.0
    print("\nFor quality_scale.cpp (Q, model quality):")
    print(",\n".join("    {%d, %.1f}" % (q, v) for q, v in sorted(fit.items())))


if __name__ == "__main__":
    main()
