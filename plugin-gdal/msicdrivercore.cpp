/*
 * GDAL raster driver for MSIC: Identify, the driver's metadata and option
 * lists, and GDALRegister_MSIC(), the entry point GDAL calls when it loads
 * gdal_MSIC.so from its plugin directory (or GDAL_DRIVER_PATH).
 */

#include "msicdrivercore.h"

#include "msicdataset.h"

#include "cpl_error.h"
#include "cpl_multiproc.h"
#include "cpl_string.h"

#include <algorithm>
#include <cstdlib>

#ifndef MSIC_GDAL_HELPTOPIC
#define MSIC_GDAL_HELPTOPIC "plugin-gdal/README.md"
#endif

/************************************************************************/
/*                       MSICDriverIdentify()                           */
/************************************************************************/

int MSICDriverIdentify(GDALOpenInfo *poOpenInfo)
{
    if (poOpenInfo->fpL == nullptr || poOpenInfo->nHeaderBytes < 8)
        return FALSE;
    return msic_identify(poOpenInfo->pabyHeader,
                         static_cast<size_t>(poOpenInfo->nHeaderBytes)) != 0;
}

/************************************************************************/
/*                   MSICLastError(), MSICErrorMessage()                */
/************************************************************************/

const char *MSICLastError(msic_status eStatus)
{
    const char *pszMsg = msic_last_error();
    return (pszMsg && pszMsg[0]) ? pszMsg : msic_status_name(eStatus);
}

std::string MSICErrorMessage(const char *pszWhat, msic_status eStatus)
{
    std::string osMsg(pszWhat);
    osMsg += ": ";
    osMsg += MSICLastError(eStatus);
    return osMsg;
}

/************************************************************************/
/*                           MSICLoadModel()                            */
/************************************************************************/

bool MSICLoadModel(const char *pszModel, msic_context **ppoContext)
{
    if (pszModel == nullptr || pszModel[0] == '\0')
        return true;
    const msic_status eStatus = msic_context_new(pszModel, ppoContext);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_OpenFailed, "%s",
                 MSICErrorMessage(
                     CPLSPrintf("MSIC: cannot load the model %s", pszModel),
                     eStatus)
                     .c_str());
        return false;
    }
    return true;
}

/************************************************************************/
/*                    MSICDataType(), MSICSampleFormat()                */
/************************************************************************/

GDALDataType MSICDataType(const msic_image_info &sImage)
{
    const bool bSigned = sImage.sample_format == MSIC_SAMPLE_SIGNED;
    if (sImage.sample_format == MSIC_SAMPLE_FLOAT)
        return sImage.bit_depth == 32 ? GDT_Float32 : GDT_Unknown;
    switch (sImage.bit_depth)
    {
        case 8:
            return GDT_Byte;
        case 16:
            return bSigned ? GDT_Int16 : GDT_UInt16;
        case 32:
            return bSigned ? GDT_Int32 : GDT_UInt32;
        default:
            return GDT_Unknown;
    }
}

bool MSICSampleFormat(GDALDataType eType, bool bSigned8,
                      msic_image_info &sImage)
{
    switch (eType)
    {
        case GDT_Byte:
            sImage.bit_depth = 8;
            sImage.sample_format =
                bSigned8 ? MSIC_SAMPLE_SIGNED : MSIC_SAMPLE_UNSIGNED;
            return true;
        case GDT_UInt16:
        case GDT_Int16:
            sImage.bit_depth = 16;
            break;
        case GDT_UInt32:
        case GDT_Int32:
            sImage.bit_depth = 32;
            break;
        case GDT_Float32:
            sImage.bit_depth = 32;
            sImage.sample_format = MSIC_SAMPLE_FLOAT;
            return true;
        default:
            return false;
    }
    sImage.sample_format = (eType == GDT_Int16 || eType == GDT_Int32)
                               ? MSIC_SAMPLE_SIGNED
                               : MSIC_SAMPLE_UNSIGNED;
    return true;
}

