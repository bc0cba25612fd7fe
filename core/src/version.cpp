#include "lumen/version.hpp"

namespace lumen {

const char* core_fingerprint() noexcept {
  return LUMEN_CORE_FINGERPRINT;
}
const char* version() noexcept {
  return LUMEN_VERSION;
}

} // namespace lumen
