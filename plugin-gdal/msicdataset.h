/*
 * GDAL raster driver for MSIC: the dataset and band classes.
 *
 * Reading (msicdataset.cpp): the file is read through GDAL's VSI layer (so
 * /vsimem/, /vsizip/, /vsicurl/ ... work), the block size is the file's tile
 * size and a block read decodes exactly the tile it covers. The file's
 * reduced levels are the overviews: a dataset per level, sharing the
 * reader, whose blocks are that level's tiles. A decoded tile
 * carries every band, so the other bands' blocks of that tile go into GDAL's
 * block cache at the same time. Multi-tile requests have libmsic decode
 * their missing tiles in parallel first (NUM_THREADS open option, else
 * GDAL_NUM_THREADS, else all cores).
 *
 * Writing: CreateCopy (msiccreatecopy.cpp) reads the source a tile row at
 * a time; Create (msiccreate.cpp) returns a write-only dataset that codes
 * each tile row once its blocks are written (the codec codes whole tile
 * rows, top to bottom). What both share is in msicwriting.h.
 */
#ifndef MSICDATASET_H
#define MSICDATASET_H

#include "msicmetadata.h"

#include "cpl_vsi.h"
#include "gdal_pam.h"
#include "gdal_priv.h"

#include <msic/msic.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

class MSICRasterBand;
class MSICMaskBand;

class MSICDataset final : public GDALPamDataset
{
    friend class MSICRasterBand;
    friend class MSICMaskBand;

    /* The reader's view of the file: reads at an offset through VSI. The
     * library serialises its calls; the mutex keeps seek+read atomic
     * regardless. */
    struct ReadSource
    {
        VSILFILE *fp = nullptr;
        std::mutex oMutex{};
    };
    static size_t ReadAt(void *pUser, uint64_t nOffset, void *pBuf,
                         size_t nSize);

    ReadSource m_oSource{};
    msic_context *m_poContext = nullptr; /* nullptr: library default model */
    msic_reader *m_poReader = nullptr;   /* an overview's: its parent's */
    /* An overview (reduced level m_nLevel) points to the dataset that owns
     * the reader and the metadata; the raster (level 0) owns its overviews. */
    MSICDataset *m_poParent = nullptr;
    uint32_t m_nLevel = 0;
    uint32_t m_nScaleLog2 = 0; /* the level is 1/2^m_nScaleLog2 of the raster */
    std::vector<std::unique_ptr<MSICDataset>> m_apoOverviews{};
    msic_file_info m_sInfo{};
    /* The file's bands: the raster bands, then the mask if the file has
     * one (a ROLE box names its last band the mask; GetMaskBand serves it). */
    int m_nFileBands = 0;
    std::unique_ptr<MSICMaskBand> m_poMaskBand{};
    int m_nTileSize = 0;
    int m_nThreads = 1;
    MSICGeoreferencing m_oGeo{};

    CPL_DISALLOW_COPY_ASSIGN(MSICDataset)

    bool OpenReader(GDALOpenInfo *poOpenInfo);
    void SetImageStructureMetadata();
    /* The bands (and mask) of a dataset of nXSize x nYSize. */
    void CreateBands(bool bMask);
    /* A dataset per reduced level of the file. */
    void OpenOverviews();
    /* "1/8, 1/16", for messages. */
    std::string OverviewList() const;
    const MSICGeoreferencing &Geo() const
    {
        return m_poParent ? m_poParent->m_oGeo : m_oGeo;
    }

    int TileWidth(int nTileX) const
    {
        return std::min(m_nTileSize, nRasterXSize - nTileX * m_nTileSize);
    }
    int TileHeight(int nTileY) const
    {
        return std::min(m_nTileSize, nRasterYSize - nTileY * m_nTileSize);
    }
    /* Bytes of one sample and of one pixel (every band). */
    size_t SampleBytes() const
    {
        return m_sInfo.image.bit_depth / 8;
    }
    size_t TileStride() const
    {
        return static_cast<size_t>(m_nTileSize) * m_nFileBands * SampleBytes();
    }
    size_t TileBytes() const
    {
        return TileStride() * static_cast<size_t>(m_nTileSize);
    }

