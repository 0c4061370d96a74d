// In-process tests of the MSIC GDAL driver through the GDAL C/C++ API.
// The plugin is found through GDAL_DRIVER_PATH (set by ctest to the build
// tree's plugin folder); the tests only use GDAL, never libmsic directly.

#include <gtest/gtest.h>

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal_priv.h"
#include "ogr_spatialref.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace
{

struct DatasetCloser
{
    void operator()(GDALDataset *poDS) const
    {
        if (poDS)
            GDALClose(poDS);
    }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

GDALDriver *MsicDriver()
{
    return GetGDALDriverManager()->GetDriverByName("MSIC");
}

// A smooth synthetic image (gradients plus a soft blob): codes well, so a
// lossy round trip must stay close to it.
DatasetPtr MakeSource(int nXSize, int nYSize, int nBands,
                      GDALDataType eType = GDT_Byte)
{
    GDALDriver *poMem = GetGDALDriverManager()->GetDriverByName("MEM");
    DatasetPtr poDS(poMem->Create("", nXSize, nYSize, nBands, eType, nullptr));
    std::vector<GByte> abyLine(static_cast<size_t>(nXSize));
    for (int iBand = 1; iBand <= nBands; ++iBand)
    {
        for (int iY = 0; iY < nYSize; ++iY)
        {
            for (int iX = 0; iX < nXSize; ++iX)
            {
                const double dx = (iX - nXSize * 0.4) / nXSize;
                const double dy = (iY - nYSize * 0.6) / nYSize;
                const double v = 40 + 60.0 * iX / nXSize +
                                 50.0 * iY / nYSize * (iBand % 2) +
                                 90 * std::exp(-8 * (dx * dx + dy * dy)) +
                                 10 * iBand;
                abyLine[iX] = static_cast<GByte>(std::min(255.0, v));
            }
            EXPECT_EQ(CE_None, poDS->GetRasterBand(iBand)->RasterIO(
                                   GF_Write, 0, iY, nXSize, 1, abyLine.data(),
                                   nXSize, 1, GDT_Byte, 0, 0, nullptr));
        }
    }
    return poDS;
}

std::vector<GByte> ReadAll(GDALDataset *poDS)
{
    const int nBands = poDS->GetRasterCount();
    std::vector<GByte> abyData(static_cast<size_t>(poDS->GetRasterXSize()) *
                               poDS->GetRasterYSize() * nBands);
    EXPECT_EQ(CE_None,
              poDS->RasterIO(GF_Read, 0, 0, poDS->GetRasterXSize(),
                             poDS->GetRasterYSize(), abyData.data(),
                             poDS->GetRasterXSize(), poDS->GetRasterYSize(),
                             GDT_Byte, nBands, nullptr, 0, 0, 0, nullptr));
    return abyData;
}

double Psnr(const std::vector<GByte> &a, const std::vector<GByte> &b)
{
    EXPECT_EQ(a.size(), b.size());
    double dfSum = 0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    {
        const double d = static_cast<double>(a[i]) - b[i];
        dfSum += d * d;
    }
    const double dfMSE = dfSum / static_cast<double>(a.size());
    return dfMSE == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / dfMSE);
}

std::vector<std::string> ListDir(const std::string &osDir)
{
    std::vector<std::string> aosOut;
    char **papszList = VSIReadDir(osDir.c_str());
    for (char **p = papszList; p && *p; ++p)
        if (strcmp(*p, ".") != 0 && strcmp(*p, "..") != 0)
            aosOut.emplace_back(*p);
    CSLDestroy(papszList);
    std::sort(aosOut.begin(), aosOut.end());
    return aosOut;
}

bool Exists(const std::string &osPath)
{
    VSIStatBufL sStat;
    return VSIStatL(osPath.c_str(), &sStat) == 0;
}

// Records every progress call; asks to stop once dfCancelAt is reached.
struct ProgressRecorder
{
    double dfCancelAt = 2.0;
    std::vector<double> adfCalls;
    static int CPL_STDCALL Callback(double dfComplete, const char *,
                                    void *pData)
    {
        auto *psSelf = static_cast<ProgressRecorder *>(pData);
        psSelf->adfCalls.push_back(dfComplete);
        return dfComplete < psSelf->dfCancelAt ? TRUE : FALSE;
    }
};

// Captures CPLDebug output of the "MSIC" category.
class DebugCapture
{
  public:
    DebugCapture()
    {
        CPLSetThreadLocalConfigOption("CPL_DEBUG", "MSIC");
        CPLPushErrorHandlerEx(Handler, this);
    }
    ~DebugCapture()
    {
        CPLPopErrorHandler();
        CPLSetThreadLocalConfigOption("CPL_DEBUG", nullptr);
    }
    // "N of M tiles decoded" for a dataset whose name ends with osName.
    long TilesDecoded(const std::string &osName) const
    {
        const std::regex oRe("(.*): (\\d+) of (\\d+) tiles decoded");
        long nTotal = -1;
        for (const auto &osMsg : m_aosMessages)
        {
            std::smatch oMatch;
            if (std::regex_search(osMsg, oMatch, oRe) &&
                oMatch[1].str().size() >= osName.size() &&
                oMatch[1].str().compare(oMatch[1].str().size() -
                                            osName.size(),
                                        osName.size(), osName) == 0)
                nTotal = std::max(0L, nTotal) + std::stol(oMatch[2].str());
        }
        return nTotal;
    }

  private:
    std::vector<std::string> m_aosMessages;
    static void CPL_STDCALL Handler(CPLErr eErr, CPLErrorNum, const char *pszMsg)
    {
        auto *poSelf = static_cast<DebugCapture *>(CPLGetErrorHandlerUserData());
        if (eErr == CE_Debug)
            poSelf->m_aosMessages.emplace_back(pszMsg);
        else
            CPLDefaultErrorHandler(eErr, CPLE_None, pszMsg);
    }
};

class GdalMsicTest : public ::testing::Test
{
  protected:
    static void SetUpTestSuite()
    {
        GDALAllRegister();
    }

    void SetUp() override
    {
        ASSERT_NE(nullptr, MsicDriver())
            << "MSIC driver not loaded; GDAL_DRIVER_PATH="
            << CPLGetConfigOption("GDAL_DRIVER_PATH", "(unset)");
        CPLErrorReset();
        const std::string osBase = MSIC_TEST_TMP;
        VSIMkdirRecursive(osBase.c_str(), 0755);
        const auto *psInfo =
            ::testing::UnitTest::GetInstance()->current_test_info();
        m_osDir = osBase + "/" + psInfo->name();
        VSIRmdirRecursive(m_osDir.c_str());
        ASSERT_EQ(0, VSIMkdir(m_osDir.c_str(), 0755)) << m_osDir;
        m_osMemDir = std::string("/vsimem/") + psInfo->name();
    }

    void TearDown() override
    {
        VSIRmdirRecursive(m_osMemDir.c_str());
        if (!HasFailure())
            VSIRmdirRecursive(m_osDir.c_str());
    }

    std::string m_osDir;
    std::string m_osMemDir;
};

// ------------------------------------------------------------ cancellation

// 256 x 1024 in tiles of 64: 16 tile rows, so 50% falls mid-file.
void CancelHalfway(const std::string &osDir, const std::string &osName)
{
    auto poSrc = MakeSource(256, 1024, 3);
    const std::string osPath = osDir + "/" + osName;
    ProgressRecorder oProgress;
    oProgress.dfCancelAt = 0.5;
    CPLStringList aosOptions;
    aosOptions.SetNameValue("TILE_SIZE", "64");
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr poOut(MsicDriver()->CreateCopy(
        osPath.c_str(), poSrc.get(), FALSE, aosOptions.List(),
        ProgressRecorder::Callback, &oProgress));
    CPLPopErrorHandler();
    EXPECT_EQ(nullptr, poOut);
    EXPECT_EQ(CPLE_UserInterrupt, CPLGetLastErrorNo()) << CPLGetLastErrorMsg();
    // Cancelled at 50%, not at the start or the end.
    ASSERT_FALSE(oProgress.adfCalls.empty());
    EXPECT_GE(oProgress.adfCalls.back(), 0.5);
    EXPECT_LT(oProgress.adfCalls.back(), 1.0);
    const size_t nBefore = static_cast<size_t>(std::count_if(
        oProgress.adfCalls.begin(), oProgress.adfCalls.end(),
        [](double d) { return d > 0 && d < 0.5; }));
    EXPECT_GE(nBefore, 2u) << "progress went straight to 50%";
    EXPECT_FALSE(Exists(osPath));
    EXPECT_EQ(std::vector<std::string>{}, ListDir(osDir))
        << "the cancelled copy left files behind";
}

TEST_F(GdalMsicTest, CancelAtHalfLeavesNoFile)
{
    CancelHalfway(m_osDir, "cancelled.msic");
}

TEST_F(GdalMsicTest, CancelAtHalfLeavesNoFileInVsimem)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    CancelHalfway(m_osMemDir, "cancelled.msic");
}

