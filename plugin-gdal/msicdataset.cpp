/*
 * GDAL raster driver for MSIC: reading (Open, block reads, prefetch of
 * multi-tile requests). What the driver knows about the format goes through
 * the MSIC C API (msic/msic.h); the classes are described in msicdataset.h.
 */

#include "msicdataset.h"

#include "msicdrivercore.h"

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace
{

/* Copies band iBand of a pixel-interleaved tile of nBands eTileType samples
 * into a GDAL block of eBlockType (the mask band's Byte: its 0 .. 255 convert
 * exactly), zeroing the part of the block beyond the raster edge. */
void DeinterleaveBand(const uint8_t *pabyTile, size_t nTileStride, int nBands,
                      GDALDataType eTileType, int iBand, int nValidX,
                      int nValidY, GDALDataType eBlockType, int nBlockXSize,
                      int nBlockYSize, GByte *pabyBlock)
{
    const int nSampleBytes = GDALGetDataTypeSizeBytes(eTileType);
    const int nBlockSampleBytes = GDALGetDataTypeSizeBytes(eBlockType);
    if (nValidX < nBlockXSize || nValidY < nBlockYSize)
        std::memset(pabyBlock, 0,
                    static_cast<size_t>(nBlockXSize) * nBlockYSize *
                        nBlockSampleBytes);
    for (int iY = 0; iY < nValidY; ++iY)
        GDALCopyWords(pabyTile + iY * nTileStride + iBand * nSampleBytes,
                      eTileType, nSampleBytes * nBands,
                      pabyBlock + static_cast<size_t>(iY) * nBlockXSize *
                                      nBlockSampleBytes,
                      eBlockType, nBlockSampleBytes, nValidX);
}

/* The mask band of a tile into a Byte block: 0 stays 0 (masked out), any
 * other value is valid and reads as itself in 1 .. 255 (a file's mask may
 * be of any sample type; rounding 0.3 or -5 to 0 would mask them out). */
void DeinterleaveMask(const uint8_t *pabyTile, size_t nTileStride, int nBands,
                      GDALDataType eTileType, int iBand, int nValidX,
                      int nValidY, int nBlockXSize, int nBlockYSize,
                      GByte *pabyBlock)
{
    std::vector<double> adfRow(static_cast<size_t>(nValidX));
    const int nSampleBytes = GDALGetDataTypeSizeBytes(eTileType);
    std::memset(pabyBlock, 0, static_cast<size_t>(nBlockXSize) * nBlockYSize);
    for (int iY = 0; iY < nValidY; ++iY)
    {
        GDALCopyWords(pabyTile + iY * nTileStride + iBand * nSampleBytes,
                      eTileType, nSampleBytes * nBands, adfRow.data(),
                      GDT_Float64, 8, nValidX);
        GByte *pabyOut = pabyBlock + static_cast<size_t>(iY) * nBlockXSize;
        for (int iX = 0; iX < nValidX; ++iX)
        {
            const double v = adfRow[iX];
            pabyOut[iX] = v == 0 ? 0
                          : std::isnan(v)
                              ? 255
                              : static_cast<GByte>(std::min(
                                    255.0, std::max(1.0, std::round(v))));
        }
    }
}

}  // namespace

/************************************************************************/
/*                            MSICRasterBand                            */
/************************************************************************/

MSICRasterBand::MSICRasterBand(MSICDataset *poDSIn, int nBandIn)
{
    poDS = poDSIn;
    nBand = nBandIn;
    eDataType = MSICDataType(poDSIn->m_sInfo.image);
    if (poDSIn->m_sInfo.image.bit_depth == 8 &&
        poDSIn->m_sInfo.image.sample_format == MSIC_SAMPLE_SIGNED)
        GDALMajorObject::SetMetadataItem("PIXELTYPE", "SIGNEDBYTE",
                                         "IMAGE_STRUCTURE");
    const uint32_t nValidBits = poDSIn->m_sInfo.image.valid_bits;
    if (nValidBits != 0 && nValidBits != poDSIn->m_sInfo.image.bit_depth)
        GDALMajorObject::SetMetadataItem(
            "NBITS", CPLSPrintf("%u", nValidBits), "IMAGE_STRUCTURE");
    nBlockXSize = std::min(poDSIn->m_nTileSize, poDSIn->GetRasterXSize());
    nBlockYSize = std::min(poDSIn->m_nTileSize, poDSIn->GetRasterYSize());
}

