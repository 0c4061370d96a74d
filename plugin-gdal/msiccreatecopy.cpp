/*
 * GDAL raster driver for MSIC: CreateCopy (the codec codes whole tile rows
 * in one pass, top to bottom). The source is read one tile row at a time,
 * so memory stays bounded whatever the raster size, and a failed or
 * cancelled copy leaves no file behind. A mask of the source's own goes in
 * as one more band (the ROLE box says so), which the reader hides again.
 */

#include "msicdataset.h"

#include "msicdrivercore.h"
#include "msicmetadata.h"
#include "msicwriting.h"

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

/* Whether the source has a mask of its own (an internal GTiff mask, a
 * .msk), shared by all bands: it travels as one more band, coded exactly.
 * No: every pixel valid, a nodata value, or an alpha band (copied as a
 * band). Masks that differ per band cannot be stored: -1 after a CPLError. */
int SourceMaskBand(GDALDataset *poSrcDS)
{
    const int nFlags = poSrcDS->GetRasterBand(1)->GetMaskFlags();
    if (nFlags & (GMF_ALL_VALID | GMF_NODATA))
        return 0;
    if (nFlags & GMF_ALPHA)
        for (int iBand = 1; iBand <= poSrcDS->GetRasterCount(); ++iBand)
            if (poSrcDS->GetRasterBand(iBand)->GetColorInterpretation() ==
                GCI_AlphaBand)
                return 0;
    if (nFlags & GMF_PER_DATASET)
        return 1;
    CPLError(CE_Failure, CPLE_NotSupported,
             "the source's bands have masks of their own, which MSIC cannot "
             "store (it keeps one mask for all bands): their masked-out "
             "pixels would read back as valid data. Drop them explicitly "
             "with -mask none, or burn them in as nodata first");
    return -1;
}

/* Refuses what MSIC cannot store, and what lossy coding would change the
 * meaning of; warns, naming it, about what is dropped or only approximated.
 * Strict or not: GDAL's default is non-strict, and a palette's class codes
 * changed without a word are worse than no file. nMaskBands: what
 * SourceMaskBand said. False after a CPLError. */
bool CheckSource(GDALDataset *poSrcDS, const MSICCoding &sCoding,
                 int nMaskBands, const msic_image_info &sImage)
{
    const int nBands = poSrcDS->GetRasterCount();
    if (nMaskBands > 0 && !sCoding.bExact)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "the source has a mask band, which the learned (lossy) "
                 "coding cannot keep: its masked-out pixels would read back "
                 "as valid data. -co LOSSLESS=YES or MAX_Z_ERROR keep it "
                 "exactly; or drop it explicitly with -mask none, or burn it "
                 "in as nodata first");
        return false;
    }
    if (!MSICCheckLayout(nBands + nMaskBands, sCoding))
        return false;
    /* Palette indices and classes are codes, not levels: lossy coding
     * would turn them into other codes (51% of a land-cover raster's were).
     * The exact coding keeps them, with the colour table and RAT. */
    for (int iBand = 1; iBand <= nBands && !sCoding.bExact; ++iBand)
    {
        GDALRasterBand *poBand = poSrcDS->GetRasterBand(iBand);
        if (poBand->GetColorTable() != nullptr ||
            poBand->GetColorInterpretation() == GCI_PaletteIndex ||
            poBand->GetDefaultRAT() != nullptr)
        {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "band %d holds class codes or palette indices (it has a "
                     "colour table or a raster attribute table), which the "
                     "learned (lossy) coding would change into other codes. "
                     "Use -co LOSSLESS=YES, which keeps them and their "
                     "tables, or -expand rgb",
                     iBand);
            return false;
        }
    }
    if (nMaskBands > 0 && !MSICMaskFits(sImage))
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "the source has a mask band, whose values (0 .. 255) MSIC "
                 "stores as one more band of the data's type, but %s samples "
                 "cannot hold 255. Convert with -ot, drop the mask with "
                 "-mask none, or burn it in as nodata first",
                 sCoding.bSigned8
                     ? "signed 8-bit"
                     : CPLSPrintf("%u-bit", static_cast<unsigned>(
                                                sImage.valid_bits
                                                    ? sImage.valid_bits
                                                    : sImage.bit_depth)));
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
    return true;
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
/*                               Pixels                                 */
/************************************************************************/

/* Feeds the source to the writer a tile row at a time (fewer rows if a tile
 * row of the source would take more than 64 MB), pixel interleaved, as
 * eType. False after a CPLError. */
