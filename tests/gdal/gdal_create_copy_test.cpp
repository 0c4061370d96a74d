// In-process tests of the MSIC GDAL driver's CreateCopy through the GDAL
// C/C++ API: cancellation and progress, round trips, refused sources and
// options, writing to a real path.

#include "gdal_test_support.h"

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal_priv.h"
#include "gdal_rat.h"
#include "ogr_spatialref.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>
#include <vector>

namespace
{

using namespace msic_gdal_test;

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
    // The learned coding takes Byte grey or RGB and says what takes the
    // rest; the exact coding takes any band count but not every type.
    const Case asCases[] = {
        {2, GDT_Byte, "1 band (grey) or 3 bands (RGB)"},
        {4, GDT_Byte, "LOSSLESS=YES"},
        {1, GDT_UInt16, "takes Byte data"},
        {3, GDT_Float32, "MAX_Z_ERROR"},
        {3, GDT_Int16, "takes Byte data"},
        {1, GDT_Float64, "Byte, UInt16, Int16, UInt32, Int32 and Float32"},
        {2, GDT_CInt16, "Byte, UInt16, Int16, UInt32, Int32 and Float32"},
    };
    for (const Case &sCase : asCases)
    {
        const bool bExact = sCase.eType == GDT_Float64 || sCase.eType == GDT_CInt16;
        SCOPED_TRACE(std::to_string(sCase.nBands) + " x " +
                     GDALGetDataTypeName(sCase.eType));
        auto poSrc = MakeSource(64, 64, sCase.nBands, sCase.eType);
        const std::string osPath = m_osDir + "/bad.msic";
        CPLStringList aosOptions;
        if (bExact)
            aosOptions.SetNameValue("LOSSLESS", "YES");
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poOut(MsicDriver()->CreateCopy(
            osPath.c_str(), poSrc.get(), FALSE, aosOptions.List(), nullptr,
            nullptr));
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
                                   "TILE_SIZE=8192", "EFFORT=0",
                                   "EFFORT=6"};  // MSIC_EFFORT_MAX + 1
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
    const char *apszGood[] = {"QUALITY=0", "TILE_SIZE=64", "EFFORT=1", nullptr};
    DatasetPtr poOut(MsicDriver()->CreateCopy(
        (m_osMemDir + "/edge.msic").c_str(), poSrc.get(), FALSE,
        const_cast<char **>(apszGood), nullptr, nullptr));
    ASSERT_NE(nullptr, poOut) << CPLGetLastErrorMsg();
    EXPECT_STREQ("0", poOut->GetMetadataItem("QUALITY", "IMAGE_STRUCTURE"));
}

/* Refusals hold in non-strict mode too (gdal_translate's default):
 * lossy coding would change what the values mean. */
// By the learned coding (the exact coding keeps palettes: gdal_exact_test).
TEST_F(GdalMsicTest, PalettesAttributeTablesAndMasksAreRefused)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    auto Refused = [&](GDALDataset *poSrc, const char *pszName,
                       const char *pszWords)
    {
        const std::string osOut = m_osMemDir + "/" + pszName + ".msic";
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poOut(MsicDriver()->CreateCopy(
            osOut.c_str(), poSrc, FALSE, nullptr, nullptr, nullptr));
        CPLPopErrorHandler();
        EXPECT_EQ(nullptr, poOut) << pszName;
        EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), pszWords))
            << pszName << ": " << CPLGetLastErrorMsg();
        VSIStatBufL sStat;
        EXPECT_NE(0, VSIStatL(osOut.c_str(), &sStat)) << pszName;
    };

    auto poPalette = MakeSource(64, 64, 1);
    GDALColorTable oCT;
    GDALColorEntry sEntry = {255, 0, 0, 255};
    oCT.SetColorEntry(0, &sEntry);
    poPalette->GetRasterBand(1)->SetColorTable(&oCT);
    Refused(poPalette.get(), "palette", "LOSSLESS=YES, which keeps them");

    auto poClasses = MakeSource(64, 64, 1);
    GDALDefaultRasterAttributeTable oRAT;
    oRAT.CreateColumn("class", GFT_String, GFU_Name);
    oRAT.SetRowCount(2);
    oRAT.SetValue(0, 0, "water");
    oRAT.SetValue(1, 0, "forest");
    ASSERT_EQ(CE_None, poClasses->GetRasterBand(1)->SetDefaultRAT(&oRAT));
    Refused(poClasses.get(), "rat", "raster attribute table");

    auto poMasked = MakeSource(64, 64, 3);
    ASSERT_EQ(CE_None, poMasked->CreateMaskBand(GMF_PER_DATASET));
    Refused(poMasked.get(), "mask", "LOSSLESS=YES or MAX_Z_ERROR keep it");
}

