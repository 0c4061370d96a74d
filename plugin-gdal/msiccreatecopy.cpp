/*
 * GDAL raster driver for MSIC: CreateCopy, the only way to write (the codec
 * codes whole tile rows in one pass, top to bottom). The source is read one
 * tile row at a time, so memory stays bounded whatever the raster size, and
 * a failed or cancelled copy leaves no file behind.
 */

#include "msicdataset.h"

#include "msicdrivercore.h"
#include "msicmetadata.h"

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "cpl_vsi.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace
{

void ReportCancelled()
{
    CPLError(CE_Failure, CPLE_UserInterrupt, "User terminated CreateCopy()");
}

/* How the file will be coded: the learned lossy coding, or the exact /
 * bounded-error coding (LOSSLESS, MAX_Z_ERROR), which takes any band count
 * and data type. */
struct Coding
{
    bool bExact = false;
    double dfMaxError = 0; /* 0: lossless */
    GDALDataType eType = GDT_Byte;
    bool bSigned8 = false; /* Byte with PIXELTYPE=SIGNEDBYTE */
};

/* LOSSLESS and MAX_Z_ERROR against the source's data type. MAX_Z_ERROR on
 * integers keeps its whole part, as LERC does (0.5: exact). False after a
 * CPLError. */
bool ChooseCoding(GDALDataset *poSrcDS, CSLConstList papszOptions,
                  Coding &sCoding)
{
    GDALRasterBand *poBand1 = poSrcDS->GetRasterBand(1);
    sCoding.eType = poBand1->GetRasterDataType();
    const char *pszPixelType =
        poBand1->GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE");
    sCoding.bSigned8 = sCoding.eType == GDT_Byte && pszPixelType != nullptr &&
                       EQUAL(pszPixelType, "SIGNEDBYTE");
    for (int iBand = 2; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        if (poSrcDS->GetRasterBand(iBand)->GetRasterDataType() != sCoding.eType)
        {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC stores one data type for all bands; band %d is "
                     "%s, band 1 %s. Convert with -ot",
                     iBand,
                     GDALGetDataTypeName(
                         poSrcDS->GetRasterBand(iBand)->GetRasterDataType()),
                     GDALGetDataTypeName(sCoding.eType));
            return false;
        }
    }
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

/* Refuses what MSIC cannot store, and what lossy coding would change the
 * meaning of; warns, naming it, about what is dropped or only approximated.
 * Strict or not: GDAL's default is non-strict, and a palette's class codes
 * changed without a word are worse than no file. False after a CPLError. */
bool CheckSource(GDALDataset *poSrcDS, const Coding &sCoding)
{
    const int nBands = poSrcDS->GetRasterCount();
    msic_image_info sProbe{};
    if (nBands < 1 ||
        (sCoding.bExact ? nBands > static_cast<int>(MSIC_MAX_BANDS)
                        : (nBands != 1 && nBands != 3)))
    {
        if (sCoding.bExact)
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC stores 1 to %u bands; the source has %d",
                     MSIC_MAX_BANDS, nBands);
        else
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC's learned (lossy) coding takes 1 band (grey) or 3 "
                     "bands (RGB) of Byte data; the source has %d band(s). "
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
                     "Float32 data; the source is %s. Convert with -ot",
                     GDALGetDataTypeName(sCoding.eType));
        else
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC's learned (lossy) coding takes Byte data; the "
                     "source is %s. Use -co LOSSLESS=YES or "
                     "-co MAX_Z_ERROR=<e> (any data type but 64-bit), or "
                     "convert with -ot Byte -scale",
                     GDALGetDataTypeName(sCoding.eType));
        return false;
    }
    for (int iBand = 1; iBand <= nBands; ++iBand)
    {
        GDALRasterBand *poBand = poSrcDS->GetRasterBand(iBand);
        /* Palette indices and classes are codes, not levels: lossy coding
         * would turn them into other codes (51% of a land-cover raster's
         * were), and MSIC has no box for a color table or RAT yet. */
        if (poBand->GetColorTable() != nullptr ||
            poBand->GetColorInterpretation() == GCI_PaletteIndex)
        {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC cannot store the color table of band %d%s. Use "
                     "-expand rgb, or a format that keeps color tables",
                     iBand,
                     sCoding.bExact ? ""
                                    : ", and its lossy coding would change "
                                      "the palette indices into other colors");
            return false;
        }
        if (poBand->GetDefaultRAT() != nullptr)
        {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "band %d has a raster attribute table, which MSIC cannot "
                     "store%s. Use a format that keeps it",
                     iBand,
                     sCoding.bExact ? ""
                                    : " (and its lossy coding would change "
                                      "the class codes)");
            return false;
        }
    }
    /* A mask of its own (an internal GTiff mask, a .msk) would be dropped:
     * the masked-out pixels would come back as valid data. */
    const int nMaskFlags = poSrcDS->GetRasterBand(1)->GetMaskFlags();
    if (!(nMaskFlags & (GMF_ALL_VALID | GMF_NODATA)))
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "the source has a mask band, which MSIC cannot store: its "
                 "masked-out pixels would read back as valid data. Drop it "
                 "explicitly with -mask none, or burn it in as nodata first");
        return false;
    }
    int bHasNoData = FALSE;
    poSrcDS->GetRasterBand(1)->GetNoDataValue(&bHasNoData);
    if (bHasNoData && !sCoding.bExact)
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC keeps the nodata value, but its lossy coding does not "
                 "keep the nodata pixels exact: some will read back as valid "
                 "values near the nodata value, and valid pixels near it may "
                 "read back as nodata (LOSSLESS=YES or MAX_Z_ERROR keep them)");
    if (poSrcDS->GetGCPCount() > 0)
        CPLError(CE_Warning, CPLE_NotSupported,
                 "MSIC cannot store ground control points: the %d GCPs are "
                 "not copied (warp with gdalwarp first to keep the "
                 "georeferencing)",
                 poSrcDS->GetGCPCount());
    return true;
}

