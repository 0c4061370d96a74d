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
#include <cstdlib>
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

/* "band:n[:DOMAIN]" -> n (1-based) and DOMAIN ("" for the default); 0 if
 * the domain is not a band's. */
int ParseBandDomain(const std::string &osDomain, std::string &osBandDomain)
{
    if (osDomain.compare(0, 5, "band:") != 0)
        return 0;
    const size_t nColon = osDomain.find(':', 5);
    const std::string osNumber = osDomain.substr(5, nColon == std::string::npos
                                                        ? std::string::npos
                                                        : nColon - 5);
    if (osNumber.empty() ||
        osNumber.find_first_not_of("0123456789") != std::string::npos ||
        osNumber.size() > 6)
        return 0;
    osBandDomain = nColon == std::string::npos ? "" : osDomain.substr(nColon + 1);
    return std::atoi(osNumber.c_str());
}

void ReadBandFact(MSICGeoreferencing::Band &sBand, const std::string &osKey,
                  const std::string &osValue)
{
    if (osKey == "SCALE")
        sBand.bHasScale = true, sBand.dfScale = CPLAtof(osValue.c_str());
    else if (osKey == "OFFSET")
        sBand.bHasOffset = true, sBand.dfOffset = CPLAtof(osValue.c_str());
    else if (osKey == "UNIT")
        sBand.osUnit = osValue;
    else if (osKey == "COLOR_INTERP")
        sBand.bHasColorInterp = true,
        sBand.eColorInterp = GDALGetColorInterpretationByName(osValue.c_str());
}

void ReadKeyValues(const msic_reader *poReader, GDALDataset *poDS,
                   MSICGeoreferencing &sGeo)
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
        std::string osBandDomain;
        const int nBand = ParseBandDomain(osDomain, osBandDomain);
        /* IMAGE_STRUCTURE describes this file and is the driver's. */
        if (osKey.empty() || EQUAL(osBandDomain.c_str(), "IMAGE_STRUCTURE") ||
            EQUAL(osDomain.c_str(), "IMAGE_STRUCTURE"))
            continue;
        if (nBand == 0)
        {
            poDS->GDALDataset::SetMetadataItem(osKey.c_str(), osValue.c_str(),
                                               osDomain.c_str());
            continue;
        }
        if (nBand > poDS->GetRasterCount())
            continue;
        if (osBandDomain == "MSIC")
            ReadBandFact(sGeo.aoBands[nBand - 1], osKey, osValue);
        else
            poDS->GetRasterBand(nBand)->GDALMajorObject::SetMetadataItem(
                osKey.c_str(), osValue.c_str(), osBandDomain.c_str());
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
    for (int iBand = 2; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        int bOther = FALSE;
        const double dfOther =
            poSrcDS->GetRasterBand(iBand)->GetNoDataValue(&bOther);
        if (bOther != bHasNoData ||
            (bHasNoData && !(dfOther == dfNoData ||
                             (std::isnan(dfOther) && std::isnan(dfNoData)))))
        {
            if (bHasNoData)
                CPLError(CE_Warning, CPLE_AppDefined,
                         "MSIC stores one nodata value for all bands; band "
                         "1's (%.17g) is used for all, band %d's is not",
                         dfNoData, iBand);
            else
                CPLError(CE_Warning, CPLE_AppDefined,
                         "MSIC stores one nodata value for all bands, taken "
                         "from band 1, which has none: band %d's nodata "
                         "value is not kept",
                         iBand);
            break;
        }
    }
    if (!bHasNoData)
        return true;
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

/* Domains of a dataset or band that describe the file rather than the
 * data, or have their own box. */
bool SkippedDomain(const char *pszDomain)
{
    return EQUAL(pszDomain, "IMAGE_STRUCTURE") ||
           EQUAL(pszDomain, "COLOR_PROFILE") ||
           EQUAL(pszDomain, "DERIVED_SUBDATASETS") ||
           STARTS_WITH_CI(pszDomain, "xml:") || STARTS_WITH_CI(pszDomain, "json:");
}

