/*
 * GDAL raster driver for MSIC: GDAL metadata <-> metadata boxes (the table
 * is in msicmetadata.h). Float64 boxes go through libmsic, which owns their
 * byte order.
 */

#include "msicmetadata.h"

#include "msicdrivercore.h"

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace
{

/************************************************************************/
/*                              Reading                                 */
/************************************************************************/

/* Splits a buffer of NUL-terminated strings; a trailing piece without its
 * NUL is taken as well. */
std::vector<std::string> SplitNulTerminated(const uint8_t *pabyData,
                                            size_t nSize)
{
    std::vector<std::string> aosOut;
    const char *p = reinterpret_cast<const char *>(pabyData);
    const char *pEnd = p + nSize;
    while (p < pEnd)
    {
        const char *pNul = static_cast<const char *>(
            std::memchr(p, '\0', static_cast<size_t>(pEnd - p)));
        const char *pStop = pNul ? pNul : pEnd;
        aosOut.emplace_back(p, pStop);
        p = pStop + 1;
    }
    return aosOut;
}

/* The nCount values of a float64 box into padfValues; false if there is
 * no such box, or (after a warning) if it holds another count. */
bool ReadF64Box(const msic_reader *poReader, const char *pszType,
                const char *pszWhat, double *padfValues, size_t nCount)
{
    msic_box sBox{};
    if (msic_reader_find_box(poReader, pszType, &sBox) != MSIC_OK)
        return false;
    std::vector<double> adfValues(nCount);
    const msic_status eStatus =
        msic_box_get_f64(&sBox, adfValues.data(), nCount);
    if (eStatus != MSIC_OK)
    {
        CPLError(CE_Warning, CPLE_AppDefined, "%s",
                 MSICErrorMessage(CPLSPrintf("MSIC: %s box ignored", pszWhat),
                                  eStatus)
                     .c_str());
        return false;
    }
    std::copy(adfValues.begin(), adfValues.end(), padfValues);
    return true;
}

void ReadSpatialRef(const msic_reader *poReader, OGRSpatialReference &oSRS)
{
    msic_box sBox{};
    if (msic_reader_find_box(poReader, MSIC_BOX_CRS_WKT, &sBox) != MSIC_OK ||
        sBox.size == 0)
        return;
    const char *pszData = reinterpret_cast<const char *>(sBox.data);
    const std::string osWKT(pszData, strnlen(pszData, sBox.size));
    if (oSRS.importFromWkt(osWKT.c_str()) != OGRERR_NONE)
    {
        oSRS.Clear();
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC: the CRS box holds WKT that cannot be parsed; "
                 "ignored");
    }
}

void ReadBandDescriptions(const msic_reader *poReader, GDALDataset *poDS)
{
    msic_box sBox{};
    if (msic_reader_find_box(poReader, MSIC_BOX_BAND_DESC, &sBox) != MSIC_OK)
        return;
    const auto aosDesc = SplitNulTerminated(sBox.data, sBox.size);
    const int nBands = poDS->GetRasterCount();
    for (int i = 0; i < nBands && i < static_cast<int>(aosDesc.size()); ++i)
        poDS->GetRasterBand(i + 1)->GDALMajorObject::SetDescription(
            aosDesc[i].c_str());
}

void ReadKeyValues(const msic_reader *poReader, GDALDataset *poDS)
{
    msic_box sBox{};
    if (msic_reader_find_box(poReader, MSIC_BOX_KEYVALUE, &sBox) != MSIC_OK)
        return;
    const auto aosParts = SplitNulTerminated(sBox.data, sBox.size);
    for (size_t i = 0; i + 3 <= aosParts.size(); i += 3)
    {
        const std::string &osDomain = aosParts[i];
        const std::string &osKey = aosParts[i + 1];
        const std::string &osValue = aosParts[i + 2];
        /* IMAGE_STRUCTURE describes this file and is the driver's. */
        if (osKey.empty() || EQUAL(osDomain.c_str(), "IMAGE_STRUCTURE"))
            continue;
        poDS->GDALDataset::SetMetadataItem(osKey.c_str(), osValue.c_str(),
                                           osDomain.c_str());
    }
}

