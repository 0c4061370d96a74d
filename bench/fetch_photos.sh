#!/bin/sh
# A second photo set for bench/rd.py (never committed): 24 photographs of
# natural scenes with large smooth areas (sky, water, fog, out-of-focus
# backgrounds) from wallpaper packages in Debian main. Downloads the packages
# with apt-get download, unpacks each with dpkg -x into DIR (default:
# $XDG_CACHE_HOME/msic-bench/photos), downscales every listed file with
# libvips (lanczos3 alone, sRGB 8-bit RGB, 1024 px on the long side, a factor
# of 2 to 5.9, so the sources' JPEG artifacts vanish) to DIR/png/NAME.png,
# then prints DIR/png. Needs only apt's package lists, no root; fails if a
# package or a listed file is missing. bench/README.md has the licences.
set -eu
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/msic-bench/photos}
long=1024

# name package path-in-package
list='
coldripple          plasma-workspace-wallpapers usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg
darkesthour         plasma-workspace-wallpapers usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg
summer_1am          plasma-workspace-wallpapers usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg
kite                plasma-workspace-wallpapers usr/share/wallpapers/Kite/contents/images/2560x1600.jpg
eveningglow         plasma-workspace-wallpapers usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg
bythewater          plasma-workspace-wallpapers usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg
fallenleaf          plasma-workspace-wallpapers usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg
after-the-rain      lxqt-themes                 usr/share/lxqt/wallpapers/after-the-rain.jpg
appleflower         lxqt-themes                 usr/share/lxqt/wallpapers/appleflower.png
beam                lxqt-themes                 usr/share/lxqt/wallpapers/beam.png
butterfly           lxqt-themes                 usr/share/lxqt/wallpapers/butterfly.png
cloud               lxqt-themes                 usr/share/lxqt/wallpapers/cloud.png
fog                 lxqt-themes                 usr/share/lxqt/wallpapers/fog.jpg
this-is-not-windows lxqt-themes                 usr/share/lxqt/wallpapers/this-is-not-windows.jpg
bridge              lomiri-wallpapers-16.04     usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg
picosdeeuropa       lomiri-wallpapers-16.04     usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg
sunset              lomiri-wallpapers-16.04     usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg
aitzgorri           lomiri-wallpapers-16.04     usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg
free                lomiri-wallpapers-16.04     usr/share/backgrounds/free_by_Peter_Nerlich.jpg
greentock           lomiri-wallpapers-16.04     usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg
kleiber             lomiri-wallpapers-20.04     usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg
garden              mate-backgrounds            usr/share/backgrounds/mate/nature/Garden.jpg
twowings            mate-backgrounds            usr/share/backgrounds/mate/nature/TwoWings.jpg
ladybird            mate-backgrounds            usr/share/backgrounds/mate/nature/LadyBird.jpg
'

fail() { echo "fetch_photos: $*" >&2; exit 1; }
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
  w=$(vipsheader -f width "$src" 2>/dev/null)
  h=$(vipsheader -f height "$src" 2>/dev/null)
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
