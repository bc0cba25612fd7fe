#include "lumen/engine/plugin_registry.hpp"

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector> // boost/dll/library_info.hpp misses it on Boost 1.74

namespace lumen::engine {

namespace {
// Plugins are never unloaded: objects they created may be alive until exit, and unloading a
// library whose code is still referenced crashes at the next virtual call.
std::vector<boost::dll::shared_library>& loaded_libraries() {
  static std::vector<boost::dll::shared_library> libs; // host-side, guarded by single-threaded loading
  return libs;
}

std::string abi_text(std::uint32_t major, std::uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}
} // namespace

std::vector<std::filesystem::path> PluginRegistry::search_path(const std::vector<std::string>& cli_paths) {
  std::vector<std::filesystem::path> out;
  for (const auto& p : cli_paths)
    if (!p.empty()) out.emplace_back(p);
  if (const char* env = std::getenv("LUMEN_PLUGIN_PATH")) {
    std::string_view s(env);
    while (!s.empty()) {
      const auto colon = s.find(':');
      const auto part = s.substr(0, colon);
      if (!part.empty()) out.emplace_back(std::string(part));
      if (colon == std::string_view::npos) break;
      s.remove_prefix(colon + 1);
    }
  }
  boost::dll::fs::error_code ec;
  const auto exe = boost::dll::program_location(ec);
  if (!ec) out.push_back(std::filesystem::path(exe.parent_path().string()) / ".." / LUMEN_PLUGIN_RELDIR);
  return out;
}

namespace {

std::vector<std::filesystem::path> plugin_files(const std::filesystem::path& p) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(p, ec)) return {p};
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::is_directory(p, ec)) return files;
  for (const auto& e : std::filesystem::directory_iterator(p, ec))
    if (e.path().extension() == ".so") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// What a plugin's manifest says, when it can be trusted without loading the plugin: present,
// at least as new as the .so, for this core's ABI and fingerprint.
struct ManifestView {
  std::string set;
  std::vector<std::string> stages;
};

std::optional<ManifestView> usable_manifest(const std::filesystem::path& so) {
  std::filesystem::path json = so;
  json.replace_extension(".json");
  std::error_code ec;
  const auto so_time = std::filesystem::last_write_time(so, ec);
  if (ec) return std::nullopt;
  const auto json_time = std::filesystem::last_write_time(json, ec);
  if (ec || json_time < so_time) return std::nullopt;
  std::ifstream in(json);
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("core_fingerprint", std::string()) != core_fingerprint() || !doc.contains("abi") ||
      doc["abi"].value("major", 0u) != LUMEN_ABI_MAJOR || !doc.contains("stages") || !doc["stages"].is_array())
    return std::nullopt;
  ManifestView view;
  view.set = doc.value("set", std::string());
  for (const auto& st : doc["stages"])
    if (st.is_object() && st.contains("name") && st["name"].is_string()) view.stages.push_back(st["name"]);
  if (view.set.empty()) return std::nullopt;
  return view;
}

} // namespace

void PluginRegistry::load(const std::vector<std::filesystem::path>& paths) {
  for (const auto& p : paths)
    for (const auto& f : plugin_files(p)) load_file(f);
}

void PluginRegistry::load_needed(const std::vector<std::filesystem::path>& paths,
                                 const std::vector<std::string>& stages, const std::vector<std::string>& sets) {
  const auto wanted = [&](const ManifestView& m) {
    if (std::find(sets.begin(), sets.end(), m.set) != sets.end()) return true;
    for (const auto& s : m.stages)
      if (std::find(stages.begin(), stages.end(), s) != stages.end()) return true;
    return false;
  };
  for (const auto& p : paths)
    for (const auto& f : plugin_files(p)) {
      const auto manifest = usable_manifest(f);
      if (manifest && !wanted(*manifest)) {
        unloaded_stage_names_.insert(unloaded_stage_names_.end(), manifest->stages.begin(), manifest->stages.end());
        continue;
      }
      load_file(f);
    }
}

