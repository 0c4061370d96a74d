/*
 * GDAL raster driver for MSIC: Create(), for programs that write a raster
 * block by block (rasterio, rioxarray, gdal_rasterize ...). The codec codes
 * whole tile rows, top to bottom, so each block (a tile of one band) waits
 * in its tile row until every block of the row was written and a block of
 * a lower row was touched (GDAL's cache may hand over a block before all of
 * it is written); the row is then coded, and rows completed out of order
 * wait for the ones above. A coded row cannot change: writing into it again
 * fails, and the file is then not written at all (rather than wrong).
 *
 * Georeferencing, nodata and metadata set before the first row is coded go
 * into the file's boxes (they are kept in a 1 x 1 MEM dataset until then);
 * metadata set later goes to the .aux.xml side file (PAM), and a nodata
 * value set later is refused, because it shapes the coding. Closing codes
 * the rows left (blocks never written hold nodata, else 0) and moves the
 * file into place; a failure leaves nothing behind. CreateMaskBand
 * (GMF_PER_DATASET, exact codings, before any pixel) adds the mask as one
 * more band, as CreateCopy writes it.
 */

#include "msicdataset.h"

#include "msicdrivercore.h"
#include "msicmetadata.h"
#include "msicwriting.h"

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace
{

class MSICWriteBand;
class MSICWriteMaskBand;

class MSICWriteDataset final : public GDALPamDataset
{
    friend class MSICWriteBand;
    friend class MSICWriteMaskBand;

  public:
    MSICWriteDataset() = default;
    ~MSICWriteDataset() override;

    /* False after a CPLError. */
    bool Start(const char *pszFilename, int nXSize, int nYSize, int nBands,
               const MSICCoding &sCoding, CSLConstList papszOptions);

    void FlushCache(bool bAtClosing) override;
    CPLErr CreateMaskBand(int nFlags) override;

    CPLErr GetGeoTransform(double *padfTransform) override;
    CPLErr SetGeoTransform(double *padfTransform) override;
    const OGRSpatialReference *GetSpatialRef() const override;
    CPLErr SetSpatialRef(const OGRSpatialReference *poSRS) override;
    int GetGCPCount() override;
    const GDAL_GCP *GetGCPs() override;
    const OGRSpatialReference *GetGCPSpatialRef() const override;
    CPLErr SetGCPs(int nGCPCount, const GDAL_GCP *pasGCPList,
                   const OGRSpatialReference *poGCP_SRS) override;
    char **GetMetadata(const char *pszDomain = "") override;
    CPLErr SetMetadata(char **papszMetadata, const char *pszDomain = "") override;
    const char *GetMetadataItem(const char *pszName,
                                const char *pszDomain = "") override;
    CPLErr SetMetadataItem(const char *pszName, const char *pszValue,
                           const char *pszDomain = "") override;

  private:
    struct TileRow
    {
        std::vector<GByte> abyPixels{};  /* pixel interleaved, whole width */
        std::vector<bool> abWritten{};   /* per tile x band */
        size_t nWritten = 0;
    };

    MSICCoding m_sCoding{};
    std::string m_osFilename{};
    MSICEncoderSettingsPtr m_poSettings{};
    bool m_bResamplingGiven = false; /* OVERVIEW_RESAMPLING was a creation option */
    msic_image_info m_sImage{};
    MSICWriterGuard m_oGuard{};
    std::unique_ptr<GDALDataset> m_poShadow{}; /* metadata until coded */
    /* A per-dataset mask (CreateMaskBand): the file's last band. */
    std::unique_ptr<MSICWriteMaskBand> m_poMaskBand{};
    int m_nFileBands = 0; /* nBands, and the mask */
    int m_nTileSize = 0;
    int m_nTilesAcross = 0;
    int m_nTilesDown = 0;
    size_t m_nSampleBytes = 0;
    std::vector<GByte> m_abyFillPixel{}; /* nodata (else 0), every band */
    std::map<int, TileRow> m_oRows{};    /* tile rows not yet coded */
    int m_nNextRow = 0;                  /* the next row the writer takes */
    int m_nLastTouchedRow = -1;          /* the lowest tile row a block read or write reached */
    bool m_bRowsStarted = false;         /* a block was read or written */
    bool m_bBoxesAdded = false;
    bool m_bFailed = false;
    bool m_bDone = false;

    CPL_DISALLOW_COPY_ASSIGN(MSICWriteDataset)

    /* True while georeferencing and metadata still reach the file. */
    bool HeaderOpen() const
    {
        return !m_bBoxesAdded;
    }
    size_t PixelBytes() const
    {
        return m_nSampleBytes * static_cast<size_t>(m_nFileBands);
    }
    int RowHeight(int nTileY) const
    {
        return std::min(m_nTileSize, nRasterYSize - nTileY * m_nTileSize);
    }
    /* The pending row nTileY, made (filled with nodata) if needed; nullptr
     * after a CPLError if it is coded already or memory runs out. */
    TileRow *Row(int nTileY);
    /* Blocks of file band nFileBand (1-based; the mask is nBands + 1), in
     * the file's data type. */
    CPLErr WriteBlock(int nFileBand, int nTileX, int nTileY, const void *pData);
    CPLErr ReadBlock(int nFileBand, int nTileX, int nTileY, void *pData);
    /* Codes the rows from m_nNextRow that are complete; before closing,
     * only those above the lowest row touched (GDAL's cache may write a
     * block before all of it is written). */
    CPLErr CodeCompleteRows(bool bClosing = false);
    /* A new writer for sImage (nothing was coded yet): one more band, or
     * other settings. False after a CPLError; the dataset then fails. */
    bool RestartWriter(const msic_image_info &sImage);
    void Finish();
};

class MSICWriteBand final : public GDALPamRasterBand
{
  public:
    MSICWriteBand(MSICWriteDataset *poDSIn, int nBandIn, GDALDataType eType)
    {
        poDS = poDSIn;
        nBand = nBandIn;
        eDataType = eType;
        nBlockXSize = std::min(poDSIn->m_nTileSize, poDSIn->GetRasterXSize());
        nBlockYSize = std::min(poDSIn->m_nTileSize, poDSIn->GetRasterYSize());
    }

    CPLErr IReadBlock(int nBlockXOff, int nBlockYOff, void *pImage) override
    {
        return Owner()->ReadBlock(nBand, nBlockXOff, nBlockYOff, pImage);
    }
    CPLErr IWriteBlock(int nBlockXOff, int nBlockYOff, void *pImage) override
    {
        return Owner()->WriteBlock(nBand, nBlockXOff, nBlockYOff, pImage);
    }

    double GetNoDataValue(int *pbSuccess = nullptr) override
    {
        return Shadow()->GetNoDataValue(pbSuccess);
    }
    CPLErr SetNoDataValue(double dfNoData) override
    {
        if (!Owner()->HeaderOpen() || Owner()->m_bRowsStarted)
        {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC: the nodata value must be set before pixels are "
                     "written (it shapes the coding and fills what is never "
                     "written)");
            return CE_Failure;
        }
        /* One nodata value for all bands (the NODT box). */
        for (int iBand = 1; iBand <= Owner()->GetRasterCount(); ++iBand)
            Owner()->m_poShadow->GetRasterBand(iBand)->SetNoDataValue(dfNoData);
        return CE_None;
    }
    GDALColorInterp GetColorInterpretation() override
    {
        return Shadow()->GetColorInterpretation();
    }
    int GetMaskFlags() override;
    GDALRasterBand *GetMaskBand() override;
    CPLErr CreateMaskBand(int nFlags) override
    {
        return Owner()->CreateMaskBand(nFlags);
    }
    CPLErr SetColorInterpretation(GDALColorInterp eInterp) override
    {
        return Owner()->HeaderOpen()
                   ? Shadow()->SetColorInterpretation(eInterp)
                   : GDALPamRasterBand::SetColorInterpretation(eInterp);
    }
    double GetScale(int *pbSuccess = nullptr) override
    {
        return Shadow()->GetScale(pbSuccess);
    }
    CPLErr SetScale(double dfScale) override
    {
        Shadow()->SetScale(dfScale);
        return Owner()->HeaderOpen() ? CE_None
                                     : GDALPamRasterBand::SetScale(dfScale);
    }
    double GetOffset(int *pbSuccess = nullptr) override
    {
        return Shadow()->GetOffset(pbSuccess);
    }
    CPLErr SetOffset(double dfOffset) override
    {
        Shadow()->SetOffset(dfOffset);
        return Owner()->HeaderOpen() ? CE_None
                                     : GDALPamRasterBand::SetOffset(dfOffset);
    }
    const char *GetUnitType() override
    {
        return Shadow()->GetUnitType();
    }
    CPLErr SetUnitType(const char *pszUnit) override
    {
        Shadow()->SetUnitType(pszUnit);
        return Owner()->HeaderOpen() ? CE_None
                                     : GDALPamRasterBand::SetUnitType(pszUnit);
    }
    const char *GetDescription() const override
    {
        return const_cast<MSICWriteBand *>(this)->Shadow()->GetDescription();
    }
    void SetDescription(const char *pszDescription) override
    {
        Shadow()->SetDescription(pszDescription);
        if (!Owner()->HeaderOpen())
            GDALPamRasterBand::SetDescription(pszDescription);
    }
    GDALColorTable *GetColorTable() override
    {
        return Shadow()->GetColorTable();
    }
    CPLErr SetColorTable(GDALColorTable *poCT) override
    {
        Shadow()->SetColorTable(poCT);
        return Owner()->HeaderOpen() ? CE_None
                                     : GDALPamRasterBand::SetColorTable(poCT);
    }
    GDALRasterAttributeTable *GetDefaultRAT() override
    {
        return Shadow()->GetDefaultRAT();
    }
    CPLErr SetDefaultRAT(const GDALRasterAttributeTable *poRAT) override
    {
        Shadow()->SetDefaultRAT(poRAT);
        return Owner()->HeaderOpen() ? CE_None
                                     : GDALPamRasterBand::SetDefaultRAT(poRAT);
    }
    char **GetMetadata(const char *pszDomain = "") override
    {
        return Shadow()->GetMetadata(pszDomain);
    }
    CPLErr SetMetadata(char **papszMetadata, const char *pszDomain = "") override
    {
        Shadow()->SetMetadata(papszMetadata, pszDomain);
        return Owner()->HeaderOpen()
                   ? CE_None
                   : GDALPamRasterBand::SetMetadata(papszMetadata, pszDomain);
    }
    const char *GetMetadataItem(const char *pszName,
                                const char *pszDomain = "") override
    {
        return Shadow()->GetMetadataItem(pszName, pszDomain);
    }
    CPLErr SetMetadataItem(const char *pszName, const char *pszValue,
                           const char *pszDomain = "") override
    {
        Shadow()->SetMetadataItem(pszName, pszValue, pszDomain);
        return Owner()->HeaderOpen() ? CE_None
                                     : GDALPamRasterBand::SetMetadataItem(
                                           pszName, pszValue, pszDomain);
    }

  private:
    MSICWriteDataset *Owner()
    {
        return cpl::down_cast<MSICWriteDataset *>(poDS);
    }
    GDALRasterBand *Shadow()
    {
        return Owner()->m_poShadow->GetRasterBand(nBand);
    }
};