TEST_F(GdalMsicTest, CancelAtStartLeavesNoFile)
{
    auto poSrc = MakeSource(128, 128, 1);
    const std::string osPath = m_osDir + "/start.msic";
    ProgressRecorder oProgress;
    oProgress.dfCancelAt = 0.0;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr poOut(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(),
                                              FALSE, nullptr,
                                              ProgressRecorder::Callback,
                                              &oProgress));
    CPLPopErrorHandler();
    EXPECT_EQ(nullptr, poOut);
    EXPECT_EQ(CPLE_UserInterrupt, CPLGetLastErrorNo());
    EXPECT_EQ(std::vector<std::string>{}, ListDir(m_osDir));
}

TEST_F(GdalMsicTest, ProgressIsMonotonicAndReachesOne)
{
    auto poSrc = MakeSource(256, 1024, 3);
    ProgressRecorder oProgress;
    CPLStringList aosOptions;
    aosOptions.SetNameValue("TILE_SIZE", "64");
    DatasetPtr poOut(MsicDriver()->CreateCopy(
        (m_osDir + "/p.msic").c_str(), poSrc.get(), FALSE, aosOptions.List(),
        ProgressRecorder::Callback, &oProgress));
    ASSERT_NE(nullptr, poOut) << CPLGetLastErrorMsg();
    ASSERT_GE(oProgress.adfCalls.size(), 8u);
    EXPECT_EQ(0.0, oProgress.adfCalls.front());
    EXPECT_EQ(1.0, oProgress.adfCalls.back());
    EXPECT_TRUE(std::is_sorted(oProgress.adfCalls.begin(),
                               oProgress.adfCalls.end()));
    EXPECT_EQ((std::vector<std::string>{"p.msic"}), ListDir(m_osDir));
}

