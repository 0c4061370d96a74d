// In-process tests of the MSIC GDAL driver's reading through the GDAL
// C/C++ API: refused access, identification, damaged files, random access,
// concurrent readers and the MODEL option.

#include "gdal_test_support.h"

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal_priv.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace
{

using namespace msic_gdal_test;

// ------------------------------------------------------------ refusals

TEST_F(GdalMsicTest, UpdateAccessRefused)
{
    auto poSrc = MakeSource(64, 64, 3);
    const std::string osPath = m_osMemDir + "/u.msic";
    DatasetPtr(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(), FALSE,
                                        nullptr, nullptr, nullptr));
    ASSERT_TRUE(Exists(osPath));
    const char *apszDrivers[] = {"MSIC", nullptr};
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr poDS(GDALDataset::Open(osPath.c_str(),
                                      GDAL_OF_RASTER | GDAL_OF_UPDATE,
                                      apszDrivers));
    CPLPopErrorHandler();
    EXPECT_EQ(nullptr, poDS);
    EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), "update"));
}

TEST_F(GdalMsicTest, IdentifyByMagicOnly)
{
    auto poSrc = MakeSource(64, 64, 3);
    // A GeoTIFF named .msic is not taken for MSIC.
    const std::string osTif = m_osMemDir + "/really_a_tiff.msic";
    DatasetPtr(GetGDALDriverManager()->GetDriverByName("GTiff")->CreateCopy(
        osTif.c_str(), poSrc.get(), FALSE, nullptr, nullptr, nullptr));
    GDALDriverH hDrv = GDALIdentifyDriver(osTif.c_str(), nullptr);
    ASSERT_NE(nullptr, hDrv);
    EXPECT_STREQ("GTiff", GDALGetDriverShortName(hDrv));
    // An MSIC file named .tif is.
    const std::string osMsic = m_osMemDir + "/really_msic.tif";
    DatasetPtr(MsicDriver()->CreateCopy(osMsic.c_str(), poSrc.get(), FALSE,
                                        nullptr, nullptr, nullptr));
    hDrv = GDALIdentifyDriver(osMsic.c_str(), nullptr);
    ASSERT_NE(nullptr, hDrv);
    EXPECT_STREQ("MSIC", GDALGetDriverShortName(hDrv));
}

TEST_F(GdalMsicTest, DamagedFilesFailCleanly)
{
    auto poSrc = MakeSource(256, 256, 3);
    const std::string osPath = m_osMemDir + "/good.msic";
    const char *apszOptions[] = {"TILE_SIZE=64", nullptr};
    DatasetPtr(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(), FALSE,
                                        const_cast<char **>(apszOptions),
                                        nullptr, nullptr));
    vsi_l_offset nSize = 0;
    GByte *pabyData = VSIGetMemFileBuffer(osPath.c_str(), &nSize, FALSE);
    ASSERT_NE(nullptr, pabyData);
    const std::vector<GByte> abyGood(pabyData, pabyData + nSize);

    // Truncated: the open fails (or the read does), with an error.
    {
        const std::string osCut = m_osMemDir + "/cut.msic";
        VSILFILE *fp = VSIFileFromMemBuffer(
            osCut.c_str(), const_cast<GByte *>(abyGood.data()),
            abyGood.size() / 2, FALSE);
        VSIFCloseL(fp);
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poDS(GDALDataset::Open(osCut.c_str(), GDAL_OF_RASTER));
        bool bFailed = poDS == nullptr;
        if (poDS)
        {
            std::vector<GByte> abyBuf(256 * 256 * 3);
            bFailed = poDS->RasterIO(GF_Read, 0, 0, 256, 256, abyBuf.data(),
                                     256, 256, GDT_Byte, 3, nullptr, 0, 0, 0,
                                     nullptr) != CE_None;
        }
        CPLPopErrorHandler();
        EXPECT_TRUE(bFailed);
        EXPECT_EQ(CE_Failure, CPLGetLastErrorType());
        poDS.reset();
        VSIUnlink(osCut.c_str());
    }
    // One byte changed in the tile data: the CRC catches it on read.
    {
        std::vector<GByte> abyBad(abyGood);
        abyBad[abyBad.size() / 2] ^= 0x5a;
        const std::string osBad = m_osMemDir + "/flipped.msic";
        VSILFILE *fp = VSIFileFromMemBuffer(osBad.c_str(), abyBad.data(),
                                            abyBad.size(), FALSE);
        VSIFCloseL(fp);
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poDS(GDALDataset::Open(osBad.c_str(), GDAL_OF_RASTER));
        bool bFailed = poDS == nullptr;
        if (poDS)
        {
            std::vector<GByte> abyBuf(256 * 256 * 3);
            bFailed = poDS->RasterIO(GF_Read, 0, 0, 256, 256, abyBuf.data(),
                                     256, 256, GDT_Byte, 3, nullptr, 0, 0, 0,
                                     nullptr) != CE_None;
        }
        CPLPopErrorHandler();
        EXPECT_TRUE(bFailed) << "a damaged tile decoded without error";
        poDS.reset();
        VSIUnlink(osBad.c_str());
    }
}