    /* File band iFileBand (0-based) as GDAL sees it: a raster band or the
     * mask band. */
    GDALRasterBand *FileBand(int iFileBand);
    CPLErr DecodeTile(int nTileX, int nTileY, uint8_t *pabyTile);
    /* The block of poBand (a raster or the mask band) that tile (nTileX,
     * nTileY) fills: decoded, with the other bands' blocks put in the
     * block cache. */
    CPLErr ReadTileBlock(GDALRasterBand *poBand, int nTileX, int nTileY,
                         void *pImage);
    void StoreTileInBlockCache(int nTileX, int nTileY, const uint8_t *pabyTile,
                               GDALRasterBand *poSkipBand,
                               GByte *pabySkipBandBlock);
    bool TileFullyCached(int nTileX, int nTileY);
    CPLErr PrefetchTiles(int nXOff, int nYOff, int nXSize, int nYSize);

  public:
    MSICDataset();
    ~MSICDataset() override;

    CPLErr GetGeoTransform(double *padfTransform) override;
    const OGRSpatialReference *GetSpatialRef() const override;
    int GetGCPCount() override;
    const GDAL_GCP *GetGCPs() override;
    const OGRSpatialReference *GetGCPSpatialRef() const override;

    CPLErr IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff, int nXSize,
                     int nYSize, void *pData, int nBufXSize, int nBufYSize,
                     GDALDataType eBufType, int nBandCount, int *panBandMap,
                     GSpacing nPixelSpace, GSpacing nLineSpace,
                     GSpacing nBandSpace,
                     GDALRasterIOExtraArg *psExtraArg) override;
    /* gdaladdo: a file's overviews are written with it. */
    CPLErr IBuildOverviews(const char *pszResampling, int nOverviews,
                           const int *panOverviewList, int nListBands,
                           const int *panBandList, GDALProgressFunc pfnProgress,
                           void *pProgressData,
                           CSLConstList papszOptions) override;

    static GDALDataset *Open(GDALOpenInfo *poOpenInfo);
    static GDALDataset *Create(const char *pszFilename, int nXSize,
                               int nYSize, int nBands, GDALDataType eType,
                               char **papszOptions);
    static GDALDataset *CreateCopy(const char *pszFilename,
                                   GDALDataset *poSrcDS, int bStrict,
                                   char **papszOptions,
                                   GDALProgressFunc pfnProgress,
                                   void *pProgressData);
};

class MSICRasterBand final : public GDALPamRasterBand
{
    friend class MSICDataset;

  public:
    MSICRasterBand(MSICDataset *poDSIn, int nBandIn);

    CPLErr IReadBlock(int nBlockXOff, int nBlockYOff, void *pImage) override;
    GDALColorInterp GetColorInterpretation() override;
    double GetNoDataValue(int *pbSuccess = nullptr) override;
    double GetScale(int *pbSuccess = nullptr) override;
    double GetOffset(int *pbSuccess = nullptr) override;
    const char *GetUnitType() override;
    GDALColorTable *GetColorTable() override;
    GDALRasterAttributeTable *GetDefaultRAT() override;
    int GetMaskFlags() override;
    GDALRasterBand *GetMaskBand() override;
    int GetOverviewCount() override;
    GDALRasterBand *GetOverview(int i) override;

  protected:
    CPLErr IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff, int nXSize,
                     int nYSize, void *pData, int nBufXSize, int nBufYSize,
                     GDALDataType eBufType, GSpacing nPixelSpace,
                     GSpacing nLineSpace,
                     GDALRasterIOExtraArg *psExtraArg) override;
};

/* The file's mask band (a source's per-dataset mask, coded exactly as the
 * file's last band), in GDAL's terms: Byte, 0 masked out, else valid. */
class MSICMaskBand final : public GDALRasterBand
{
  public:
    explicit MSICMaskBand(MSICDataset *poDSIn);

    CPLErr IReadBlock(int nBlockXOff, int nBlockYOff, void *pImage) override;
    int GetMaskFlags() override
    {
        return GMF_ALL_VALID;
    }
    int GetOverviewCount() override;
    GDALRasterBand *GetOverview(int i) override;

  protected:
    CPLErr IRasterIO(GDALRWFlag eRWFlag, int nXOff, int nYOff, int nXSize,
                     int nYSize, void *pData, int nBufXSize, int nBufYSize,
                     GDALDataType eBufType, GSpacing nPixelSpace,
                     GSpacing nLineSpace,
                     GDALRasterIOExtraArg *psExtraArg) override;
};

#endif /* MSICDATASET_H */