void ReadXMP(const msic_reader *poReader, GDALDataset *poDS)
{
    msic_box sBox{};
    if (msic_reader_find_box(poReader, MSIC_BOX_XMP, &sBox) != MSIC_OK ||
        sBox.size == 0)
        return;
    const std::string osXMP(reinterpret_cast<const char *>(sBox.data),
                            sBox.size);
    char *apszXMP[2] = {const_cast<char *>(osXMP.c_str()), nullptr};
    poDS->GDALDataset::SetMetadata(apszXMP, "xml:XMP");
}

void ReadICCProfile(const msic_reader *poReader, GDALDataset *poDS)
{
    msic_box sBox{};
    if (msic_reader_find_box(poReader, MSIC_BOX_ICC, &sBox) != MSIC_OK ||
        sBox.size == 0 || sBox.size >= static_cast<size_t>(INT_MAX / 2))
        return;
    char *pszB64 = CPLBase64Encode(static_cast<int>(sBox.size), sBox.data);
    poDS->GDALDataset::SetMetadataItem("SOURCE_ICC_PROFILE", pszB64,
                                       "COLOR_PROFILE");
    CPLFree(pszB64);
}

/************************************************************************/
/*                              Writing                                 */
/************************************************************************/

/* False, after a CPLError, when adding the pszType box failed. */
bool BoxAdded(msic_status eStatus, const char *pszType)
{
    if (eStatus == MSIC_OK)
        return true;
    CPLError(CE_Failure, CPLE_AppDefined, "%s",
             MSICErrorMessage(CPLSPrintf("MSIC: adding the %.4s box", pszType),
                              eStatus)
                 .c_str());
    return false;
}

bool AddBox(msic_writer *poWriter, const char *pszType, const void *pData,
            size_t nSize)
{
    return BoxAdded(msic_writer_add_box(poWriter, pszType, pData, nSize),
                    pszType);
}

bool AddF64Box(msic_writer *poWriter, const char *pszType,
               const double *padfValues, size_t nCount)
{
    return BoxAdded(
        msic_writer_add_f64_box(poWriter, pszType, padfValues, nCount),
        pszType);
}

/* Appends pszText and its NUL: the unit of the BDSC and KVMD boxes. */
void AppendNulTerminated(std::string &osOut, const char *pszText)
{
    osOut.append(pszText, strlen(pszText) + 1);
}

bool AddGeoTransform(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    double adfGT[6];
    if (poSrcDS->GetGeoTransform(adfGT) != CE_None)
        return true;
    return AddF64Box(poWriter, MSIC_BOX_GEOTRANSFORM, adfGT, 6);
}

bool AddSpatialRef(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    const OGRSpatialReference *poSRS = poSrcDS->GetSpatialRef();
    if (poSRS == nullptr || poSRS->IsEmpty())
        return true;
    char *pszWKT = nullptr;
    const char *const apszOptions[] = {"FORMAT=WKT2_2019", nullptr};
    if (poSRS->exportToWkt(&pszWKT, apszOptions) != OGRERR_NONE)
    {
        /* Some CRSs have no WKT2 form: the default WKT is better than none. */
        CPLFree(pszWKT);
        pszWKT = nullptr;
        poSRS->exportToWkt(&pszWKT);
    }
    if (pszWKT == nullptr || pszWKT[0] == '\0')
    {
        CPLFree(pszWKT);
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC: the source CRS cannot be written as WKT; it is "
                 "not copied");
        return true;
    }
    const bool bOK = AddBox(poWriter, MSIC_BOX_CRS_WKT, pszWKT, strlen(pszWKT));
    CPLFree(pszWKT);
    return bOK;
}

bool AddNoData(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    int bHasNoData = FALSE;
    const double dfNoData =
        poSrcDS->GetRasterBand(1)->GetNoDataValue(&bHasNoData);
    if (!bHasNoData)
        return true;
    for (int iBand = 2; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        int bOther = FALSE;
        const double dfOther =
            poSrcDS->GetRasterBand(iBand)->GetNoDataValue(&bOther);
        if (!bOther || !(dfOther == dfNoData ||
                         (std::isnan(dfOther) && std::isnan(dfNoData))))
        {
            CPLError(CE_Warning, CPLE_AppDefined,
                     "MSIC stores one nodata value for all bands; band "
                     "1's (%.17g) is used",
                     dfNoData);
            break;
        }
    }
    return AddF64Box(poWriter, MSIC_BOX_NODATA, &dfNoData, 1);
}