CPLErr MSICRasterBand::IReadBlock(int nBlockXOff, int nBlockYOff,
                                  void *pImage)
{
    return cpl::down_cast<MSICDataset *>(poDS)->ReadTileBlock(
        this, nBlockXOff, nBlockYOff, pImage);
}

int MSICRasterBand::GetMaskFlags()
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    return poGDS->m_poMaskBand ? GMF_PER_DATASET
                               : GDALPamRasterBand::GetMaskFlags();
}

GDALRasterBand *MSICRasterBand::GetMaskBand()
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    return poGDS->m_poMaskBand ? poGDS->m_poMaskBand.get()
                               : GDALPamRasterBand::GetMaskBand();
}

/* The file's reduced levels when it has them; else what PAM finds (an
 * external .ovr). An overview has none of its own. */
int MSICRasterBand::GetOverviewCount()
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    if (poGDS->m_poParent != nullptr)
        return 0;
    if (!poGDS->m_apoOverviews.empty())
        return static_cast<int>(poGDS->m_apoOverviews.size());
    return GDALPamRasterBand::GetOverviewCount();
}

GDALRasterBand *MSICRasterBand::GetOverview(int i)
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    if (poGDS->m_poParent != nullptr)
        return nullptr;
    if (!poGDS->m_apoOverviews.empty())
        return i >= 0 && i < static_cast<int>(poGDS->m_apoOverviews.size())
                   ? poGDS->m_apoOverviews[i]->GetRasterBand(nBand)
                   : nullptr;
    return GDALPamRasterBand::GetOverview(i);
}

GDALColorInterp MSICRasterBand::GetColorInterpretation()
{
    /* What the file recorded (MSICReadMetadataBoxes), else what the band
     * count says: grey, RGB, or nothing (a 4th band may be NIR, not alpha). */
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    const auto &sBand = poGDS->Geo().aoBands[nBand - 1];
    if (sBand.bHasColorInterp)
        return sBand.eColorInterp;
    const int nCount = poDS->GetRasterCount();
    if (nCount == 3)
        return static_cast<GDALColorInterp>(GCI_RedBand + nBand - 1);
    return nCount == 1 ? GCI_GrayIndex : GCI_Undefined;
}

double MSICRasterBand::GetNoDataValue(int *pbSuccess)
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    if (poGDS->Geo().bHasNoData)
    {
        if (pbSuccess)
            *pbSuccess = TRUE;
        return poGDS->Geo().dfNoData;
    }
    return GDALPamRasterBand::GetNoDataValue(pbSuccess);
}

double MSICRasterBand::GetScale(int *pbSuccess)
{
    const auto &sBand =
        cpl::down_cast<MSICDataset *>(poDS)->Geo().aoBands[nBand - 1];
    if (!sBand.bHasScale)
        return GDALPamRasterBand::GetScale(pbSuccess);
    if (pbSuccess)
        *pbSuccess = TRUE;
    return sBand.dfScale;
}

double MSICRasterBand::GetOffset(int *pbSuccess)
{
    const auto &sBand =
        cpl::down_cast<MSICDataset *>(poDS)->Geo().aoBands[nBand - 1];
    if (!sBand.bHasOffset)
        return GDALPamRasterBand::GetOffset(pbSuccess);
    if (pbSuccess)
        *pbSuccess = TRUE;
    return sBand.dfOffset;
}

GDALColorTable *MSICRasterBand::GetColorTable()
{
    const auto &sBand =
        cpl::down_cast<MSICDataset *>(poDS)->Geo().aoBands[nBand - 1];
    return sBand.poColorTable ? sBand.poColorTable.get()
                              : GDALPamRasterBand::GetColorTable();
}

