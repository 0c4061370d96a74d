#!/usr/bin/env bash
# The main job, with whatever vips, gdal_translate and msic are on PATH:
# compresses the shipped sample with libvips and with GDAL, prints sizes and
# PSNR, and shows that georeferencing survives.
#   tools/demo.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out=${1:-msic-demo}
mkdir -p "$out"
src="$here/tests/data/kodim23.png"

psnr() {  # PSNR in dB of $2 against $1 (8-bit)
  local t; t=$(mktemp -d)
  # (GeoTIFF tags libvips does not know would only print warnings here)
  VIPS_WARNING=0 vips subtract "$1" "$2" "$t/d.v" && vips multiply "$t/d.v" "$t/d.v" "$t/d2.v"
  python3 -c "import math,sys; m=float(sys.argv[1]); print('%.2f' % (10*math.log10(255*255/m) if m else 99))" \
    "$(vips avg "$t/d2.v")"
  rm -rf "$t"
}
size() { stat -c %s "$1"; }

echo "== libvips: vips copy kodim23.png kodim23.msic[Q=75]"
vips copy "$src" "$out/kodim23.msic[Q=75]"
vips copy "$out/kodim23.msic" "$out/kodim23-back.png"
printf "  png %d bytes -> msic %d bytes (%.3f bpp), PSNR %s dB\n" "$(size "$src")" "$(size "$out/kodim23.msic")" \
  "$(python3 -c "print($(size "$out/kodim23.msic")*8/(768*512))")" "$(psnr "$src" "$out/kodim23-back.png")"

echo "== GDAL: gdal_translate -of MSIC on a georeferenced GeoTIFF"
gdal_translate -q -a_srs EPSG:32633 -a_ullr 500000 4000000 507680 3994880 -a_nodata 0 "$src" "$out/geo.tif"
gdal_translate -q -of MSIC -co QUALITY=75 "$out/geo.tif" "$out/geo.msic"
gdal_translate -q "$out/geo.msic" "$out/geo-back.tif"
printf "  tif %d bytes -> msic %d bytes, PSNR %s dB\n" "$(size "$out/geo.tif")" "$(size "$out/geo.msic")" \
  "$(psnr "$out/geo.tif" "$out/geo-back.tif")"
gdalinfo "$out/geo.msic" | grep -E "^Driver|^Size|ID\[\"EPSG\",32633\]|^Origin|^Pixel Size|NoData" | sed 's/^/  /'

echo "== msic command"
msic info "$out/kodim23.msic"
echo "demo files are in $out/"