void AppendTriple(std::string &osKV, const std::string &osDomain,
                  const char *pszKey, const char *pszValue)
{
    AppendNulTerminated(osKV, osDomain.c_str());
    AppendNulTerminated(osKV, pszKey);
    AppendNulTerminated(osKV, pszValue);
}

/* Every name=value item of poObject's domains, under the domain's name
 * prefixed with osPrefix ("band:n" for a band). */
void AppendDomains(std::string &osKV, GDALMajorObject *poObject,
                   const std::string &osPrefix)
{
    CPLStringList aosDomains(poObject->GetMetadataDomainList());
    if (aosDomains.FindString("") < 0)
        aosDomains.AddString("");
    for (int i = 0; i < aosDomains.size(); ++i)
    {
        const char *pszDomain = aosDomains[i];
        if (SkippedDomain(pszDomain))
            continue;
        std::string osDomain = osPrefix;
        if (pszDomain[0] != '\0')
            osDomain += (osPrefix.empty() ? "" : ":") + std::string(pszDomain);
        for (CSLConstList papszIter = poObject->GetMetadata(pszDomain);
             papszIter && *papszIter; ++papszIter)
        {
            char *pszKey = nullptr;
            const char *pszValue = CPLParseNameValue(*papszIter, &pszKey);
            if (pszKey != nullptr && pszKey[0] != '\0' && pszValue != nullptr)
                AppendTriple(osKV, osDomain, pszKey, pszValue);
            CPLFree(pszKey);
        }
    }
}

/* KVMD names the domain of each item, so that the reader takes others as
 * they come (the table in msicmetadata.h). */