/************************************************************************/
/*                          Creation options                            */
/************************************************************************/

struct EncoderSettingsDestroyer
{
    void operator()(msic_encoder_settings *psSettings) const
    {
        msic_encoder_settings_destroy(psSettings);
    }
};
using EncoderSettingsPtr =
    std::unique_ptr<msic_encoder_settings, EncoderSettingsDestroyer>;

/* Sets an option from the creation option pszName=pszValue. libmsic checks
 * the range and says what it accepts; the driver only parses the number.
 * False after a CPLError. */
bool SetEncoderOption(msic_encoder_settings *psSettings,
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

/* QUALITY (or the exact coding), TILE_SIZE and NUM_THREADS (else
 * GDAL_NUM_THREADS, else the library's default). nullptr after a CPLError. */
EncoderSettingsPtr MakeEncoderSettings(CSLConstList papszOptions,
                                       const Coding &sCoding)
{
    msic_encoder_settings *psSettings = nullptr;
    const msic_status eStatus = msic_encoder_settings_new(&psSettings);
    EncoderSettingsPtr poSettings(psSettings);
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

/************************************************************************/
/*                              Progress                                */
/************************************************************************/

/* Shared between CreateCopy and the library's progress callback. */
struct ProgressState
{
    GDALProgressFunc pfnProgress = GDALDummyProgress;
    void *pProgressData = nullptr;
    double dfLast = 0.0;
    bool bCancelled = false;
    std::mutex oMutex{};

    /* Reports the larger of what was reported and dfComplete; false once
     * the caller asked to stop. */
    bool Report(double dfComplete)
    {
        std::lock_guard<std::mutex> oLock(oMutex);
        if (bCancelled)
            return false;
        dfLast = std::max(dfLast, std::min(1.0, std::max(0.0, dfComplete)));
        if (!pfnProgress(dfLast, nullptr, pProgressData))
            bCancelled = true;
        return !bCancelled;
    }
};

int MsicProgress(void *pUser, double dfFraction)
{
    auto *psState = static_cast<ProgressState *>(pUser);
    return psState->Report(dfFraction) ? 0 : 1;
}

/************************************************************************/
/*                               Output                                 */
/************************************************************************/

/* Output through VSI for /vsi... targets. The file is opened at the first
 * write, so that a writer libmsic refuses (dimension limits) creates
 * nothing, nor truncates a file of that name. */
struct VSIWriteTarget
{
    std::string osPath{};
    VSILFILE *fp = nullptr;
    bool bCreated = false;
    bool bOpenFailed = false;
};

int VSIWriteAll(void *pUser, const void *pData, size_t nSize)
{
    auto *psTarget = static_cast<VSIWriteTarget *>(pUser);
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

/* Owns the model, the writer and whatever output it streams into; on
 * destruction without Commit() nothing of the output is left behind. */
class WriterGuard
{
  public:
    msic_context *poContext = nullptr; /* nullptr: the default model */
    msic_writer *poWriter = nullptr;

    WriterGuard() = default;
    WriterGuard(const WriterGuard &) = delete;
    WriterGuard &operator=(const WriterGuard &) = delete;

    ~WriterGuard()
    {
        Abort();
        if (poContext)
            msic_context_destroy(poContext);
    }

    /* libmsic's file writer (a temporary file renamed into place) for
     * plain paths, a stream through VSI for /vsi... ones. False after a
     * CPLError. */
    bool Create(const char *pszFilename, const msic_image_info &sImage,
                const msic_encoder_settings *psSettings)
    {
        m_osFinalPath = pszFilename;
        msic_status eStatus;
        if (STARTS_WITH_CI(pszFilename, "/vsi"))
        {
            /* /vsimem/ can rename: write a temporary name, move it into
             * place at the end. Other virtual file systems write the final
             * name, removed again on failure. */
            if (STARTS_WITH_CI(pszFilename, "/vsimem/"))
                m_sTarget.osPath = CPLSPrintf("%s.%p.tmp", pszFilename,
                                              static_cast<void *>(this));
            else
                m_sTarget.osPath = pszFilename;
            eStatus = msic_writer_new_stream(poContext, VSIWriteAll,
                                             &m_sTarget, &sImage, psSettings,
                                             &poWriter);
        }
        else
        {
            eStatus = msic_writer_new_file(poContext, pszFilename, &sImage,
                                           psSettings, &poWriter);
        }
        if (eStatus != MSIC_OK)
        {
            /* MSIC_ERR_LIMIT's message gives the size and the limits. */
            ReportError(eStatus == MSIC_ERR_LIMIT ? CPLE_NotSupported
                                                  : CPLE_OpenFailed,
                        CPLSPrintf("MSIC: cannot create %s", pszFilename),
                        eStatus);
            return false;
        }
        return true;
    }

    /* A failed libmsic call; when the VSI output could not be opened,
     * that is what the user needs to hear. */
    void ReportError(CPLErrorNum eErrorNum, const char *pszWhat,
                     msic_status eStatus) const
    {
        if (m_sTarget.bOpenFailed)
            CPLError(CE_Failure, CPLE_OpenFailed, "MSIC: cannot create %s",
                     m_osFinalPath.c_str());
        else
            CPLError(CE_Failure, eErrorNum, "%s",
                     MSICErrorMessage(pszWhat, eStatus).c_str());
    }

    void Abort()
    {
        if (poWriter)
        {
            msic_writer_destroy(poWriter); /* removes its temporary file */
            poWriter = nullptr;
        }
        if (m_sTarget.fp)
        {
            VSIFCloseL(m_sTarget.fp);
            m_sTarget.fp = nullptr;
        }
        if (m_sTarget.bCreated)
        {
            VSIUnlink(m_sTarget.osPath.c_str());
            m_sTarget.bCreated = false;
        }
    }

    /* Finishes the file and moves it into place. */
    bool Commit()
    {
        const msic_status eStatus = msic_writer_finish(poWriter);
        if (eStatus != MSIC_OK)
        {
            if (eStatus == MSIC_ERR_CANCELLED)
                ReportCancelled();
            else
                ReportError(CPLE_FileIO, "MSIC: finishing the file", eStatus);
            return false;
        }
        msic_writer_destroy(poWriter);
        poWriter = nullptr;
        if (m_sTarget.fp)
        {
            const bool bCloseOK = VSIFCloseL(m_sTarget.fp) == 0;
            m_sTarget.fp = nullptr;
            if (!bCloseOK)
            {
                CPLError(CE_Failure, CPLE_FileIO, "MSIC: cannot write %s",
                         m_sTarget.osPath.c_str());
                return false;
            }
        }
        if (m_sTarget.bCreated && m_sTarget.osPath != m_osFinalPath &&
            VSIRename(m_sTarget.osPath.c_str(), m_osFinalPath.c_str()) != 0)
        {
            CPLError(CE_Failure, CPLE_FileIO, "MSIC: cannot rename %s to %s",
                     m_sTarget.osPath.c_str(), m_osFinalPath.c_str());
            return false;
        }
        m_sTarget.bCreated = false; /* it is the output now: keep it */
        return true;
    }

  private:
    VSIWriteTarget m_sTarget{};
    std::string m_osFinalPath{};
};

/************************************************************************/
/*                               Pixels                                 */
/************************************************************************/

/* Feeds the source to the writer a tile row at a time (fewer rows if a tile
 * row of the source would take more than 64 MB), pixel interleaved, as
 * eType. False after a CPLError. */
bool WritePixels(GDALDataset *poSrcDS, WriterGuard &oGuard, int nTileSize,
                 GDALDataType eType, ProgressState &sProgress)
{
    const int nXSize = poSrcDS->GetRasterXSize();
    const int nYSize = poSrcDS->GetRasterYSize();
    const int nBands = poSrcDS->GetRasterCount();
    const int nSampleBytes = GDALGetDataTypeSizeBytes(eType);
    const size_t nPixelBytes = static_cast<size_t>(nBands) * nSampleBytes;
    const size_t nLineBytes = static_cast<size_t>(nXSize) * nPixelBytes;
    const size_t nMaxChunkBytes = 64 * 1024 * 1024;
    const int nChunkRows = static_cast<int>(std::max<size_t>(
        1, std::min<size_t>(static_cast<size_t>(nTileSize),
                            nMaxChunkBytes / nLineBytes)));
    std::vector<uint8_t> abyRows;
    try
    {
        abyRows.resize(nLineBytes * static_cast<size_t>(nChunkRows));
    }
    catch (const std::bad_alloc &)
    {
        CPLError(CE_Failure, CPLE_OutOfMemory,
                 "MSIC: cannot allocate %d rows of %d pixels", nChunkRows,
                 nXSize);
        return false;
    }

    GDALRasterIOExtraArg sExtraArg;
    INIT_RASTERIO_EXTRA_ARG(sExtraArg);
    for (int nY = 0; nY < nYSize; nY += nChunkRows)
    {
        const int nRows = std::min(nChunkRows, nYSize - nY);
        if (poSrcDS->RasterIO(GF_Read, 0, nY, nXSize, nRows, abyRows.data(),
                              nXSize, nRows, eType, nBands, nullptr,
                              static_cast<GSpacing>(nPixelBytes),
                              static_cast<GSpacing>(nLineBytes), nSampleBytes,
                              &sExtraArg) != CE_None)
        {
            return false; /* the source reported why */
        }
        const msic_status eStatus = msic_writer_write_rows(
            oGuard.poWriter, abyRows.data(), nLineBytes,
            static_cast<uint32_t>(nRows));
        if (eStatus == MSIC_ERR_CANCELLED || sProgress.bCancelled)
        {
            ReportCancelled();
            return false;
        }
        if (eStatus != MSIC_OK)
        {
            oGuard.ReportError(CPLE_AppDefined, "MSIC: encoding", eStatus);
            return false;
        }
        /* Tile rows are coded inside write_rows, so rows fed is also work
         * done; the library's own callback reports within a tile row. */
        if (!sProgress.Report(static_cast<double>(nY + nRows) / nYSize))
        {
            ReportCancelled();
            return false;
        }
    }
    return true;
}

}  // namespace

/************************************************************************/
/*                             CreateCopy()                             */
/************************************************************************/

GDALDataset *MSICDataset::CreateCopy(const char *pszFilename,
                                     GDALDataset *poSrcDS, int bStrict,
                                     char **papszOptions,
                                     GDALProgressFunc pfnProgress,
                                     void *pProgressData)
{
    (void)bStrict; /* CheckSource refuses the same in either mode */
    Coding sCoding;
    if (poSrcDS->GetRasterCount() < 1)
    {
        CPLError(CE_Failure, CPLE_NotSupported, "MSIC: the source has no band");
        return nullptr;
    }
    if (!ChooseCoding(poSrcDS, papszOptions, sCoding) ||
        !CheckSource(poSrcDS, sCoding))
        return nullptr;
    EncoderSettingsPtr poSettings = MakeEncoderSettings(papszOptions, sCoding);
    if (!poSettings)
        return nullptr;

    /* Declared before the writer, which calls it until destroyed. */
    ProgressState sProgress;
    if (pfnProgress != nullptr)
        sProgress.pfnProgress = pfnProgress;
    sProgress.pProgressData = pProgressData;

    WriterGuard oGuard;
    if (!MSICLoadModel(CSLFetchNameValue(papszOptions, "MODEL"),
                       &oGuard.poContext))
        return nullptr;

    const msic_status eStatus = msic_encoder_settings_set_progress(
        poSettings.get(), MsicProgress, &sProgress);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_AppDefined, "%s",
                 MSICErrorMessage("MSIC: progress callback", eStatus).c_str());
        return nullptr;
    }
    if (!sProgress.Report(0.0))
    {
        ReportCancelled();
        return nullptr;
    }

    /* libmsic checks the dimensions against the format's limits. */
    msic_image_info sImage{};
    sImage.width = static_cast<uint32_t>(poSrcDS->GetRasterXSize());
    sImage.height = static_cast<uint32_t>(poSrcDS->GetRasterYSize());
    sImage.bands = static_cast<uint32_t>(poSrcDS->GetRasterCount());
    MSICSampleFormat(sCoding.eType, sCoding.bSigned8, sImage);
    /* A 12-bit sensor in UInt16: NBITS, as GTiff records it. */
    const char *pszNBits = CSLFetchNameValue(papszOptions, "NBITS");
    if (pszNBits == nullptr && sCoding.bExact)
        pszNBits = poSrcDS->GetRasterBand(1)->GetMetadataItem(
            "NBITS", "IMAGE_STRUCTURE");
    if (pszNBits != nullptr && sImage.sample_format != MSIC_SAMPLE_FLOAT)
        sImage.valid_bits = static_cast<uint32_t>(atoi(pszNBits));
    if (!oGuard.Create(pszFilename, sImage, poSettings.get()) ||
        !MSICAddMetadataBoxes(oGuard.poWriter, poSrcDS, sCoding.bExact))
        return nullptr;

    double dfTileSize = MSIC_TILE_SIZE_DEFAULT;
    msic_encoder_settings_get(poSettings.get(), MSIC_ENCODER_TILE_SIZE,
                              &dfTileSize);
    if (!WritePixels(poSrcDS, oGuard, static_cast<int>(dfTileSize),
                     sCoding.eType, sProgress) ||
        !oGuard.Commit())
        return nullptr;

    if (!sProgress.Report(1.0))
    {
        /* Too late to cancel: the file is complete and stays. */
        CPLError(CE_Warning, CPLE_UserInterrupt,
                 "MSIC: cancellation requested after %s was written",
                 pszFilename);
    }

    GDALOpenInfo oOpenInfo(pszFilename, GA_ReadOnly);
    return Open(&oOpenInfo);
}
