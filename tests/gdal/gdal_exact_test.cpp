// The GDAL driver's exact and bounded-error coding (LOSSLESS, MAX_Z_ERROR):
// every data type and band count round trips exactly or within the bound,
// nodata stays nodata, and band facts and metadata domains survive.

#include "gdal_test_support.h"

#include "cpl_conv.h"
#include "cpl_string.h"
#include "gdal_alg.h"
#include "gdal_priv.h"
#include "gdal_rat.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace
{

using namespace msic_gdal_test;

// Structure across most of the type's range: smooth fields, edges, noise,
// bands related to each other.
DatasetPtr MakeTypedSource(int nXSize, int nYSize, int nBands,
                           GDALDataType eType, unsigned nSeed = 1)
{
    GDALDriver *poMem = GetGDALDriverManager()->GetDriverByName("MEM");
    DatasetPtr poDS(poMem->Create("", nXSize, nYSize, nBands, eType, nullptr));
    double dfLo = 0, dfHi = 255;
    switch (eType)
    {
        case GDT_UInt16: dfHi = 65535; break;
        case GDT_Int16: dfLo = -32768, dfHi = 32767; break;
        case GDT_UInt32: dfHi = 4294967295.0; break;
        case GDT_Int32: dfLo = -2147483648.0, dfHi = 2147483647.0; break;
        case GDT_Float32: dfLo = -1000, dfHi = 9000; break;
        default: break;
    }
    std::mt19937 oRng(nSeed);
    std::normal_distribution<double> oNoise(0, 1);
    std::vector<double> adfLine(static_cast<size_t>(nXSize));
    for (int iBand = 1; iBand <= nBands; ++iBand)
        for (int iY = 0; iY < nYSize; ++iY)
        {
            for (int iX = 0; iX < nXSize; ++iX)
            {
                double t = 0.5 + 0.3 * std::sin(iX * 0.07) * std::cos(iY * 0.05) +
                           0.1 * (((iX / 19) + (iY / 13)) % 2) + 0.02 * iBand +
                           0.01 * oNoise(oRng);
                t = std::min(1.0, std::max(0.0, t));
                double v = dfLo + t * (dfHi - dfLo);
                if (eType != GDT_Float32)
                    v = std::round(v);
                adfLine[iX] = v;
            }
            EXPECT_EQ(CE_None, poDS->GetRasterBand(iBand)->RasterIO(
                                   GF_Write, 0, iY, nXSize, 1, adfLine.data(),
                                   nXSize, 1, GDT_Float64, 0, 0, nullptr));
        }
    return poDS;
}

std::vector<double> ReadDoubles(GDALDataset *poDS)
{
    const int nBands = poDS->GetRasterCount();
    std::vector<double> adf(static_cast<size_t>(poDS->GetRasterXSize()) *
                            poDS->GetRasterYSize() * nBands);
    EXPECT_EQ(CE_None,
              poDS->RasterIO(GF_Read, 0, 0, poDS->GetRasterXSize(),
                             poDS->GetRasterYSize(), adf.data(),
                             poDS->GetRasterXSize(), poDS->GetRasterYSize(),
                             GDT_Float64, nBands, nullptr, 0, 0, 0, nullptr));
    return adf;
}

const GDALDataType kTypes[] = {GDT_Byte,  GDT_UInt16, GDT_Int16,
                               GDT_UInt32, GDT_Int32, GDT_Float32};

TEST_F(GdalMsicTest, LosslessKeepsEveryTypeAndBandCount)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    for (GDALDataType eType : kTypes)
        for (int nBands : {1, 3, 4, 8})
        {
            SCOPED_TRACE(std::string(GDALGetDataTypeName(eType)) + " x " +
                         std::to_string(nBands));
            // 150 x 100 in tiles of 64: edge tiles both ways.
            auto poSrc = MakeTypedSource(150, 100, nBands, eType);
            CPLStringList aosOptions;
            aosOptions.SetNameValue("LOSSLESS", "YES");
            aosOptions.SetNameValue("TILE_SIZE", "64");
            DatasetPtr poOut = CopyAndReopen(
                poSrc.get(), m_osMemDir + "/lossless.msic", aosOptions);
            ASSERT_NE(nullptr, poOut);
            ASSERT_EQ(nBands, poOut->GetRasterCount());
            EXPECT_EQ(eType, poOut->GetRasterBand(1)->GetRasterDataType());
            EXPECT_STREQ("YES", poOut->GetMetadataItem("LOSSLESS",
                                                       "IMAGE_STRUCTURE"));
            EXPECT_EQ(ReadDoubles(poSrc.get()), ReadDoubles(poOut.get()));
            for (int iBand = 1; iBand <= nBands; ++iBand)
                EXPECT_EQ(GDALChecksumImage(poSrc->GetRasterBand(iBand), 0, 0,
                                            150, 100),
                          GDALChecksumImage(poOut->GetRasterBand(iBand), 0, 0,
                                            150, 100));
        }
}

