// The quality a user asks for <-> the model's quality.
//
// The user's Q (0..100) reads like libjpeg's: a msic file at Q is smaller
// than a JPEG at Q, better in PSNR and about as good in butteraugli. The model's
// quality is the point on the context model's gain curve: what the file
// header records (in hundredths) and the decoder uses, so files do not
// depend on this scale. Both run 0 -> 0 and 100 -> 100 and rise strictly.
#pragma once

namespace msic {

double model_quality(double quality);        // quality in [0, 100]
double user_quality(double model_quality);   // the inverse, for a file's header

}  // namespace msic
