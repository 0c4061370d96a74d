/*
 * GDAL raster driver for MSIC, the learned image codec.
 *
 * Built as the plugin gdal_MSIC.so; GDAL finds it in its plugin directory (or
 * in GDAL_DRIVER_PATH) and calls GDALRegister_MSIC(). Everything the driver
 * knows about the format goes through the MSIC C API (msic/msic.h).
 *
 * Reading: the file is read through GDAL's VSI layer (so /vsimem/, /vsizip/,
 * /vsicurl/ ... work), the block size is the file's tile size and a block read
 * decodes exactly the tile it covers. A decoded tile carries every band, so
 * the other bands' blocks of that tile are put into GDAL's block cache at the
 * same time. Multi-tile requests decode their missing tiles in parallel
 * (NUM_THREADS open option, else GDAL_NUM_THREADS, else all cores).
 *
 * Writing: CreateCopy only (the codec codes whole tile rows, one pass, top to
 * bottom). The source is read one tile row at a time, so memory stays bounded
 * whatever the raster size.
 */

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_multiproc.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal_pam.h"
#include "gdal_priv.h"
#include "ogr_spatialref.h"

#include <msic/msic.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifndef MSIC_GDAL_HELPTOPIC
#define MSIC_GDAL_HELPTOPIC "plugin-gdal/README.md"
#endif

namespace
{

constexpr const char *kDriverName = "MSIC";

/* ------------------------------------------------------------------------ */
/*                               Helpers                                    */
/* ------------------------------------------------------------------------ */

std::string MsicError(const char *pszWhat, msic_status eStatus)
{
    const char *pszMsg = msic_last_error();
    std::string osMsg(pszWhat);
    osMsg += ": ";
    osMsg += (pszMsg && pszMsg[0]) ? pszMsg : msic_status_name(eStatus);
    return osMsg;
}

/* Parses "ALL_CPUS" or a positive integer; returns 0 when the value is not
 * usable (after a warning). */
int ParseThreadCount(const char *pszValue, const char *pszOptionName)
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

double ReadFloat64LE(const uint8_t *p)
{
    double dfVal;
    std::memcpy(&dfVal, p, sizeof(dfVal));
    CPL_LSBPTR64(&dfVal);
    return dfVal;
}

void AppendFloat64LE(std::vector<uint8_t> &abyOut, double dfVal)
{
    CPL_LSBPTR64(&dfVal);
    const auto *p = reinterpret_cast<const uint8_t *>(&dfVal);
    abyOut.insert(abyOut.end(), p, p + sizeof(dfVal));
}

/* Splits a buffer of NUL-terminated strings; a trailing piece without its
 * NUL is taken as well. */
std::vector<std::string> SplitNulTerminated(const uint8_t *pabyData,
                                            size_t nSize)
{
    std::vector<std::string> aosOut;
    const char *p = reinterpret_cast<const char *>(pabyData);
    const char *pEnd = p + nSize;
    while (p < pEnd)
    {
        const char *pNul = static_cast<const char *>(
            std::memchr(p, '\0', static_cast<size_t>(pEnd - p)));
        const char *pStop = pNul ? pNul : pEnd;
        aosOut.emplace_back(p, pStop);
        p = pStop + 1;
    }
    return aosOut;
}

/* Copies one band of a pixel-interleaved tile into a GDAL block buffer,
 * zeroing the part of the block beyond the raster edge. */
void DeinterleaveBand(const uint8_t *pabyTile, size_t nTileStride, int nBands,
                      int iBand, int nValidX, int nValidY, int nBlockXSize,
                      int nBlockYSize, GByte *pabyBlock)
{
    const bool bPartial = nValidX < nBlockXSize || nValidY < nBlockYSize;
    if (bPartial)
        std::memset(pabyBlock, 0,
                    static_cast<size_t>(nBlockXSize) * nBlockYSize);
    for (int iY = 0; iY < nValidY; ++iY)
    {
        const uint8_t *pSrc = pabyTile + iY * nTileStride + iBand;
        GByte *pDst = pabyBlock + static_cast<size_t>(iY) * nBlockXSize;
        if (nBands == 1)
        {
            std::memcpy(pDst, pSrc, static_cast<size_t>(nValidX));
        }
        else
        {
            for (int iX = 0; iX < nValidX; ++iX)
                pDst[iX] = pSrc[static_cast<size_t>(iX) * nBands];
        }
    }
}

/* The reader's view of the file: reads at an offset through VSI. The library
 * serialises its calls; the mutex keeps seek+read atomic regardless. */
struct VSIReadSource
{
    VSILFILE *fp = nullptr;
    std::mutex oMutex;
};

size_t VSIReadAt(void *pUser, uint64_t nOffset, void *pBuf, size_t nSize)
{
    auto *psSrc = static_cast<VSIReadSource *>(pUser);
    std::lock_guard<std::mutex> oLock(psSrc->oMutex);
    if (VSIFSeekL(psSrc->fp, static_cast<vsi_l_offset>(nOffset), SEEK_SET) !=
        0)
        return 0;
    return VSIFReadL(pBuf, 1, nSize, psSrc->fp);
}

}  // namespace

/* ------------------------------------------------------------------------ */
/*                              MSICDataset                                 */
/* ------------------------------------------------------------------------ */

class MSICRasterBand;

class MSICDataset final : public GDALPamDataset
{
    friend class MSICRasterBand;

    VSIReadSource m_oSource{};
    msic_context *m_poContext = nullptr; /* nullptr: library default model */
    msic_reader *m_poReader = nullptr;
    msic_file_info m_sInfo{};
    int m_nTileSize = 0;
    int m_nThreads = 1;

    bool m_bGeoTransformValid = false;
    double m_adfGeoTransform[6] = {0, 1, 0, 0, 0, 1};
    OGRSpatialReference m_oSRS{};
    bool m_bHasNoData = false;
    double m_dfNoData = 0;

    CPL_DISALLOW_COPY_ASSIGN(MSICDataset)

    bool ReadBoxes();
    int TileWidth(int nTileX) const
    {
        return std::min(m_nTileSize, nRasterXSize - nTileX * m_nTileSize);
    }
    int TileHeight(int nTileY) const
    {
        return std::min(m_nTileSize, nRasterYSize - nTileY * m_nTileSize);
    }
    size_t TileStride() const
    {
        return static_cast<size_t>(m_nTileSize) * nBands;
    }
    size_t TileBytes() const
    {
        return TileStride() * static_cast<size_t>(m_nTileSize);
    }