TEST_F(GdalMsicTest, MaxZErrorHoldsForEveryType)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    for (GDALDataType eType : kTypes)
        for (int nBands : {1, 3, 4, 8})
        for (double dfError : {1.0, 2.0, 4.0, 0.3})
        {
            if (eType != GDT_Float32 && dfError != std::floor(dfError))
                continue;
            SCOPED_TRACE(std::string(GDALGetDataTypeName(eType)) + " x " +
                         std::to_string(nBands) + " e=" + std::to_string(dfError));
            auto poSrc = MakeTypedSource(130, 90, nBands, eType, 5);
            CPLStringList aosOptions;
            aosOptions.SetNameValue("MAX_Z_ERROR", CPLSPrintf("%g", dfError));
            aosOptions.SetNameValue("TILE_SIZE", "64");
            DatasetPtr poOut = CopyAndReopen(
                poSrc.get(), m_osMemDir + "/bounded.msic", aosOptions);
            ASSERT_NE(nullptr, poOut);
            const std::vector<double> adfIn = ReadDoubles(poSrc.get());
            const std::vector<double> adfOut = ReadDoubles(poOut.get());
            double dfWorst = 0;
            for (size_t i = 0; i < adfIn.size(); ++i)
                dfWorst = std::max(dfWorst, std::fabs(adfIn[i] - adfOut[i]));
            EXPECT_LE(dfWorst, dfError);
            EXPECT_GT(dfWorst, 0) << "nothing changed: not bounded-error coding";
        }
}

TEST_F(GdalMsicTest, NodataStaysNodataWithinTheBound)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    struct Case
    {
        GDALDataType eType;
        double dfNoData, dfError;
    };
    for (const Case &sCase : {Case{GDT_UInt16, 0, 3}, Case{GDT_Byte, 0, 2},
                              Case{GDT_Int16, -9999, 5},
                              Case{GDT_Float32, std::nan(""), 0.5},
                              Case{GDT_Float32, -3.4e38, 0.5}})
    {
        SCOPED_TRACE(std::string(GDALGetDataTypeName(sCase.eType)) + " nodata " +
                     std::to_string(sCase.dfNoData));
        auto poSrc = MakeTypedSource(120, 100, 2, sCase.eType, 9);
        // A warped scene's collar, and valid samples just above nodata.
        for (int iBand = 1; iBand <= 2; ++iBand)
        {
            GDALRasterBand *poBand = poSrc->GetRasterBand(iBand);
            poBand->SetNoDataValue(sCase.dfNoData);
            for (int iY = 0; iY < 100; ++iY)
                for (int iX = 0; iX < 120; ++iX)
                {
                    double v;
                    if (iX + iY < 45 || iX > 105)
                        v = sCase.dfNoData;
                    else if ((iX * 7 + iY) % 11 == 0 && !std::isnan(sCase.dfNoData) &&
                             sCase.dfNoData > -1e30)
                        v = sCase.dfNoData + 1 + (iX % 2);
                    else
                        continue;
                    ASSERT_EQ(CE_None, poBand->RasterIO(GF_Write, iX, iY, 1, 1,
                                                        &v, 1, 1, GDT_Float64,
                                                        0, 0, nullptr));
                }
        }
        CPLStringList aosOptions;
        aosOptions.SetNameValue("MAX_Z_ERROR", CPLSPrintf("%g", sCase.dfError));
        aosOptions.SetNameValue("TILE_SIZE", "64");
        DatasetPtr poOut = CopyAndReopen(poSrc.get(),
                                         m_osMemDir + "/nodata.msic", aosOptions);
        ASSERT_NE(nullptr, poOut);
        const std::vector<double> adfIn = ReadDoubles(poSrc.get());
        const std::vector<double> adfOut = ReadDoubles(poOut.get());
        auto IsNoData = [&](double v)
        {
            return std::isnan(sCase.dfNoData)
                       ? std::isnan(v)
                       : v == static_cast<double>(
                                  sCase.eType == GDT_Float32
                                      ? static_cast<float>(sCase.dfNoData)
                                      : sCase.dfNoData);
        };
        size_t nNoData = 0;
        for (size_t i = 0; i < adfIn.size(); ++i)
        {
            if (IsNoData(adfIn[i]))
            {
                ++nNoData;
                EXPECT_TRUE(IsNoData(adfOut[i])) << i << ": " << adfOut[i];
            }
            else
            {
                EXPECT_FALSE(IsNoData(adfOut[i])) << i;
                EXPECT_LE(std::fabs(adfIn[i] - adfOut[i]), sCase.dfError) << i;
            }
        }
        EXPECT_GT(nNoData, 2000u);
        int bHasNoData = FALSE;
        const double dfGot = poOut->GetRasterBand(1)->GetNoDataValue(&bHasNoData);
        EXPECT_TRUE(bHasNoData);
        EXPECT_TRUE(std::isnan(sCase.dfNoData) ? std::isnan(dfGot)
                                               : dfGot == sCase.dfNoData);
    }
}