// ------------------------------------------------------------ round trips

TEST_F(GdalMsicTest, VsimemRoundTripKeepsPixelsAndMetadata)
{
    auto poSrc = MakeSource(300, 200, 3);
    const double adfGT[6] = {440720.0, 30.0, 0.0, 3751320.0, 0.0, -30.0};
    poSrc->SetGeoTransform(const_cast<double *>(adfGT));
    OGRSpatialReference oSRS;
    ASSERT_EQ(OGRERR_NONE, oSRS.importFromEPSG(32633));
    poSrc->SetSpatialRef(&oSRS);
    for (int i = 1; i <= 3; ++i)
    {
        poSrc->GetRasterBand(i)->SetNoDataValue(7);
        poSrc->GetRasterBand(i)->SetDescription(
            CPLSPrintf("band number %d", i));
    }
    poSrc->SetMetadataItem("SENSOR", "camera \"A\" = 1");
    poSrc->SetMetadataItem("EMPTY", "");
    const char *apszXMP[] = {"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
                             nullptr};
    poSrc->SetMetadata(const_cast<char **>(apszXMP), "xml:XMP");
    const GByte abyICC[] = {0, 1, 2, 3, 250, 251, 252, 0, 9};
    char *pszICC = CPLBase64Encode(sizeof(abyICC), abyICC);
    poSrc->SetMetadataItem("SOURCE_ICC_PROFILE", pszICC, "COLOR_PROFILE");
    CPLFree(pszICC);

    const std::string osPath = m_osMemDir + "/rt.msic";
    CPLStringList aosOptions;
    aosOptions.SetNameValue("QUALITY", "85");
    aosOptions.SetNameValue("TILE_SIZE", "128");
    DatasetPtr poCopy(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(),
                                               TRUE, aosOptions.List(),
                                               nullptr, nullptr));
    ASSERT_NE(nullptr, poCopy) << CPLGetLastErrorMsg();
    poCopy.reset();
    EXPECT_EQ((std::vector<std::string>{"rt.msic"}), ListDir(m_osMemDir))
        << "temporary files left in /vsimem/";

    DatasetPtr poDS(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
    ASSERT_NE(nullptr, poDS) << CPLGetLastErrorMsg();
    EXPECT_STREQ("MSIC", poDS->GetDriver()->GetDescription());
    EXPECT_EQ(300, poDS->GetRasterXSize());
    EXPECT_EQ(200, poDS->GetRasterYSize());
    ASSERT_EQ(3, poDS->GetRasterCount());

    double adfGot[6];
    ASSERT_EQ(CE_None, poDS->GetGeoTransform(adfGot));
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(adfGT[i], adfGot[i]) << i;
    const OGRSpatialReference *poSRS = poDS->GetSpatialRef();
    ASSERT_NE(nullptr, poSRS);
    EXPECT_TRUE(poSRS->IsSame(&oSRS));
    EXPECT_STREQ("32633", poSRS->GetAuthorityCode(nullptr));

    for (int i = 1; i <= 3; ++i)
    {
        GDALRasterBand *poBand = poDS->GetRasterBand(i);
        int bHas = FALSE;
        EXPECT_EQ(7.0, poBand->GetNoDataValue(&bHas));
        EXPECT_TRUE(bHas);
        EXPECT_STREQ(CPLSPrintf("band number %d", i), poBand->GetDescription());
        EXPECT_EQ(GCI_RedBand + i - 1, poBand->GetColorInterpretation());
        int nBX = 0, nBY = 0;
        poBand->GetBlockSize(&nBX, &nBY);
        EXPECT_EQ(128, nBX);
        EXPECT_EQ(128, nBY);
        EXPECT_EQ(GDT_Byte, poBand->GetRasterDataType());
    }
    EXPECT_STREQ("camera \"A\" = 1", poDS->GetMetadataItem("SENSOR"));
    EXPECT_STREQ("", poDS->GetMetadataItem("EMPTY"));
    EXPECT_STREQ("MSIC", poDS->GetMetadataItem("COMPRESSION", "IMAGE_STRUCTURE"));
    EXPECT_STREQ("PIXEL", poDS->GetMetadataItem("INTERLEAVE", "IMAGE_STRUCTURE"));
    EXPECT_EQ(85.0, CPLAtof(poDS->GetMetadataItem("QUALITY", "IMAGE_STRUCTURE")));
    char **papszXMP = poDS->GetMetadata("xml:XMP");
    ASSERT_NE(nullptr, papszXMP);
    EXPECT_STREQ(apszXMP[0], papszXMP[0]);
    const char *pszGotICC =
        poDS->GetMetadataItem("SOURCE_ICC_PROFILE", "COLOR_PROFILE");
    ASSERT_NE(nullptr, pszGotICC);
    char *pszDecoded = CPLStrdup(pszGotICC);
    const int nICC = CPLBase64DecodeInPlace(reinterpret_cast<GByte *>(pszDecoded));
    EXPECT_EQ(static_cast<int>(sizeof(abyICC)), nICC);
    EXPECT_EQ(0, memcmp(abyICC, pszDecoded, sizeof(abyICC)));
    CPLFree(pszDecoded);

    const double dfPsnr = Psnr(ReadAll(poSrc.get()), ReadAll(poDS.get()));
    EXPECT_GE(dfPsnr, 30.0) << "smooth image at QUALITY=85";
    poDS.reset();
    EXPECT_FALSE(Exists(osPath + ".aux.xml")) << "opening wrote a .aux.xml";
}