/************************************************************************/
/*                      MSICParseThreadCount()                          */
/************************************************************************/

int MSICParseThreadCount(const char *pszValue, const char *pszOptionName)
{
    if (pszValue == nullptr || pszValue[0] == '\0')
        return 0;
    if (EQUAL(pszValue, "ALL_CPUS"))
        return std::max(1, CPLGetNumCPUs());
    char *pszEnd = nullptr;
    const long nVal = std::strtol(pszValue, &pszEnd, 10);
    if (pszEnd == pszValue || *pszEnd != '\0' || nVal < 1 || nVal > 1024)
    {
        CPLError(CE_Warning, CPLE_IllegalArg,
                 "%s=%s is not a positive integer or ALL_CPUS; ignored",
                 pszOptionName, pszValue);
        return 0;
    }
    return static_cast<int>(nVal);
}

/************************************************************************/
/*                      MSICDriverSetCommonMetadata()                   */
/************************************************************************/

namespace
{

/* Ranges and defaults come from msic.h, so that the list cannot disagree
 * with what libmsic accepts. */
std::string CreationOptionList()
{
    std::string osList = "<CreationOptionList>";
    osList += CPLSPrintf(
        "   <Option name='QUALITY' type='float' min='%g' max='%g' "
        "default='%g' description='Quality, 0 (smallest file) to 100 (best "
        "image), read like JPEG quality: smaller than a JPEG at the same "
        "quality and about as good'/>",
        MSIC_QUALITY_MIN, MSIC_QUALITY_MAX, MSIC_QUALITY_DEFAULT);
    osList += "   <Option name='LOSSLESS' type='boolean' default='NO' "
              "description='Every sample exact (any band count and data "
              "type; QUALITY is not used)'/>"
              "   <Option name='MAX_Z_ERROR' type='float' min='0' "
              "description='Every sample within this of the original, as "
              "LERC: any band count and data type; integer data uses the "
              "whole part (below 1: exact). Nodata stays exact'/>"
              "   <Option name='NBITS' type='int' min='1' max='32' "
              "description='Bits a sample may use (12 for a 12-bit "
              "sensor in UInt16); default: the NBITS of the source band, else "
              "the size of the data type'/>";
    osList += "   <Option name='PIXELTYPE' type='string-select' "
              "description='SIGNEDBYTE for signed 8-bit data (default: as the "
              "source band)'>"
              "       <Value>DEFAULT</Value>"
              "       <Value>SIGNEDBYTE</Value>"
              "   </Option>";
    osList += CPLSPrintf(
        "   <Option name='TILE_SIZE' type='int' min='%d' max='%d' "
        "description='Width and height of the tiles, a multiple of %d; they "
        "are also the block size when reading. Default: %d, or one %d-px "
        "tile for an image of %d to %d px on its longer side'/>",
        MSIC_TILE_SIZE_MIN, MSIC_TILE_SIZE_MAX, MSIC_TILE_SIZE_STEP,
        MSIC_TILE_SIZE_DEFAULT, MSIC_TILE_SIZE_SINGLE_MAX,
        MSIC_TILE_SIZE_DEFAULT + 1, MSIC_TILE_SIZE_SINGLE_MAX);
    osList += CPLSPrintf(
        "   <Option name='EFFORT' type='int' min='1' max='%d' default='%d' "
        "description='Encoder effort of the learned coding: 1 fastest, 2 "
        "each latent step chosen for rate and distortion and finer steps "
        "where tiles meet, 3 a lower error still at tile borders, 4 as 2 "
        "with latents moved by gradients before coding (slow: archives), "
        "5 as 4 with 3.3x the steps (slower, fewer bits still)'/>",
        MSIC_EFFORT_MAX, MSIC_EFFORT_DEFAULT);
    osList += CPLSPrintf(
        "   <Option name='OVERVIEWS' type='int' min='0' max='20' "
        "default='%d' description='Internal overviews: the first at 1/2^n of "
        "the raster, then each half the one before, down to one tile; 0: "
        "none'/>",
        MSIC_OVERVIEWS_DEFAULT);
    osList += "   <Option name='OVERVIEW_RESAMPLING' type='string-select' "
              "description='How each overview pixel is made from 2 x 2: "
              "AVERAGE of the valid ones (default), or NEAREST (the "
              "default for palette and class rasters)'>"
              "       <Value>AVERAGE</Value>"
              "       <Value>NEAREST</Value>"
              "   </Option>";
    osList += "   <Option name='NUM_THREADS' type='string' "
              "description='Number of encoding threads, or ALL_CPUS. Defaults "
              "to the GDAL_NUM_THREADS configuration option, else the library "
              "default (all cores)'/>"
              "   <Option name='MODEL' type='string' "
              "description='Path of a model file to encode with instead of "
              "the model built into libmsic (readers then need the same "
              "model)'/>"
              "</CreationOptionList>";
    return osList;
}

constexpr const char *kOpenOptionList =
    "<OpenOptionList>"
    "   <Option name='NUM_THREADS' type='string' "
    "description='Number of threads decoding the tiles of a multi-tile "
    "read, or ALL_CPUS. Defaults to the GDAL_NUM_THREADS configuration "
    "option, else ALL_CPUS' default='ALL_CPUS'/>"
    "   <Option name='MODEL' type='string' "
    "description='Path of the model file the image was encoded with, "
    "when libmsic does not find it by its hash (the built-in model, the "
    "folders of MSIC_MODEL_PATH, the installed models)'/>"
    "</OpenOptionList>";

}  // namespace