const PluginInfo& PluginRegistry::load_file(const std::filesystem::path& file) {
  std::error_code fec;
  const auto canonical = std::filesystem::weakly_canonical(file, fec);
  for (const auto& p : plugins_)
    if (p.file == canonical) return p; // the same file reached twice through the search path

  PluginInfo info;
  info.file = canonical;
  const auto refuse = [&](std::string why) -> const PluginInfo& {
    info.error = std::move(why);
    plugins_.push_back(std::move(info));
    return plugins_.back();
  };

  boost::dll::shared_library lib;
  boost::dll::fs::error_code ec;
  // RTLD_NODELETE: "never unloaded" holds at exit too, when the static list of libraries is
  // destroyed: a plugin's code (and what its dependencies allocated at load, which
  // LeakSanitizer would otherwise report) stays mapped until the process is gone.
  const auto mode = boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local |
                    static_cast<boost::dll::load_mode::type>(RTLD_NODELETE);
  lib.load(boost::dll::fs::path(canonical.string()), mode, ec);
  if (ec) return refuse("cannot be loaded: " + ec.message() + " (is it a shared object built for this machine?)");
  if (!lib.has(LUMEN_PLUGIN_ENTRY_SYMBOL))
    return refuse(std::string("has no entry point '") + LUMEN_PLUGIN_ENTRY_SYMBOL +
                  "': not a Lumen plugin, or built without LUMEN_PLUGIN(...)");

  using Entry = const LumenPluginDescriptor*();
  const LumenPluginDescriptor* d = lib.get<Entry>(LUMEN_PLUGIN_ENTRY_SYMBOL)();
  if (!d) return refuse("entry point returned no descriptor");
  if (d->struct_size < sizeof(std::uint32_t) * 3)
    return refuse("descriptor is too small (" + std::to_string(d->struct_size) + " bytes)");
  info.abi_major = d->abi_major;
  info.abi_minor = d->abi_minor;
  if (d->abi_major != LUMEN_ABI_MAJOR || d->abi_minor > LUMEN_ABI_MINOR)
    return refuse("has plugin ABI " + abi_text(d->abi_major, d->abi_minor) + ", host expects ABI " +
                  abi_text(LUMEN_ABI_MAJOR, 0) + " to " + abi_text(LUMEN_ABI_MAJOR, LUMEN_ABI_MINOR) +
                  ": rebuild the plugin against Lumen " + LUMEN_VERSION);
  if (d->struct_size < sizeof(LumenPluginDescriptor))
    return refuse("descriptor has " + std::to_string(d->struct_size) + " bytes, ABI " +
                  abi_text(LUMEN_ABI_MAJOR, LUMEN_ABI_MINOR) + " needs " +
                  std::to_string(sizeof(LumenPluginDescriptor)));
  info.set_name = d->set_name ? d->set_name : "";
  info.set_version = d->set_version ? d->set_version : "";
  info.license = d->license ? d->license : "";
  info.fingerprint = d->core_fingerprint ? d->core_fingerprint : "";
  if (info.set_name.empty()) return refuse("descriptor has no plugin set name");
  if (info.fingerprint != core_fingerprint())
    return refuse("was built as \"" + info.fingerprint + "\", host core is \"" + core_fingerprint() +
                  "\": C++ types cross the plugin boundary, so the build must match; rebuild the plugin against "
                  "this Lumen with the same compiler");
  if (!d->stage_table) return refuse("descriptor has no stage table");

  const auto* table = static_cast<const StageTable*>(d->stage_table);
  for (const auto& s : table->stages) {
    const PluginInfo* other = nullptr;
    if (find(s.name, &other))
      return refuse("stage '" + s.name + "' is already provided by " + other->file.string() + " (set '" +
                    other->set_name + "')");
    info.stages.push_back(&s);
  }
  for (const auto& p : plugins_)
    if (p.ok() && p.set_name == info.set_name)
      return refuse("plugin set '" + info.set_name + "' is already loaded from " + p.file.string());

  loaded_libraries().push_back(std::move(lib));
  plugins_.push_back(std::move(info));
  return plugins_.back();
}

const StageFactory* PluginRegistry::find(std::string_view name, const PluginInfo** owner) const {
  for (const auto& p : plugins_)
    for (const auto* s : p.stages)
      if (s->name == name) {
        if (owner) *owner = &p;
        return s;
      }
  return nullptr;
}

std::vector<std::string> PluginRegistry::stage_names() const {
  std::vector<std::string> out = unloaded_stage_names_;
  for (const auto& p : plugins_)
    for (const auto* s : p.stages) out.push_back(s->name);
  return out;
}

std::vector<std::string> PluginRegistry::set_names() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_)
    if (p.ok()) out.push_back(p.set_name);
  return out;
}

} // namespace lumen::engine