GDALRasterAttributeTable *MSICRasterBand::GetDefaultRAT()
{
    const auto &sBand =
        cpl::down_cast<MSICDataset *>(poDS)->Geo().aoBands[nBand - 1];
    return sBand.poRAT ? sBand.poRAT.get() : GDALPamRasterBand::GetDefaultRAT();
}

const char *MSICRasterBand::GetUnitType()
{
    const auto &sBand =
        cpl::down_cast<MSICDataset *>(poDS)->Geo().aoBands[nBand - 1];
    return sBand.osUnit.empty() ? GDALPamRasterBand::GetUnitType()
                                : sBand.osUnit.c_str();
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
        // A reduced read that an overview (an external .ovr) can serve goes
        // there before any full-resolution tile is decoded (issue #15: the
        // prefetch below decoded them all first).
        if ((nBufXSize < nXSize || nBufYSize < nYSize) &&
            GetOverviewCount() > 0)
        {
            int bTried = FALSE;
            const CPLErr eErr = TryOverviewRasterIO(
                eRWFlag, nXOff, nYOff, nXSize, nYSize, pData, nBufXSize,
                nBufYSize, eBufType, nPixelSpace, nLineSpace, psExtraArg,
                &bTried);
            if (bTried)
                return eErr;
        }
        auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
        if (poGDS->PrefetchTiles(nXOff, nYOff, nXSize, nYSize) != CE_None)
            return CE_Failure;
    }
    return GDALPamRasterBand::IRasterIO(eRWFlag, nXOff, nYOff, nXSize, nYSize,
                                        pData, nBufXSize, nBufYSize, eBufType,
                                        nPixelSpace, nLineSpace, psExtraArg);
}

/************************************************************************/
/*                             MSICMaskBand                             */
/************************************************************************/

MSICMaskBand::MSICMaskBand(MSICDataset *poDSIn)
{
    poDS = poDSIn;
    nBand = 0;
    eDataType = GDT_Byte;
    nRasterXSize = poDSIn->GetRasterXSize();
    nRasterYSize = poDSIn->GetRasterYSize();
    nBlockXSize = std::min(poDSIn->m_nTileSize, nRasterXSize);
    nBlockYSize = std::min(poDSIn->m_nTileSize, nRasterYSize);
}

CPLErr MSICMaskBand::IReadBlock(int nBlockXOff, int nBlockYOff, void *pImage)
{
    return cpl::down_cast<MSICDataset *>(poDS)->ReadTileBlock(
        this, nBlockXOff, nBlockYOff, pImage);
}

/* Mask reads of several tiles decode them in parallel, as data reads do. */
CPLErr MSICMaskBand::IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff,
                               int nXSize, int nYSize, void *pData,
                               int nBufXSize, int nBufYSize,
                               GDALDataType eBufType, GSpacing nPixelSpace,
                               GSpacing nLineSpace,
                               GDALRasterIOExtraArg *psExtraArg)
{
    if (eRWFlag == GF_Read && nBufXSize >= nXSize && nBufYSize >= nYSize &&
        cpl::down_cast<MSICDataset *>(poDS)->PrefetchTiles(
            nXOff, nYOff, nXSize, nYSize) != CE_None)
        return CE_Failure;
    return GDALRasterBand::IRasterIO(eRWFlag, nXOff, nYOff, nXSize, nYSize,
                                     pData, nBufXSize, nBufYSize, eBufType,
                                     nPixelSpace, nLineSpace, psExtraArg);
}

/* The overviews' masks: the reduced levels carry the mask band too. */
int MSICMaskBand::GetOverviewCount()
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    return poGDS->m_poParent ? 0
                             : static_cast<int>(poGDS->m_apoOverviews.size());
}

GDALRasterBand *MSICMaskBand::GetOverview(int i)
{
    auto *poGDS = cpl::down_cast<MSICDataset *>(poDS);
    if (poGDS->m_poParent != nullptr || i < 0 ||
        i >= static_cast<int>(poGDS->m_apoOverviews.size()))
        return nullptr;
    return poGDS->m_apoOverviews[i]->m_poMaskBand.get();
}

