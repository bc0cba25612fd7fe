// The plugin ABI.
//
// Every plugin shared object exports one C function, `lumen_plugin_descriptor`, returning a
// pointer to a `LumenPluginDescriptor`: plain C data the host reads before anything else.
// The host refuses the plugin, naming the file, what it has and what the host expects, when
//   - the entry point is missing,
//   - `abi_major` differs from the host's, or `abi_minor` is newer than the host's,
//   - `core_fingerprint` differs from the host core's fingerprint.
// Only after these checks does the host touch `stage_table`, which is C++
// (`const lumen::StageTable*`). The documented rule for C++ crossing the boundary: the
// fingerprint pins the Lumen core version (major.minor), the compiler family and major
// version, the C++ standard library and its dual ABI setting, and the C++ standard. Equal
// fingerprints mean equal STL layouts and one exception runtime, so std::string, std::vector,
// std::unique_ptr and exceptions derived from std::exception may cross. Plugins stay loaded
// for the life of the process, so objects they create never outlive their code.
#pragma once

#include "lumen/stage.hpp"
#include "lumen/version.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

extern "C" {
typedef struct LumenPluginDescriptor {
  std::uint32_t struct_size; // sizeof(LumenPluginDescriptor) as the plugin saw it
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  const char* set_name;         // plugin set, e.g. "png"
  const char* set_version;      // semantic version of the set
  const char* license;          // SPDX identifier
  const char* core_fingerprint; // LUMEN_CORE_FINGERPRINT at the plugin's build
  const void* stage_table;      // const lumen::StageTable*; valid only when the checks pass
} LumenPluginDescriptor;
}

#define LUMEN_PLUGIN_ENTRY_SYMBOL "lumen_plugin_descriptor"

namespace lumen {

/// How the host creates one stage and what it shows without creating it.
struct StageFactory {
  std::string name;           // "<set>.<verb>"
  std::string summary;        // one line
  std::string doc;            // longer text: what it does, an example pipeline snippet
  bool concurrent = false;    // process/read may run on several items at once
  bool ordered_input = false; // wants items in source order
  std::function<std::unique_ptr<Stage>()> create;
};

struct StageTable {
  std::vector<StageFactory> stages;
};

namespace detail {
template <typename T> constexpr bool concurrent_flag() {
  if constexpr (requires { T::concurrent; })
    return T::concurrent;
  else
    return false;
}
template <typename T> constexpr bool ordered_flag() {
  if constexpr (requires { T::ordered_input; })
    return T::ordered_input;
  else
    return false;
}
} // namespace detail

/// Registers stage class T under `name`. T provides `static constexpr const char* summary`
/// and `doc`, and optionally `static constexpr bool concurrent` and `ordered_input`.
template <typename T> StageFactory stage(std::string name) {
  static_assert(std::is_base_of_v<Stage, T>, "lumen::stage<T>: T must derive from a lumen stage kind");
  return StageFactory{std::move(name), T::summary, T::doc, detail::concurrent_flag<T>(), detail::ordered_flag<T>(), [] {
                        return std::unique_ptr<Stage>(std::make_unique<T>());
                      }};
}

} // namespace lumen

#define LUMEN_PLUGIN_EXPORT __attribute__((visibility("default")))

/// Defines the plugin's entry point. Use once per shared object:
/// `LUMEN_PLUGIN("png", "1.0.0", "MIT", lumen::stage<PngRead>("png.read"), ...);`
#define LUMEN_PLUGIN(SET, VERSION, LICENSE, ...)                                                                       \
  extern "C" LUMEN_PLUGIN_EXPORT const LumenPluginDescriptor* lumen_plugin_descriptor() {                              \
    static const ::lumen::StageTable table{{__VA_ARGS__}};                                                             \
    static const LumenPluginDescriptor descriptor{                                                                     \
        sizeof(LumenPluginDescriptor), LUMEN_ABI_MAJOR, LUMEN_ABI_MINOR, SET, VERSION, LICENSE,                        \
        LUMEN_CORE_FINGERPRINT,        &table};                                                                        \
    return &descriptor;                                                                                                \
  }                                                                                                                    \
  static_assert(true, "")
