// error.cpp: formats a failed ENGINE_CHECK into one readable message.
#include "engine/error.h"

namespace cudistill::detail {

void check_failed(const char* cond, const char* func, const char* file, int line,
                  const std::string& msg) {
  std::ostringstream os;
  os << msg << "\n  check failed: " << cond << "\n  in " << func << " at " << file << ":" << line;
  throw Error(os.str());
}

}  // namespace cudistill::detail