/* The mask CreateMaskBand(GMF_PER_DATASET) adds: GDAL's Byte blocks (0
 * masked out, else valid), kept as one more band of the file's type. */
class MSICWriteMaskBand final : public GDALRasterBand
{
  public:
    explicit MSICWriteMaskBand(MSICWriteDataset *poDSIn)
    {
        poDS = poDSIn;
        nBand = 0;
        eDataType = GDT_Byte;
        eAccess = GA_Update;
        nRasterXSize = poDSIn->GetRasterXSize();
        nRasterYSize = poDSIn->GetRasterYSize();
        nBlockXSize = std::min(poDSIn->m_nTileSize, nRasterXSize);
        nBlockYSize = std::min(poDSIn->m_nTileSize, nRasterYSize);
    }

    CPLErr IReadBlock(int nBlockXOff, int nBlockYOff, void *pImage) override
    {
        std::vector<GByte> abyTyped(BlockSamples() * Owner()->m_nSampleBytes);
        const CPLErr eErr = Owner()->ReadBlock(Owner()->m_nFileBands, nBlockXOff,
                                               nBlockYOff, abyTyped.data());
        if (eErr == CE_None)
            GDALCopyWords64(abyTyped.data(), Owner()->m_sCoding.eType,
                            static_cast<int>(Owner()->m_nSampleBytes), pImage,
                            GDT_Byte, 1, BlockSamples());
        return eErr;
    }
    CPLErr IWriteBlock(int nBlockXOff, int nBlockYOff, void *pImage) override
    {
        std::vector<GByte> abyTyped(BlockSamples() * Owner()->m_nSampleBytes);
        GDALCopyWords64(pImage, GDT_Byte, 1, abyTyped.data(),
                        Owner()->m_sCoding.eType,
                        static_cast<int>(Owner()->m_nSampleBytes),
                        BlockSamples());
        return Owner()->WriteBlock(Owner()->m_nFileBands, nBlockXOff,
                                   nBlockYOff, abyTyped.data());
    }
    int GetMaskFlags() override
    {
        return GMF_ALL_VALID;
    }

