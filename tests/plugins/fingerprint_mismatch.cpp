// A plugin whose build fingerprint differs from the host core's (as if built with another
// compiler or standard library): C++ types cross the boundary, so the host must refuse it.
#include "lumen/abi.hpp"

extern "C" LUMEN_PLUGIN_EXPORT const LumenPluginDescriptor* lumen_plugin_descriptor() {
  static const ::lumen::StageTable table{};
  static const LumenPluginDescriptor d{sizeof(LumenPluginDescriptor),
                                       LUMEN_ABI_MAJOR,
                                       LUMEN_ABI_MINOR,
                                       "fingerprint_mismatch",
                                       "1.0.0",
                                       "MIT",
                                       "lumen-core-0.1;othercc-1;otherlib-1;cplusplus-201703L",
                                       &table};
  return &d;
}