// A scene's own validity mask (an internal GTiff mask, a .msk): the exact
// codings keep it exactly, as one more band that the reader serves as the
// per-dataset mask, and the bound applies to the data bands only.
TEST_F(GdalMsicTest, MasksAreKeptExactly)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    for (GDALDataType eType : {GDT_Byte, GDT_Int16, GDT_Float32})
        for (const char *pszCoding : {"LOSSLESS=YES", "MAX_Z_ERROR=4"})
        {
            SCOPED_TRACE(std::string(GDALGetDataTypeName(eType)) + " " +
                         pszCoding);
            auto poSrc = MakeTypedSource(150, 100, 3, eType, 11);
            ASSERT_EQ(CE_None, poSrc->CreateMaskBand(GMF_PER_DATASET));
            GDALRasterBand *poMask = poSrc->GetRasterBand(1)->GetMaskBand();
            std::vector<GByte> abyMask(150 * 100);
            for (int iY = 0; iY < 100; ++iY)
                for (int iX = 0; iX < 150; ++iX)
                    abyMask[iY * 150 + iX] =
                        (iX + iY < 60 || (iX - 100) * (iX - 100) +
                                                 (iY - 50) * (iY - 50) < 300)
                            ? 0
                            : 255;
            ASSERT_EQ(CE_None,
                      poMask->RasterIO(GF_Write, 0, 0, 150, 100,
                                       abyMask.data(), 150, 100, GDT_Byte, 0,
                                       0, nullptr));
            CPLStringList aosOptions;
            aosOptions.AddString(pszCoding);
            aosOptions.SetNameValue("TILE_SIZE", "64");
            DatasetPtr poOut = CopyAndReopen(
                poSrc.get(), m_osMemDir + "/masked.msic", aosOptions);
            ASSERT_NE(nullptr, poOut);
            ASSERT_EQ(3, poOut->GetRasterCount());
            const double dfError = EQUAL(pszCoding, "LOSSLESS=YES") ? 0 : 4;
            const std::vector<double> adfIn = ReadDoubles(poSrc.get());
            const std::vector<double> adfOut = ReadDoubles(poOut.get());
            for (size_t i = 0; i < adfIn.size(); ++i)
                ASSERT_LE(std::fabs(adfIn[i] - adfOut[i]), dfError) << i;
            for (int iBand = 1; iBand <= 3; ++iBand)
            {
                GDALRasterBand *poBand = poOut->GetRasterBand(iBand);
                EXPECT_EQ(GMF_PER_DATASET, poBand->GetMaskFlags());
                std::vector<GByte> abyGot(150 * 100);
                ASSERT_EQ(CE_None, poBand->GetMaskBand()->RasterIO(
                                       GF_Read, 0, 0, 150, 100, abyGot.data(),
                                       150, 100, GDT_Byte, 0, 0, nullptr));
                EXPECT_EQ(abyMask, abyGot) << "band " << iBand;
            }
            // Read mask-first from a fresh open too (its blocks then fill
            // the data bands' cache).
            poOut.reset(GDALDataset::Open((m_osMemDir + "/masked.msic").c_str(),
                                          GDAL_OF_RASTER));
            ASSERT_NE(nullptr, poOut);
            EXPECT_EQ(GDALChecksumImage(poMask, 0, 0, 150, 100),
                      GDALChecksumImage(
                          poOut->GetRasterBand(2)->GetMaskBand(), 0, 0, 150,
                          100));
            EXPECT_EQ(adfOut, ReadDoubles(poOut.get()));
        }
}