/************************************************************************/
/*                             MSICDataset                              */
/************************************************************************/

MSICDataset::MSICDataset() = default;

MSICDataset::~MSICDataset()
{
    FlushCache(true);
    if (m_poParent != nullptr)
        return; /* the reader and the file are the parent's */
    m_apoOverviews.clear();
    if (m_poReader)
    {
        std::string osLevels;
        for (uint32_t nLevel = 1; nLevel <= m_sInfo.levels; ++nLevel)
            osLevels += CPLSPrintf(
                "%s%llu", nLevel > 1 ? ", " : "; of the overviews ",
                static_cast<unsigned long long>(
                    msic_reader_level_tiles_decoded(m_poReader, nLevel)));
        CPLDebug(MSIC_DRIVER_NAME, "%s: %llu of %u tiles decoded%s",
                 GetDescription(),
                 static_cast<unsigned long long>(
                     msic_reader_tiles_decoded(m_poReader)),
                 m_sInfo.tiles_across * m_sInfo.tiles_down, osLevels.c_str());
        msic_reader_close(m_poReader);
    }
    if (m_poContext)
        msic_context_destroy(m_poContext);
    if (m_oSource.fp)
        VSIFCloseL(m_oSource.fp);
}

size_t MSICDataset::ReadAt(void *pUser, uint64_t nOffset, void *pBuf,
                           size_t nSize)
{
    auto *psSrc = static_cast<ReadSource *>(pUser);
    std::lock_guard<std::mutex> oLock(psSrc->oMutex);
    if (VSIFSeekL(psSrc->fp, static_cast<vsi_l_offset>(nOffset), SEEK_SET) !=
        0)
        return 0;
    return VSIFReadL(pBuf, 1, nSize, psSrc->fp);
}

CPLErr MSICDataset::GetGeoTransform(double *padfTransform)
{
    if (m_oGeo.bGeoTransformValid)
    {
        std::memcpy(padfTransform, m_oGeo.adfGeoTransform,
                    sizeof(m_oGeo.adfGeoTransform));
        return CE_None;
    }
    return GDALPamDataset::GetGeoTransform(padfTransform);
}

const OGRSpatialReference *MSICDataset::GetSpatialRef() const
{
    if (!m_oGeo.oSRS.IsEmpty())
        return &m_oGeo.oSRS;
    return GDALPamDataset::GetSpatialRef();
}

int MSICDataset::GetGCPCount()
{
    return m_oGeo.asGCPs.empty() ? GDALPamDataset::GetGCPCount()
                                 : static_cast<int>(m_oGeo.asGCPs.size());
}

const GDAL_GCP *MSICDataset::GetGCPs()
{
    return m_oGeo.asGCPs.empty() ? GDALPamDataset::GetGCPs()
                                 : m_oGeo.asGCPs.data();
}

const OGRSpatialReference *MSICDataset::GetGCPSpatialRef() const
{
    if (m_oGeo.asGCPs.empty())
        return GDALPamDataset::GetGCPSpatialRef();
    return m_oGeo.oGCPSRS.IsEmpty() ? nullptr : &m_oGeo.oGCPSRS;
}

CPLErr MSICDataset::DecodeTile(int nTileX, int nTileY, uint8_t *pabyTile)
{
    const uint32_t nX = static_cast<uint32_t>(nTileX);
    const uint32_t nY = static_cast<uint32_t>(nTileY);
    const msic_status eStatus =
        m_nLevel == 0
            ? msic_reader_decode_tile(m_poReader, nX, nY, pabyTile,
                                      TileStride())
            : msic_reader_decode_level_tiles(m_poReader, m_nLevel, 1, &nX,
                                             &nY, &pabyTile, TileStride(), 1);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_AppDefined, "%s",
                 MSICErrorMessage(
                     CPLSPrintf("MSIC: %s: decoding tile (%d, %d)",
                                GetDescription(), nTileX, nTileY),
                     eStatus)
                     .c_str());
        return CE_Failure;
    }
    return CE_None;
}