    CPLErr DecodeTile(int nTileX, int nTileY, uint8_t *pabyTile);
    void StoreTileInBlockCache(int nTileX, int nTileY, const uint8_t *pabyTile,
                               int nSkipBand, GByte *pabySkipBandBlock);
    bool TileFullyCached(int nTileX, int nTileY);
    CPLErr PrefetchTiles(int nXOff, int nYOff, int nXSize, int nYSize);

  public:
    MSICDataset();
    ~MSICDataset() override;

    CPLErr GetGeoTransform(double *padfTransform) override;
    const OGRSpatialReference *GetSpatialRef() const override;

    CPLErr IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff, int nXSize,
                     int nYSize, void *pData, int nBufXSize, int nBufYSize,
                     GDALDataType eBufType, int nBandCount, int *panBandMap,
                     GSpacing nPixelSpace, GSpacing nLineSpace,
                     GSpacing nBandSpace,
                     GDALRasterIOExtraArg *psExtraArg) override;

    static int Identify(GDALOpenInfo *poOpenInfo);
    static GDALDataset *Open(GDALOpenInfo *poOpenInfo);
    static GDALDataset *CreateCopy(const char *pszFilename,
                                   GDALDataset *poSrcDS, int bStrict,
                                   char **papszOptions,
                                   GDALProgressFunc pfnProgress,
                                   void *pProgressData);
};

/* ------------------------------------------------------------------------ */
/*                             MSICRasterBand                               */
/* ------------------------------------------------------------------------ */

class MSICRasterBand final : public GDALPamRasterBand
{
    friend class MSICDataset;

  public:
    MSICRasterBand(MSICDataset *poDSIn, int nBandIn);

    CPLErr IReadBlock(int nBlockXOff, int nBlockYOff, void *pImage) override;
    GDALColorInterp GetColorInterpretation() override;
    double GetNoDataValue(int *pbSuccess = nullptr) override;

  protected:
    CPLErr IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff, int nXSize,
                     int nYSize, void *pData, int nBufXSize, int nBufYSize,
                     GDALDataType eBufType, GSpacing nPixelSpace,
                     GSpacing nLineSpace,
                     GDALRasterIOExtraArg *psExtraArg) override;
};

MSICRasterBand::MSICRasterBand(MSICDataset *poDSIn, int nBandIn)
{
    poDS = poDSIn;
    nBand = nBandIn;
    eDataType = GDT_Byte;
    nBlockXSize = std::min(poDSIn->m_nTileSize, poDSIn->GetRasterXSize());
    nBlockYSize = std::min(poDSIn->m_nTileSize, poDSIn->GetRasterYSize());
}

CPLErr MSICRasterBand::IReadBlock(int nBlockXOff, int nBlockYOff,
                                  void *pImage)
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    std::vector<uint8_t> abyTile;
    try
    {
        abyTile.resize(poGDS->TileBytes());
    }
    catch (const std::bad_alloc &)
    {
        CPLError(CE_Failure, CPLE_OutOfMemory,
                 "MSIC: cannot allocate a tile buffer");
        return CE_Failure;
    }
    if (poGDS->DecodeTile(nBlockXOff, nBlockYOff, abyTile.data()) != CE_None)
        return CE_Failure;
    poGDS->StoreTileInBlockCache(nBlockXOff, nBlockYOff, abyTile.data(),
                                 nBand, static_cast<GByte *>(pImage));
    return CE_None;
}

GDALColorInterp MSICRasterBand::GetColorInterpretation()
{
    if (poDS->GetRasterCount() == 3)
        return static_cast<GDALColorInterp>(GCI_RedBand + nBand - 1);
    return GCI_GrayIndex;
}

double MSICRasterBand::GetNoDataValue(int *pbSuccess)
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    if (poGDS->m_bHasNoData)
    {
        if (pbSuccess)
            *pbSuccess = TRUE;
        return poGDS->m_dfNoData;
    }
    return GDALPamRasterBand::GetNoDataValue(pbSuccess);
}

CPLErr MSICRasterBand::IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff,
                                 int nXSize, int nYSize, void *pData,
                                 int nBufXSize, int nBufYSize,
                                 GDALDataType eBufType, GSpacing nPixelSpace,
                                 GSpacing nLineSpace,
                                 GDALRasterIOExtraArg *psExtraArg)
{
    if (eRWFlag == GF_Read)
    {
        auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
        if (poGDS->PrefetchTiles(nXOff, nYOff, nXSize, nYSize) != CE_None)
            return CE_Failure;
    }
    return GDALPamRasterBand::IRasterIO(eRWFlag, nXOff, nYOff, nXSize, nYSize,
                                        pData, nBufXSize, nBufYSize, eBufType,
                                        nPixelSpace, nLineSpace, psExtraArg);
}

/* ------------------------------------------------------------------------ */
/*                         MSICDataset: reading                             */
/* ------------------------------------------------------------------------ */

MSICDataset::MSICDataset()
{
    m_oSRS.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
}

MSICDataset::~MSICDataset()
{
    FlushCache(true);
    if (m_poReader)
    {
        CPLDebug(kDriverName, "%s: %llu of %u tiles decoded", GetDescription(),
                 static_cast<unsigned long long>(
                     msic_reader_tiles_decoded(m_poReader)),
                 m_sInfo.tiles_across * m_sInfo.tiles_down);
        msic_reader_close(m_poReader);
    }
    if (m_poContext)
        msic_context_destroy(m_poContext);
    if (m_oSource.fp)
        VSIFCloseL(m_oSource.fp);
}

CPLErr MSICDataset::GetGeoTransform(double *padfTransform)
{
    if (m_bGeoTransformValid)
    {
        std::memcpy(padfTransform, m_adfGeoTransform, sizeof(m_adfGeoTransform));
        return CE_None;
    }
    return GDALPamDataset::GetGeoTransform(padfTransform);
}

const OGRSpatialReference *MSICDataset::GetSpatialRef() const
{
    if (!m_oSRS.IsEmpty())
        return &m_oSRS;
    return GDALPamDataset::GetSpatialRef();
}

CPLErr MSICDataset::DecodeTile(int nTileX, int nTileY, uint8_t *pabyTile)
{
    const msic_status eStatus =
        msic_reader_decode_tile(m_poReader, static_cast<uint32_t>(nTileX),
                                static_cast<uint32_t>(nTileY), pabyTile,
                                TileStride());
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_AppDefined, "%s",
                 MsicError(CPLSPrintf("MSIC: %s: decoding tile (%d, %d)",
                                      GetDescription(), nTileX, nTileY),
                           eStatus)
                     .c_str());
        return CE_Failure;
    }
    return CE_None;
}