// ------------------------------------------------------------ random access

TEST_F(GdalMsicTest, EachTileDecodedOnceForAllBands)
{
    auto poSrc = MakeSource(512, 512, 3);
    const std::string osPath = m_osMemDir + "/once.msic";
    const char *apszOptions[] = {"TILE_SIZE=128", nullptr};
    DatasetPtr(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(), FALSE,
                                        const_cast<char **>(apszOptions),
                                        nullptr, nullptr));
    for (const char *pszThreads : {"1", "4"})
    {
        SCOPED_TRACE(std::string("NUM_THREADS=") + pszThreads);
        long nDecoded = -1;
        {
            DebugCapture oDebug;
            const char *apszOpen[] = {
                CPLSPrintf("NUM_THREADS=%s", pszThreads), nullptr};
            DatasetPtr poDS(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER,
                                              nullptr, apszOpen));
            ASSERT_NE(nullptr, poDS);
            // Band by band, whole raster: a naive driver decodes 3 x 16.
            std::vector<GByte> abyBand(512 * 512);
            for (int i = 1; i <= 3; ++i)
                ASSERT_EQ(CE_None, poDS->GetRasterBand(i)->RasterIO(
                                       GF_Read, 0, 0, 512, 512,
                                       abyBand.data(), 512, 512, GDT_Byte, 0,
                                       0, nullptr));
            poDS.reset();
            nDecoded = oDebug.TilesDecoded("once.msic");
        }
        EXPECT_EQ(16, nDecoded);
    }
    // A 10 x 10 window decodes its one tile.
    DebugCapture oDebug;
    DatasetPtr poDS(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
    ASSERT_NE(nullptr, poDS);
    GByte abyWin[10 * 10 * 3];
    ASSERT_EQ(CE_None, poDS->RasterIO(GF_Read, 300, 140, 10, 10, abyWin, 10,
                                      10, GDT_Byte, 3, nullptr, 0, 0, 0,
                                      nullptr));
    poDS.reset();
    EXPECT_EQ(1, oDebug.TilesDecoded("once.msic"));
}