void MSICDriverSetCommonMetadata(GDALDriver *poDriver)
{
    poDriver->SetDescription(MSIC_DRIVER_NAME);
    poDriver->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
    poDriver->SetMetadataItem(
        GDAL_DMD_LONGNAME,
        "MSIC learned image codec (tiled; lossy, lossless or bounded error)");
    poDriver->SetMetadataItem(GDAL_DMD_HELPTOPIC, MSIC_GDAL_HELPTOPIC);
    poDriver->SetMetadataItem(GDAL_DMD_EXTENSION, "msic");
    poDriver->SetMetadataItem(GDAL_DMD_MIMETYPE, "image/x-msic");
    poDriver->SetMetadataItem(GDAL_DMD_CREATIONDATATYPES,
                              "Byte UInt16 Int16 UInt32 Int32 Float32");
    poDriver->SetMetadataItem(GDAL_DCAP_VIRTUALIO, "YES");
    poDriver->SetMetadataItem(GDAL_DCAP_OPEN, "YES");
    poDriver->SetMetadataItem(GDAL_DCAP_CREATECOPY, "YES");
    poDriver->SetMetadataItem(GDAL_DCAP_CREATE, "YES");
    poDriver->SetMetadataItem("LIBMSIC_VERSION", msic_version_string());

    poDriver->SetMetadataItem(GDAL_DMD_CREATIONOPTIONLIST,
                              CreationOptionList().c_str());
    poDriver->SetMetadataItem(GDAL_DMD_OPENOPTIONLIST, kOpenOptionList);

    poDriver->pfnIdentify = MSICDriverIdentify;
}

/************************************************************************/
/*                          GDALRegister_MSIC()                         */
/************************************************************************/

extern "C" __attribute__((visibility("default"))) void GDALRegister_MSIC();

void GDALRegister_MSIC()
{
    if (!GDAL_CHECK_VERSION("MSIC driver"))
        return;
    if (GDALGetDriverByName(MSIC_DRIVER_NAME) != nullptr)
        return;

    auto *poDriver = new GDALDriver();
    MSICDriverSetCommonMetadata(poDriver);
    poDriver->pfnOpen = MSICDataset::Open;
    poDriver->pfnCreateCopy = MSICDataset::CreateCopy;
    poDriver->pfnCreate = MSICDataset::Create;

    GetGDALDriverManager()->RegisterDriver(poDriver);
}
