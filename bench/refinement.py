#!/usr/bin/python3
"""What refining the latents by gradients saves: the twin's, and effort 4's.

  bench/refinement.py BENCH_BINARY IMAGE... [--model PATH] [--anchors 1,3,5,7]
                      [--steps 300] [--threads 2] [--lambda-low 0.0004 --lambda-high 1.2]
                      [--no-context-gradients] [--engine-only] [--effort 4|5] [--jsonl FILE] [--load FILE]
  (e.g. build/bench/msic-bench-refinement ../shared/datasets/kodak/kodim05.png
   --model models/checkpoint/model.msicw)

msic-bench-refinement (bench/refinement.cpp) codes each image at each quality
anchor with the codec itself, as msic codes it and from latents
refined by stochastic Gumbel annealing through LibTorch's float twin
(codec-core/src/latent_refinement.h), each at effort 1 and 2, and decodes
them. This script prints BD-rates (PSNR-RGB; bench/rd.py's bd_rate) per
image and on the mean curve of all images:

- effort 2 against effort 1, msic's own encodes (what the default
  effort's rounding saves, for scale);
- refined at effort 1 against msic's own encode at effort 1 and at effort 2;
- refined at effort 2 against msic's own encode at effort 2;
- msic's effort 4, or 5 with --effort 5 (the engine's own annealing,
  latent_annealing.h, through the context nets too: relaxed_coding.h)
  against effort 2.

--engine-only leaves out the twin: effort 4 (or 5) against efforts 1 and 2.

Bits are those of the tile payload (one tile per image: no container). The
twin's refinement runs on LibTorch, which libmsic does not link: it is the
reference effort 4 is measured against. --steps and --lr are the twin's:
effort 4 runs as msic runs it.
--jsonl keeps the raw lines; --load reads such a file instead of coding.
"""
import argparse
import json
import subprocess
import sys

import numpy as np

from rd import bd_rate

CURVES = ["orig_e1", "orig_e2", "ref_e1", "ref_e2", "eng_e4", "eng_e5"]
PAIRS = [("orig_e1", "orig_e2"), ("orig_e1", "ref_e1"), ("orig_e2", "ref_e1"), ("orig_e2", "ref_e2"),
         ("orig_e2", "eng_e4"), ("orig_e2", "eng_e5")]


def mean_curve(rows, key):
    """Per anchor: mean bpp and the PSNR of the mean MSE over the images."""
    out = []
    for a in sorted({r["anchor"] for r in rows}):
        at = [r[key] for r in rows if r["anchor"] == a]
        mse = np.mean([10 ** (-p / 10) for _, p in at])
        out.append((float(np.mean([b for b, _ in at])), float(-10 * np.log10(mse))))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?")
    ap.add_argument("images", nargs="*")
    ap.add_argument("--model")
    ap.add_argument("--anchors", default="1,3,5,7")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lambda-low", help="of anchor 0: the model's training lambda (v4-v6: 0.0004)")
    ap.add_argument("--lambda-high", help="of the last anchor (v4-v6: 1.2)")
    ap.add_argument("--no-context-gradients", action="store_true",
                    help="the context nets' means and scales as constants: a backward pass through the synthesis alone")
    ap.add_argument("--engine-only", action="store_true", help="effort 4 (or 5) only, no twin")
    ap.add_argument("--effort", type=int, default=4, help="the engine's column: effort 4 or 5")
    ap.add_argument("--jsonl", help="also write the tool's lines here")
    ap.add_argument("--load", help="read the tool's lines from this file instead of running it")
    args = ap.parse_args()
    if args.load:
        lines = open(args.load).read().splitlines()
    else:
        if not args.binary or not args.images:
            ap.error("give the binary and images, or --load FILE")
        cmd = [args.binary, "--anchors", args.anchors, "--steps", str(args.steps), "--threads", str(args.threads),
               "--effort", str(args.effort)]
        if args.model:
            cmd += ["--model", args.model]
        for flag, value in (("--lambda-low", args.lambda_low), ("--lambda-high", args.lambda_high)):
            if value:
                cmd += [flag, value]
        if args.no_context_gradients:
            cmd.append("--no-context-gradients")
        if args.engine_only:
            cmd.append("--engine-only")
        run = subprocess.run(cmd + args.images, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(run.stderr)
        lines = run.stdout.splitlines()
        if args.jsonl:
            with open(args.jsonl, "w") as f:
                f.write("\n".join(lines) + "\n")
    rows = [json.loads(line) for line in lines if line.strip()]
    if not rows:
        sys.exit("no measurements")
    images = sorted({r["image"] for r in rows})
    print("BD-rate %% (PSNR-RGB), %d images, anchors %s" %
          (len(images), ",".join(str(a) for a in sorted({r["anchor"] for r in rows}))))
    pairs = [(a, b) for a, b in PAIRS if all(a in r and b in r for r in rows)]
    print("%-28s" % "image" + "".join("%18s" % (b + " vs " + a) for a, b in pairs))
    for image in images + ["mean curve"]:
        these = rows if image == "mean curve" else [r for r in rows if r["image"] == image]
        curves = {k: mean_curve(these, k) for k in CURVES if all(k in r for r in these)}
        cells = "".join("%18.2f" % bd_rate(curves[a], curves[b])[0] for a, b in pairs)
        print("%-28s" % image.split("/")[-1] + cells)
    top = "5" if all("eng_e5" in r for r in rows) else "4"
    for key, what in (("seconds", "the twin's refinement"), ("engine_seconds", "an effort-%s encode" % top)):
        if all(key in r for r in rows):
            print("%s: %.1f s per image and anchor (mean)" % (what, np.mean([r[key] for r in rows])))


if __name__ == "__main__":
    main()
