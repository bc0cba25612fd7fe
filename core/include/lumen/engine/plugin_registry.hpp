// Loading plugin shared objects and checking their descriptors.
#pragma once

#include "lumen/abi.hpp"

#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

namespace lumen::engine {

struct PluginInfo {
  std::filesystem::path file;
  std::string set_name, set_version, license, fingerprint;
  std::uint32_t abi_major = 0, abi_minor = 0;
  std::vector<const StageFactory*> stages;
  std::string error; // why the plugin was refused; empty when it loaded
  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

class PluginRegistry {
public:
  PluginRegistry() = default;
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  /// Plugin directories in search order: `cli_paths`, then LUMEN_PLUGIN_PATH (':'-separated),
  /// then `<dir of the running executable>/../<libdir>/lumen/plugins` (build tree and install
  /// prefix share that layout).
  [[nodiscard]] static std::vector<std::filesystem::path> search_path(const std::vector<std::string>& cli_paths);

  /// Loads every `*.so` in each directory (a file path loads that file). A plugin that fails
  /// any check is recorded with its reason and never stops the others. A stage name already
  /// provided by an earlier plugin refuses the later plugin. Loaded plugins are never unloaded.
  void load(const std::vector<std::filesystem::path>& paths);
  /// Loads one file; returns its record (also kept in plugins()).
  const PluginInfo& load_file(const std::filesystem::path& file);

  /// Like load(), but reads each plugin's manifest first (lumen-<set>.json beside the .so, as
  /// written at build time): a plugin whose manifest is at least as new as its .so, was built
  /// for this core, and provides none of `stages` nor any of `sets` is not loaded (its stage
  /// names still count for suggestions). Plugins without a usable manifest load as in load(),
  /// so a broken plugin is still reported. Pipelines load only what they use this way.
  void load_needed(const std::vector<std::filesystem::path>& paths, const std::vector<std::string>& stages,
                   const std::vector<std::string>& sets);

  [[nodiscard]] const std::deque<PluginInfo>& plugins() const noexcept { return plugins_; }
  /// nullptr when no loaded plugin provides `name`.
  [[nodiscard]] const StageFactory* find(std::string_view name, const PluginInfo** owner = nullptr) const;
  /// Stage names of loaded plugins and of plugins known from their manifests only.
  [[nodiscard]] std::vector<std::string> stage_names() const;
  [[nodiscard]] std::vector<std::string> set_names() const;

private:
  std::deque<PluginInfo> plugins_;                // deque: PluginInfo addresses stay valid as plugins load
  std::vector<std::string> unloaded_stage_names_; // from the manifests of plugins not loaded
};

} // namespace lumen::engine