/* Puts the bands of a decoded tile into their blocks. nSkipBand's block is
 * the one GDAL is reading (pabySkipBandBlock), the others go to the block
 * cache unless already there. */
void MSICDataset::StoreTileInBlockCache(int nTileX, int nTileY,
                                        const uint8_t *pabyTile, int nSkipBand,
                                        GByte *pabySkipBandBlock)
{
    const int nValidX = TileWidth(nTileX);
    const int nValidY = TileHeight(nTileY);
    for (int iBand = 1; iBand <= nBands; ++iBand)
    {
        auto *poBand = cpl::down_cast<MSICRasterBand *>(GetRasterBand(iBand));
        if (iBand == nSkipBand)
        {
            DeinterleaveBand(pabyTile, TileStride(), nBands, iBand - 1,
                             nValidX, nValidY, poBand->nBlockXSize,
                             poBand->nBlockYSize, pabySkipBandBlock);
            continue;
        }
        GDALRasterBlock *poBlock =
            poBand->TryGetLockedBlockRef(nTileX, nTileY);
        if (poBlock != nullptr)
        {
            poBlock->DropLock();
            continue;
        }
        poBlock = poBand->GetLockedBlockRef(nTileX, nTileY, TRUE);
        if (poBlock == nullptr)
            continue; /* out of cache memory: that band decodes again later */
        DeinterleaveBand(pabyTile, TileStride(), nBands, iBand - 1, nValidX,
                         nValidY, poBand->nBlockXSize, poBand->nBlockYSize,
                         static_cast<GByte *>(poBlock->GetDataRef()));
        poBlock->DropLock();
    }
}

bool MSICDataset::TileFullyCached(int nTileX, int nTileY)
{
    for (int iBand = 1; iBand <= nBands; ++iBand)
    {
        GDALRasterBlock *poBlock =
            GetRasterBand(iBand)->TryGetLockedBlockRef(nTileX, nTileY);
        if (poBlock == nullptr)
            return false;
        poBlock->DropLock();
    }
    return true;
}

/* Decodes, in parallel, the tiles a read request needs that are not in the
 * block cache yet; the request itself is then served block by block from
 * the cache by GDAL's generic code. */
CPLErr MSICDataset::PrefetchTiles(int nXOff, int nYOff, int nXSize,
                                  int nYSize)
{
    if (m_nThreads < 2 || nXSize <= 0 || nYSize <= 0)
        return CE_None;
    const int nTileX0 = nXOff / m_nTileSize;
    const int nTileY0 = nYOff / m_nTileSize;
    const int nTileX1 = (nXOff + nXSize - 1) / m_nTileSize;
    const int nTileY1 = (nYOff + nYSize - 1) / m_nTileSize;
    if (nTileX0 == nTileX1 && nTileY0 == nTileY1)
        return CE_None; /* one tile: IReadBlock does it */

    /* Never put more into the block cache than about half of it can hold,
     * or prefetched tiles would push each other out before being read. */
    const GIntBig nCacheMax = GDALGetCacheMax64();
    const size_t nMaxTiles = static_cast<size_t>(std::max<GIntBig>(
        0, nCacheMax / 2 / static_cast<GIntBig>(TileBytes())));

    std::vector<std::pair<int, int>> aoTodo;
    for (int nTileY = nTileY0; nTileY <= nTileY1; ++nTileY)
    {
        for (int nTileX = nTileX0;
             nTileX <= nTileX1 && aoTodo.size() < nMaxTiles; ++nTileX)
        {
            if (!TileFullyCached(nTileX, nTileY))
                aoTodo.emplace_back(nTileX, nTileY);
        }
    }
    if (aoTodo.size() < 2)
        return CE_None;

    /* Decode in batches of one tile per thread; only this thread touches
     * the block cache. */
    const size_t nBatch = static_cast<size_t>(m_nThreads);
    std::vector<std::vector<uint8_t>> aabyTiles(
        std::min(nBatch, aoTodo.size()));
    try
    {
        for (auto &abyTile : aabyTiles)
            abyTile.resize(TileBytes());
    }
    catch (const std::bad_alloc &)
    {
        return CE_None; /* no room to go parallel: IReadBlock will do it */
    }

    for (size_t iStart = 0; iStart < aoTodo.size(); iStart += nBatch)
    {
        const size_t nCount = std::min(nBatch, aoTodo.size() - iStart);
        std::vector<std::string> aosErrors(nCount);
        std::atomic<size_t> nNext{0};
        auto worker = [&]()
        {
            for (size_t i = nNext++; i < nCount; i = nNext++)
            {
                const auto &oTile = aoTodo[iStart + i];
                const msic_status eStatus = msic_reader_decode_tile(
                    m_poReader, static_cast<uint32_t>(oTile.first),
                    static_cast<uint32_t>(oTile.second), aabyTiles[i].data(),
                    TileStride());
                if (eStatus != MSIC_OK)
                    aosErrors[i] = MsicError(
                        CPLSPrintf("decoding tile (%d, %d)", oTile.first,
                                   oTile.second),
                        eStatus);
            }
        };
        std::vector<std::thread> aoThreads;
        const size_t nWorkers = std::min(nCount, nBatch);
        try
        {
            for (size_t i = 1; i < nWorkers; ++i)
                aoThreads.emplace_back(worker);
        }
        catch (const std::system_error &)
        {
            /* could not start a thread: the others (and this one) share
             * the work */
        }
        worker();
        for (auto &oThread : aoThreads)
            oThread.join();

        for (size_t i = 0; i < nCount; ++i)
        {
            if (!aosErrors[i].empty())
            {
                CPLError(CE_Failure, CPLE_AppDefined, "MSIC: %s: %s",
                         GetDescription(), aosErrors[i].c_str());
                return CE_Failure;
            }
            const auto &oTile = aoTodo[iStart + i];
            StoreTileInBlockCache(oTile.first, oTile.second,
                                  aabyTiles[i].data(), 0, nullptr);
        }
    }
    return CE_None;
}

CPLErr MSICDataset::IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff,
                              int nXSize, int nYSize, void *pData,
                              int nBufXSize, int nBufYSize,
                              GDALDataType eBufType, int nBandCount,
                              int *panBandMap, GSpacing nPixelSpace,
                              GSpacing nLineSpace, GSpacing nBandSpace,
                              GDALRasterIOExtraArg *psExtraArg)
{
    if (eRWFlag == GF_Read &&
        PrefetchTiles(nXOff, nYOff, nXSize, nYSize) != CE_None)
        return CE_Failure;
    return GDALPamDataset::IRasterIO(eRWFlag, nXOff, nYOff, nXSize, nYSize,
                                     pData, nBufXSize, nBufYSize, eBufType,
                                     nBandCount, panBandMap, nPixelSpace,
                                     nLineSpace, nBandSpace, psExtraArg);
}