bool AddKeyValues(msic_writer *poWriter, GDALDataset *poSrcDS,
                  bool bColorInterp)
{
    std::string osKV;
    AppendDomains(osKV, poSrcDS, "");
    for (int iBand = 1; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        GDALRasterBand *poBand = poSrcDS->GetRasterBand(iBand);
        const std::string osBand = CPLSPrintf("band:%d", iBand);
        AppendDomains(osKV, poBand, osBand);
        const std::string osFacts = osBand + ":MSIC";
        int bHasScale = FALSE, bHasOffset = FALSE;
        const double dfScale = poBand->GetScale(&bHasScale);
        const double dfOffset = poBand->GetOffset(&bHasOffset);
        if (bHasScale && dfScale != 1.0)
            AppendTriple(osKV, osFacts, "SCALE", CPLSPrintf("%.17g", dfScale));
        if (bHasOffset && dfOffset != 0.0)
            AppendTriple(osKV, osFacts, "OFFSET", CPLSPrintf("%.17g", dfOffset));
        const char *pszUnit = poBand->GetUnitType();
        if (pszUnit != nullptr && pszUnit[0] != '\0')
            AppendTriple(osKV, osFacts, "UNIT", pszUnit);
        const GDALColorInterp eInterp = poBand->GetColorInterpretation();
        if (bColorInterp) /* Undefined too: else a reader guesses RGB */
            AppendTriple(osKV, osFacts, "COLOR_INTERP",
                         GDALGetColorInterpretationName(eInterp));
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

void PutU32(std::string &osOut, uint32_t n)
{
    for (int i = 0; i < 4; ++i)
        osOut += static_cast<char>((n >> (8 * i)) & 0xff);
}

uint32_t GetU32(const uint8_t *p)
{
    return p[0] | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) |
           (uint32_t(p[3]) << 24);
}

void PutF64(std::string &osOut, double dfValue)
{
    CPL_LSBPTR64(&dfValue);
    osOut.append(reinterpret_cast<const char *>(&dfValue), 8);
}

double GetF64(const uint8_t *p)
{
    double dfValue;
    std::memcpy(&dfValue, p, 8);
    CPL_LSBPTR64(&dfValue);
    return dfValue;
}

/************************************************************************/
/*                       Ground control points                          */
/************************************************************************/

bool AddGCPs(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    const int nCount = poSrcDS->GetGCPCount();
    if (nCount <= 0)
        return true;
    const GDAL_GCP *pasGCPs = poSrcDS->GetGCPs();
    std::string osBox;
    PutU32(osBox, static_cast<uint32_t>(nCount));
    for (int i = 0; i < nCount; ++i)
    {
        const GDAL_GCP &sGCP = pasGCPs[i];
        for (double dfValue : {sGCP.dfGCPPixel, sGCP.dfGCPLine, sGCP.dfGCPX,
                               sGCP.dfGCPY, sGCP.dfGCPZ})
            PutF64(osBox, dfValue);
        AppendNulTerminated(osBox, sGCP.pszId ? sGCP.pszId : "");
        AppendNulTerminated(osBox, sGCP.pszInfo ? sGCP.pszInfo : "");
    }
    const OGRSpatialReference *poSRS = poSrcDS->GetGCPSpatialRef();
    char *pszWKT = nullptr;
    const char *const apszOptions[] = {"FORMAT=WKT2_2019", nullptr};
    if (poSRS != nullptr && !poSRS->IsEmpty() &&
        poSRS->exportToWkt(&pszWKT, apszOptions) != OGRERR_NONE)
    {
        CPLFree(pszWKT);
        pszWKT = nullptr;
        poSRS->exportToWkt(&pszWKT);
    }
    if (pszWKT != nullptr)
        osBox += pszWKT;
    CPLFree(pszWKT);
    return AddBox(poWriter, MSIC_BOX_GCPS, osBox.data(), osBox.size());
}

/* The GCPS box into sGeo; a malformed one is skipped with a warning. */
void ReadGCPs(const msic_reader *poReader, MSICGeoreferencing &sGeo)
{
    msic_box sBox{};
    if (msic_reader_find_box(poReader, MSIC_BOX_GCPS, &sBox) != MSIC_OK)
        return;
    const uint8_t *p = sBox.data;
    const uint8_t *pEnd = sBox.data + sBox.size;
    if (sBox.size < 4)
    {
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC: the ground control points box is malformed; skipped");
        return;
    }
    const uint32_t nCount = GetU32(p);
    p += 4;
    /* Each point takes at least 42 bytes: a count beyond that is damage. */
    bool bOK = nCount <= (sBox.size - 4) / 42;
    std::vector<GDAL_GCP> asGCPs;
    auto ReadString = [&](std::string &osOut)
    {
        const void *pNul = memchr(p, 0, static_cast<size_t>(pEnd - p));
        if (pNul == nullptr)
            return false;
        osOut.assign(reinterpret_cast<const char *>(p),
                     static_cast<const uint8_t *>(pNul) - p);
        p = static_cast<const uint8_t *>(pNul) + 1;
        return true;
    };
    for (uint32_t i = 0; bOK && i < nCount; ++i)
    {
        if (pEnd - p < 40)
        {
            bOK = false;
            break;
        }
        double adf[5];
        for (double &dfValue : adf)
            dfValue = GetF64(p), p += 8;
        std::string osId, osInfo;
        if (!ReadString(osId) || !ReadString(osInfo))
        {
            bOK = false;
            break;
        }
        GDAL_GCP sGCP;
        GDALInitGCPs(1, &sGCP);
        CPLFree(sGCP.pszId);
        CPLFree(sGCP.pszInfo);
        sGCP.pszId = CPLStrdup(osId.c_str());
        sGCP.pszInfo = CPLStrdup(osInfo.c_str());
        sGCP.dfGCPPixel = adf[0], sGCP.dfGCPLine = adf[1];
        sGCP.dfGCPX = adf[2], sGCP.dfGCPY = adf[3], sGCP.dfGCPZ = adf[4];
        asGCPs.push_back(sGCP);
    }
    const std::string osWKT(reinterpret_cast<const char *>(p),
                            bOK ? static_cast<size_t>(pEnd - p) : 0);
    if (bOK && !osWKT.empty() &&
        sGeo.oGCPSRS.importFromWkt(osWKT.c_str()) != OGRERR_NONE)
        bOK = false;
    if (!bOK)
    {
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC: the ground control points box is malformed; skipped");
        if (!asGCPs.empty())
            GDALDeinitGCPs(static_cast<int>(asGCPs.size()), asGCPs.data());
        sGeo.oGCPSRS.Clear();
        return;
    }
    sGeo.asGCPs = std::move(asGCPs);
}

/************************************************************************/
/*                  Colour and raster attribute tables                  */
/************************************************************************/

bool AddTables(msic_writer *poWriter, GDALDataset *poSrcDS)
{
    for (int iBand = 1; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        GDALRasterBand *poBand = poSrcDS->GetRasterBand(iBand);
        if (const GDALColorTable *poCT = poBand->GetColorTable())
        {
            std::string osBox;
            PutU32(osBox, static_cast<uint32_t>(iBand));
            PutU32(osBox, static_cast<uint32_t>(poCT->GetPaletteInterpretation()));
            PutU32(osBox, static_cast<uint32_t>(poCT->GetColorEntryCount()));
            for (int i = 0; i < poCT->GetColorEntryCount(); ++i)
            {
                const GDALColorEntry *psEntry = poCT->GetColorEntry(i);
                for (short c : {psEntry->c1, psEntry->c2, psEntry->c3, psEntry->c4})
                {
                    osBox += static_cast<char>(c & 0xff);
                    osBox += static_cast<char>((c >> 8) & 0xff);
                }
            }
            if (!AddBox(poWriter, MSIC_BOX_COLOR_TABLE, osBox.data(), osBox.size()))
                return false;
        }
        if (GDALRasterAttributeTable *poRAT = poBand->GetDefaultRAT())
        {
            CPLXMLNode *psTree = poRAT->Serialize();
            char *pszXML = psTree ? CPLSerializeXMLTree(psTree) : nullptr;
            if (psTree)
                CPLDestroyXMLNode(psTree);
            if (pszXML == nullptr)
                continue;
            std::string osBox;
            PutU32(osBox, static_cast<uint32_t>(iBand));
            osBox += pszXML;
            CPLFree(pszXML);
            if (!AddBox(poWriter, MSIC_BOX_ATTRIBUTE_TABLE, osBox.data(), osBox.size()))
                return false;
        }
    }
    return true;
}

/* CLRT and GRAT boxes into the bands they name; a malformed one is skipped
 * with a warning. */
void ReadTables(const msic_reader *poReader, MSICGeoreferencing &sGeo)
{
    const size_t nBoxes = msic_reader_box_count(poReader);
    for (size_t i = 0; i < nBoxes; ++i)
    {
        char achType[4];
        uint64_t nSize = 0;
        if (msic_reader_get_box_header(poReader, i, achType, &nSize) != MSIC_OK)
            continue;
        const bool bCT = memcmp(achType, MSIC_BOX_COLOR_TABLE, 4) == 0;
        const bool bRAT = memcmp(achType, MSIC_BOX_ATTRIBUTE_TABLE, 4) == 0;
        msic_box sBox{};
        if ((!bCT && !bRAT) || msic_reader_get_box(poReader, i, &sBox) != MSIC_OK)
            continue;
        const uint32_t nBand = sBox.size >= 4 ? GetU32(sBox.data) : 0;
        if (nBand < 1 || nBand > sGeo.aoBands.size())
        {
            CPLError(CE_Warning, CPLE_AppDefined,
                     "MSIC: a %.4s box names band %u, which the file lacks; skipped",
                     achType, nBand);
            continue;
        }
        MSICGeoreferencing::Band &sBand = sGeo.aoBands[nBand - 1];
        if (bCT)
        {
            const uint32_t nCount = sBox.size >= 12 ? GetU32(sBox.data + 8) : 0;
            const uint32_t nKind = sBox.size >= 12 ? GetU32(sBox.data + 4) : 99;
            if (sBox.size != 12 + 8 * uint64_t(nCount) || nKind > GPI_HLS || nCount > 65536)
            {
                CPLError(CE_Warning, CPLE_AppDefined,
                         "MSIC: the colour table of band %u is malformed; skipped", nBand);
                continue;
            }
            auto poCT = std::make_unique<GDALColorTable>(static_cast<GDALPaletteInterp>(nKind));
            for (uint32_t e = 0; e < nCount; ++e)
            {
                const uint8_t *p = sBox.data + 12 + 8 * e;
                GDALColorEntry sEntry;
                sEntry.c1 = static_cast<short>(p[0] | (p[1] << 8));
                sEntry.c2 = static_cast<short>(p[2] | (p[3] << 8));
                sEntry.c3 = static_cast<short>(p[4] | (p[5] << 8));
                sEntry.c4 = static_cast<short>(p[6] | (p[7] << 8));
                poCT->SetColorEntry(static_cast<int>(e), &sEntry);
            }
            sBand.poColorTable = std::move(poCT);
        }
        else
        {
            const std::string osXML(reinterpret_cast<const char *>(sBox.data) + 4,
                                    sBox.size - 4);
            CPLXMLNode *psTree = CPLParseXMLString(osXML.c_str());
            auto poRAT = std::make_unique<GDALDefaultRasterAttributeTable>();
            if (psTree == nullptr || poRAT->XMLInit(psTree, "") != CE_None)
                CPLError(CE_Warning, CPLE_AppDefined,
                         "MSIC: the attribute table of band %u is malformed; skipped", nBand);
            else
                sBand.poRAT = std::move(poRAT);
            if (psTree)
                CPLDestroyXMLNode(psTree);
        }
    }
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
    ReadGCPs(poReader, sGeo);
    sGeo.bHasNoData =
        ReadF64Box(poReader, MSIC_BOX_NODATA, "nodata", &sGeo.dfNoData, 1);
    ReadBandDescriptions(poReader, poDS);
    sGeo.aoBands.clear();
    sGeo.aoBands.resize(static_cast<size_t>(poDS->GetRasterCount()));
    ReadKeyValues(poReader, poDS, sGeo);
    ReadTables(poReader, sGeo);
    ReadXMP(poReader, poDS);
    ReadICCProfile(poReader, poDS);
}

/************************************************************************/
/*                        MSICAddMetadataBoxes()                        */
/************************************************************************/

bool MSICAddMetadataBoxes(msic_writer *poWriter, GDALDataset *poSrcDS,
                          bool bExactCoding)
{
    return AddGeoTransform(poWriter, poSrcDS) &&
           AddSpatialRef(poWriter, poSrcDS) && AddGCPs(poWriter, poSrcDS) &&
           AddNoData(poWriter, poSrcDS) &&
           AddBandDescriptions(poWriter, poSrcDS) &&
           AddKeyValues(poWriter, poSrcDS, bExactCoding) && AddTables(poWriter, poSrcDS) && AddXMP(poWriter, poSrcDS) &&
           AddICCProfile(poWriter, poSrcDS);
}

/************************************************************************/
/*                             Band roles                               */
/************************************************************************/

bool MSICAddBandRoles(msic_writer *poWriter, GDALDataset *poSrcDS,
                      bool bMaskBand)
{
    std::vector<uint8_t> abyRoles;
    bool bAny = bMaskBand;
    for (int iBand = 1; iBand <= poSrcDS->GetRasterCount(); ++iBand)
    {
        const bool bAlpha = poSrcDS->GetRasterBand(iBand)
                                ->GetColorInterpretation() == GCI_AlphaBand;
        abyRoles.push_back(bAlpha ? MSIC_BAND_ALPHA : MSIC_BAND_DATA);
        bAny |= bAlpha;
    }
    if (bMaskBand)
        abyRoles.push_back(MSIC_BAND_MASK);
    return !bAny || AddBox(poWriter, MSIC_BOX_BAND_ROLES, abyRoles.data(),
                           abyRoles.size());
}

bool MSICFileHasMaskBand(const msic_reader *poReader, int nFileBands)
{
    msic_box sBox;
    if (msic_reader_find_box(poReader, MSIC_BOX_BAND_ROLES, &sBox) != MSIC_OK)
        return false;
    if (sBox.size != static_cast<size_t>(nFileBands))
    {
        CPLError(CE_Warning, CPLE_AppDefined,
                 "MSIC: skipping a ROLE box of %u bytes for %d bands",
                 static_cast<unsigned>(sBox.size), nFileBands);
        return false;
    }
    /* A file with only a mask band has no raster to mask. */
    return nFileBands > 1 && sBox.data[nFileBands - 1] == MSIC_BAND_MASK;
}