// An alpha band is data that GDAL also reads as the mask: copied as a band,
// and exact under a bound. Masks GDAL cannot put in one band are refused.
TEST_F(GdalMsicTest, AlphaIsExactAndMasksThatCannotBeKeptAreRefused)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    auto poRGBA = MakeTypedSource(130, 90, 4, GDT_UInt16, 3);
    poRGBA->GetRasterBand(4)->SetColorInterpretation(GCI_AlphaBand);
    CPLStringList aosOptions;
    aosOptions.SetNameValue("MAX_Z_ERROR", "8");
    aosOptions.SetNameValue("TILE_SIZE", "64");
    DatasetPtr poOut =
        CopyAndReopen(poRGBA.get(), m_osMemDir + "/rgba.msic", aosOptions);
    ASSERT_NE(nullptr, poOut);
    ASSERT_EQ(4, poOut->GetRasterCount());
    EXPECT_EQ(GCI_AlphaBand, poOut->GetRasterBand(4)->GetColorInterpretation());
    EXPECT_EQ(GMF_ALPHA | GMF_PER_DATASET,
              poOut->GetRasterBand(1)->GetMaskFlags());
    EXPECT_EQ(GDALChecksumImage(poRGBA->GetRasterBand(4), 0, 0, 130, 90),
              GDALChecksumImage(poOut->GetRasterBand(4), 0, 0, 130, 90));
    EXPECT_NE(GDALChecksumImage(poRGBA->GetRasterBand(1), 0, 0, 130, 90),
              GDALChecksumImage(poOut->GetRasterBand(1), 0, 0, 130, 90))
        << "the data bands should use the bound";

    auto Refused = [&](GDALDataset *poSrc, const char *pszOption,
                       const char *pszWords)
    {
        CPLStringList aosRefused;
        aosRefused.AddString("LOSSLESS=YES");
        aosRefused.AddString(pszOption);
        const std::string osPath = m_osMemDir + "/refused.msic";
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poBad(MsicDriver()->CreateCopy(osPath.c_str(), poSrc, FALSE,
                                                  aosRefused.List(), nullptr,
                                                  nullptr));
        CPLPopErrorHandler();
        EXPECT_EQ(nullptr, poBad);
        EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), pszWords))
            << CPLGetLastErrorMsg();
        EXPECT_FALSE(Exists(osPath));
    };
    // One mask per band.
    auto poPerBand = MakeTypedSource(64, 64, 2, GDT_Byte);
    ASSERT_EQ(CE_None, poPerBand->GetRasterBand(1)->CreateMaskBand(0));
    ASSERT_EQ(CE_None, poPerBand->GetRasterBand(2)->CreateMaskBand(0));
    Refused(poPerBand.get(), "TILE_SIZE=64", "masks of their own");
    // Signed bytes cannot hold the mask's 255.
    auto poSigned = MakeTypedSource(64, 64, 1, GDT_Byte);
    poSigned->GetRasterBand(1)->SetMetadataItem("PIXELTYPE", "SIGNEDBYTE",
                                                "IMAGE_STRUCTURE");
    ASSERT_EQ(CE_None, poSigned->CreateMaskBand(GMF_PER_DATASET));
    Refused(poSigned.get(), "TILE_SIZE=64", "cannot hold 255");
}