/* Reads the metadata boxes. Values are set through the GDALDataset (not
 * PAM) setters so that opening a file never marks it for a .aux.xml. */
bool MSICDataset::ReadBoxes()
{
    msic_box sBox;

    if (msic_reader_find_box(m_poReader, MSIC_BOX_GEOTRANSFORM, &sBox) ==
        MSIC_OK)
    {
        if (sBox.size == 6 * sizeof(double))
        {
            for (int i = 0; i < 6; ++i)
                m_adfGeoTransform[i] = ReadFloat64LE(sBox.data + 8 * i);
            m_bGeoTransformValid = true;
        }
        else
        {
            CPLError(CE_Warning, CPLE_AppDefined,
                     "MSIC: geotransform box of %u bytes instead of 48 "
                     "ignored",
                     static_cast<unsigned>(sBox.size));
        }
    }

    if (msic_reader_find_box(m_poReader, MSIC_BOX_CRS_WKT, &sBox) == MSIC_OK &&
        sBox.size > 0)
    {
        const std::string osWKT(reinterpret_cast<const char *>(sBox.data),
                                strnlen(reinterpret_cast<const char *>(
                                            sBox.data),
                                        sBox.size));
        if (m_oSRS.importFromWkt(osWKT.c_str()) != OGRERR_NONE)
        {
            m_oSRS.Clear();
            CPLError(CE_Warning, CPLE_AppDefined,
                     "MSIC: the CRS box holds WKT that cannot be parsed; "
                     "ignored");
        }
    }

    if (msic_reader_find_box(m_poReader, MSIC_BOX_NODATA, &sBox) == MSIC_OK)
    {
        if (sBox.size == sizeof(double))
        {
            m_dfNoData = ReadFloat64LE(sBox.data);
            m_bHasNoData = true;
        }
        else
        {
            CPLError(CE_Warning, CPLE_AppDefined,
                     "MSIC: nodata box of %u bytes instead of 8 ignored",
                     static_cast<unsigned>(sBox.size));
        }
    }

    if (msic_reader_find_box(m_poReader, MSIC_BOX_BAND_DESC, &sBox) ==
        MSIC_OK)
    {
        const auto aosDesc = SplitNulTerminated(sBox.data, sBox.size);
        for (int i = 0; i < nBands && i < static_cast<int>(aosDesc.size());
             ++i)
            GetRasterBand(i + 1)->GDALMajorObject::SetDescription(
                aosDesc[i].c_str());
    }

    if (msic_reader_find_box(m_poReader, MSIC_BOX_KEYVALUE, &sBox) ==
        MSIC_OK)
    {
        const auto aosParts = SplitNulTerminated(sBox.data, sBox.size);
        for (size_t i = 0; i + 3 <= aosParts.size(); i += 3)
        {
            const std::string &osDomain = aosParts[i];
            const std::string &osKey = aosParts[i + 1];
            const std::string &osValue = aosParts[i + 2];
            /* IMAGE_STRUCTURE describes this file and is the driver's. */
            if (osKey.empty() || EQUAL(osDomain.c_str(), "IMAGE_STRUCTURE"))
                continue;
            GDALDataset::SetMetadataItem(osKey.c_str(), osValue.c_str(),
                                         osDomain.c_str());
        }
    }

    if (msic_reader_find_box(m_poReader, MSIC_BOX_XMP, &sBox) == MSIC_OK &&
        sBox.size > 0)
    {
        const std::string osXMP(reinterpret_cast<const char *>(sBox.data),
                                sBox.size);
        char *apszXMP[2] = {const_cast<char *>(osXMP.c_str()), nullptr};
        GDALDataset::SetMetadata(apszXMP, "xml:XMP");
    }

    if (msic_reader_find_box(m_poReader, MSIC_BOX_ICC, &sBox) == MSIC_OK &&
        sBox.size > 0 && sBox.size < static_cast<size_t>(INT_MAX / 2))
    {
        char *pszB64 = CPLBase64Encode(static_cast<int>(sBox.size), sBox.data);
        GDALDataset::SetMetadataItem("SOURCE_ICC_PROFILE", pszB64,
                                     "COLOR_PROFILE");
        CPLFree(pszB64);
    }
    return true;
}

int MSICDataset::Identify(GDALOpenInfo *poOpenInfo)
{
    if (poOpenInfo->fpL == nullptr || poOpenInfo->nHeaderBytes < 8)
        return FALSE;
    return msic_identify(poOpenInfo->pabyHeader,
                         static_cast<size_t>(poOpenInfo->nHeaderBytes)) != 0;
}