  private:
    MSICWriteDataset *Owner()
    {
        return cpl::down_cast<MSICWriteDataset *>(poDS);
    }
    GPtrDiff_t BlockSamples() const
    {
        return static_cast<GPtrDiff_t>(nBlockXSize) * nBlockYSize;
    }
};

int MSICWriteBand::GetMaskFlags()
{
    return Owner()->m_poMaskBand ? GMF_PER_DATASET
                                 : GDALPamRasterBand::GetMaskFlags();
}

GDALRasterBand *MSICWriteBand::GetMaskBand()
{
    return Owner()->m_poMaskBand ? Owner()->m_poMaskBand.get()
                                 : GDALPamRasterBand::GetMaskBand();
}

/************************************************************************/
/*                          MSICWriteDataset                            */
/************************************************************************/

MSICWriteDataset::~MSICWriteDataset()
{
    MSICWriteDataset::FlushCache(true);
}

bool MSICWriteDataset::Start(const char *pszFilename, int nXSize, int nYSize,
                             int nBandsIn, const MSICCoding &sCoding,
                             CSLConstList papszOptions)
{
    m_sCoding = sCoding;
    m_osFilename = pszFilename;
    m_bResamplingGiven =
        CSLFetchNameValue(papszOptions, "OVERVIEW_RESAMPLING") != nullptr;
    m_nFileBands = nBandsIn;
    m_poSettings = MSICMakeEncoderSettings(papszOptions, sCoding);
    if (!m_poSettings ||
        !MSICLoadModel(CSLFetchNameValue(papszOptions, "MODEL"),
                       &m_oGuard.poContext))
        return false;
    m_sImage = MSICImageInfo(nXSize, nYSize, nBandsIn, sCoding, papszOptions,
                             nullptr);
    /* The writer now: libmsic checks the dimensions and options before any
     * pixel is written; the boxes follow before the first row. */
    if (!m_oGuard.Create(pszFilename, m_sImage, m_poSettings.get()))
        return false;

    nRasterXSize = nXSize;
    nRasterYSize = nYSize;
    m_nTileSize = static_cast<int>(msic_writer_tile_size(m_oGuard.poWriter));
    m_nTilesAcross = (nXSize + m_nTileSize - 1) / m_nTileSize;
    m_nTilesDown = (nYSize + m_nTileSize - 1) / m_nTileSize;
    m_nSampleBytes = static_cast<size_t>(GDALGetDataTypeSizeBytes(sCoding.eType));
    GDALDriver *poMem = GetGDALDriverManager()->GetDriverByName("MEM");
    m_poShadow.reset(poMem ? poMem->Create("", 1, 1, nBandsIn, sCoding.eType,
                                           nullptr)
                           : nullptr);
    if (!m_poShadow)
    {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "MSIC: Create() needs GDAL's MEM driver");
        m_bDone = true; /* nothing to finish: the writer goes */
        m_oGuard.Abort();
        return false;
    }
    eAccess = GA_Update; /* before the bands, which take it over */
    for (int iBand = 1; iBand <= nBandsIn; ++iBand)
        SetBand(iBand, new MSICWriteBand(this, iBand, sCoding.eType));
    SetDescription(pszFilename);
    return true;
}

