#!/bin/sh
# Photographs from Debian packages, scaled down, never committed: for each
# line "NAME PACKAGE PATH-IN-PACKAGE" of LIST, downloads PACKAGE with
# apt-get download, unpacks it with dpkg -x into DIR/root/PACKAGE, and
# writes DIR/png/NAME.png: the file scaled with libvips (lanczos3 alone,
# sRGB 8-bit RGB, no metadata) to LONG px on its long side, by a factor of
# at least 2 so that the sources' JPEG artifacts vanish. Prints DIR/png.
# Needs only apt's package lists, no root; fails if a package or a listed
# file is missing, is not 8-bit RGB or is under twice LONG.
#   tools/fetch_debian_images.sh LIST DIR LONG
# Used by bench/fetch_photos.sh (the second benchmark set) and
# tools/train/fetch_photos.sh (training photographs).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 LIST DIR LONG" >&2; exit 2; }
list=$(grep -v '^#' "$1")
dir=$2
long=$3

fail() { echo "fetch_debian_images: $*" >&2; exit 1; }
command -v vips >/dev/null || fail "needs vips (libvips-tools)"
mkdir -p "$dir/debs" "$dir/root"
dir=$(cd "$dir" && pwd)  # absolute: the downloads run from inside it
cd "$dir/debs"
for pkg in $(echo "$list" | awk 'NF { print $2 }' | sort -u); do
  if ! ls "${pkg}"_*.deb >/dev/null 2>&1; then
    apt-get download "$pkg" >/dev/null 2>&1 || fail "cannot download $pkg (apt-get update?)"
  fi
  [ -d "$dir/root/$pkg" ] || dpkg -x "${pkg}"_*.deb "$dir/root/$pkg"
done

# Into png.new, renamed to png once every image is there: a failed run leaves
# no partial set behind.
rm -rf "$dir/png.new"
mkdir "$dir/png.new"
echo "$list" | while read -r name pkg path; do
  [ -n "$name" ] || continue
  src=$dir/root/$pkg/$path
  [ -f "$src" ] || fail "$pkg has no $path"
  w=$(vipsheader -f width "$src" 2>/dev/null) || fail "vips cannot read $src"
  h=$(vipsheader -f height "$src" 2>/dev/null) || fail "vips cannot read $src"
  case "$(vipsheader -f bands "$src" 2>/dev/null) $(vipsheader -f format "$src" 2>/dev/null)" in
    3\ *UCHAR*) ;;
    *) fail "$path: not 8-bit RGB" ;;
  esac
  max=$((w > h ? w : h))
  [ "$max" -ge $((2 * long)) ] || fail "$path: ${w}x$h, less than twice $long px"
  # --gap 0: lanczos3 for the whole reduction, no box pre-shrink; [strip]:
  # no metadata (the sources' profiles are all sRGB).
  vips resize "$src" "$dir/png.new/$name.png[strip]" "$(awk "BEGIN { printf \"%.10f\", $long / $max }")" \
    --kernel lanczos3 --gap 0 2>/dev/null || fail "vips cannot resize $src"
done
[ "$(ls "$dir/png.new" | wc -l)" -eq "$(echo "$list" | awk 'NF' | wc -l)" ] || fail "some images are missing"
rm -rf "$dir/png"
mv "$dir/png.new" "$dir/png"
echo "$dir/png"
