/*
 * GDAL raster driver for MSIC: what its two ways of writing share,
 * CreateCopy (msiccreatecopy.cpp) and Create (msiccreate.cpp): the choice of
 * coding from the creation options and the data type, the encoder
 * settings, and the writer with its output (a temporary file renamed into
 * place, or a /vsi stream), which leaves nothing behind unless committed.
 */
#ifndef MSICWRITING_H
#define MSICWRITING_H

#include "msicdrivercore.h"

#include "cpl_error.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal_priv.h"

#include <msic/msic.h>

#include <memory>
#include <string>

/* How the file will be coded: the learned lossy coding, or the exact /
 * bounded-error coding (LOSSLESS, MAX_Z_ERROR), which takes any band count
 * and data type. */
struct MSICCoding
{
    bool bExact = false;
    double dfMaxError = 0; /* 0: lossless */
    GDALDataType eType = GDT_Byte;
    bool bSigned8 = false; /* Byte with PIXELTYPE=SIGNEDBYTE */
    /* The source holds class codes (palette, RAT): its overviews take the
     * top-left pixel of each 2 x 2, not a mean, unless OVERVIEW_RESAMPLING
     * says otherwise. */
    bool bClassCodes = false;
};

/* LOSSLESS and MAX_Z_ERROR against the data type (Byte is signed when
 * pszPixelType, the source band's or the option's PIXELTYPE, may be null,
 * says SIGNEDBYTE). MAX_Z_ERROR on integers keeps its whole part, as LERC
 * does (0.5: exact). False after a CPLError. */
bool MSICChooseCoding(GDALDataType eType, const char *pszPixelType,
                      CSLConstList papszOptions, MSICCoding &sCoding);

/* Whether nBands bands of the coding's type can be written that way; says
 * what to do when not. False after a CPLError. */
bool MSICCheckLayout(int nBands, const MSICCoding &sCoding);

/* Whether samples of sImage can hold a mask's values, 0 .. 255 (the mask
 * is one more band of the file's type): not signed 8-bit, not NBITS < 8. */
bool MSICMaskFits(const msic_image_info &sImage);

/* "User terminated ...": a cancelled write. */
void MSICReportCancelled();

struct MSICEncoderSettingsDestroyer
{
    void operator()(msic_encoder_settings *psSettings) const
    {
        msic_encoder_settings_destroy(psSettings);
    }
};
using MSICEncoderSettingsPtr =
    std::unique_ptr<msic_encoder_settings, MSICEncoderSettingsDestroyer>;

/* QUALITY (or the exact coding), TILE_SIZE, OVERVIEWS, OVERVIEW_RESAMPLING
 * and NUM_THREADS (else GDAL_NUM_THREADS, else the library's default).
 * nullptr after a CPLError. */
MSICEncoderSettingsPtr MSICMakeEncoderSettings(CSLConstList papszOptions,
                                               const MSICCoding &sCoding);

/* The image description libmsic takes for nBands bands of the coding's type
 * (NBITS from the option, else pszSourceNBits). */
msic_image_info MSICImageInfo(int nXSize, int nYSize, int nBands,
                              const MSICCoding &sCoding,
                              CSLConstList papszOptions,
                              const char *pszSourceNBits);

/* Output through VSI for /vsi... targets. The file is opened at the first
 * write, so that a writer libmsic refuses (dimension limits) creates
 * nothing, nor truncates a file of that name. */
struct MSICVSIWriteTarget
{
    std::string osPath{};
    VSILFILE *fp = nullptr;
    bool bCreated = false;
    bool bOpenFailed = false;
};

/* The msic_write_fn of an MSICVSIWriteTarget. */
int MSICVSIWriteAll(void *pUser, const void *pData, size_t nSize);

/* Owns the model, the writer and whatever output it streams into; on
 * destruction without Commit() nothing of the output is left behind. */
class MSICWriterGuard
{
  public:
    msic_context *poContext = nullptr; /* nullptr: the default model */
    msic_writer *poWriter = nullptr;

    MSICWriterGuard() = default;
    MSICWriterGuard(const MSICWriterGuard &) = delete;
    MSICWriterGuard &operator=(const MSICWriterGuard &) = delete;

