// A plugin built for a future plugin ABI (99.0): the host must refuse it with a message
// naming the file, the ABI it has and the ABI the host expects.
#include "lumen/abi.hpp"

extern "C" LUMEN_PLUGIN_EXPORT const LumenPluginDescriptor* lumen_plugin_descriptor() {
  static const LumenPluginDescriptor d{sizeof(LumenPluginDescriptor), 99,     0, "abi_mismatch", "1.0.0", "MIT",
                                       LUMEN_CORE_FINGERPRINT,        nullptr};
  return &d;
}