// rasterio's write_mask: CreateMaskBand on a Create()d dataset before the
// pixels; the mask is kept exactly, and what cannot work is refused.
TEST_F(GdalMsicTest, CreateKeepsAMaskBand)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    const std::string osPath = m_osMemDir + "/created.msic";
    const char *apszOptions[] = {"MAX_Z_ERROR=3", "TILE_SIZE=64", nullptr};
    DatasetPtr poDS(MsicDriver()->Create(osPath.c_str(), 100, 80, 3,
                                         GDT_UInt16,
                                         const_cast<char **>(apszOptions)));
    ASSERT_NE(nullptr, poDS) << CPLGetLastErrorMsg();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    EXPECT_EQ(CE_Failure, poDS->GetRasterBand(1)->CreateMaskBand(0))
        << "one mask per band";
    CPLPopErrorHandler();
    ASSERT_EQ(CE_None, poDS->CreateMaskBand(GMF_PER_DATASET));
    EXPECT_EQ(GMF_PER_DATASET, poDS->GetRasterBand(2)->GetMaskFlags());
    auto poSrc = MakeTypedSource(100, 80, 3, GDT_UInt16, 4);
    std::vector<GByte> abyMask(100 * 80);
    for (int i = 0; i < 100 * 80; ++i)
        abyMask[i] = (i % 100) + (i / 100) < 50 ? 0 : 255;
    const std::vector<double> adfIn = ReadDoubles(poSrc.get());
    ASSERT_EQ(CE_None,
              poDS->RasterIO(GF_Write, 0, 0, 100, 80,
                             const_cast<double *>(adfIn.data()), 100, 80,
                             GDT_Float64, 3, nullptr, 0, 0, 0, nullptr));
    ASSERT_EQ(CE_None, poDS->GetRasterBand(1)->GetMaskBand()->RasterIO(
                           GF_Write, 0, 0, 100, 80, abyMask.data(), 100, 80,
                           GDT_Byte, 0, 0, nullptr));
    poDS.reset();

    DatasetPtr poOut(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
    ASSERT_NE(nullptr, poOut);
    ASSERT_EQ(3, poOut->GetRasterCount());
    const std::vector<double> adfOut = ReadDoubles(poOut.get());
    for (size_t i = 0; i < adfIn.size(); ++i)
        ASSERT_LE(std::fabs(adfIn[i] - adfOut[i]), 3) << i;
    std::vector<GByte> abyGot(100 * 80);
    ASSERT_EQ(CE_None, poOut->GetRasterBand(3)->GetMaskBand()->RasterIO(
                           GF_Read, 0, 0, 100, 80, abyGot.data(), 100, 80,
                           GDT_Byte, 0, 0, nullptr));
    EXPECT_EQ(abyMask, abyGot);

    // The learned coding, and after pixels were written: refused, and the
    // dataset still writes its file.
    DatasetPtr poLossy(MsicDriver()->Create(
        (m_osMemDir + "/lossy.msic").c_str(), 64, 64, 3, GDT_Byte, nullptr));
    ASSERT_NE(nullptr, poLossy);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    EXPECT_EQ(CE_Failure, poLossy->CreateMaskBand(GMF_PER_DATASET));
    CPLPopErrorHandler();
    EXPECT_NE(nullptr, strstr(CPLGetLastErrorMsg(), "LOSSLESS=YES"))
        << CPLGetLastErrorMsg();
    poLossy.reset();
    EXPECT_TRUE(Exists(m_osMemDir + "/lossy.msic"));
}

// PIXELTYPE=SIGNEDBYTE as a CreateCopy option, as GTiff takes it.
TEST_F(GdalMsicTest, SignedByteIsAnOptionOfCreateCopyToo)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    auto poSrc = MakeTypedSource(80, 60, 1, GDT_Byte);
    CPLStringList aosOptions;
    aosOptions.SetNameValue("LOSSLESS", "YES");
    aosOptions.SetNameValue("PIXELTYPE", "SIGNEDBYTE");
    DatasetPtr poOut =
        CopyAndReopen(poSrc.get(), m_osMemDir + "/signed.msic", aosOptions);
    ASSERT_NE(nullptr, poOut);
    EXPECT_STREQ("SIGNEDBYTE", poOut->GetRasterBand(1)->GetMetadataItem(
                                   "PIXELTYPE", "IMAGE_STRUCTURE"));
    EXPECT_EQ(GDALChecksumImage(poSrc->GetRasterBand(1), 0, 0, 80, 60),
              GDALChecksumImage(poOut->GetRasterBand(1), 0, 0, 80, 60));
}