GDALDataset *MSICDataset::Open(GDALOpenInfo *poOpenInfo)
{
    if (!Identify(poOpenInfo))
        return nullptr;
    if (poOpenInfo->eAccess == GA_Update)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "The MSIC driver does not support update access to existing "
                 "datasets; write new files with CreateCopy "
                 "(gdal_translate -of MSIC)");
        return nullptr;
    }

    auto poDS = std::make_unique<MSICDataset>();
    std::swap(poDS->m_oSource.fp, poOpenInfo->fpL);

    const char *pszModel =
        CSLFetchNameValue(poOpenInfo->papszOpenOptions, "MODEL");
    if (pszModel != nullptr && pszModel[0] != '\0')
    {
        poDS->m_poContext = msic_context_create(pszModel);
        if (poDS->m_poContext == nullptr)
        {
            CPLError(CE_Failure, CPLE_OpenFailed, "%s",
                     MsicError(CPLSPrintf("MSIC: cannot load the model %s",
                                          pszModel),
                               MSIC_ERR_MODEL)
                         .c_str());
            return nullptr;
        }
    }

    if (VSIFSeekL(poDS->m_oSource.fp, 0, SEEK_END) != 0)
    {
        CPLError(CE_Failure, CPLE_FileIO, "MSIC: cannot seek in %s",
                 poOpenInfo->pszFilename);
        return nullptr;
    }
    const vsi_l_offset nFileSize = VSIFTellL(poDS->m_oSource.fp);

    poDS->m_poReader = msic_reader_open_callbacks(
        poDS->m_poContext, VSIReadAt, static_cast<uint64_t>(nFileSize),
        &poDS->m_oSource);
    if (poDS->m_poReader == nullptr)
    {
        CPLError(CE_Failure, CPLE_OpenFailed, "%s",
                 MsicError(CPLSPrintf("MSIC: cannot open %s",
                                      poOpenInfo->pszFilename),
                           MSIC_ERR_FORMAT)
                     .c_str());
        return nullptr;
    }
    const msic_status eStatus =
        msic_reader_get_info(poDS->m_poReader, &poDS->m_sInfo);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_OpenFailed, "%s",
                 MsicError(CPLSPrintf("MSIC: cannot read the header of %s",
                                      poOpenInfo->pszFilename),
                           eStatus)
                     .c_str());
        return nullptr;
    }

    const msic_file_info &sInfo = poDS->m_sInfo;
    if (sInfo.image.width == 0 || sInfo.image.height == 0 ||
        sInfo.image.width > static_cast<uint32_t>(INT_MAX) ||
        sInfo.image.height > static_cast<uint32_t>(INT_MAX) ||
        (sInfo.image.bands != 1 && sInfo.image.bands != 3) ||
        sInfo.image.bit_depth != 8 || sInfo.tile_size == 0 ||
        sInfo.tile_size > 65536)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "MSIC: %s has a layout this driver cannot represent "
                 "(%ux%u, %u bands of %u bits, tiles of %u)",
                 poOpenInfo->pszFilename, sInfo.image.width,
                 sInfo.image.height, sInfo.image.bands, sInfo.image.bit_depth,
                 sInfo.tile_size);
        return nullptr;
    }
    /* Tiles only decode with the model that coded them: say so now rather
     * than at every block read (the header and metadata stay readable). */
    const char *pszLoadedHash = msic_context_model_hash(poDS->m_poContext);
    if (pszLoadedHash != nullptr && !EQUAL(pszLoadedHash, sInfo.model_hash))
    {
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC: %s was coded with model %s but the loaded model is "
                 "%s (%s); its pixels cannot be decoded. Open it with "
                 "-oo MODEL=<path of that model>",
                 poOpenInfo->pszFilename, sInfo.model_hash, pszLoadedHash,
                 msic_context_model_name(poDS->m_poContext));
    }

    poDS->nRasterXSize = static_cast<int>(sInfo.image.width);
    poDS->nRasterYSize = static_cast<int>(sInfo.image.height);
    poDS->m_nTileSize = static_cast<int>(sInfo.tile_size);

    const char *pszThreads =
        CSLFetchNameValue(poOpenInfo->papszOpenOptions, "NUM_THREADS");
    int nThreads = ParseThreadCount(pszThreads, "NUM_THREADS");
    if (nThreads == 0)
        nThreads = ParseThreadCount(
            CPLGetConfigOption("GDAL_NUM_THREADS", "ALL_CPUS"),
            "GDAL_NUM_THREADS");
    poDS->m_nThreads = std::max(1, nThreads);

    for (int iBand = 1; iBand <= static_cast<int>(sInfo.image.bands); ++iBand)
        poDS->SetBand(iBand, new MSICRasterBand(poDS.get(), iBand));

    poDS->ReadBoxes();

    poDS->GDALDataset::SetMetadataItem("COMPRESSION", "MSIC",
                                       "IMAGE_STRUCTURE");
    poDS->GDALDataset::SetMetadataItem("INTERLEAVE", "PIXEL",
                                       "IMAGE_STRUCTURE");
    poDS->GDALDataset::SetMetadataItem(
        "QUALITY", CPLSPrintf("%.8g", static_cast<double>(sInfo.quality)),
        "IMAGE_STRUCTURE");
    poDS->GDALDataset::SetMetadataItem(
        "MSIC_FORMAT_VERSION",
        CPLSPrintf("%u.%u", sInfo.format_version >> 16,
                   sInfo.format_version & 0xffffu),
        "IMAGE_STRUCTURE");
    poDS->GDALDataset::SetMetadataItem("MSIC_MODEL_HASH", sInfo.model_hash,
                                       "IMAGE_STRUCTURE");

    poDS->SetDescription(poOpenInfo->pszFilename);
    poDS->TryLoadXML(poOpenInfo->GetSiblingFiles());
    poDS->oOvManager.Initialize(poDS.get(), poOpenInfo->pszFilename,
                                poOpenInfo->GetSiblingFiles());
    return poDS.release();
}

/* ------------------------------------------------------------------------ */
/*                         MSICDataset: writing                             */
/* ------------------------------------------------------------------------ */

namespace
{

/* Shared between CreateCopy and the library's progress callback. */
struct ProgressState
{
    GDALProgressFunc pfnProgress = GDALDummyProgress;
    void *pProgressData = nullptr;
    double dfLast = 0.0;
    bool bCancelled = false;
    std::mutex oMutex;

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

/* Output through VSI for /vsi... targets. */
struct VSIWriteTarget
{
    VSILFILE *fp = nullptr;
};

int VSIWriteAll(void *pUser, const void *pData, size_t nSize)
{
    auto *psTarget = static_cast<VSIWriteTarget *>(pUser);
    return VSIFWriteL(pData, 1, nSize, psTarget->fp) == nSize ? 0 : 1;
}

/* Owns the writer and whatever output it streams into; on destruction
 * without Commit() nothing of the output is left behind. */
class WriterGuard
{
  public:
    msic_context *poContext = nullptr; /* nullptr: the default model */
    msic_writer *poWriter = nullptr;
    VSIWriteTarget sTarget{};
    std::string osStreamPath{}; /* VSI file written by the stream writer */
    std::string osFinalPath{};  /* where osStreamPath moves on success */

    WriterGuard() = default;
    WriterGuard(const WriterGuard &) = delete;
    WriterGuard &operator=(const WriterGuard &) = delete;

    ~WriterGuard()
    {
        Abort();
        if (poContext)
            msic_context_destroy(poContext);
    }

    void Abort()
    {
        if (poWriter)
        {
            msic_writer_destroy(poWriter); /* removes its temporary file */
            poWriter = nullptr;
        }
        if (sTarget.fp)
        {
            VSIFCloseL(sTarget.fp);
            sTarget.fp = nullptr;
        }
        if (!osStreamPath.empty())
        {
            VSIUnlink(osStreamPath.c_str());
            osStreamPath.clear();
        }
    }

