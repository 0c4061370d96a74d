/*
 * GDAL raster driver for MSIC: the mapping between GDAL's metadata and the
 * file's metadata boxes (formats/MSIC.md), both ways, in one place so that
 * what CreateCopy writes is what Open reads:
 *
 *   geotransform                      GEOT  6 float64 LE
 *   spatial reference                 CRSW  WKT (written as WKT2_2019)
 *   nodata (one for all bands)        NODT  1 float64 LE
 *   band descriptions                 BDSC  NUL-terminated strings
 *   metadata domains                  KVMD  domain, key, value triples:
 *     the dataset's domains by name (RPC, IMAGERY, ...: all but
 *     IMAGE_STRUCTURE, COLOR_PROFILE, xml: and json: ones), band n's as
 *     "band:n" (default domain) and "band:n:DOMAIN", and band n's scale,
 *     offset, unit and (files not of the learned coding) color
 *     interpretation as SCALE, OFFSET, UNIT and COLOR_INTERP in "band:n:MSIC"
 *   xml:XMP                           XMP
 *   COLOR_PROFILE/SOURCE_ICC_PROFILE  ICCP  the profile's bytes
 *   a band's colour table             CLRT  band, kind, count, entries
 *   a band's raster attribute table   GRAT  band, GDAL's XML of the table
 *   ground control points, their CRS  GCPS  count, points, WKT
 *   alpha bands, the mask             ROLE  a role per band; the mask (a
 *     per-dataset mask of the source) is one more band after the others
 */
#ifndef MSICMETADATA_H
#define MSICMETADATA_H

#include "gdal_priv.h"
#include "gdal_rat.h"
#include "ogr_spatialref.h"

#include <msic/msic.h>

#include <memory>
#include <string>
#include <vector>

/* What the dataset answers through its own getters (GetGeoTransform,
 * GetSpatialRef, GetNoDataValue) rather than through metadata lists. */
struct MSICGeoreferencing
{
    bool bGeoTransformValid = false;
    double adfGeoTransform[6] = {0, 1, 0, 0, 0, 1};
    OGRSpatialReference oSRS{};
    bool bHasNoData = false;
    double dfNoData = 0;

    /* Per band (index 0 = band 1), as the file recorded them. */
    struct Band
    {
        bool bHasScale = false, bHasOffset = false;
        double dfScale = 1, dfOffset = 0;
        std::string osUnit{};
        bool bHasColorInterp = false;
        GDALColorInterp eColorInterp = GCI_Undefined;
        std::unique_ptr<GDALColorTable> poColorTable{};
        std::unique_ptr<GDALRasterAttributeTable> poRAT{};
    };
    std::vector<Band> aoBands{};

    /* Ground control points (their strings owned here) and their CRS. */
    std::vector<GDAL_GCP> asGCPs{};
    OGRSpatialReference oGCPSRS{};

    MSICGeoreferencing()
    {
        oSRS.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        oGCPSRS.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    }
    ~MSICGeoreferencing()
    {
        if (!asGCPs.empty())
            GDALDeinitGCPs(static_cast<int>(asGCPs.size()), asGCPs.data());
    }
    MSICGeoreferencing(const MSICGeoreferencing &) = delete;
    MSICGeoreferencing &operator=(const MSICGeoreferencing &) = delete;
};

/* Reads the boxes of an open file: the georeferencing into sGeo, the rest
 * into poDS (whose bands must exist) through the GDALDataset setters, not
 * PAM's, so that opening a file never marks it for a .aux.xml. A box that
 * does not parse is skipped with a warning. */
void MSICReadMetadataBoxes(const msic_reader *poReader, GDALDataset *poDS,
                           MSICGeoreferencing &sGeo);

/* Adds a box for everything of poSrcDS that has one; the bands' color
 * interpretation only with bExactCoding (learned files are grey or RGB by
 * their band count). False after a CPLError. */
bool MSICAddMetadataBoxes(msic_writer *poWriter, GDALDataset *poSrcDS,
                          bool bExactCoding);

/* The ROLE box: alpha for the bands whose colour interpretation says so,
 * and a mask after poSrcDS's bands when bMaskBand; no box when every band
 * is data. False after a CPLError. */
bool MSICAddBandRoles(msic_writer *poWriter, GDALDataset *poSrcDS,
                      bool bMaskBand);

/* Whether the file's last band is a mask (its ROLE box says so). */
bool MSICFileHasMaskBand(const msic_reader *poReader, int nFileBands);

#endif /* MSICMETADATA_H */
