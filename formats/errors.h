// The one exception type of the library; the C API turns it into a status
// code and a message.
#pragma once

#include <stdexcept>
#include <string>

#include "msic/msic.h"

namespace msic {

class Error : public std::runtime_error {
 public:
  Error(msic_status status, const std::string &message)
      : std::runtime_error(message), status_(status) {}
  msic_status status() const { return status_; }

 private:
  msic_status status_;
};

}  // namespace msic