TEST_F(GdalMsicTest, ConcurrentReadersSeeTheSamePixels)
{
    auto poSrc = MakeSource(640, 512, 3);
    const std::string osPath = m_osMemDir + "/mt.msic";
    const char *apszOptions[] = {"TILE_SIZE=128", nullptr};
    DatasetPtr(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(), FALSE,
                                        const_cast<char **>(apszOptions),
                                        nullptr, nullptr));
    std::vector<GByte> abyRef;
    {
        const char *apszOpen[] = {"NUM_THREADS=1", nullptr};
        DatasetPtr poDS(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER,
                                          nullptr, apszOpen));
        ASSERT_NE(nullptr, poDS);
        abyRef = ReadAll(poDS.get());
    }
    // Several threads, each with its own dataset (GDAL's rule), reading
    // windows in different orders, some with parallel decoding themselves.
    std::atomic<int> nMismatches{0};
    std::atomic<int> nErrors{0};
    std::vector<std::thread> aoThreads;
    for (int iThread = 0; iThread < 4; ++iThread)
    {
        aoThreads.emplace_back(
            [&, iThread]()
            {
                const char *apszOpen[] = {iThread % 2 ? "NUM_THREADS=3"
                                                      : "NUM_THREADS=1",
                                          nullptr};
                DatasetPtr poDS(GDALDataset::Open(
                    osPath.c_str(), GDAL_OF_RASTER, nullptr, apszOpen));
                if (!poDS)
                {
                    ++nErrors;
                    return;
                }
                for (int iWin = 0; iWin < 12; ++iWin)
                {
                    const int k = (iWin * 7 + iThread * 5) % 12;
                    const int nX = (k % 4) * 150, nY = (k / 4) * 160;
                    const int nW = std::min(190, 640 - nX);
                    const int nH = std::min(200, 512 - nY);
                    std::vector<GByte> abyWin(static_cast<size_t>(nW) * nH *
                                              3);
                    if (poDS->RasterIO(GF_Read, nX, nY, nW, nH, abyWin.data(),
                                       nW, nH, GDT_Byte, 3, nullptr, 3,
                                       nW * 3, 1, nullptr) != CE_None)
                    {
                        ++nErrors;
                        continue;
                    }
                    // abyRef is band sequential.
                    for (int b = 0; b < 3; ++b)
                        for (int y = 0; y < nH; ++y)
                            for (int x = 0; x < nW; ++x)
                                if (abyWin[(static_cast<size_t>(y) * nW + x) *
                                               3 +
                                           b] !=
                                    abyRef[(static_cast<size_t>(b) * 512 +
                                            nY + y) *
                                               640 +
                                           nX + x])
                                    ++nMismatches;
                }
            });
    }
    for (auto &oThread : aoThreads)
        oThread.join();
    EXPECT_EQ(0, nErrors.load());
    EXPECT_EQ(0, nMismatches.load());
}

TEST_F(GdalMsicTest, ModelOption)
{
    const char *pszModel = MSIC_DEFAULT_MODEL;
    auto poSrc = MakeSource(96, 80, 3);

    // A model that does not load: no file, and the error names it.
    const std::string osBad = m_osDir + "/bad.msic";
    const std::string osMissing = m_osDir + "/no-such-model.msicw";
    CPLStringList aosBad;
    aosBad.SetNameValue("MODEL", osMissing.c_str());
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr poOut(MsicDriver()->CreateCopy(osBad.c_str(), poSrc.get(),
                                              FALSE, aosBad.List(), nullptr,
                                              nullptr));
    CPLPopErrorHandler();
    EXPECT_EQ(nullptr, poOut);
    EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), "no-such-model"))
        << CPLGetLastErrorMsg();
    EXPECT_EQ(std::vector<std::string>{}, ListDir(m_osDir));

    // Coded with the default model given by path: readable with and
    // without naming it, same pixels.
    const std::string osPath = m_osMemDir + "/model.msic";
    CPLStringList aosOptions;
    aosOptions.SetNameValue("MODEL", pszModel);
    poOut.reset(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(), FALSE,
                                         aosOptions.List(), nullptr, nullptr));
    ASSERT_NE(nullptr, poOut) << CPLGetLastErrorMsg();
    const std::vector<GByte> abyPlain = ReadAll(poOut.get());
    poOut.reset();
    DatasetPtr poDS(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER, nullptr,
                                      aosOptions.List()));
    ASSERT_NE(nullptr, poDS) << CPLGetLastErrorMsg();
    EXPECT_EQ(abyPlain, ReadAll(poDS.get()));
    poDS.reset();

    CPLPushErrorHandler(CPLQuietErrorHandler);
    poDS.reset(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER, nullptr,
                                 aosBad.List()));
    CPLPopErrorHandler();
    EXPECT_EQ(nullptr, poDS);
    EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), "no-such-model"));
}

} // namespace
