// The MSIC GDAL driver under concurrency: with GDAL_NUM_THREADS=ALL_CPUS,
// several datasets open on one file, each read from a thread of its own
// (GDAL's rule: a dataset is used by one thread at a time), through a block
// cache small enough that tiles are evicted and decoded again while the
// others read, give exactly the pixels of a single-threaded read. Run under
// TSan by tools/sanitize.sh.

#include "gdal_test_support.h"

#include "cpl_conv.h"
#include "gdal_priv.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace
{

using namespace msic_gdal_test;

// Restores a configuration option and the block cache size.
class SettingsRestorer
{
  public:
    SettingsRestorer()
        : m_osThreads(CPLGetConfigOption("GDAL_NUM_THREADS", "")),
          m_bHadThreads(CPLGetConfigOption("GDAL_NUM_THREADS", nullptr) !=
                        nullptr),
          m_nCacheMax(GDALGetCacheMax64())
    {
    }
    ~SettingsRestorer()
    {
        CPLSetConfigOption("GDAL_NUM_THREADS",
                           m_bHadThreads ? m_osThreads.c_str() : nullptr);
        GDALSetCacheMax64(m_nCacheMax);
    }

  private:
    std::string m_osThreads;
    bool m_bHadThreads;
    GIntBig m_nCacheMax;
};

TEST_F(GdalMsicTest, DatasetsOnOneFileReadFromThreadsMatchOneThread)
{
    SettingsRestorer oRestore;
    constexpr int nW = 640, nH = 512, nBands = 3, nThreads = 8;
    auto poSrc = MakeSource(nW, nH, nBands);
    const std::string osPath = m_osDir + "/shared.msic";
    const char *apszOptions[] = {"TILE_SIZE=128", nullptr};
    ASSERT_NE(nullptr,
              DatasetPtr(MsicDriver()->CreateCopy(
                  osPath.c_str(), poSrc.get(), FALSE,
                  const_cast<char **>(apszOptions), nullptr, nullptr)))
        << CPLGetLastErrorMsg();

    // The reference: one dataset, one decoding thread. Band sequential.
    std::vector<GByte> abyRef;
    {
        const char *apszOpen[] = {"NUM_THREADS=1", nullptr};
        DatasetPtr poDS(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER,
                                          nullptr, apszOpen));
        ASSERT_NE(nullptr, poDS);
        abyRef = ReadAll(poDS.get());
    }
    const auto Ref = [&](int b, int x, int y)
    { return abyRef[(static_cast<size_t>(b) * nH + y) * nW + x]; };

    // Every dataset decodes its tiles on all cores; 1 MB of block cache
    // holds about a fifth of the image for all of them together.
    CPLSetConfigOption("GDAL_NUM_THREADS", "ALL_CPUS");
    GDALSetCacheMax64(1024 * 1024);

    std::atomic<int> nFailures{0};
    std::mutex oMutex;
    std::string osFirst;
    const auto Fail = [&](const std::string &osWhat)
    {
        if (nFailures++ == 0)
        {
            std::lock_guard<std::mutex> oLock(oMutex);
            osFirst = osWhat;
        }
    };
    std::vector<std::thread> aoThreads;
    for (int iThread = 0; iThread < nThreads; ++iThread)
    {
        aoThreads.emplace_back(
            [&, iThread]()
            {
                DatasetPtr poDS(
                    GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
                if (!poDS)
                {
                    Fail("thread " + std::to_string(iThread) + ": open: " +
                         CPLGetLastErrorMsg());
                    return;
                }
                std::mt19937 oRng(7u + static_cast<unsigned>(iThread));
                for (int iReq = 0; iReq < 6; ++iReq)
                {
                    const std::string osWhere =
                        "thread " + std::to_string(iThread) + ", request " +
                        std::to_string(iReq) + ": ";
                    const int nWinW = 1 + static_cast<int>(oRng() % 200);
                    const int nWinH = 1 + static_cast<int>(oRng() % 200);
                    const int nX = static_cast<int>(oRng() % (nW - nWinW + 1));
                    const int nY = static_cast<int>(oRng() % (nH - nWinH + 1));
                    const std::string osWin =
                        std::to_string(nWinW) + "x" + std::to_string(nWinH) +
                        " at (" + std::to_string(nX) + ", " +
                        std::to_string(nY) + ")";
                    if ((iThread + iReq) % 3 != 2)
                    {
                        // All bands, pixel interleaved (the dataset path,
                        // which prefetches the tiles in parallel).
                        std::vector<GByte> abyWin(static_cast<size_t>(nWinW) *
                                                  nWinH * nBands);
                        if (poDS->RasterIO(GF_Read, nX, nY, nWinW, nWinH,
                                           abyWin.data(), nWinW, nWinH,
                                           GDT_Byte, nBands, nullptr, nBands,
                                           static_cast<GSpacing>(nWinW) *
                                               nBands,
                                           1, nullptr) != CE_None)
                        {
                            Fail(osWhere + osWin + ": " + CPLGetLastErrorMsg());
                            continue;
                        }
                        for (int y = 0; y < nWinH; ++y)
                            for (int x = 0; x < nWinW; ++x)
                                for (int b = 0; b < nBands; ++b)
                                    if (abyWin[(static_cast<size_t>(y) * nWinW +
                                                x) *
                                                   nBands +
                                               b] != Ref(b, nX + x, nY + y))
                                    {
                                        Fail(osWhere + osWin + " differs");
                                        y = nWinH;
                                        x = nWinW;
                                        break;
                                    }
                    }
                    else
                    {
                        // One band (the band path).
                        const int b = static_cast<int>(oRng() % nBands);
                        std::vector<GByte> abyWin(static_cast<size_t>(nWinW) *
                                                  nWinH);
                        if (poDS->GetRasterBand(b + 1)->RasterIO(
                                GF_Read, nX, nY, nWinW, nWinH, abyWin.data(),
                                nWinW, nWinH, GDT_Byte, 0, 0,
                                nullptr) != CE_None)
                        {
                            Fail(osWhere + "band " + std::to_string(b + 1) +
                                 ", " + osWin + ": " + CPLGetLastErrorMsg());
                            continue;
                        }
                        for (int y = 0; y < nWinH; ++y)
                            for (int x = 0; x < nWinW; ++x)
                                if (abyWin[static_cast<size_t>(y) * nWinW + x] !=
                                    Ref(b, nX + x, nY + y))
                                {
                                    Fail(osWhere + "band " +
                                         std::to_string(b + 1) + ", " + osWin +
                                         " differs");
                                    y = nWinH;
                                    break;
                                }
                    }
                }
            });
    }
    for (auto &oThread : aoThreads)
        oThread.join();
    EXPECT_EQ(0, nFailures.load()) << osFirst;
}

} // namespace