MSICWriteDataset::TileRow *MSICWriteDataset::Row(int nTileY)
{
    if (nTileY < m_nNextRow)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "MSIC: tile row %d of %s is coded already and cannot "
                 "change (Create() codes each row of %d-pixel tiles once "
                 "all its blocks are written)",
                 nTileY, GetDescription(), m_nTileSize);
        return nullptr;
    }
    auto oIter = m_oRows.find(nTileY);
    if (oIter != m_oRows.end())
        return &oIter->second;
    if (m_abyFillPixel.empty())
    {
        /* Blocks never written read as nodata, as GDAL's drivers do. */
        int bHasNoData = FALSE;
        const double dfFill =
            m_poShadow->GetRasterBand(1)->GetNoDataValue(&bHasNoData);
        const double dfValue = bHasNoData ? dfFill : 0.0;
        m_abyFillPixel.resize(PixelBytes());
        if (m_sCoding.bSigned8)  /* GDAL 3.6 has no Int8: GDT_Byte would clamp -1 to 0 */
            std::memset(m_abyFillPixel.data(),
                        static_cast<GByte>(static_cast<int8_t>(std::max(-128.0, std::min(127.0, dfValue)))),
                        m_abyFillPixel.size());
        else
            GDALCopyWords(&dfValue, GDT_Float64, 0, m_abyFillPixel.data(),
                          m_sCoding.eType, static_cast<int>(m_nSampleBytes),
                          nBands);
        /* A mask never written says "masked out", like nodata: its slot
         * (after the data bands) stays 0. */
    }
    TileRow oRow;
    try
    {
        oRow.abyPixels.resize(static_cast<size_t>(nRasterXSize) *
                              RowHeight(nTileY) * PixelBytes());
        oRow.abWritten.assign(
            static_cast<size_t>(m_nTilesAcross) * m_nFileBands, false);
    }
    catch (const std::bad_alloc &)
    {
        CPLError(CE_Failure, CPLE_OutOfMemory,
                 "MSIC: cannot hold a tile row of %d x %d pixels",
                 nRasterXSize, RowHeight(nTileY));
        return nullptr;
    }
    for (size_t i = 0; i < oRow.abyPixels.size(); i += PixelBytes())
        std::memcpy(oRow.abyPixels.data() + i, m_abyFillPixel.data(),
                    PixelBytes());
    return &m_oRows.emplace(nTileY, std::move(oRow)).first->second;
}