    ~MSICWriterGuard()
    {
        Abort();
        if (poContext)
            msic_context_destroy(poContext);
    }

    /* libmsic's file writer (a temporary file renamed into place) for
     * plain paths, a stream through VSI for /vsi... ones. False after a
     * CPLError. */
    bool Create(const char *pszFilename, const msic_image_info &sImage,
                const msic_encoder_settings *psSettings)
    {
        m_osFinalPath = pszFilename;
        msic_status eStatus;
        if (STARTS_WITH_CI(pszFilename, "/vsi"))
        {
            /* /vsimem/ can rename: write a temporary name, move it into
             * place at the end. Other virtual file systems write the final
             * name, removed again on failure. */
            if (STARTS_WITH_CI(pszFilename, "/vsimem/"))
                m_sTarget.osPath = CPLSPrintf("%s.%p.tmp", pszFilename,
                                              static_cast<void *>(this));
            else
                m_sTarget.osPath = pszFilename;
            eStatus = msic_writer_new_stream(poContext, MSICVSIWriteAll,
                                             &m_sTarget, &sImage, psSettings,
                                             &poWriter);
        }
        else
        {
            eStatus = msic_writer_new_file(poContext, pszFilename, &sImage,
                                           psSettings, &poWriter);
        }
        if (eStatus != MSIC_OK)
        {
            /* MSIC_ERR_LIMIT's message gives the size and the limits. */
            ReportError(eStatus == MSIC_ERR_LIMIT ? CPLE_NotSupported
                                                  : CPLE_OpenFailed,
                        CPLSPrintf("MSIC: cannot create %s", pszFilename),
                        eStatus);
            return false;
        }
        return true;
    }

    /* A failed libmsic call; when the VSI output could not be opened,
     * that is what the user needs to hear. */
    void ReportError(CPLErrorNum eErrorNum, const char *pszWhat,
                     msic_status eStatus) const
    {
        if (m_sTarget.bOpenFailed)
            CPLError(CE_Failure, CPLE_OpenFailed, "MSIC: cannot create %s",
                     m_osFinalPath.c_str());
        else
            CPLError(CE_Failure, eErrorNum, "%s",
                     MSICErrorMessage(pszWhat, eStatus).c_str());
    }

    void Abort()
    {
        if (poWriter)
        {
            msic_writer_destroy(poWriter); /* removes its temporary file */
            poWriter = nullptr;
        }
        if (m_sTarget.fp)
        {
            VSIFCloseL(m_sTarget.fp);
            m_sTarget.fp = nullptr;
        }
        if (m_sTarget.bCreated)
        {
            VSIUnlink(m_sTarget.osPath.c_str());
            m_sTarget.bCreated = false;
        }
    }

    /* Finishes the file and moves it into place. */
    bool Commit()
    {
        const msic_status eStatus = msic_writer_finish(poWriter);
        if (eStatus != MSIC_OK)
        {
            if (eStatus == MSIC_ERR_CANCELLED)
                MSICReportCancelled();
            else
                ReportError(CPLE_FileIO, "MSIC: finishing the file", eStatus);
            return false;
        }
        msic_writer_destroy(poWriter);
        poWriter = nullptr;
        if (m_sTarget.fp)
        {
            const bool bCloseOK = VSIFCloseL(m_sTarget.fp) == 0;
            m_sTarget.fp = nullptr;
            if (!bCloseOK)
            {
                CPLError(CE_Failure, CPLE_FileIO, "MSIC: cannot write %s",
                         m_sTarget.osPath.c_str());
                return false;
            }
        }
        if (m_sTarget.bCreated && m_sTarget.osPath != m_osFinalPath &&
            VSIRename(m_sTarget.osPath.c_str(), m_osFinalPath.c_str()) != 0)
        {
            CPLError(CE_Failure, CPLE_FileIO, "MSIC: cannot rename %s to %s",
                     m_sTarget.osPath.c_str(), m_osFinalPath.c_str());
            return false;
        }
        m_sTarget.bCreated = false; /* it is the output now: keep it */
        return true;
    }

  private:
    MSICVSIWriteTarget m_sTarget{};
    std::string m_osFinalPath{};
};


#endif /* MSICWRITING_H */
