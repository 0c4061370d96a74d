/*
 * GDAL raster driver for MSIC: what CreateCopy and Create share (see
 * msicwriting.h).
 */

#include "msicwriting.h"

#include "cpl_conv.h"

#include <cmath>
#include <cstdlib>

void MSICReportCancelled()
{
    CPLError(CE_Failure, CPLE_UserInterrupt, "User terminated the write");
}

bool MSICChooseCoding(GDALDataType eType, const char *pszPixelType,
                      CSLConstList papszOptions, MSICCoding &sCoding)
{
    sCoding.eType = eType;
    sCoding.bSigned8 = eType == GDT_Byte && pszPixelType != nullptr &&
                       EQUAL(pszPixelType, "SIGNEDBYTE");
    const bool bLossless = CPLFetchBool(papszOptions, "LOSSLESS", false);
    const char *pszMaxError = CSLFetchNameValue(papszOptions, "MAX_Z_ERROR");
    if (pszMaxError != nullptr)
    {
        char *pszEnd = nullptr;
        const double dfValue = CPLStrtod(pszMaxError, &pszEnd);
        if (pszEnd == pszMaxError || *pszEnd != '\0' || !(dfValue >= 0) ||
            !std::isfinite(dfValue))
        {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "MSIC: MAX_Z_ERROR=%s is not a number >= 0", pszMaxError);
            return false;
        }
        if (bLossless && dfValue > 0)
        {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "MSIC: LOSSLESS=YES and MAX_Z_ERROR=%s exclude each other",
                     pszMaxError);
            return false;
        }
        sCoding.dfMaxError = GDALDataTypeIsFloating(sCoding.eType)
                                 ? dfValue
                                 : std::floor(dfValue);
    }
    sCoding.bExact = bLossless || pszMaxError != nullptr;
    if (sCoding.bExact &&
        CSLFetchNameValue(papszOptions, "QUALITY") != nullptr)
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC: QUALITY is not used with LOSSLESS or MAX_Z_ERROR");
    return true;
}

bool MSICCheckLayout(int nBands, const MSICCoding &sCoding)
{
    msic_image_info sProbe{};
    if (nBands < 1 ||
        (sCoding.bExact ? nBands > static_cast<int>(MSIC_MAX_BANDS)
                        : (nBands != 1 && nBands != 3)))
    {
        if (sCoding.bExact)
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC stores 1 to %u bands; the raster has %d",
                     MSIC_MAX_BANDS, nBands);
        else
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC's learned (lossy) coding takes 1 band (grey) or 3 "
                     "bands (RGB) of Byte data; the raster has %d band(s). "
                     "Use -co LOSSLESS=YES or -co MAX_Z_ERROR=<e> for any "
                     "band count, or select bands with -b",
                     nBands);
        return false;
    }
    if (!MSICSampleFormat(sCoding.eType, sCoding.bSigned8, sProbe) ||
        (!sCoding.bExact && (sCoding.eType != GDT_Byte || sCoding.bSigned8)))
    {
        if (sCoding.bExact)
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC stores Byte, UInt16, Int16, UInt32, Int32 and "
                     "Float32 data, not %s. Convert with -ot",
                     GDALGetDataTypeName(sCoding.eType));
        else
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC's learned (lossy) coding takes Byte data; the data is %s. Use -co LOSSLESS=YES or "
                     "-co MAX_Z_ERROR=<e> (any data type but 64-bit), or "
                     "convert with -ot Byte -scale",
                     GDALGetDataTypeName(sCoding.eType));
        return false;
    }
    return true;
}

/* Sets an option from the creation option pszName=pszValue. libmsic checks
 * the range and says what it accepts; the driver only parses the number.
 * False after a CPLError. */
static bool SetEncoderOption(msic_encoder_settings *psSettings,
                      msic_encoder_option eOption, const char *pszName,
                      const char *pszValue)
{
    char *pszEnd = nullptr;
    const double dfValue = CPLStrtod(pszValue, &pszEnd);
    if (pszEnd == pszValue || *pszEnd != '\0')
    {
        CPLError(CE_Failure, CPLE_IllegalArg, "MSIC: %s=%s is not a number",
                 pszName, pszValue);
        return false;
    }
    const msic_status eStatus =
        msic_encoder_settings_set(psSettings, eOption, dfValue);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_IllegalArg, "%s",
                 MSICErrorMessage(CPLSPrintf("MSIC: %s=%s", pszName, pszValue),
                                  eStatus)
                     .c_str());
        return false;
    }
    return true;
}