CPLErr MSICWriteDataset::WriteBlock(int nFileBand, int nTileX, int nTileY,
                                    const void *pData)
{
    if (m_bFailed)
        return CE_Failure;
    m_bRowsStarted = true;
    m_nLastTouchedRow = std::max(m_nLastTouchedRow, nTileY);
    TileRow *poRow = Row(nTileY);
    if (poRow == nullptr)
    {
        m_bFailed = true; /* a write was lost: no file rather than a wrong one */
        return CE_Failure;
    }
    const int nBlockX = std::min(m_nTileSize, nRasterXSize);
    const int nValidX = std::min(m_nTileSize, nRasterXSize - nTileX * m_nTileSize);
    const auto *pabySrc = static_cast<const GByte *>(pData);
    for (int iY = 0; iY < RowHeight(nTileY); ++iY)
    {
        GByte *pabyDst = poRow->abyPixels.data() +
                         (static_cast<size_t>(iY) * nRasterXSize +
                          static_cast<size_t>(nTileX) * m_nTileSize) *
                             PixelBytes() +
                         static_cast<size_t>(nFileBand - 1) * m_nSampleBytes;
        const GByte *pabyLine =
            pabySrc + static_cast<size_t>(iY) * nBlockX * m_nSampleBytes;
        for (int iX = 0; iX < nValidX; ++iX)
            std::memcpy(pabyDst + iX * PixelBytes(),
                        pabyLine + iX * m_nSampleBytes, m_nSampleBytes);
    }
    const size_t nSlot =
        static_cast<size_t>(nTileX) * m_nFileBands + (nFileBand - 1);
    if (!poRow->abWritten[nSlot])
    {
        poRow->abWritten[nSlot] = true;
        ++poRow->nWritten;
    }
    return CodeCompleteRows();
}