GDALRasterBand *MSICDataset::FileBand(int iFileBand)
{
    return iFileBand < nBands ? GetRasterBand(iFileBand + 1)
                              : m_poMaskBand.get();
}

CPLErr MSICDataset::ReadTileBlock(GDALRasterBand *poBand, int nTileX,
                                  int nTileY, void *pImage)
{
    std::vector<uint8_t> abyTile;
    try
    {
        abyTile.resize(TileBytes());
    }
    catch (const std::bad_alloc &)
    {
        CPLError(CE_Failure, CPLE_OutOfMemory,
                 "MSIC: cannot allocate a tile buffer");
        return CE_Failure;
    }
    if (DecodeTile(nTileX, nTileY, abyTile.data()) != CE_None)
        return CE_Failure;
    StoreTileInBlockCache(nTileX, nTileY, abyTile.data(), poBand,
                          static_cast<GByte *>(pImage));
    return CE_None;
}

/* Puts the bands of a decoded tile into their blocks. poSkipBand's block is
 * the one GDAL is reading (pabySkipBandBlock), the others go to the block
 * cache unless already there. */
void MSICDataset::StoreTileInBlockCache(int nTileX, int nTileY,
                                        const uint8_t *pabyTile,
                                        GDALRasterBand *poSkipBand,
                                        GByte *pabySkipBandBlock)
{
    const int nValidX = TileWidth(nTileX);
    const int nValidY = TileHeight(nTileY);
    const GDALDataType eTileType = MSICDataType(m_sInfo.image);
    const int nBlockX = std::min(m_nTileSize, nRasterXSize);
    const int nBlockY = std::min(m_nTileSize, nRasterYSize);
    for (int iFileBand = 0; iFileBand < m_nFileBands; ++iFileBand)
    {
        GDALRasterBand *poBand = FileBand(iFileBand);
        auto Deinterleave = [&](GByte *pabyBlock)
        {
            if (poBand == m_poMaskBand.get() && eTileType != GDT_Byte)
                DeinterleaveMask(pabyTile, TileStride(), m_nFileBands,
                                 eTileType, iFileBand, nValidX, nValidY,
                                 nBlockX, nBlockY, pabyBlock);
            else
                DeinterleaveBand(pabyTile, TileStride(), m_nFileBands,
                                 eTileType, iFileBand, nValidX, nValidY,
                                 poBand->GetRasterDataType(), nBlockX,
                                 nBlockY, pabyBlock);
        };
        if (poBand == poSkipBand)
        {
            Deinterleave(pabySkipBandBlock);
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
        Deinterleave(static_cast<GByte *>(poBlock->GetDataRef()));
        poBlock->DropLock();
    }
}

bool MSICDataset::TileFullyCached(int nTileX, int nTileY)
{
    for (int iFileBand = 0; iFileBand < m_nFileBands; ++iFileBand)
    {
        GDALRasterBlock *poBlock =
            FileBand(iFileBand)->TryGetLockedBlockRef(nTileX, nTileY);
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

    std::vector<uint32_t> anTileX, anTileY;
    for (int nTileY = nTileY0; nTileY <= nTileY1; ++nTileY)
    {
        for (int nTileX = nTileX0;
             nTileX <= nTileX1 && anTileX.size() < nMaxTiles; ++nTileX)
        {
            if (!TileFullyCached(nTileX, nTileY))
            {
                anTileX.push_back(static_cast<uint32_t>(nTileX));
                anTileY.push_back(static_cast<uint32_t>(nTileY));
            }
        }
    }
    const size_t nTodo = anTileX.size();
    if (nTodo < 2)
        return CE_None;

    /* Batches of one tile per thread, decoded on libmsic's thread pool;
     * only this thread touches the block cache. */
    const size_t nBatch = std::min(static_cast<size_t>(m_nThreads), nTodo);
    std::vector<uint8_t> abyBatch;
    std::vector<uint8_t *> apabyTiles(nBatch);
    try
    {
        abyBatch.resize(nBatch * TileBytes());
    }
    catch (const std::bad_alloc &)
    {
        return CE_None; /* no room to go parallel: IReadBlock will do it */
    }
    for (size_t i = 0; i < nBatch; ++i)
        apabyTiles[i] = abyBatch.data() + i * TileBytes();

    for (size_t iStart = 0; iStart < nTodo; iStart += nBatch)
    {
        const size_t nCount = std::min(nBatch, nTodo - iStart);
        const msic_status eStatus = msic_reader_decode_level_tiles(
            m_poReader, m_nLevel, nCount, anTileX.data() + iStart,
            anTileY.data() + iStart, apabyTiles.data(), TileStride(),
            m_nThreads);
        if (eStatus != MSIC_OK)
        {
            /* libmsic's message starts with the tile, "tile (x, y): ...",
             * so that this reads as DecodeTile's. */
            CPLError(CE_Failure, CPLE_AppDefined, "MSIC: %s: decoding %s",
                     GetDescription(), MSICLastError(eStatus));
            return CE_Failure;
        }
        for (size_t i = 0; i < nCount; ++i)
            StoreTileInBlockCache(static_cast<int>(anTileX[iStart + i]),
                                  static_cast<int>(anTileY[iStart + i]),
                                  apabyTiles[i], nullptr, nullptr);
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
    if (eRWFlag == GF_Read && (nBufXSize < nXSize || nBufYSize < nYSize) &&
        nBands > 0 && GetRasterBand(1)->GetOverviewCount() > 0)
    {
        // As in MSICRasterBand::IRasterIO: overviews before any prefetch.
        int bTried = FALSE;
        const CPLErr eErr = TryOverviewRasterIO(
            eRWFlag, nXOff, nYOff, nXSize, nYSize, pData, nBufXSize,
            nBufYSize, eBufType, nBandCount, panBandMap, nPixelSpace,
            nLineSpace, nBandSpace, psExtraArg, &bTried);
        if (bTried)
            return eErr;
    }
    if (eRWFlag == GF_Read &&
        PrefetchTiles(nXOff, nYOff, nXSize, nYSize) != CE_None)
        return CE_Failure;
    return GDALPamDataset::IRasterIO(eRWFlag, nXOff, nYOff, nXSize, nYSize,
                                     pData, nBufXSize, nBufYSize, eBufType,
                                     nBandCount, panBandMap, nPixelSpace,
                                     nLineSpace, nBandSpace, psExtraArg);
}

void MSICDataset::CreateBands(bool bMask)
{
    const int nCount = m_nFileBands - (bMask ? 1 : 0);
    for (int iBand = 1; iBand <= nCount; ++iBand)
        SetBand(iBand, new MSICRasterBand(this, iBand));
    if (bMask)
        m_poMaskBand = std::make_unique<MSICMaskBand>(this);
}

std::string MSICDataset::OverviewList() const
{
    std::string osList;
    for (const auto &poOvr : m_apoOverviews)
        osList += CPLSPrintf("%s1/%u", osList.empty() ? "" : ", ",
                             1u << poOvr->m_nScaleLog2);
    return osList;
}

void MSICDataset::OpenOverviews()
{
    for (uint32_t nLevel = 1; nLevel <= m_sInfo.levels; ++nLevel)
    {
        msic_level_info sLevel;
        if (msic_reader_get_level(m_poReader, nLevel, &sLevel) != MSIC_OK ||
            sLevel.width > static_cast<uint32_t>(INT_MAX) ||
            sLevel.height > static_cast<uint32_t>(INT_MAX))
            break;
        auto poOvr = std::make_unique<MSICDataset>();
        poOvr->m_poParent = this;
        poOvr->m_nLevel = nLevel;
        poOvr->m_nScaleLog2 = sLevel.scale_log2;
        poOvr->m_poReader = m_poReader;
        poOvr->m_poContext = nullptr;
        poOvr->m_sInfo = m_sInfo;
        poOvr->m_nFileBands = m_nFileBands;
        poOvr->m_nTileSize = m_nTileSize;
        poOvr->m_nThreads = m_nThreads;
        poOvr->nRasterXSize = static_cast<int>(sLevel.width);
        poOvr->nRasterYSize = static_cast<int>(sLevel.height);
        poOvr->CreateBands(m_poMaskBand != nullptr);
        /* Nothing of an overview goes to a side file of its own. */
        poOvr->SetPamFlags(poOvr->GetPamFlags() | GPF_DISABLED);
        poOvr->SetDescription(
            CPLSPrintf("%s (overview 1/%u)", GetDescription(), 1u << sLevel.scale_log2));
        m_apoOverviews.push_back(std::move(poOvr));
    }
}

CPLErr MSICDataset::IBuildOverviews(const char *pszResampling, int nOverviews,
                                    const int *panOverviewList, int nListBands,
                                    const int *panBandList,
                                    GDALProgressFunc pfnProgress,
                                    void *pProgressData,
                                    CSLConstList papszOptions)
{
    if (!m_apoOverviews.empty())
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "MSIC: %s has internal overviews (%s), written with it; "
                 "others cannot be added. Re-encode with gdal_translate -of "
                 "MSIC -co OVERVIEWS=n to store them from 1/2^n down",
                 GetDescription(), OverviewList().c_str());
        return CE_Failure;
    }
    CPLError(CE_Warning, CPLE_AppDefined,
             "MSIC: %s has no internal overviews (too small for the first "
             "level, written with OVERVIEWS=0, or before MSIC 1.3): "
             "building an external .ovr instead "
             "(uncompressed GTiff unless --config COMPRESS_OVERVIEW ZSTD). "
             "Re-encoding with gdal_translate -of MSIC stores them in the "
             "file",
             GetDescription());
    return GDALPamDataset::IBuildOverviews(
        pszResampling, nOverviews, panOverviewList, nListBands, panBandList,
        pfnProgress, pProgressData, papszOptions);
}

/************************************************************************/
/*                                Open()                                */
/************************************************************************/

/* Loads the MODEL open option's model, opens the reader on m_oSource.fp and
 * checks that GDAL can represent the file. False after a CPLError. */
bool MSICDataset::OpenReader(GDALOpenInfo *poOpenInfo)
{
    const char *pszFilename = poOpenInfo->pszFilename;
    if (!MSICLoadModel(
            CSLFetchNameValue(poOpenInfo->papszOpenOptions, "MODEL"),
            &m_poContext))
        return false;

    if (VSIFSeekL(m_oSource.fp, 0, SEEK_END) != 0)
    {
        CPLError(CE_Failure, CPLE_FileIO, "MSIC: cannot seek in %s",
                 pszFilename);
        return false;
    }
    const vsi_l_offset nFileSize = VSIFTellL(m_oSource.fp);

    msic_status eStatus = msic_reader_new_callbacks(
        m_poContext, ReadAt, static_cast<uint64_t>(nFileSize), &m_oSource,
        &m_poReader);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_OpenFailed, "%s",
                 MSICErrorMessage(CPLSPrintf("MSIC: cannot open %s",
                                             pszFilename),
                                  eStatus)
                     .c_str());
        return false;
    }
    eStatus = msic_reader_get_info(m_poReader, &m_sInfo);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Failure, CPLE_OpenFailed, "%s",
                 MSICErrorMessage(
                     CPLSPrintf("MSIC: cannot read the header of %s",
                                pszFilename),
                     eStatus)
                     .c_str());
        return false;
    }

    /* GDAL's int sizes and the bands and depth the driver maps. */
    const msic_file_info &sInfo = m_sInfo;
    if (sInfo.image.width == 0 || sInfo.image.height == 0 ||
        sInfo.image.width > static_cast<uint32_t>(INT_MAX) ||
        sInfo.image.height > static_cast<uint32_t>(INT_MAX) ||
        sInfo.image.bands == 0 || sInfo.image.bands > MSIC_MAX_BANDS ||
        MSICDataType(sInfo.image) == GDT_Unknown || sInfo.tile_size == 0 ||
        sInfo.tile_size > 65536)
    {
        CPLError(CE_Failure, CPLE_NotSupported,
                 "MSIC: %s has a layout this driver cannot represent "
                 "(%ux%u, %u bands of %u bits, tiles of %u)",
                 pszFilename, sInfo.image.width, sInfo.image.height,
                 sInfo.image.bands, sInfo.image.bit_depth, sInfo.tile_size);
        return false;
    }

    /* Tiles only decode with the model that coded them (the loaded one, or
     * one libmsic finds by its hash): say so now rather than at every
     * block read (the header and metadata stay readable). */
    if (msic_reader_check_model(m_poReader) == MSIC_ERR_MODEL)
    {
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC: %s: its pixels cannot be decoded: %s. Open it with "
                 "-oo MODEL=<path of that model>",
                 pszFilename, msic_last_error());
    }
    return true;
}

