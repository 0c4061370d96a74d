// Helpers and the fixture shared by the in-process tests of the MSIC GDAL
// driver (gdal_create_copy_test.cpp, gdal_open_test.cpp). The plugin is
// found through GDAL_DRIVER_PATH (set by ctest to the build tree's plugin
// folder); the tests only use GDAL, never libmsic directly.
#pragma once

#include <gtest/gtest.h>

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal_priv.h"

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace msic_gdal_test
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

GDALDriver *MsicDriver();

// A smooth synthetic image (gradients plus a soft blob): codes well, so a
// lossy round trip must stay close to it.
DatasetPtr MakeSource(int nXSize, int nYSize, int nBands,
                      GDALDataType eType = GDT_Byte);

std::vector<GByte> ReadAll(GDALDataset *poDS);

double Psnr(const std::vector<GByte> &a, const std::vector<GByte> &b);

std::vector<std::string> ListDir(const std::string &osDir);

bool Exists(const std::string &osPath);

// CreateCopy with the options, then the file opened again (nullptr, after
// a failed expectation, if the copy failed).
DatasetPtr CopyAndReopen(GDALDataset *poSrc, const std::string &osPath,
                         const CPLStringList &aosOptions);
DatasetPtr CopyAndReopen(GDALDataset *poSrc, const std::string &osPath,
                         std::initializer_list<const char *> apszOptions);

// Collects the warnings raised while it lives (and keeps them from the
// console).
class WarningCapture
{
  public:
    WarningCapture()
    {
        CPLPushErrorHandlerEx(Handler, this);
    }
    ~WarningCapture()
    {
        CPLPopErrorHandler();
    }
    WarningCapture(const WarningCapture &) = delete;
    WarningCapture &operator=(const WarningCapture &) = delete;

    const std::vector<std::string> &Warnings() const
    {
        return m_aosWarnings;
    }
    // Whether a warning contained pszWords.
    bool Saw(const char *pszWords) const
    {
        for (const std::string &osWarning : m_aosWarnings)
            if (osWarning.find(pszWords) != std::string::npos)
                return true;
        return false;
    }

  private:
    std::vector<std::string> m_aosWarnings;
    static void CPL_STDCALL Handler(CPLErr eErr, CPLErrorNum, const char *pszMsg)
    {
        if (eErr == CE_Warning)
            static_cast<WarningCapture *>(CPLGetErrorHandlerUserData())
                ->m_aosWarnings.emplace_back(pszMsg);
    }
};

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

    // Tiles of the file's overviews (reduced levels) decoded, all levels.
    long OverviewTilesDecoded(const std::string &osName) const
    {
        const std::regex oRe("(.*): \\d+ of \\d+ tiles decoded; of the "
                             "overviews ([0-9, ]+)");
        long nTotal = -1;
        for (const auto &osMsg : m_aosMessages)
        {
            std::smatch oMatch;
            if (!std::regex_search(osMsg, oMatch, oRe) ||
                oMatch[1].str().size() < osName.size() ||
                oMatch[1].str().compare(oMatch[1].str().size() - osName.size(),
                                        osName.size(), osName) != 0)
                continue;
            nTotal = std::max(0L, nTotal);
            const CPLStringList aosCounts(
                CSLTokenizeString2(oMatch[2].str().c_str(), ", ", 0));
            for (int i = 0; i < aosCounts.size(); ++i)
                nTotal += std::stol(aosCounts[i]);
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

} // namespace msic_gdal_test