CPLErr MSICWriteDataset::ReadBlock(int nFileBand, int nTileX, int nTileY,
                                   void *pData)
{
    /* GDAL reads a block before a write that covers only part of it. */
    if (m_bFailed)
        return CE_Failure;
    m_bRowsStarted = true;
    m_nLastTouchedRow = std::max(m_nLastTouchedRow, nTileY);
    TileRow *poRow = Row(nTileY);
    if (poRow == nullptr)
    {
        m_bFailed = true;
        return CE_Failure;
    }
    const int nBlockX = std::min(m_nTileSize, nRasterXSize);
    const int nBlockY = std::min(m_nTileSize, nRasterYSize);
    const int nValidX = std::min(m_nTileSize, nRasterXSize - nTileX * m_nTileSize);
    auto *pabyDst = static_cast<GByte *>(pData);
    std::memset(pabyDst, 0,
                static_cast<size_t>(nBlockX) * nBlockY * m_nSampleBytes);
    for (int iY = 0; iY < RowHeight(nTileY); ++iY)
    {
        const GByte *pabySrc = poRow->abyPixels.data() +
                               (static_cast<size_t>(iY) * nRasterXSize +
                                static_cast<size_t>(nTileX) * m_nTileSize) *
                                   PixelBytes() +
                               static_cast<size_t>(nFileBand - 1) * m_nSampleBytes;
        GByte *pabyLine =
            pabyDst + static_cast<size_t>(iY) * nBlockX * m_nSampleBytes;
        for (int iX = 0; iX < nValidX; ++iX)
            std::memcpy(pabyLine + iX * m_nSampleBytes,
                        pabySrc + iX * PixelBytes(), m_nSampleBytes);
    }
    return CE_None;
}

CPLErr MSICWriteDataset::CodeCompleteRows(bool bClosing)
{
    for (auto oIter = m_oRows.find(m_nNextRow);
         oIter != m_oRows.end() &&
         oIter->second.nWritten == oIter->second.abWritten.size() &&
         (bClosing || m_nNextRow < m_nLastTouchedRow);
         oIter = m_oRows.find(m_nNextRow))
    {
        if (!m_bBoxesAdded)
        {
            /* Class codes (a colour table or RAT set by now) take the
             * top-left pixel in overviews, as CreateCopy does. */
            bool bClassCodes = false;
            for (int iBand = 1; iBand <= nBands; ++iBand)
                bClassCodes |=
                    m_poShadow->GetRasterBand(iBand)->GetColorTable() != nullptr ||
                    m_poShadow->GetRasterBand(iBand)->GetDefaultRAT() != nullptr;
            if (bClassCodes && !m_bResamplingGiven)
            {
                m_bResamplingGiven = true;
                if (msic_encoder_settings_set(m_poSettings.get(),
                                              MSIC_ENCODER_OVERVIEW_NEAREST,
                                              1) != MSIC_OK ||
                    !RestartWriter(m_sImage))
                {
                    m_bFailed = true;
                    return CE_Failure;
                }
            }
            /* The header's boxes: what was set until now. */
            if (!MSICAddMetadataBoxes(m_oGuard.poWriter, m_poShadow.get(),
                                      m_sCoding.bExact) ||
                (m_sCoding.bExact &&
                 !MSICAddBandRoles(m_oGuard.poWriter, m_poShadow.get(),
                                   m_poMaskBand != nullptr)))
            {
                m_bFailed = true;
                return CE_Failure;
            }
            m_bBoxesAdded = true;
        }
        const msic_status eStatus = msic_writer_write_rows(
            m_oGuard.poWriter, oIter->second.abyPixels.data(),
            static_cast<size_t>(nRasterXSize) * PixelBytes(),
            static_cast<uint32_t>(RowHeight(m_nNextRow)));
        if (eStatus != MSIC_OK)
        {
            m_oGuard.ReportError(CPLE_AppDefined,
                                 CPLSPrintf("MSIC: coding tile row %d of %s",
                                            m_nNextRow, GetDescription()),
                                 eStatus);
            m_bFailed = true;
            return CE_Failure;
        }
        m_oRows.erase(oIter);
        ++m_nNextRow;
    }
    return CE_None;
}

