// Internal overviews: the file's reduced levels are GDAL's overviews, a
// reduced read uses them without decoding a full-resolution tile, they
// match a reduced full decode, masks and palettes follow them, and
// gdaladdo says what it does.

#include "gdal_test_support.h"

#include "gdal_priv.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace
{

using namespace msic_gdal_test;

TEST_F(GdalMsicTest, ReducedLevelsAreOverviews)
{
    // 1000 x 700 in tiles of 64: overviews 1/8 (125 x 88) and 1/16.
    const std::string osPath = m_osDir + "/ovr.msic";
    auto poSrc = MakeSource(1000, 700, 3);
    DatasetPtr poDS =
        CopyAndReopen(poSrc.get(), osPath, {"TILE_SIZE=64", "OVERVIEWS=3"});
    ASSERT_NE(nullptr, poDS);
    GDALRasterBand *poBand = poDS->GetRasterBand(2);
    ASSERT_EQ(2, poBand->GetOverviewCount());
    EXPECT_EQ(125, poBand->GetOverview(0)->GetXSize());
    EXPECT_EQ(88, poBand->GetOverview(0)->GetYSize());
    EXPECT_EQ(63, poBand->GetOverview(1)->GetXSize());
    EXPECT_EQ(nullptr, poBand->GetOverview(2));
    EXPECT_EQ(0, poBand->GetOverview(0)->GetOverviewCount());
    poDS.reset();

    // A preview at 1/10 through RasterIO (what -outsize and rasterio's
    // out_shape do) reads the 1/8 level only.
    std::vector<GByte> abyPreview(100 * 70 * 3);
    {
        DebugCapture oDebug;
        poDS.reset(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
        ASSERT_NE(nullptr, poDS);
        ASSERT_EQ(CE_None,
                  poDS->RasterIO(GF_Read, 0, 0, 1000, 700, abyPreview.data(),
                                 100, 70, GDT_Byte, 3, nullptr, 0, 0, 0,
                                 nullptr));
        poDS.reset();
        EXPECT_EQ(0, oDebug.TilesDecoded("ovr.msic"));
        EXPECT_EQ(4, oDebug.OverviewTilesDecoded("ovr.msic"));
    }

    // The overview against the full decode, averaged 8 x 8.
    poDS.reset(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
    ASSERT_NE(nullptr, poDS);
    const std::vector<GByte> abyFull = ReadAll(poDS.get());
    GDALRasterBand *poOvr = poDS->GetRasterBand(1)->GetOverview(0);
    std::vector<GByte> abyOvr(125 * 88);
    ASSERT_EQ(CE_None, poOvr->RasterIO(GF_Read, 0, 0, 125, 88, abyOvr.data(),
                                       125, 88, GDT_Byte, 0, 0, nullptr));
    double dfSE = 0;
    for (int y = 0; y < 88; ++y)
        for (int x = 0; x < 125; ++x)
        {
            double dfSum = 0;
            int n = 0;
            for (int yy = 8 * y; yy < std::min(700, 8 * y + 8); ++yy)
                for (int xx = 8 * x; xx < std::min(1000, 8 * x + 8); ++xx, ++n)
                    dfSum += abyFull[static_cast<size_t>(yy) * 1000 + xx];  // band 1
            const double d = dfSum / n - abyOvr[y * 125 + x];
            dfSE += d * d;
        }
    const double dfPsnr = 10 * std::log10(255.0 * 255 / (dfSE / (125 * 88)));
    EXPECT_GT(dfPsnr, 35.0) << "1/8 overview against the reduced full decode";
}

TEST_F(GdalMsicTest, OverviewsFollowMasksAndPalettes)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    // A mask: the overviews carry it, valid wherever any pixel was.
    auto poSrc = MakeSource(600, 400, 3);
    ASSERT_EQ(CE_None, poSrc->CreateMaskBand(GMF_PER_DATASET));
    std::vector<GByte> abyMask(600 * 400, 255);
    for (int y = 0; y < 400; ++y)
        for (int x = 0; x < 600; ++x)
            if (x + y < 300)
                abyMask[y * 600 + x] = 0;
    ASSERT_EQ(CE_None, poSrc->GetRasterBand(1)->GetMaskBand()->RasterIO(
                           GF_Write, 0, 0, 600, 400, abyMask.data(), 600, 400,
                           GDT_Byte, 0, 0, nullptr));
    DatasetPtr poDS =
        CopyAndReopen(poSrc.get(), m_osMemDir + "/masked.msic",
                      {"TILE_SIZE=64", "LOSSLESS=YES", "OVERVIEWS=2"});
    ASSERT_NE(nullptr, poDS);
    GDALRasterBand *poMask = poDS->GetRasterBand(1)->GetMaskBand();
    ASSERT_EQ(poDS->GetRasterBand(1)->GetOverviewCount(),
              poMask->GetOverviewCount());
    GDALRasterBand *poOvrMask = poMask->GetOverview(0);  // 1/4: 150 x 100
    ASSERT_NE(nullptr, poOvrMask);
    std::vector<GByte> abyOvrMask(150 * 100);
    ASSERT_EQ(CE_None, poOvrMask->RasterIO(GF_Read, 0, 0, 150, 100,
                                           abyOvrMask.data(), 150, 100,
                                           GDT_Byte, 0, 0, nullptr));
    for (int y = 0; y < 100; ++y)
        for (int x = 0; x < 150; ++x)
        {
            bool bAnyValid = false;
            for (int yy = 4 * y; yy < 4 * y + 4; ++yy)
                for (int xx = 4 * x; xx < 4 * x + 4; ++xx)
                    bAnyValid |= abyMask[yy * 600 + xx] != 0;
            ASSERT_EQ(bAnyValid ? 255 : 0, abyOvrMask[y * 150 + x])
                << x << ", " << y;
        }

    // A palette: overview pixels are class codes that exist, never means.
    GDALDriver *poMem = GetGDALDriverManager()->GetDriverByName("MEM");
    DatasetPtr poPal(poMem->Create("", 512, 384, 1, GDT_Byte, nullptr));
    std::vector<GByte> abyCodes(512 * 384);
    for (int y = 0; y < 384; ++y)
        for (int x = 0; x < 512; ++x)
            abyCodes[y * 512 + x] = static_cast<GByte>(((x / 3) ^ (y / 5)) % 4 * 60);
    ASSERT_EQ(CE_None, poPal->GetRasterBand(1)->RasterIO(
                           GF_Write, 0, 0, 512, 384, abyCodes.data(), 512, 384,
                           GDT_Byte, 0, 0, nullptr));
    GDALColorTable oCT;
    for (int i = 0; i < 4; ++i)
    {
        const GDALColorEntry sEntry = {static_cast<short>(i * 60), 0, 0, 255};
        oCT.SetColorEntry(i * 60, &sEntry);
    }
    poPal->GetRasterBand(1)->SetColorTable(&oCT);
    DatasetPtr poPalOut =
        CopyAndReopen(poPal.get(), m_osMemDir + "/palette.msic",
                      {"TILE_SIZE=64", "LOSSLESS=YES", "OVERVIEWS=3"});
    ASSERT_NE(nullptr, poPalOut);
    GDALRasterBand *poPalOvr = poPalOut->GetRasterBand(1)->GetOverview(0);
    ASSERT_NE(nullptr, poPalOvr);
    std::vector<GByte> abyPalOvr(64 * 48);
    ASSERT_EQ(CE_None, poPalOvr->RasterIO(GF_Read, 0, 0, 64, 48,
                                          abyPalOvr.data(), 64, 48, GDT_Byte,
                                          0, 0, nullptr));
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x)
            ASSERT_EQ(abyCodes[(8 * y) * 512 + 8 * x], abyPalOvr[y * 64 + x])
                << "the top-left pixel of each 8 x 8";
}

// Create() learns of a palette only after Create: its overviews still take
// class codes, not means.
TEST_F(GdalMsicTest, CreatedPaletteRastersGetNearestOverviews)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    const std::string osPath = m_osMemDir + "/created-palette.msic";
    const char *apszOptions[] = {"TILE_SIZE=64", "LOSSLESS=YES", "OVERVIEWS=3",
                                 nullptr};
    DatasetPtr poDS(MsicDriver()->Create(osPath.c_str(), 512, 384, 1, GDT_Byte,
                                         const_cast<char **>(apszOptions)));
    ASSERT_NE(nullptr, poDS);
    GDALColorTable oCT;
    for (int i = 0; i < 4; ++i)
    {
        const GDALColorEntry sEntry = {static_cast<short>(i * 60), 0, 0, 255};
        oCT.SetColorEntry(i * 60, &sEntry);
    }
    ASSERT_EQ(CE_None, poDS->GetRasterBand(1)->SetColorTable(&oCT));
    std::vector<GByte> abyCodes(512 * 384);
    for (int y = 0; y < 384; ++y)
        for (int x = 0; x < 512; ++x)
            abyCodes[y * 512 + x] = static_cast<GByte>(((x / 3) ^ (y / 5)) % 4 * 60);
    ASSERT_EQ(CE_None, poDS->GetRasterBand(1)->RasterIO(
                           GF_Write, 0, 0, 512, 384, abyCodes.data(), 512, 384,
                           GDT_Byte, 0, 0, nullptr));
    poDS.reset();
    poDS.reset(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
    ASSERT_NE(nullptr, poDS);
    GDALRasterBand *poOvr = poDS->GetRasterBand(1)->GetOverview(0);
    ASSERT_NE(nullptr, poOvr);
    std::vector<GByte> abyOvr(64 * 48);
    ASSERT_EQ(CE_None, poOvr->RasterIO(GF_Read, 0, 0, 64, 48, abyOvr.data(), 64,
                                       48, GDT_Byte, 0, 0, nullptr));
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 64; ++x)
            ASSERT_EQ(abyCodes[(8 * y) * 512 + 8 * x], abyOvr[y * 64 + x]);
}