TEST_F(GdalMsicTest, BandFactsAndMetadataDomainsSurvive)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    auto poSrc = MakeTypedSource(64, 64, 4, GDT_UInt16);
    const GDALColorInterp aeInterp[] = {GCI_BlueBand, GCI_GreenBand,
                                        GCI_RedBand, GCI_Undefined};
    for (int iBand = 1; iBand <= 4; ++iBand)
    {
        GDALRasterBand *poBand = poSrc->GetRasterBand(iBand);
        poBand->SetScale(2.75e-5 * iBand);
        poBand->SetOffset(-0.2);
        poBand->SetUnitType("reflectance");
        poBand->SetColorInterpretation(aeInterp[iBand - 1]);
        poBand->SetDescription(CPLSPrintf("B%d", iBand + 1));
        poBand->SetMetadataItem("WAVELENGTH", CPLSPrintf("%d", 450 + 100 * iBand));
        poBand->SetMetadataItem("GAIN", "1.5", "SENSOR");
    }
    poSrc->SetMetadataItem("LINE_OFF", "1024", "RPC");
    poSrc->SetMetadataItem("SAMP_OFF", "2048", "RPC");
    poSrc->SetMetadataItem("CLOUDCOVER", "3", "IMAGERY");
    poSrc->SetMetadataItem("MISSION", "test");
    CPLStringList aosOptions;
    aosOptions.SetNameValue("MAX_Z_ERROR", "1");
    DatasetPtr poOut =
        CopyAndReopen(poSrc.get(), m_osMemDir + "/facts.msic", aosOptions);
    ASSERT_NE(nullptr, poOut);
    for (int iBand = 1; iBand <= 4; ++iBand)
    {
        SCOPED_TRACE(iBand);
        GDALRasterBand *poBand = poOut->GetRasterBand(iBand);
        int bOK = FALSE;
        EXPECT_DOUBLE_EQ(2.75e-5 * iBand, poBand->GetScale(&bOK));
        EXPECT_TRUE(bOK);
        EXPECT_DOUBLE_EQ(-0.2, poBand->GetOffset(&bOK));
        EXPECT_TRUE(bOK);
        EXPECT_STREQ("reflectance", poBand->GetUnitType());
        EXPECT_EQ(aeInterp[iBand - 1], poBand->GetColorInterpretation());
        EXPECT_STREQ(CPLSPrintf("B%d", iBand + 1), poBand->GetDescription());
        EXPECT_STREQ(CPLSPrintf("%d", 450 + 100 * iBand),
                     poBand->GetMetadataItem("WAVELENGTH"));
        EXPECT_STREQ("1.5", poBand->GetMetadataItem("GAIN", "SENSOR"));
    }
    EXPECT_STREQ("1024", poOut->GetMetadataItem("LINE_OFF", "RPC"));
    EXPECT_STREQ("2048", poOut->GetMetadataItem("SAMP_OFF", "RPC"));
    EXPECT_STREQ("3", poOut->GetMetadataItem("CLOUDCOVER", "IMAGERY"));
    EXPECT_STREQ("test", poOut->GetMetadataItem("MISSION"));
}

TEST_F(GdalMsicTest, ValidBitsAreRecordedAndChecked)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    GDALDriver *poMem = GetGDALDriverManager()->GetDriverByName("MEM");
    DatasetPtr poSrc(poMem->Create("", 64, 64, 1, GDT_UInt16, nullptr));
    std::vector<uint16_t> anData(64 * 64);
    for (size_t i = 0; i < anData.size(); ++i)
        anData[i] = static_cast<uint16_t>((i * 37) % 4096);
    ASSERT_EQ(CE_None, poSrc->GetRasterBand(1)->RasterIO(
                           GF_Write, 0, 0, 64, 64, anData.data(), 64, 64,
                           GDT_UInt16, 0, 0, nullptr));
    poSrc->GetRasterBand(1)->SetMetadataItem("NBITS", "12", "IMAGE_STRUCTURE");
    CPLStringList aosOptions;
    aosOptions.SetNameValue("LOSSLESS", "YES");
    DatasetPtr poOut =
        CopyAndReopen(poSrc.get(), m_osMemDir + "/nbits.msic", aosOptions);
    ASSERT_NE(nullptr, poOut);
    EXPECT_STREQ("12", poOut->GetRasterBand(1)->GetMetadataItem(
                           "NBITS", "IMAGE_STRUCTURE"));
    // A sample beyond 12 bits with NBITS=12: refused, not clipped.
    anData[100] = 5000;
    ASSERT_EQ(CE_None, poSrc->GetRasterBand(1)->RasterIO(
                           GF_Write, 0, 0, 64, 64, anData.data(), 64, 64,
                           GDT_UInt16, 0, 0, nullptr));
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr poBad(MsicDriver()->CreateCopy(
        (m_osMemDir + "/nbits2.msic").c_str(), poSrc.get(), FALSE,
        aosOptions.List(), nullptr, nullptr));
    CPLPopErrorHandler();
    EXPECT_EQ(nullptr, poBad);
    EXPECT_NE(std::string::npos,
              std::string(CPLGetLastErrorMsg()).find("5000"))
        << CPLGetLastErrorMsg();
}

TEST_F(GdalMsicTest, ConflictingExactOptionsFail)
{
    auto poSrc = MakeTypedSource(64, 64, 1, GDT_Byte);
    for (const char *pszOptions :
         {"LOSSLESS=YES,MAX_Z_ERROR=2", "MAX_Z_ERROR=-1", "MAX_Z_ERROR=abc"})
    {
        SCOPED_TRACE(pszOptions);
        CPLStringList aosOptions(CSLTokenizeString2(pszOptions, ",", 0));
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poOut(MsicDriver()->CreateCopy(
            (m_osDir + "/conflict.msic").c_str(), poSrc.get(), FALSE,
            aosOptions.List(), nullptr, nullptr));
        CPLPopErrorHandler();
        EXPECT_EQ(nullptr, poOut);
        EXPECT_FALSE(Exists(m_osDir + "/conflict.msic"));
    }
}