    /* Finishes the file and moves it into place. */
    bool Commit()
    {
        const msic_status eStatus = msic_writer_finish(poWriter);
        if (eStatus != MSIC_OK)
        {
            if (eStatus == MSIC_ERR_CANCELLED)
                CPLError(CE_Failure, CPLE_UserInterrupt,
                         "User terminated CreateCopy()");
            else
                CPLError(CE_Failure, CPLE_FileIO, "%s",
                         MsicError("MSIC: finishing the file", eStatus)
                             .c_str());
            return false;
        }
        msic_writer_destroy(poWriter);
        poWriter = nullptr;
        if (sTarget.fp)
        {
            const bool bCloseOK = VSIFCloseL(sTarget.fp) == 0;
            sTarget.fp = nullptr;
            if (!bCloseOK)
            {
                CPLError(CE_Failure, CPLE_FileIO,
                         "MSIC: cannot write %s", osStreamPath.c_str());
                return false;
            }
        }
        if (!osStreamPath.empty() && osStreamPath != osFinalPath)
        {
            if (VSIRename(osStreamPath.c_str(), osFinalPath.c_str()) != 0)
            {
                CPLError(CE_Failure, CPLE_FileIO,
                         "MSIC: cannot rename %s to %s",
                         osStreamPath.c_str(), osFinalPath.c_str());
                return false;
            }
        }
        osStreamPath.clear();
        return true;
    }
};

bool AddBox(msic_writer *poWriter, const char *pszType, const void *pData,
            size_t nSize)
{
    const msic_status eStatus =
        msic_writer_add_box(poWriter, pszType, pData, nSize);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_AppDefined, "%s",
                 MsicError(CPLSPrintf("MSIC: adding the %.4s box", pszType),
                           eStatus)
                     .c_str());
        return false;
    }
    return true;
}

/* Everything from the source that has a box: georeferencing, nodata, band
 * descriptions, default-domain metadata, XMP and the ICC profile. */
bool AddMetadataBoxes(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    double adfGT[6];
    if (poSrcDS->GetGeoTransform(adfGT) == CE_None)
    {
        std::vector<uint8_t> abyGT;
        for (double dfVal : adfGT)
            AppendFloat64LE(abyGT, dfVal);
        if (!AddBox(poWriter, MSIC_BOX_GEOTRANSFORM, abyGT.data(),
                    abyGT.size()))
            return false;
    }

    const OGRSpatialReference *poSRS = poSrcDS->GetSpatialRef();
    if (poSRS != nullptr && !poSRS->IsEmpty())
    {
        char *pszWKT = nullptr;
        const char *const apszOptions[] = {"FORMAT=WKT2_2019", nullptr};
        if (poSRS->exportToWkt(&pszWKT, apszOptions) != OGRERR_NONE)
        {
            CPLFree(pszWKT);
            pszWKT = nullptr;
            poSRS->exportToWkt(&pszWKT);
        }
        if (pszWKT != nullptr && pszWKT[0] != '\0')
        {
            const bool bOK =
                AddBox(poWriter, MSIC_BOX_CRS_WKT, pszWKT, strlen(pszWKT));
            CPLFree(pszWKT);
            if (!bOK)
                return false;
        }
        else
        {
            CPLFree(pszWKT);
            CPLError(CE_Warning, CPLE_AppDefined,
                     "MSIC: the source CRS cannot be written as WKT; it is "
                     "not copied");
        }
    }

    const int nBands = poSrcDS->GetRasterCount();
    int bHasNoData = FALSE;
    const double dfNoData =
        poSrcDS->GetRasterBand(1)->GetNoDataValue(&bHasNoData);
    if (bHasNoData)
    {
        for (int iBand = 2; iBand <= nBands; ++iBand)
        {
            int bOther = FALSE;
            const double dfOther =
                poSrcDS->GetRasterBand(iBand)->GetNoDataValue(&bOther);
            if (!bOther || !(dfOther == dfNoData ||
                             (std::isnan(dfOther) && std::isnan(dfNoData))))
            {
                CPLError(CE_Warning, CPLE_AppDefined,
                         "MSIC stores one nodata value for all bands; band "
                         "1's (%.17g) is used",
                         dfNoData);
                break;
            }
        }
        std::vector<uint8_t> abyNoData;
        AppendFloat64LE(abyNoData, dfNoData);
        if (!AddBox(poWriter, MSIC_BOX_NODATA, abyNoData.data(),
                    abyNoData.size()))
            return false;
    }

    bool bAnyDescription = false;
    std::vector<uint8_t> abyDesc;
    for (int iBand = 1; iBand <= nBands; ++iBand)
    {
        const char *pszDesc = poSrcDS->GetRasterBand(iBand)->GetDescription();
        if (pszDesc == nullptr)
            pszDesc = "";
        bAnyDescription |= pszDesc[0] != '\0';
        abyDesc.insert(abyDesc.end(), pszDesc, pszDesc + strlen(pszDesc) + 1);
    }
    if (bAnyDescription &&
        !AddBox(poWriter, MSIC_BOX_BAND_DESC, abyDesc.data(), abyDesc.size()))
        return false;

    std::vector<uint8_t> abyKV;
    for (CSLConstList papszIter = poSrcDS->GetMetadata();
         papszIter && *papszIter; ++papszIter)
    {
        char *pszKey = nullptr;
        const char *pszValue = CPLParseNameValue(*papszIter, &pszKey);
        if (pszKey != nullptr && pszKey[0] != '\0' && pszValue != nullptr)
        {
            abyKV.push_back(0); /* "" : the default domain */
            abyKV.insert(abyKV.end(), pszKey, pszKey + strlen(pszKey) + 1);
            abyKV.insert(abyKV.end(), pszValue,
                         pszValue + strlen(pszValue) + 1);
        }
        CPLFree(pszKey);
    }
    if (!abyKV.empty() &&
        !AddBox(poWriter, MSIC_BOX_KEYVALUE, abyKV.data(), abyKV.size()))
        return false;

    CSLConstList papszXMP = poSrcDS->GetMetadata("xml:XMP");
    if (papszXMP && papszXMP[0] && papszXMP[0][0] != '\0' &&
        !AddBox(poWriter, MSIC_BOX_XMP, papszXMP[0], strlen(papszXMP[0])))
        return false;

    const char *pszICC =
        poSrcDS->GetMetadataItem("SOURCE_ICC_PROFILE", "COLOR_PROFILE");
    if (pszICC && pszICC[0] != '\0')
    {
        char *pszCopy = CPLStrdup(pszICC);
        const int nICCSize =
            CPLBase64DecodeInPlace(reinterpret_cast<GByte *>(pszCopy));
        const bool bOK =
            nICCSize <= 0 ||
            AddBox(poWriter, MSIC_BOX_ICC, pszCopy, static_cast<size_t>(nICCSize));
        CPLFree(pszCopy);
        if (!bOK)
            return false;
    }
    return true;
}

}  // namespace