TEST_F(GdalMsicTest, GreyWithoutGeoreferencing)
{
    auto poSrc = MakeSource(100, 70, 1);
    const std::string osPath = m_osMemDir + "/grey.msic";
    DatasetPtr poCopy(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(),
                                               FALSE, nullptr, nullptr,
                                               nullptr));
    ASSERT_NE(nullptr, poCopy) << CPLGetLastErrorMsg();
    EXPECT_EQ(1, poCopy->GetRasterCount());
    EXPECT_EQ(GCI_GrayIndex,
              poCopy->GetRasterBand(1)->GetColorInterpretation());
    double adfGT[6];
    EXPECT_NE(CE_None, poCopy->GetGeoTransform(adfGT));
    EXPECT_EQ(nullptr, poCopy->GetSpatialRef());
    int bHas = TRUE;
    poCopy->GetRasterBand(1)->GetNoDataValue(&bHas);
    EXPECT_FALSE(bHas);
    EXPECT_STREQ("75", poCopy->GetMetadataItem("QUALITY", "IMAGE_STRUCTURE"));
    int nBX = 0, nBY = 0;
    poCopy->GetRasterBand(1)->GetBlockSize(&nBX, &nBY);
    EXPECT_EQ(100, nBX); // the image is smaller than one 512 tile
    EXPECT_EQ(70, nBY);
    EXPECT_GE(Psnr(ReadAll(poSrc.get()), ReadAll(poCopy.get())), 30.0);
}

// ------------------------------------------------------------ refusals