void MSICWriteDataset::Finish()
{
    m_bDone = true;
    if (m_bFailed)
    {
        CPLError(CE_Failure, CPLE_AppDefined,
                 "MSIC: %s was not written: a block could not be kept "
                 "(see the error before)",
                 GetDescription());
        m_oGuard.Abort();
        return;
    }
    /* Rows left: blocks never written keep their fill. */
    while (m_nNextRow < m_nTilesDown)
    {
        TileRow *poRow = Row(m_nNextRow);
        if (poRow == nullptr)
        {
            m_oGuard.Abort();
            return;
        }
        poRow->abWritten.assign(poRow->abWritten.size(), true);
        poRow->nWritten = poRow->abWritten.size();
        if (CodeCompleteRows(true) != CE_None)
        {
            m_oGuard.Abort();
            return;
        }
    }
    if (!m_oGuard.Commit())
        m_oGuard.Abort();
}

CPLErr MSICWriteDataset::CreateMaskBand(int nFlags)
{
    /* Blocks GDAL still holds count as written: whether they were flushed
     * yet must not decide the answer. */
    GDALPamDataset::FlushCache(false);
    const char *pszWhy = nullptr;
    if (m_poMaskBand)
        pszWhy = "it has one already";
    else if (nFlags != GMF_PER_DATASET)
        pszWhy = "MSIC keeps one mask for all bands (GMF_PER_DATASET), not "
                 "one per band";
    else if (!m_sCoding.bExact)
        pszWhy = "the learned (lossy) coding cannot keep a mask exact: "
                 "create with LOSSLESS=YES or MAX_Z_ERROR";
    else if (m_bRowsStarted || !HeaderOpen() || m_bFailed)
        pszWhy = "the mask must be created before pixels are written";
    else if (!MSICMaskFits(m_sImage))
        pszWhy = "the data type cannot hold the mask's 255";
    else if (static_cast<unsigned>(nBands) + 1 > MSIC_MAX_BANDS)
        pszWhy = "one more band would pass MSIC's band limit";
    if (pszWhy != nullptr)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "MSIC: cannot create a mask band for %s: %s",
                 GetDescription(), pszWhy);
        return CE_Failure;
    }
    /* The mask is one more band of the file. */
    msic_image_info sImage = m_sImage;
    sImage.bands = static_cast<uint32_t>(nBands + 1);
    if (!RestartWriter(sImage))
        return CE_Failure;
    m_nFileBands = nBands + 1;
    m_abyFillPixel.clear();
    m_poMaskBand = std::make_unique<MSICWriteMaskBand>(this);
    return CE_None;
}

bool MSICWriteDataset::RestartWriter(const msic_image_info &sImage)
{
    m_oGuard.Abort();
    if (!m_oGuard.Create(m_osFilename.c_str(), sImage, m_poSettings.get()))
    {
        m_bFailed = true; /* no writer: closing says so, writes nothing */
        return false;
    }
    m_sImage = sImage;
    return true;
}