TEST_F(GdalMsicTest, PalettesAndClassTablesAreKeptLosslessly)
{
    ASSERT_EQ(0, VSIMkdir(m_osMemDir.c_str(), 0755));
    // A land-cover raster: class codes, a colour table, a RAT of names.
    auto poSrc = MakeTypedSource(90, 70, 1, GDT_Byte);
    std::vector<GByte> abyCodes(90 * 70);
    for (size_t i = 0; i < abyCodes.size(); ++i)
        abyCodes[i] = static_cast<GByte>(((i % 90) / 15 + (i / 90) / 20) % 5 * 10 + 11);
    ASSERT_EQ(CE_None, poSrc->GetRasterBand(1)->RasterIO(
                           GF_Write, 0, 0, 90, 70, abyCodes.data(), 90, 70,
                           GDT_Byte, 0, 0, nullptr));
    GDALColorTable oCT;
    for (int i = 0; i < 256; ++i)
    {
        const GDALColorEntry sEntry = {static_cast<short>(i), static_cast<short>(255 - i),
                                       static_cast<short>(i / 2), 255};
        oCT.SetColorEntry(i, &sEntry);
    }
    poSrc->GetRasterBand(1)->SetColorTable(&oCT);
    poSrc->GetRasterBand(1)->SetColorInterpretation(GCI_PaletteIndex);
    GDALDefaultRasterAttributeTable oRAT;
    oRAT.CreateColumn("value", GFT_Integer, GFU_MinMax);
    oRAT.CreateColumn("class", GFT_String, GFU_Name);
    const char *const apszNames[] = {"water", "forest", "crops", "urban", "bare"};
    oRAT.SetRowCount(5);
    for (int i = 0; i < 5; ++i)
    {
        oRAT.SetValue(i, 0, 11 + 10 * i);
        oRAT.SetValue(i, 1, apszNames[i]);
    }
    ASSERT_EQ(CE_None, poSrc->GetRasterBand(1)->SetDefaultRAT(&oRAT));

    CPLStringList aosOptions;
    aosOptions.SetNameValue("LOSSLESS", "YES");
    DatasetPtr poOut =
        CopyAndReopen(poSrc.get(), m_osMemDir + "/classes.msic", aosOptions);
    ASSERT_NE(nullptr, poOut);
    GDALRasterBand *poBand = poOut->GetRasterBand(1);
    std::vector<GByte> abyBack(abyCodes.size());
    ASSERT_EQ(CE_None, poBand->RasterIO(GF_Read, 0, 0, 90, 70, abyBack.data(),
                                        90, 70, GDT_Byte, 0, 0, nullptr));
    EXPECT_EQ(abyCodes, abyBack);
    EXPECT_EQ(GCI_PaletteIndex, poBand->GetColorInterpretation());
    const GDALColorTable *poCT = poBand->GetColorTable();
    ASSERT_NE(nullptr, poCT);
    ASSERT_EQ(256, poCT->GetColorEntryCount());
    for (int i = 0; i < 256; ++i)
    {
        const GDALColorEntry *psEntry = poCT->GetColorEntry(i);
        EXPECT_EQ(i, psEntry->c1);
        EXPECT_EQ(255 - i, psEntry->c2);
        EXPECT_EQ(i / 2, psEntry->c3);
    }
    GDALRasterAttributeTable *poRAT = poBand->GetDefaultRAT();
    ASSERT_NE(nullptr, poRAT);
    ASSERT_EQ(5, poRAT->GetRowCount());
    for (int i = 0; i < 5; ++i)
    {
        EXPECT_EQ(11 + 10 * i, poRAT->GetValueAsInt(i, 0));
        EXPECT_STREQ(apszNames[i], poRAT->GetValueAsString(i, 1));
    }
}