TEST_F(GdalMsicTest, UnsupportedSourcesFailWithAMessage)
{
    struct Case
    {
        int nBands;
        GDALDataType eType;
        const char *pszExpected;
    };
    const Case asCases[] = {
        {2, GDT_Byte, "1 band (grey) or 3 bands (RGB)"},
        {4, GDT_Byte, "1 band (grey) or 3 bands (RGB)"},
        {1, GDT_UInt16, "only Byte"},
        {3, GDT_Float32, "only Byte"},
        {3, GDT_Int16, "only Byte"},
    };
    for (const Case &sCase : asCases)
    {
        SCOPED_TRACE(std::to_string(sCase.nBands) + " x " +
                     GDALGetDataTypeName(sCase.eType));
        auto poSrc = MakeSource(64, 64, sCase.nBands, sCase.eType);
        const std::string osPath = m_osDir + "/bad.msic";
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poOut(MsicDriver()->CreateCopy(
            osPath.c_str(), poSrc.get(), FALSE, nullptr, nullptr, nullptr));
        CPLPopErrorHandler();
        EXPECT_EQ(nullptr, poOut);
        EXPECT_EQ(CE_Failure, CPLGetLastErrorType());
        EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), sCase.pszExpected))
            << CPLGetLastErrorMsg();
        EXPECT_FALSE(Exists(osPath));
    }
}

TEST_F(GdalMsicTest, BadCreationOptionsFail)
{
    auto poSrc = MakeSource(64, 64, 3);
    const char *const apszBad[] = {"QUALITY=-1", "QUALITY=100.5", "QUALITY=x",
                                   "TILE_SIZE=63", "TILE_SIZE=72",
                                   "TILE_SIZE=8192"};
    for (const char *pszBad : apszBad)
    {
        SCOPED_TRACE(pszBad);
        const char *apszOptions[] = {pszBad, nullptr};
        const std::string osPath = m_osDir + "/bad.msic";
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poOut(MsicDriver()->CreateCopy(
            osPath.c_str(), poSrc.get(), FALSE,
            const_cast<char **>(apszOptions), nullptr, nullptr));
        CPLPopErrorHandler();
        EXPECT_EQ(nullptr, poOut);
        EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(),
                                  std::string(pszBad, strchr(pszBad, '=')).c_str()))
            << CPLGetLastErrorMsg();
        EXPECT_FALSE(Exists(osPath));
    }
    // Edge values are fine.
    const char *apszGood[] = {"QUALITY=0", "TILE_SIZE=64", nullptr};
    DatasetPtr poOut(MsicDriver()->CreateCopy(
        (m_osMemDir + "/edge.msic").c_str(), poSrc.get(), FALSE,
        const_cast<char **>(apszGood), nullptr, nullptr));
    ASSERT_NE(nullptr, poOut) << CPLGetLastErrorMsg();
    EXPECT_STREQ("0", poOut->GetMetadataItem("QUALITY", "IMAGE_STRUCTURE"));
}

TEST_F(GdalMsicTest, ColorTableRefusedWhenStrict)
{
    auto poSrc = MakeSource(64, 64, 1);
    GDALColorTable oCT;
    GDALColorEntry sEntry = {255, 0, 0, 255};
    oCT.SetColorEntry(0, &sEntry);
    poSrc->GetRasterBand(1)->SetColorTable(&oCT);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr poOut(MsicDriver()->CreateCopy(
        (m_osMemDir + "/ct.msic").c_str(), poSrc.get(), TRUE, nullptr,
        nullptr, nullptr));
    CPLPopErrorHandler();
    EXPECT_EQ(nullptr, poOut);
    EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), "color table"));
}

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

TEST_F(GdalMsicTest, WritesToRealPathThroughTheLibrary)
{
    auto poSrc = MakeSource(200, 150, 3);
    const std::string osPath = m_osDir + "/real.msic";
    ProgressRecorder oProgress;
    DatasetPtr poOut(MsicDriver()->CreateCopy(osPath.c_str(), poSrc.get(),
                                              FALSE, nullptr,
                                              ProgressRecorder::Callback,
                                              &oProgress));
    ASSERT_NE(nullptr, poOut) << CPLGetLastErrorMsg();
    EXPECT_EQ((std::vector<std::string>{"real.msic"}), ListDir(m_osDir));
    EXPECT_EQ(1.0, oProgress.adfCalls.back());
    EXPECT_GE(Psnr(ReadAll(poSrc.get()), ReadAll(poOut.get())), 30.0);
}

} // namespace
