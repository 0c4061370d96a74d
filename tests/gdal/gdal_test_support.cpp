// Helpers shared by the in-process tests of the MSIC GDAL driver.

#include "gdal_test_support.h"

#include "../common/psnr.h"

#include <cmath>
#include <cstring>

namespace msic_gdal_test
{

GDALDriver *MsicDriver()
{
    return GetGDALDriverManager()->GetDriverByName("MSIC");
}

// A smooth synthetic image (gradients plus a soft blob): codes well, so a
// lossy round trip must stay close to it.
DatasetPtr MakeSource(int nXSize, int nYSize, int nBands,
                      GDALDataType eType)
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

// The one PSNR of the C++ suites (infinity for identical images, NaN for
// different sizes: both fail or pass a threshold as they should).
double Psnr(const std::vector<GByte> &a, const std::vector<GByte> &b)
{
    return test::psnr(a, b);
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

DatasetPtr CopyAndReopen(GDALDataset *poSrc, const std::string &osPath,
                         const CPLStringList &aosOptions)
{
    DatasetPtr poOut(MsicDriver()->CreateCopy(osPath.c_str(), poSrc, FALSE,
                                              aosOptions.List(), nullptr,
                                              nullptr));
    EXPECT_NE(nullptr, poOut) << CPLGetLastErrorMsg();
    poOut.reset();
    return DatasetPtr(GDALDataset::Open(osPath.c_str(), GDAL_OF_RASTER));
}

DatasetPtr CopyAndReopen(GDALDataset *poSrc, const std::string &osPath,
                         std::initializer_list<const char *> apszOptions)
{
    CPLStringList aosOptions;
    for (const char *pszOption : apszOptions)
        aosOptions.AddString(pszOption);
    return CopyAndReopen(poSrc, osPath, aosOptions);
}

bool Exists(const std::string &osPath)
{
    VSIStatBufL sStat;
    return VSIStatL(osPath.c_str(), &sStat) == 0;
}

} // namespace msic_gdal_test