GDALDataset *MSICDataset::CreateCopy(const char *pszFilename,
                                     GDALDataset *poSrcDS, int bStrict,
                                     char **papszOptions,
                                     GDALProgressFunc pfnProgress,
                                     void *pProgressData)
{
    /* ------------------------------------------------- what we can store */
    const int nBands = poSrcDS->GetRasterCount();
    if (nBands != 1 && nBands != 3)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "MSIC supports 1 band (grey) or 3 bands (RGB) of Byte data; "
                 "the source has %d band(s). Select bands with -b, or expand "
                 "a palette with -expand rgb",
                 nBands);
        return nullptr;
    }
    for (int iBand = 1; iBand <= nBands; ++iBand)
    {
        const GDALDataType eType =
            poSrcDS->GetRasterBand(iBand)->GetRasterDataType();
        if (eType != GDT_Byte)
        {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "MSIC supports only Byte (8-bit unsigned) data, 1 or 3 "
                     "bands; band %d of the source is %s. Convert with "
                     "-ot Byte -scale",
                     iBand, GDALGetDataTypeName(eType));
            return nullptr;
        }
    }
    if (poSrcDS->GetRasterBand(1)->GetColorTable() != nullptr)
    {
        CPLError(bStrict ? CE_Failure : CE_Warning, CPLE_NotSupported,
                 "MSIC cannot store a color table: the palette indices would "
                 "be compressed as grey levels. Use -expand rgb");
        if (bStrict)
            return nullptr;
    }
    const int nXSize = poSrcDS->GetRasterXSize();
    const int nYSize = poSrcDS->GetRasterYSize();
    if (nXSize <= 0 || nYSize <= 0 ||
        static_cast<uint64_t>(nXSize) > MSIC_MAX_DIMENSION ||
        static_cast<uint64_t>(nYSize) > MSIC_MAX_DIMENSION ||
        static_cast<uint64_t>(nXSize) * static_cast<uint64_t>(nYSize) >
            MSIC_MAX_PIXELS)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "MSIC: %dx%d is beyond the format's limits (%u pixels per "
                 "side, %llu pixels)",
                 nXSize, nYSize, MSIC_MAX_DIMENSION,
                 static_cast<unsigned long long>(MSIC_MAX_PIXELS));
        return nullptr;
    }

    /* ------------------------------------------------- creation options */
    msic_encode_options sOptions;
    msic_encode_options_init(&sOptions);

    if (const char *pszQuality = CSLFetchNameValue(papszOptions, "QUALITY"))
    {
        char *pszEnd = nullptr;
        const double dfQuality = CPLStrtod(pszQuality, &pszEnd);
        if (pszEnd == pszQuality || *pszEnd != '\0' || !(dfQuality >= 0) ||
            !(dfQuality <= 100))
        {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "MSIC: QUALITY=%s is not a number between 0 and 100",
                     pszQuality);
            return nullptr;
        }
        sOptions.quality = static_cast<float>(dfQuality);
    }
    if (const char *pszTile = CSLFetchNameValue(papszOptions, "TILE_SIZE"))
    {
        char *pszEnd = nullptr;
        const long nTile = std::strtol(pszTile, &pszEnd, 10);
        if (pszEnd == pszTile || *pszEnd != '\0' || nTile < 64 ||
            nTile > 4096 || nTile % 16 != 0)
        {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "MSIC: TILE_SIZE=%s is not a multiple of 16 between 64 "
                     "and 4096",
                     pszTile);
            return nullptr;
        }
        sOptions.tile_size = static_cast<uint32_t>(nTile);
    }
    {
        const char *pszThreads = CSLFetchNameValue(papszOptions, "NUM_THREADS");
        int nThreads = ParseThreadCount(pszThreads, "NUM_THREADS");
        if (nThreads == 0 && pszThreads == nullptr)
            nThreads = ParseThreadCount(
                CPLGetConfigOption("GDAL_NUM_THREADS", nullptr),
                "GDAL_NUM_THREADS");
        if (nThreads > 0)
            sOptions.threads = nThreads;
    }

    WriterGuard oGuard;
    const char *pszModel = CSLFetchNameValue(papszOptions, "MODEL");
    if (pszModel != nullptr && pszModel[0] != '\0')
    {
        oGuard.poContext = msic_context_create(pszModel);
        if (oGuard.poContext == nullptr)
        {
            CPLError(CE_Failure, CPLE_OpenFailed, "%s",
                     MsicError(CPLSPrintf("MSIC: cannot load the model %s",
                                          pszModel),
                               MSIC_ERR_MODEL)
                         .c_str());
            return nullptr;
        }
    }

    ProgressState sProgress;
    if (pfnProgress != nullptr)
        sProgress.pfnProgress = pfnProgress;
    sProgress.pProgressData = pProgressData;
    sOptions.progress = MsicProgress;
    sOptions.progress_user = &sProgress;

    if (!sProgress.Report(0.0))
    {
        CPLError(CE_Failure, CPLE_UserInterrupt, "User terminated CreateCopy()");
        return nullptr;
    }

    /* ------------------------------------------------- the writer */
    msic_image_info sImage{};
    sImage.width = static_cast<uint32_t>(nXSize);
    sImage.height = static_cast<uint32_t>(nYSize);
    sImage.bands = static_cast<uint32_t>(nBands);
    sImage.bit_depth = 8;

    if (STARTS_WITH_CI(pszFilename, "/vsi"))
    {
        /* /vsimem/ can rename: write a temporary name, move it into place at
         * the end. Other virtual file systems write the final name, removed
         * again on failure. */
        oGuard.osFinalPath = pszFilename;
        if (STARTS_WITH_CI(pszFilename, "/vsimem/"))
            oGuard.osStreamPath = CPLSPrintf("%s.%p.tmp", pszFilename,
                                             static_cast<void *>(&oGuard));
        else
            oGuard.osStreamPath = pszFilename;
        oGuard.sTarget.fp = VSIFOpenL(oGuard.osStreamPath.c_str(), "wb");
        if (oGuard.sTarget.fp == nullptr)
        {
            oGuard.osStreamPath.clear();
            CPLError(CE_Failure, CPLE_OpenFailed, "MSIC: cannot create %s",
                     pszFilename);
            return nullptr;
        }
        oGuard.poWriter = msic_writer_create_stream(
            oGuard.poContext, VSIWriteAll, &oGuard.sTarget, &sImage, &sOptions);
    }
    else
    {
        oGuard.poWriter = msic_writer_create_file(
            oGuard.poContext, pszFilename, &sImage, &sOptions);
    }
    if (oGuard.poWriter == nullptr)
    {
        CPLError(CE_Failure, CPLE_OpenFailed, "%s",
                 MsicError(CPLSPrintf("MSIC: cannot create %s", pszFilename),
                           MSIC_ERR_IO)
                     .c_str());
        return nullptr;
    }

    if (!AddMetadataBoxes(oGuard.poWriter, poSrcDS))
        return nullptr;

    /* ------------------------------------------------- pixels */
    /* One tile row at a time (fewer rows if a tile row of the source would
     * take more than 64 MB), pixel interleaved. */
    const uint32_t nTileSize = sOptions.tile_size;
    const size_t nLineBytes = static_cast<size_t>(nXSize) * nBands;
    const size_t nMaxChunkBytes = 64 * 1024 * 1024;
    const int nChunkRows = static_cast<int>(std::max<size_t>(
        1, std::min<size_t>(nTileSize, nMaxChunkBytes / nLineBytes)));
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
        return nullptr;
    }

    GDALRasterIOExtraArg sExtraArg;
    INIT_RASTERIO_EXTRA_ARG(sExtraArg);
    for (int nY = 0; nY < nYSize; nY += nChunkRows)
    {
        const int nRows = std::min(nChunkRows, nYSize - nY);
        if (poSrcDS->RasterIO(GF_Read, 0, nY, nXSize, nRows, abyRows.data(),
                              nXSize, nRows, GDT_Byte, nBands, nullptr,
                              nBands, static_cast<GSpacing>(nLineBytes), 1,
                              &sExtraArg) != CE_None)
        {
            return nullptr; /* the source reported why */
        }
        const msic_status eStatus = msic_writer_write_rows(
            oGuard.poWriter, abyRows.data(), nLineBytes,
            static_cast<uint32_t>(nRows));
        if (eStatus == MSIC_ERR_CANCELLED || sProgress.bCancelled)
        {
            CPLError(CE_Failure, CPLE_UserInterrupt,
                     "User terminated CreateCopy()");
            return nullptr;
        }
        if (eStatus != MSIC_OK)
        {
            CPLError(CE_Failure, CPLE_AppDefined, "%s",
                     MsicError("MSIC: encoding", eStatus).c_str());
            return nullptr;
        }
        /* Tile rows are coded inside write_rows, so rows fed is also work
         * done; the library's own callback reports within a tile row. */
        if (!sProgress.Report(static_cast<double>(nY + nRows) / nYSize))
        {
            CPLError(CE_Failure, CPLE_UserInterrupt,
                     "User terminated CreateCopy()");
            return nullptr;
        }
    }

    if (!oGuard.Commit())
        return nullptr;
    if (!sProgress.Report(1.0))
    {
        /* Too late to cancel: the file is complete and stays. */
        CPLError(CE_Warning, CPLE_UserInterrupt,
                 "MSIC: cancellation requested after %s was written",
                 pszFilename);
    }

    /* ------------------------------------------------- reopen */
    GDALOpenInfo oOpenInfo(pszFilename, GA_ReadOnly);
    return Open(&oOpenInfo);
}