bool WritePixels(GDALDataset *poSrcDS, int nMaskBands, MSICWriterGuard &oGuard,
                 int nTileSize, GDALDataType eType, ProgressState &sProgress)
{
    const int nXSize = poSrcDS->GetRasterXSize();
    const int nYSize = poSrcDS->GetRasterYSize();
    const int nBands = poSrcDS->GetRasterCount();
    const int nSampleBytes = GDALGetDataTypeSizeBytes(eType);
    const size_t nPixelBytes =
        static_cast<size_t>(nBands + nMaskBands) * nSampleBytes;
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
        if (nMaskBands > 0 &&
            poSrcDS->GetRasterBand(1)->GetMaskBand()->RasterIO(
                GF_Read, 0, nY, nXSize, nRows,
                abyRows.data() + static_cast<size_t>(nBands) * nSampleBytes,
                nXSize, nRows, eType, static_cast<GSpacing>(nPixelBytes),
                static_cast<GSpacing>(nLineBytes), &sExtraArg) != CE_None)
        {
            return false;
        }
        const msic_status eStatus = msic_writer_write_rows(
            oGuard.poWriter, abyRows.data(), nLineBytes,
            static_cast<uint32_t>(nRows));
        if (eStatus == MSIC_ERR_CANCELLED || sProgress.bCancelled)
        {
            MSICReportCancelled();
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
            MSICReportCancelled();
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
    if (poSrcDS->GetRasterCount() < 1)
    {
        CPLError(CE_Failure, CPLE_NotSupported, "MSIC: the source has no band");
        return nullptr;
    }
    GDALRasterBand *poBand1 = poSrcDS->GetRasterBand(1);
    const GDALDataType eType = poBand1->GetRasterDataType();
    for (int iBand = 2; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        const GDALDataType eOther =
            poSrcDS->GetRasterBand(iBand)->GetRasterDataType();
        if (eOther != eType)
        {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC stores one data type for all bands; band %d is "
                     "%s, band 1 %s. Convert with -ot",
                     iBand, GDALGetDataTypeName(eOther),
                     GDALGetDataTypeName(eType));
            return nullptr;
        }
    }
    /* PIXELTYPE=SIGNEDBYTE as an option (as GTiff takes it), else the
     * source band's. */
    const char *pszPixelType = CSLFetchNameValue(papszOptions, "PIXELTYPE");
    if (pszPixelType == nullptr)
        pszPixelType = poBand1->GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE");
    MSICCoding sCoding;
    if (!MSICChooseCoding(eType, pszPixelType, papszOptions, sCoding))
        return nullptr;
    const int nMaskBands = SourceMaskBand(poSrcDS);
    const msic_image_info sImage = MSICImageInfo(
        poSrcDS->GetRasterXSize(), poSrcDS->GetRasterYSize(),
        poSrcDS->GetRasterCount() + std::max(0, nMaskBands), sCoding,
        papszOptions, poBand1->GetMetadataItem("NBITS", "IMAGE_STRUCTURE"));
    if (nMaskBands < 0 || !CheckSource(poSrcDS, sCoding, nMaskBands, sImage))
        return nullptr;
    for (int iBand = 1; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        GDALRasterBand *poBand = poSrcDS->GetRasterBand(iBand);
        sCoding.bClassCodes |= poBand->GetColorTable() != nullptr ||
                               poBand->GetDefaultRAT() != nullptr;
    }
    MSICEncoderSettingsPtr poSettings =
        MSICMakeEncoderSettings(papszOptions, sCoding);
    if (!poSettings)
        return nullptr;

    /* Declared before the writer, which calls it until destroyed. */
    ProgressState sProgress;
    if (pfnProgress != nullptr)
        sProgress.pfnProgress = pfnProgress;
    sProgress.pProgressData = pProgressData;

    MSICWriterGuard oGuard;
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
        MSICReportCancelled();
        return nullptr;
    }

    if (!oGuard.Create(pszFilename, sImage, poSettings.get()) ||
        !MSICAddMetadataBoxes(oGuard.poWriter, poSrcDS, sCoding.bExact) ||
        (sCoding.bExact &&
         !MSICAddBandRoles(oGuard.poWriter, poSrcDS, nMaskBands > 0)))
        return nullptr;

    const int nTileSize =
        static_cast<int>(msic_writer_tile_size(oGuard.poWriter));
    if (!WritePixels(poSrcDS, nMaskBands, oGuard, nTileSize,
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

    /* A stream (/vsistdout/) cannot be read back: the caller gets a
     * stand-in of the right size, as GDAL's PNG driver does. */
    if (STARTS_WITH_CI(pszFilename, "/vsistdout"))
    {
        GDALDriver *poMem = GetGDALDriverManager()->GetDriverByName("MEM");
        return poMem ? poMem->Create("", poSrcDS->GetRasterXSize(),
                                     poSrcDS->GetRasterYSize(), 0, GDT_Byte,
                                     nullptr)
                     : nullptr;
    }
    GDALOpenInfo oOpenInfo(pszFilename, GA_ReadOnly);
    return Open(&oOpenInfo);
}