TEST_F(GdalMsicTest, GdaladdoSaysWhatItDoes)
{
    auto poSrc = MakeSource(1000, 700, 3);
    // Internal overviews: none can be added.
    DatasetPtr poDS = CopyAndReopen(poSrc.get(), m_osDir + "/with.msic",
                                    {"TILE_SIZE=64", "OVERVIEWS=3"});
    ASSERT_NE(nullptr, poDS);
    const int anLevels[] = {2, 4};
    CPLPushErrorHandler(CPLQuietErrorHandler);
    EXPECT_EQ(CE_Failure,
              poDS->BuildOverviews("AVERAGE", 2, anLevels, 0, nullptr,
                                   nullptr, nullptr, nullptr));
    CPLPopErrorHandler();
    EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), "internal overviews (1/8, 1/16)"))
        << CPLGetLastErrorMsg();
    EXPECT_FALSE(Exists(m_osDir + "/with.msic.ovr"));
    // None: an external .ovr, with a warning that says so.
    poDS = CopyAndReopen(poSrc.get(), m_osDir + "/without.msic",
                         {"TILE_SIZE=64", "OVERVIEWS=0"});
    ASSERT_NE(nullptr, poDS);
    EXPECT_EQ(0, poDS->GetRasterBand(1)->GetOverviewCount());
    {
        WarningCapture oWarnings;
        EXPECT_EQ(CE_None,
                  poDS->BuildOverviews("AVERAGE", 2, anLevels, 0, nullptr,
                                       nullptr, nullptr, nullptr));
        ASSERT_EQ(1u, oWarnings.Warnings().size());
        EXPECT_TRUE(oWarnings.Saw("external .ovr")) << oWarnings.Warnings()[0];
    }
    EXPECT_EQ(2, poDS->GetRasterBand(1)->GetOverviewCount());
    EXPECT_TRUE(Exists(m_osDir + "/without.msic.ovr"));
}

}  // namespace