/* ------------------------------------------------------------------------ */
/*                          GDALRegister_MSIC()                             */
/* ------------------------------------------------------------------------ */

extern "C" __attribute__((visibility("default"))) void GDALRegister_MSIC();

void GDALRegister_MSIC()
{
    if (!GDAL_CHECK_VERSION("MSIC driver"))
        return;
    if (GDALGetDriverByName(kDriverName) != nullptr)
        return;

    auto *poDriver = new GDALDriver();
    poDriver->SetDescription(kDriverName);
    poDriver->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
    poDriver->SetMetadataItem(GDAL_DMD_LONGNAME,
                              "MSIC learned image codec (tiled, lossy)");
    poDriver->SetMetadataItem(GDAL_DMD_HELPTOPIC, MSIC_GDAL_HELPTOPIC);
    poDriver->SetMetadataItem(GDAL_DMD_EXTENSION, "msic");
    poDriver->SetMetadataItem(GDAL_DMD_MIMETYPE, "image/x-msic");
    poDriver->SetMetadataItem(GDAL_DMD_CREATIONDATATYPES, "Byte");
    poDriver->SetMetadataItem(GDAL_DCAP_VIRTUALIO, "YES");
    poDriver->SetMetadataItem(GDAL_DCAP_OPEN, "YES");
    poDriver->SetMetadataItem(GDAL_DCAP_CREATECOPY, "YES");
    poDriver->SetMetadataItem("LIBMSIC_VERSION", msic_version_string());

    poDriver->SetMetadataItem(
        GDAL_DMD_CREATIONOPTIONLIST,
        "<CreationOptionList>"
        "   <Option name='QUALITY' type='float' min='0' max='100' "
        "default='75' description='Quality, 0 (smallest file) to 100 (best "
        "image)'/>"
        "   <Option name='TILE_SIZE' type='int' min='64' max='4096' "
        "default='512' description='Width and height of the tiles, a "
        "multiple of 16; they are also the block size when reading'/>"
        "   <Option name='NUM_THREADS' type='string' "
        "description='Number of encoding threads, or ALL_CPUS. Defaults to "
        "the GDAL_NUM_THREADS configuration option, else the library "
        "default (all cores)'/>"
        "   <Option name='MODEL' type='string' "
        "description='Path of a model file to encode with instead of the "
        "model built into libmsic (readers then need the same model)'/>"
        "</CreationOptionList>");

    poDriver->SetMetadataItem(
        GDAL_DMD_OPENOPTIONLIST,
        "<OpenOptionList>"
        "   <Option name='NUM_THREADS' type='string' "
        "description='Number of threads decoding the tiles of a multi-tile "
        "read, or ALL_CPUS. Defaults to the GDAL_NUM_THREADS configuration "
        "option, else ALL_CPUS' default='ALL_CPUS'/>"
        "   <Option name='MODEL' type='string' "
        "description='Path of the model file the image was encoded with, "
        "when it is not the model built into libmsic'/>"
        "</OpenOptionList>");

    poDriver->pfnIdentify = MSICDataset::Identify;
    poDriver->pfnOpen = MSICDataset::Open;
    poDriver->pfnCreateCopy = MSICDataset::CreateCopy;

    GetGDALDriverManager()->RegisterDriver(poDriver);
}
