/*
 * GDAL raster driver for MSIC: the driver's identity (name, Identify,
 * capabilities and option lists, as GDAL's own *drivercore files) and the
 * helpers that reading and writing share.
 */
#ifndef MSICDRIVERCORE_H
#define MSICDRIVERCORE_H

#include "gdal_priv.h"

#include <msic/msic.h>

#include <string>

constexpr const char *MSIC_DRIVER_NAME = "MSIC";

/* By the file's magic only: a GeoTIFF named .msic is not ours, an MSIC file
 * named .tif is. */
int MSICDriverIdentify(GDALOpenInfo *poOpenInfo);

/* Description, capabilities, option lists and Identify: everything but the
 * Open and CreateCopy entry points. */
void MSICDriverSetCommonMetadata(GDALDriver *poDriver);

/* libmsic's message for a failed call; the status name when it left none. */
const char *MSICLastError(msic_status eStatus);

/* "pszWhat: <MSICLastError()>". */
std::string MSICErrorMessage(const char *pszWhat, msic_status eStatus);

/* Loads the model a MODEL option names into *ppoContext; an unset or empty
 * option leaves it nullptr, libmsic's default model. False after a
 * CPLError. */
bool MSICLoadModel(const char *pszModel, msic_context **ppoContext);

/* The GDAL data type of an MSIC image's samples (signed 8-bit: Byte, with
 * PIXELTYPE=SIGNEDBYTE, GDAL 3.6's way); GDT_Unknown if GDAL has none. */
GDALDataType MSICDataType(const msic_image_info &sImage);

/* Sets sImage's bit_depth and sample_format for a GDAL band type; bSigned8
 * for a Byte band with PIXELTYPE=SIGNEDBYTE. False for the types MSIC does
 * not hold (Float64, complex, 64-bit integers). */
bool MSICSampleFormat(GDALDataType eType, bool bSigned8, msic_image_info &sImage);

/* A NUM_THREADS-style value: "ALL_CPUS" or a positive integer. 0 when unset
 * or not usable (after a warning naming pszOptionName). */
int MSICParseThreadCount(const char *pszValue, const char *pszOptionName);

#endif /* MSICDRIVERCORE_H */