void MSICWriteDataset::FlushCache(bool bAtClosing)
{
    GDALPamDataset::FlushCache(bAtClosing); /* dirty blocks: IWriteBlock */
    if (m_poMaskBand)
        m_poMaskBand->FlushCache(bAtClosing);
    if (bAtClosing && !m_bDone && m_oGuard.poWriter != nullptr)
        Finish();
}

/* Georeferencing and metadata: the shadow until the header is written,
 * then PAM. */
CPLErr MSICWriteDataset::GetGeoTransform(double *padfTransform)
{
    return m_poShadow->GetGeoTransform(padfTransform);
}

CPLErr MSICWriteDataset::SetGeoTransform(double *padfTransform)
{
    m_poShadow->SetGeoTransform(padfTransform);
    return HeaderOpen() ? CE_None
                        : GDALPamDataset::SetGeoTransform(padfTransform);
}

const OGRSpatialReference *MSICWriteDataset::GetSpatialRef() const
{
    return m_poShadow->GetSpatialRef();
}

CPLErr MSICWriteDataset::SetSpatialRef(const OGRSpatialReference *poSRS)
{
    m_poShadow->SetSpatialRef(poSRS);
    return HeaderOpen() ? CE_None : GDALPamDataset::SetSpatialRef(poSRS);
}

int MSICWriteDataset::GetGCPCount()
{
    return m_poShadow->GetGCPCount();
}

const GDAL_GCP *MSICWriteDataset::GetGCPs()
{
    return m_poShadow->GetGCPs();
}

const OGRSpatialReference *MSICWriteDataset::GetGCPSpatialRef() const
{
    return m_poShadow->GetGCPSpatialRef();
}

CPLErr MSICWriteDataset::SetGCPs(int nGCPCount, const GDAL_GCP *pasGCPList,
                                 const OGRSpatialReference *poGCP_SRS)
{
    m_poShadow->SetGCPs(nGCPCount, pasGCPList, poGCP_SRS);
    return HeaderOpen() ? CE_None
                        : GDALPamDataset::SetGCPs(nGCPCount, pasGCPList,
                                                  poGCP_SRS);
}

char **MSICWriteDataset::GetMetadata(const char *pszDomain)
{
    return m_poShadow->GetMetadata(pszDomain);
}

CPLErr MSICWriteDataset::SetMetadata(char **papszMetadata,
                                     const char *pszDomain)
{
    m_poShadow->SetMetadata(papszMetadata, pszDomain);
    return HeaderOpen() ? CE_None
                        : GDALPamDataset::SetMetadata(papszMetadata, pszDomain);
}

const char *MSICWriteDataset::GetMetadataItem(const char *pszName,
                                              const char *pszDomain)
{
    return m_poShadow->GetMetadataItem(pszName, pszDomain);
}

CPLErr MSICWriteDataset::SetMetadataItem(const char *pszName,
                                         const char *pszValue,
                                         const char *pszDomain)
{
    m_poShadow->SetMetadataItem(pszName, pszValue, pszDomain);
    return HeaderOpen() ? CE_None
                        : GDALPamDataset::SetMetadataItem(pszName, pszValue,
                                                          pszDomain);
}

}  // namespace

/************************************************************************/
/*                              Create()                                */
/************************************************************************/

GDALDataset *MSICDataset::Create(const char *pszFilename, int nXSize,
                                 int nYSize, int nBands, GDALDataType eType,
                                 char **papszOptions)
{
    const char *pszPixelType = CSLFetchNameValue(papszOptions, "PIXELTYPE");
    MSICCoding sCoding;
    if (!MSICChooseCoding(eType, pszPixelType, papszOptions, sCoding) ||
        !MSICCheckLayout(nBands, sCoding))
        return nullptr;
    if (nXSize < 1 || nYSize < 1)
    {
        CPLError(CE_Failure, CPLE_IllegalArg,
                 "MSIC: a raster needs at least one pixel (%d x %d asked)",
                 nXSize, nYSize);
        return nullptr;
    }
    auto poDS = std::make_unique<MSICWriteDataset>();
    if (!poDS->Start(pszFilename, nXSize, nYSize, nBands, sCoding,
                     papszOptions))
        return nullptr;
    return poDS.release();
}