MSICEncoderSettingsPtr MSICMakeEncoderSettings(CSLConstList papszOptions,
                                               const MSICCoding &sCoding)
{
    msic_encoder_settings *psSettings = nullptr;
    const msic_status eStatus = msic_encoder_settings_new(&psSettings);
    MSICEncoderSettingsPtr poSettings(psSettings);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_AppDefined, "%s",
                 MSICErrorMessage("MSIC: encoder settings", eStatus).c_str());
        return nullptr;
    }

    if (sCoding.bExact &&
        msic_encoder_settings_set(psSettings,
                                  sCoding.dfMaxError > 0 ? MSIC_ENCODER_MAX_ERROR
                                                         : MSIC_ENCODER_LOSSLESS,
                                  sCoding.dfMaxError > 0 ? sCoding.dfMaxError
                                                         : 1) != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_IllegalArg, "%s",
                 MSICErrorMessage("MSIC: LOSSLESS / MAX_Z_ERROR",
                                  msic_last_status())
                     .c_str());
        return nullptr;
    }
    const char *pszQuality = CSLFetchNameValue(papszOptions, "QUALITY");
    if (pszQuality != nullptr &&
        !SetEncoderOption(psSettings, MSIC_ENCODER_QUALITY, "QUALITY",
                          pszQuality))
        return nullptr;
    const char *pszTile = CSLFetchNameValue(papszOptions, "TILE_SIZE");
    if (pszTile != nullptr &&
        !SetEncoderOption(psSettings, MSIC_ENCODER_TILE_SIZE, "TILE_SIZE",
                          pszTile))
        return nullptr;

    const char *pszEffort = CSLFetchNameValue(papszOptions, "EFFORT");
    if (pszEffort != nullptr &&
        !SetEncoderOption(psSettings, MSIC_ENCODER_EFFORT, "EFFORT", pszEffort))
        return nullptr;

    const char *pszOverviews = CSLFetchNameValue(papszOptions, "OVERVIEWS");
    if (pszOverviews != nullptr &&
        !SetEncoderOption(psSettings, MSIC_ENCODER_OVERVIEWS, "OVERVIEWS",
                          pszOverviews))
        return nullptr;
    const char *pszResampling =
        CSLFetchNameValue(papszOptions, "OVERVIEW_RESAMPLING");
    bool bNearest = sCoding.bClassCodes;
    if (pszResampling != nullptr)
    {
        if (!EQUAL(pszResampling, "NEAREST") && !EQUAL(pszResampling, "AVERAGE"))
        {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "MSIC: OVERVIEW_RESAMPLING=%s: AVERAGE or NEAREST",
                     pszResampling);
            return nullptr;
        }
        bNearest = EQUAL(pszResampling, "NEAREST");
    }
    if (!SetEncoderOption(psSettings, MSIC_ENCODER_OVERVIEW_NEAREST,
                          "OVERVIEW_RESAMPLING", bNearest ? "1" : "0"))
        return nullptr;

    const char *pszThreads = CSLFetchNameValue(papszOptions, "NUM_THREADS");
    int nThreads = MSICParseThreadCount(pszThreads, "NUM_THREADS");
    if (nThreads == 0 && pszThreads == nullptr)
        nThreads = MSICParseThreadCount(
            CPLGetConfigOption("GDAL_NUM_THREADS", nullptr),
            "GDAL_NUM_THREADS");
    if (nThreads > 0 &&
        !SetEncoderOption(psSettings, MSIC_ENCODER_THREADS, "NUM_THREADS",
                          CPLSPrintf("%d", nThreads)))
        return nullptr;
    return poSettings;
}

msic_image_info MSICImageInfo(int nXSize, int nYSize, int nBands,
                              const MSICCoding &sCoding,
                              CSLConstList papszOptions,
                              const char *pszSourceNBits)
{
    /* libmsic checks the dimensions against the format's limits. */
    msic_image_info sImage{};
    sImage.width = static_cast<uint32_t>(nXSize);
    sImage.height = static_cast<uint32_t>(nYSize);
    sImage.bands = static_cast<uint32_t>(nBands);
    MSICSampleFormat(sCoding.eType, sCoding.bSigned8, sImage);
    /* A 12-bit sensor in UInt16: NBITS, as GTiff records it. */
    const char *pszNBits = CSLFetchNameValue(papszOptions, "NBITS");
    if (pszNBits == nullptr && sCoding.bExact)
        pszNBits = pszSourceNBits;
    if (pszNBits != nullptr && sImage.sample_format != MSIC_SAMPLE_FLOAT)
        sImage.valid_bits = static_cast<uint32_t>(atoi(pszNBits));
    return sImage;
}

bool MSICMaskFits(const msic_image_info &sImage)
{
    const uint32_t nBits =
        sImage.valid_bits ? sImage.valid_bits : sImage.bit_depth;
    return sImage.sample_format == MSIC_SAMPLE_FLOAT ||
           nBits >= (sImage.sample_format == MSIC_SAMPLE_SIGNED ? 9u : 8u);
}

int MSICVSIWriteAll(void *pUser, const void *pData, size_t nSize)
{
    auto *psTarget = static_cast<MSICVSIWriteTarget *>(pUser);
    if (psTarget->fp == nullptr)
    {
        if (psTarget->bCreated || psTarget->bOpenFailed)
            return 1;
        psTarget->fp = VSIFOpenL(psTarget->osPath.c_str(), "wb");
        if (psTarget->fp == nullptr)
        {
            psTarget->bOpenFailed = true;
            return 1;
        }
        psTarget->bCreated = true;
    }
    return VSIFWriteL(pData, 1, nSize, psTarget->fp) == nSize ? 0 : 1;
}

