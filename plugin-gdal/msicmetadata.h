/*
 * GDAL raster driver for MSIC: the mapping between GDAL's metadata and the
 * file's metadata boxes (formats/MSIC.md), both ways, in one place so that
 * what CreateCopy writes is what Open reads:
 *
 *   geotransform                      GEOT  6 float64 LE
 *   spatial reference                 CRSW  WKT (written as WKT2_2019)
 *   nodata (one for all bands)        NODT  1 float64 LE
 *   band descriptions                 BDSC  NUL-terminated strings
 *   metadata domains                  KVMD  domain, key, value triples
 *   xml:XMP                           XMP
 *   COLOR_PROFILE/SOURCE_ICC_PROFILE  ICCP  the profile's bytes
 */
#ifndef MSICMETADATA_H
#define MSICMETADATA_H

#include "gdal_priv.h"
#include "ogr_spatialref.h"

#include <msic/msic.h>

/* What the dataset answers through its own getters (GetGeoTransform,
 * GetSpatialRef, GetNoDataValue) rather than through metadata lists. */
struct MSICGeoreferencing
{
    bool bGeoTransformValid = false;
    double adfGeoTransform[6] = {0, 1, 0, 0, 0, 1};
    OGRSpatialReference oSRS{};
    bool bHasNoData = false;
    double dfNoData = 0;

    MSICGeoreferencing()
    {
        oSRS.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    }
};

/* Reads the boxes of an open file: the georeferencing into sGeo, the rest
 * into poDS (whose bands must exist) through the GDALDataset setters, not
 * PAM's, so that opening a file never marks it for a .aux.xml. A box that
 * does not parse is skipped with a warning. */
void MSICReadMetadataBoxes(const msic_reader *poReader, GDALDataset *poDS,
                           MSICGeoreferencing &sGeo);

/* Adds a box for everything of poSrcDS that has one. False after a
 * CPLError. */
bool MSICAddMetadataBoxes(msic_writer *poWriter, GDALDataset *poSrcDS);

#endif /* MSICMETADATA_H */