void MSICDataset::SetImageStructureMetadata()
{
    GDALDataset::SetMetadataItem("COMPRESSION", "MSIC", "IMAGE_STRUCTURE");
    GDALDataset::SetMetadataItem("INTERLEAVE", "PIXEL", "IMAGE_STRUCTURE");
    if (m_sInfo.coding == MSIC_CODING_LOSSLESS)
        GDALDataset::SetMetadataItem("LOSSLESS", "YES", "IMAGE_STRUCTURE");
    else if (m_sInfo.coding == MSIC_CODING_MAX_ERROR)
        GDALDataset::SetMetadataItem("MAX_Z_ERROR",
                                     CPLSPrintf("%.17g", m_sInfo.max_error),
                                     "IMAGE_STRUCTURE");
    else
        GDALDataset::SetMetadataItem(
            "QUALITY",
            CPLSPrintf("%.6g", static_cast<double>(m_sInfo.quality)),
            "IMAGE_STRUCTURE");
    GDALDataset::SetMetadataItem(
        "MSIC_FORMAT_VERSION",
        CPLSPrintf("%u.%u", m_sInfo.format_version >> 16,
                   m_sInfo.format_version & 0xffffu),
        "IMAGE_STRUCTURE");
    if (m_sInfo.coding == MSIC_CODING_LEARNED)
        GDALDataset::SetMetadataItem("MSIC_MODEL_HASH", m_sInfo.model_hash,
                                     "IMAGE_STRUCTURE");
}

