#!/usr/bin/env python3
"""Tests of the MSIC GDAL driver as GDAL sees it: its metadata and option
lists, what the plugin links and exports, and where it installs.

Run by ctest, one case per invocation: gdal_cli_driver_test.py <case>
(gdal_cli_support.py describes the environment).
"""

import os
import re
import shutil
import sys
import tempfile

from gdal_cli_support import (GDAL_TRANSLATE, GDALINFO, WORK, Skip, check,
                              gdalinfo_json, main, make_georef_tif, psnr,
                              read_array, run, to_msic)


def case_format_doc():
    p = run([GDALINFO, "--format", "MSIC"])
    out = p.stdout
    for needle in ["Short Name: MSIC", "Extension: msic",
                   "Supports: Raster", "Supports: Open()",
                   "Supports: CreateCopy()", "Supports: Create()",
                   "Supports: Virtual IO", "Help Topic: ",
                   "Creation Datatypes: Byte UInt16 Int16 UInt32 Int32 Float32",
                   "<CreationOptionList>", "<OpenOptionList>"]:
        check(needle in out,
              "gdalinfo --format MSIC lacks %r:\n%s" % (needle, out))
    # The option lists are well-formed XML with the documented options.
    import xml.etree.ElementTree as ET

    def options(tag):
        begin, end = "<%s>" % tag, "</%s>" % tag
        xml = out[out.index(begin):out.index(end) + len(end)]
        return {o.get("name"): o for o in ET.fromstring(xml)}

    create = options("CreationOptionList")
    check(set(create) >= {"QUALITY", "LOSSLESS", "MAX_Z_ERROR", "NBITS",
                          "TILE_SIZE", "NUM_THREADS"},
          "creation options %s" % sorted(create))
    check(create["QUALITY"].get("default") == "75", "QUALITY default")
    check(create["QUALITY"].get("min") == "0" and
          create["QUALITY"].get("max") == "100", "QUALITY range")
    check("Default: 512, or one 1024-px tile for an image of 513 to 1024 px"
          in create["TILE_SIZE"].get("description", ""), "TILE_SIZE default")
    check("NUM_THREADS" in options("OpenOptionList"), "open options")
    p = run([GDALINFO, "--formats"])
    check(re.search(r"^\s*MSIC -raster- \(rw\+v\): ", p.stdout, re.M),
          "MSIC not listed as a read + write + virtual IO raster "
          "driver:\n" + p.stdout)


def case_plugin_links():
    """The plugin links only libmsic and GDAL (plus the C/C++ runtime)."""
    plugin = os.environ["MSIC_PLUGIN_FILE"]
    check(os.path.basename(plugin) == "gdal_MSIC.so",
          "plugin file is %s, GDAL loads gdal_<NAME>.so" % plugin)
    check(os.path.dirname(plugin) ==
          os.environ["GDAL_DRIVER_PATH"].split(":")[0],
          "the tests' GDAL_DRIVER_PATH is not the plugin's folder")
    p = run(["readelf", "-d", plugin])
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", p.stdout)
    allowed = re.compile(
        r"^(libmsic\.so.*|libgdal\.so.*|libstdc\+\+\.so.*|libm\.so.*|"
        r"libgcc_s\.so.*|libc\.so.*)$")
    bad = [n for n in needed if not allowed.match(n)]
    check(not bad, "gdal_MSIC.so links more than libmsic + GDAL: %s" % bad)
    check(any(n.startswith("libmsic") for n in needed), "libmsic not linked")
    check(any(n.startswith("libgdal") for n in needed), "libgdal not linked")
    p = run(["nm", "-D", "--defined-only", plugin])
    exported = [line.split()[-1] for line in p.stdout.splitlines()
                if " T " in line]
    check("GDALRegister_MSIC" in exported,
          "GDALRegister_MSIC not exported: %s" % exported)
    check(len(exported) <= 3,
          "the plugin exports more than its entry point: %s" % exported)


def case_install_layout():
    """`cmake --install` puts gdal_MSIC.so where GDAL looks, and it loads."""
    build = os.environ["MSIC_BUILD_DIR"]
    reldir = os.environ["MSIC_PLUGIN_INSTALL_DIR"]
    stage = tempfile.mkdtemp(prefix="stage.", dir=WORK)
    run([os.environ.get("CMAKE_COMMAND", "cmake"), "--install", build,
         "--component", "gdal", "--prefix", stage])
    plugdir = reldir if os.path.isabs(reldir) else os.path.join(stage, reldir)
    plugin = os.path.join(plugdir, "gdal_MSIC.so")
    check(os.path.isfile(plugin), "not installed at %s; staged: %s" %
          (plugin, [os.path.join(d, f) for d, _, fs in os.walk(stage)
                    for f in fs]))
    check(reldir.endswith("gdalplugins"), "install dir %s" % reldir)
    sysdir = os.environ.get("MSIC_SYSTEM_GDAL_PLUGIN_DIR", "")
    prefix = os.environ.get("MSIC_INSTALL_PREFIX", "")
    if sysdir and prefix:
        ours = reldir if os.path.isabs(reldir) else os.path.join(prefix, reldir)
        print("GDAL's plugin dir: %s; this build installs to: %s" %
              (sysdir, ours))
        # Installed under GDAL's own prefix, it must land where GDAL looks.
        gdal_prefix = run(["gdal-config", "--prefix"]).stdout.strip()
        if os.path.realpath(prefix) == os.path.realpath(gdal_prefix):
            check(os.path.realpath(ours) == os.path.realpath(sysdir),
                  "with prefix %s the plugin goes to %s, GDAL looks in %s" %
                  (prefix, ours, sysdir))
    p = run(["readelf", "-d", plugin])
    check(build not in p.stdout,
          "installed plugin keeps a build-tree RUNPATH:\n" + p.stdout)
    libdir = os.path.dirname(os.environ["MSIC_LIB_FILE"])
    p = run([GDALINFO, "--format", "MSIC"],
            env={"GDAL_DRIVER_PATH": plugdir, "LD_LIBRARY_PATH": libdir})
    check('name="QUALITY"' in p.stdout, "installed plugin does not load")
    shutil.rmtree(stage)


def case_installed():
    """The plugin installed in GDAL's own plugin directory, if any."""
    sysdir = os.environ.get("MSIC_SYSTEM_GDAL_PLUGIN_DIR", "")
    plugin = os.path.join(sysdir, "gdal_MSIC.so")
    if not sysdir or not os.path.isfile(plugin):
        raise Skip("no installed plugin at %s" % plugin)
    env = {"GDAL_DRIVER_PATH": None}
    p = run([GDALINFO, "--format", "MSIC"], env=env)
    check('name="QUALITY"' in p.stdout, "installed plugin: no options")
    src = make_georef_tif()
    out = os.path.join(WORK, "inst.msic")
    to_msic(src, out, ["-q", "-co", "QUALITY=80"], env=env)
    info = gdalinfo_json(out, env=env)
    check(info["driverShortName"] == "MSIC", "installed driver")
    check(info["geoTransform"] == gdalinfo_json(src)["geoTransform"],
          "installed: geotransform")
    back = os.path.join(WORK, "inst_back.tif")
    run([GDAL_TRANSLATE, "-q", out, back], env=env)
    check(psnr(read_array(src), read_array(back)) >= 25, "installed: PSNR")


CASES = {name[len("case_"):]: fn for name, fn in globals().items()
         if name.startswith("case_")}


if __name__ == "__main__":
    sys.exit(main(CASES))