TEST_F(GdalMsicTest, CreateCodesRowsOnceAndRefusesToChangeThem)
{
    const std::string osPath = m_osDir + "/create.msic";
    CPLStringList aosOptions;
    aosOptions.SetNameValue("LOSSLESS", "YES");
    aosOptions.SetNameValue("TILE_SIZE", "64");
    std::vector<int16_t> anRows(2 * 100 * 64, 0);  // band 1, then band 2
    for (size_t i = 0; i < anRows.size(); ++i)
        anRows[i] = static_cast<int16_t>(i % 777 - 300);
    {
        // Rows written in order: the blocks never written read as 0.
        DatasetPtr poDS(MsicDriver()->Create(osPath.c_str(), 100, 130, 2,
                                             GDT_Int16, aosOptions.List()));
        ASSERT_NE(nullptr, poDS) << CPLGetLastErrorMsg();
        ASSERT_EQ(CE_None, poDS->RasterIO(GF_Write, 0, 0, 100, 64,
                                          anRows.data(), 100, 64, GDT_Int16, 2,
                                          nullptr, 0, 0, 0, nullptr));
        poDS->FlushCache(false);
        // Nodata now would change how the written blocks read: refused.
        CPLPushErrorHandler(CPLQuietErrorHandler);
        EXPECT_EQ(CE_Failure, poDS->GetRasterBand(1)->SetNoDataValue(5));
        CPLPopErrorHandler();
    }
    DatasetPtr poBack(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
    ASSERT_NE(nullptr, poBack);
    std::vector<int16_t> anBack(100 * 130);
    ASSERT_EQ(CE_None, poBack->GetRasterBand(2)->RasterIO(
                           GF_Read, 0, 0, 100, 130, anBack.data(), 100, 130,
                           GDT_Int16, 0, 0, nullptr));
    EXPECT_TRUE(std::equal(anRows.begin() + 100 * 64, anRows.end(), anBack.begin()));
    EXPECT_TRUE(std::all_of(anBack.begin() + 100 * 64, anBack.end(),
                            [](int16_t v) { return v == 0; }));
    poBack.reset();

    // A row is coded once a lower row is reached; writing into it later
    // fails, and then no file is written rather than a wrong one.
    const std::string osPath2 = m_osDir + "/changed.msic";
    {
        DatasetPtr poDS(MsicDriver()->Create(osPath2.c_str(), 100, 130, 2,
                                             GDT_Int16, aosOptions.List()));
        ASSERT_NE(nullptr, poDS);
        ASSERT_EQ(CE_None, poDS->RasterIO(GF_Write, 0, 0, 100, 64,
                                          anRows.data(), 100, 64, GDT_Int16, 2,
                                          nullptr, 0, 0, 0, nullptr));
        ASSERT_EQ(CE_None, poDS->RasterIO(GF_Write, 0, 64, 100, 1,
                                          anRows.data(), 100, 1, GDT_Int16, 1,
                                          nullptr, 0, 0, 0, nullptr));
        poDS->FlushCache(false);  // row 1 touched: row 0 is coded
        CPLPushErrorHandler(CPLQuietErrorHandler);
        CPLErrorReset();
        EXPECT_EQ(CE_Failure, poDS->GetRasterBand(1)->RasterIO(
                                  GF_Write, 0, 10, 100, 1, anRows.data(), 100,
                                  1, GDT_Int16, 0, 0, nullptr));
        EXPECT_NE(std::string::npos,
                  std::string(CPLGetLastErrorMsg()).find("coded already"))
            << CPLGetLastErrorMsg();
        poDS.reset();
        CPLPopErrorHandler();
    }
    EXPECT_FALSE(Exists(osPath2));
    EXPECT_EQ(std::vector<std::string>{"create.msic"}, ListDir(m_osDir));
}

TEST_F(GdalMsicTest, CreateThatCannotWorkLeavesNothing)
{
    for (const char *pszCase : {"TILE_SIZE=63", "FLOAT64", "QUALITY=50,UINT16"})
    {
        SCOPED_TRACE(pszCase);
        CPLStringList aosOptions(CSLTokenizeString2(pszCase, ",", 0));
        GDALDataType eType = GDT_Byte;
        if (aosOptions.FindString("FLOAT64") >= 0)
            eType = GDT_Float64, aosOptions.SetNameValue("LOSSLESS", "YES");
        if (aosOptions.FindString("UINT16") >= 0)
            eType = GDT_UInt16;
        const std::string osPath = m_osDir + "/bad-create.msic";
        CPLPushErrorHandler(CPLQuietErrorHandler);
        DatasetPtr poDS(MsicDriver()->Create(osPath.c_str(), 64, 64, 1, eType,
                                             aosOptions.List()));
        CPLPopErrorHandler();
        EXPECT_EQ(nullptr, poDS);
        EXPECT_EQ(std::vector<std::string>{}, ListDir(m_osDir));
    }
}

}  // namespace