bool AddBandDescriptions(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    bool bAnyDescription = false;
    std::string osDesc;
    for (int iBand = 1; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        const char *pszDesc = poSrcDS->GetRasterBand(iBand)->GetDescription();
        if (pszDesc == nullptr)
            pszDesc = "";
        bAnyDescription |= pszDesc[0] != '\0';
        AppendNulTerminated(osDesc, pszDesc);
    }
    return !bAnyDescription ||
           AddBox(poWriter, MSIC_BOX_BAND_DESC, osDesc.data(), osDesc.size());
}

/* The default domain; KVMD names the domain of each item, so that the
 * reader takes others as they come. */
bool AddKeyValues(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    std::string osKV;
    for (CSLConstList papszIter = poSrcDS->GetMetadata();
         papszIter && *papszIter; ++papszIter)
    {
        char *pszKey = nullptr;
        const char *pszValue = CPLParseNameValue(*papszIter, &pszKey);
        if (pszKey != nullptr && pszKey[0] != '\0' && pszValue != nullptr)
        {
            AppendNulTerminated(osKV, ""); /* the default domain */
            AppendNulTerminated(osKV, pszKey);
            AppendNulTerminated(osKV, pszValue);
        }
        CPLFree(pszKey);
    }
    return osKV.empty() ||
           AddBox(poWriter, MSIC_BOX_KEYVALUE, osKV.data(), osKV.size());
}

bool AddXMP(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    CSLConstList papszXMP = poSrcDS->GetMetadata("xml:XMP");
    if (papszXMP == nullptr || papszXMP[0] == nullptr ||
        papszXMP[0][0] == '\0')
        return true;
    return AddBox(poWriter, MSIC_BOX_XMP, papszXMP[0], strlen(papszXMP[0]));
}

bool AddICCProfile(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    const char *pszICC =
        poSrcDS->GetMetadataItem("SOURCE_ICC_PROFILE", "COLOR_PROFILE");
    if (pszICC == nullptr || pszICC[0] == '\0')
        return true;
    char *pszCopy = CPLStrdup(pszICC);
    const int nICCSize =
        CPLBase64DecodeInPlace(reinterpret_cast<GByte *>(pszCopy));
    const bool bOK = nICCSize <= 0 || AddBox(poWriter, MSIC_BOX_ICC, pszCopy,
                                             static_cast<size_t>(nICCSize));
    CPLFree(pszCopy);
    return bOK;
}

}  // namespace

/************************************************************************/
/*                       MSICReadMetadataBoxes()                        */
/************************************************************************/

void MSICReadMetadataBoxes(const msic_reader *poReader, GDALDataset *poDS,
                           MSICGeoreferencing &sGeo)
{
    sGeo.bGeoTransformValid =
        ReadF64Box(poReader, MSIC_BOX_GEOTRANSFORM, "geotransform",
                   sGeo.adfGeoTransform, 6);
    ReadSpatialRef(poReader, sGeo.oSRS);
    sGeo.bHasNoData =
        ReadF64Box(poReader, MSIC_BOX_NODATA, "nodata", &sGeo.dfNoData, 1);
    ReadBandDescriptions(poReader, poDS);
    ReadKeyValues(poReader, poDS);
    ReadXMP(poReader, poDS);
    ReadICCProfile(poReader, poDS);
}

/************************************************************************/
/*                        MSICAddMetadataBoxes()                        */
/************************************************************************/

bool MSICAddMetadataBoxes(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    return AddGeoTransform(poWriter, poSrcDS) &&
           AddSpatialRef(poWriter, poSrcDS) && AddNoData(poWriter, poSrcDS) &&
           AddBandDescriptions(poWriter, poSrcDS) &&
           AddKeyValues(poWriter, poSrcDS) && AddXMP(poWriter, poSrcDS) &&
           AddICCProfile(poWriter, poSrcDS);
}