/* What MSIC cannot keep is named in a warning; the file is still written. */
TEST_F(GdalMsicTest, WhatIsNotKeptIsNamed)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    auto poSrc = MakeSource(64, 64, 1);
    poSrc->GetRasterBand(1)->SetNoDataValue(0);
    poSrc->GetRasterBand(1)->SetScale(0.5);
    poSrc->GetRasterBand(1)->SetUnitType("m");

    WarningCapture oWarnings;
    DatasetPtr poOut(MsicDriver()->CreateCopy(
        (m_osMemDir + "/warned.msic").c_str(), poSrc.get(), FALSE, nullptr,
        nullptr, nullptr));
    ASSERT_NE(nullptr, poOut);
    EXPECT_TRUE(oWarnings.Saw("nodata pixels exact"));
    // Scale, offset and unit are kept now (BandFactsAndDomainsSurvive).
    EXPECT_FALSE(oWarnings.Saw("scale, offset or unit"));
}

/* One nodata value for all bands: a band whose own would be lost is named. */
TEST_F(GdalMsicTest, ANodataValueThatIsNotKeptIsNamed)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    for (int iBandWithout : {1, 2})
    {
        auto poSrc = MakeSource(64, 64, 3);
        for (int iBand = 1; iBand <= 3; ++iBand)
            if (iBand != iBandWithout)
                poSrc->GetRasterBand(iBand)->SetNoDataValue(iBand == 3 ? 7 : 0);
        WarningCapture oWarnings;
        const char *apszOptions[] = {"LOSSLESS=YES", nullptr};
        DatasetPtr poOut(MsicDriver()->CreateCopy(
            (m_osMemDir + "/nodata.msic").c_str(), poSrc.get(), FALSE,
            const_cast<char **>(apszOptions), nullptr, nullptr));
        ASSERT_NE(nullptr, poOut);
        EXPECT_TRUE(oWarnings.Saw(iBandWithout == 1
                                      ? "band 2's nodata value is not kept"
                                      : "band 2's is not"))
            << "band without nodata: " << iBandWithout;
    }
}

/* Ground control points (an unrectified scene's georeferencing) and their
 * CRS survive bit for bit, whatever the coding. */
TEST_F(GdalMsicTest, GroundControlPointsSurvive)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    auto poSrc = MakeSource(64, 64, 3);
    GDAL_GCP asGCP[3];
    GDALInitGCPs(3, asGCP);
    for (int i = 0; i < 3; ++i)
    {
        CPLFree(asGCP[i].pszId);
        asGCP[i].pszId = CPLStrdup(CPLSPrintf("corner %d", i));
        asGCP[i].dfGCPPixel = 0.5 + 31.25 * i;
        asGCP[i].dfGCPLine = 63.5 - 20 * i;
        asGCP[i].dfGCPX = -47.123456789012345 + 0.1 * i;
        asGCP[i].dfGCPY = -7.98765432109876 - 0.1 * i;
        asGCP[i].dfGCPZ = 12.5 * i;
    }
    CPLFree(asGCP[1].pszInfo);
    asGCP[1].pszInfo = CPLStrdup("from the scene's ephemeris");
    OGRSpatialReference oSRS;
    oSRS.importFromEPSG(4326);
    ASSERT_EQ(CE_None, poSrc->SetGCPs(3, asGCP, &oSRS));
    GDALDeinitGCPs(3, asGCP);

    for (const char *pszCoding : {"QUALITY=75", "LOSSLESS=YES"})
    {
        SCOPED_TRACE(pszCoding);
        const std::string osPath = m_osMemDir + "/gcps.msic";
        const char *apszOptions[] = {pszCoding, nullptr};
        DatasetPtr poOut(MsicDriver()->CreateCopy(
            osPath.c_str(), poSrc.get(), FALSE,
            const_cast<char **>(apszOptions), nullptr, nullptr));
        ASSERT_NE(nullptr, poOut) << CPLGetLastErrorMsg();
        poOut.reset(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
        ASSERT_NE(nullptr, poOut);
        ASSERT_EQ(3, poOut->GetGCPCount());
        const GDAL_GCP *pasIn = poSrc->GetGCPs();
        const GDAL_GCP *pasOut = poOut->GetGCPs();
        for (int i = 0; i < 3; ++i)
        {
            EXPECT_STREQ(pasIn[i].pszId, pasOut[i].pszId);
            EXPECT_STREQ(pasIn[i].pszInfo, pasOut[i].pszInfo);
            EXPECT_EQ(pasIn[i].dfGCPPixel, pasOut[i].dfGCPPixel);
            EXPECT_EQ(pasIn[i].dfGCPLine, pasOut[i].dfGCPLine);
            EXPECT_EQ(pasIn[i].dfGCPX, pasOut[i].dfGCPX);
            EXPECT_EQ(pasIn[i].dfGCPY, pasOut[i].dfGCPY);
            EXPECT_EQ(pasIn[i].dfGCPZ, pasOut[i].dfGCPZ);
        }
        ASSERT_NE(nullptr, poOut->GetGCPSpatialRef());
        const char *const apszSame[] = {
            "IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", nullptr};
        EXPECT_TRUE(poOut->GetGCPSpatialRef()->IsSame(&oSRS, apszSame));
        // No .aux.xml: the points are in the file.
        EXPECT_FALSE(Exists(osPath + ".aux.xml"));
    }
}


// ------------------------------------------------------------ real path

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