GDALDataset *MSICDataset::Open(GDALOpenInfo *poOpenInfo)
{
    if (!MSICDriverIdentify(poOpenInfo))
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
    if (!poDS->OpenReader(poOpenInfo))
        return nullptr;

    poDS->nRasterXSize = static_cast<int>(poDS->m_sInfo.image.width);
    poDS->nRasterYSize = static_cast<int>(poDS->m_sInfo.image.height);
    poDS->m_nTileSize = static_cast<int>(poDS->m_sInfo.tile_size);

    int nThreads = MSICParseThreadCount(
        CSLFetchNameValue(poOpenInfo->papszOpenOptions, "NUM_THREADS"),
        "NUM_THREADS");
    if (nThreads == 0)
        nThreads = MSICParseThreadCount(
            CPLGetConfigOption("GDAL_NUM_THREADS", "ALL_CPUS"),
            "GDAL_NUM_THREADS");
    poDS->m_nThreads = std::max(1, nThreads);

    poDS->m_nFileBands = static_cast<int>(poDS->m_sInfo.image.bands);
    poDS->CreateBands(
        MSICFileHasMaskBand(poDS->m_poReader, poDS->m_nFileBands));

    MSICReadMetadataBoxes(poDS->m_poReader, poDS.get(), poDS->m_oGeo);
    poDS->SetImageStructureMetadata();

    poDS->SetDescription(poOpenInfo->pszFilename);
    poDS->OpenOverviews();
    poDS->TryLoadXML(poOpenInfo->GetSiblingFiles());
    poDS->oOvManager.Initialize(poDS.get(), poOpenInfo->pszFilename,
                                poOpenInfo->GetSiblingFiles());
    return poDS.release();
}
