#include "commands.hpp"

#include "lumen/atomic_file.hpp"
#include "lumen/engine/console.hpp"
#include "lumen/engine/executor.hpp"
#include "lumen/engine/manifest.hpp"
#include "lumen/engine/pipeline.hpp"
#include "lumen/engine/plugin_registry.hpp"
#include "lumen/engine/run_dir.hpp"
#include "lumen/engine/suggest.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace lumen::host {

using namespace lumen::engine;

namespace {

void report_refused(const PluginRegistry& registry, Console& console) {
  for (const auto& p : registry.plugins())
    if (!p.ok()) console.log(LogLevel::warn, "plugins", p.file.string() + " refused: " + p.error);
}

// Loads the plugins a pipeline file names (`use:` stages, `requires:` sets), from what their
// manifests say, and none of the others. When the file cannot be read here, a `use:` is not a
// plain stage name, or an override may change one, every plugin loads and load_pipeline
// reports what is wrong, as before.
void load_plugins_for(PluginRegistry& registry, const CommonOptions& common, Console& console,
                      const std::filesystem::path& file, const std::vector<std::string>& set_options) {
  std::vector<std::string> stages, sets;
  bool all = false;
  try {
    for (const auto& text : set_options) all = all || !parse_override(text).key.starts_with("vars.");
    const YAML::Node root = YAML::LoadFile(file.string());
    if (const auto r = root["requires"]; r && r.IsSequence())
      for (const auto& e : r)
        if (e.IsScalar()) sets.push_back(e.Scalar());
    const auto list = root["stages"];
    if (!list || !list.IsSequence())
      all = true;
    else
      for (const auto& st : list) {
        const auto use = st.IsMap() ? st["use"] : YAML::Node();
        if (!use || !use.IsScalar() || use.Scalar().find("${") != std::string::npos) {
          all = true;
          break;
        }
        stages.push_back(use.Scalar());
      }
  } catch (const std::exception&) {
    all = true;
  }
  const auto paths = PluginRegistry::search_path(common.plugin_paths);
  if (all)
    registry.load(paths);
  else
    registry.load_needed(paths, stages, sets);
  report_refused(registry, console);
}

std::vector<Override> parse_overrides(const std::vector<std::string>& sets) {
  std::vector<Override> out;
  for (const auto& s : sets) out.push_back(parse_override(s));
  return out;
}

void print_pipeline_error(const PipelineError& e) {
  for (const auto& d : e.diagnostics()) std::cerr << d.loc.str() << ": error: " << d.message << "\n";
  std::cerr << e.diagnostics().size() << (e.diagnostics().size() == 1 ? " error" : " errors")
            << " in the pipeline; nothing was run.\n";
}

// Runs `body`, turning a pipeline error into its diagnostics and exit code 1, and any other
// exception into a fatal error, exit code 3.
template <typename Body> int guarded(Console& console, Body&& body) {
  try {
    return body();
  } catch (const PipelineError& e) {
    print_pipeline_error(e);
    return kExitUsage;
  } catch (const std::exception& e) {
    console.log(LogLevel::error, "", std::string("fatal: ") + e.what());
    return kExitFatal;
  }
}

int run_resolved(ResolvedPipeline& pipeline, const std::optional<std::filesystem::path>& dir, RunOptions options,
                 Console& console) {
  const auto run_dir = RunDir::open(dir, pipeline.name);
  console.log(LogLevel::info, "",
              "run " + run_dir.run_id + ": pipeline '" + pipeline.name + "', " +
                  std::to_string(pipeline.stages.size()) + " stages, run directory " + run_dir.root.string());
  const auto result = execute(pipeline, run_dir, options, console);
  if (result.exit_code == kExitFatal) {
    console.log(LogLevel::error, "", "the run did not finish: " + result.fatal_message);
    return kExitFatal;
  }
  std::ostringstream summary;
  summary.precision(3);
  summary << (result.items_failed ? "finished with failures: " : "finished: ") << result.units_planned
          << " work units (" << result.units_skipped << " already done, " << result.units_done << " completed now), "
          << result.items_failed << " failed items, " << result.seconds << " s; outputs in "
          << run_dir.outputs.string();
  console.log(result.items_failed ? LogLevel::warn : LogLevel::info, "", summary.str());
  if (result.items_failed)
    console.log(LogLevel::warn, "",
                "failures are listed in " + run_dir.events_file().string() + " (item_failed events)");
  std::cout << run_dir.root.string() << "\n";
  return result.exit_code;
}

std::string bounds_text(const ParamSpec& s) {
  std::string t;
  if (s.min || s.max)
    t += ", range " + (s.min ? param_bound_text(*s.min) : std::string("-inf")) + " .. " +
         (s.max ? param_bound_text(*s.max) : std::string("inf"));
  if (!s.choices.empty()) {
    t += ", one of {";
    for (std::size_t i = 0; i < s.choices.size(); ++i) t += (i ? ", " : "") + s.choices[i];
    t += "}";
  }
  if (s.min_items > 0 || s.max_items != SIZE_MAX)
    t +=
        ", length " + std::to_string(s.min_items) + ".." + (s.max_items == SIZE_MAX ? "" : std::to_string(s.max_items));
  return t;
}

std::string io_text(const StageIO& io) {
  std::string t;
  if (!io.arrays.empty()) {
    t += "arrays:";
    for (const auto& a : io.arrays) t += " " + a;
  }
  if (!io.meta_keys.empty()) {
    t += std::string(t.empty() ? "" : "; ") + "meta:";
    for (const auto& a : io.meta_keys) t += " " + a;
  }
  if (!io.units.empty()) t += std::string(t.empty() ? "" : "; ") + "units: " + io.units;
  return t.empty() ? "(nothing declared)" : t;
}

} // namespace

int cmd_run(const CommonOptions& common, const RunCommand& run) {
  auto console = Console::from_environment(common.log_level, run.progress);
  PluginRegistry registry;
  load_plugins_for(registry, common, console, run.pipeline, run.sets);
  return guarded(console, [&] {
    auto pipeline = load_pipeline(run.pipeline, parse_overrides(run.sets), registry);
    RunOptions options;
    options.threads = run.threads;
    options.queue_capacity = run.queue_capacity;
    options.queue_bytes = run.queue_mb << 20;
    options.fail_fast = run.fail_fast;
    const auto dir = run.run_dir ? std::optional<std::filesystem::path>(*run.run_dir) : std::nullopt;
    return run_resolved(pipeline, dir, options, console);
  });
}

int cmd_validate(const CommonOptions& common, const std::string& file, const std::vector<std::string>& sets) {
  auto console = Console::from_environment(common.log_level);
  PluginRegistry registry;
  load_plugins_for(registry, common, console, file, sets);
  return guarded(console, [&] {
    const auto pipeline = load_pipeline(file, parse_overrides(sets), registry);
    std::cout << file << ": pipeline '" << pipeline.name << "' is valid (" << pipeline.stages.size() << " stages)\n";
    for (const auto& s : pipeline.stages) {
      std::cout << "  " << s.id << " (" << s.use << ", " << stage_kind_name(s.stage->kind()) << ")";
      if (!s.inputs.empty()) {
        std::cout << " <- ";
        for (std::size_t i = 0; i < s.inputs.size(); ++i)
          std::cout << (i ? ", " : "") << pipeline.stages[s.inputs[i]].id;
      }
      std::cout << "\n";
    }
    return static_cast<int>(kExitOk);
  });
}

int cmd_resume(const CommonOptions& common, const std::string& run_dir, const std::string& from_stage, int threads,
               bool fail_fast, bool progress) {
  auto console = Console::from_environment(common.log_level, progress);
  const std::filesystem::path dir(run_dir);
  if (!std::filesystem::exists(dir / "config.yaml")) {
    std::cerr << "lumen resume: " << (dir / "config.yaml").string()
              << " does not exist: RUN_DIR must be a directory written by `lumen run`\n";
    return kExitUsage;
  }
  PluginRegistry registry;
  load_plugins_for(registry, common, console, dir / "config.yaml", {});
  return guarded(console, [&] {
    auto pipeline = load_pipeline(dir / "config.yaml", {}, registry);
    if (!from_stage.empty()) {
      std::vector<std::string> ids;
      for (const auto& s : pipeline.stages) ids.push_back(s.id);
      if (std::find(ids.begin(), ids.end(), from_stage) == ids.end()) {
        std::cerr << "lumen resume: --from " << from_stage << ": no stage has that id" << did_you_mean(from_stage, ids)
                  << "\n";
        return static_cast<int>(kExitUsage);
      }
    }
    RunOptions options;
    options.threads = threads;
    options.fail_fast = fail_fast;
    options.redo_from_stage = from_stage;
    return run_resolved(pipeline, dir, options, console);
  });
}

int cmd_plugins(const CommonOptions& common, bool json) {
  auto console = Console::from_environment(LogLevel::error);
  PluginRegistry registry;
  registry.load(PluginRegistry::search_path(common.plugin_paths));
  if (json) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& p : registry.plugins()) {
      if (!p.ok()) {
        out.push_back({{"file", p.file.string()}, {"ok", false}, {"error", p.error}});
        continue;
      }
      auto j = nlohmann::ordered_json::parse(plugin_manifest_json(p));
      j["file"] = p.file.string();
      j["ok"] = true;
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::size_t broken = 0;
  for (const auto& p : registry.plugins()) {
    if (!p.ok()) continue;
    std::cout << p.set_name << " " << p.set_version << "  (ABI " << p.abi_major << "." << p.abi_minor << ", "
              << p.license << ")  " << p.file.string() << "\n";
    for (const auto* s : p.stages) {
      const auto stage = s->create();
      std::cout << "  " << s->name << std::string(s->name.size() < 22 ? 22 - s->name.size() : 1, ' ')
                << stage_kind_name(stage->kind())
                << std::string(12 - std::string(stage_kind_name(stage->kind())).size(), ' ') << s->summary << "\n";
    }
  }
  for (const auto& p : registry.plugins())
    if (!p.ok()) {
      if (broken++ == 0) std::cout << "\nrefused plugins:\n";
      std::cout << "  " << p.file.string() << ": " << p.error << "\n";
    }
  if (registry.plugins().empty()) {
    std::cout << "no plugins found; searched:";
    for (const auto& d : PluginRegistry::search_path(common.plugin_paths)) std::cout << " " << d.string();
    std::cout << "\n";
  }
  return kExitOk;
}

int cmd_inspect(const CommonOptions& common, const std::string& name, bool json) {
  auto console = Console::from_environment(LogLevel::error);
  PluginRegistry registry;
  registry.load(PluginRegistry::search_path(common.plugin_paths));
  const PluginInfo* owner = nullptr;
  const auto* f = registry.find(name, &owner);
  if (!f) {
    std::cerr << "lumen inspect: no stage named '" << name << "'" << did_you_mean(name, registry.stage_names())
              << "; `lumen plugins` lists them\n";
    return kExitUsage;
  }
  if (json) {
    std::cout << stage_json(*f) << "\n";
    return kExitOk;
  }
  const auto stage = f->create();
  std::cout << f->name << " - " << f->summary << "\n\n"
            << "  kind:        " << stage_kind_name(stage->kind()) << "\n"
            << "  plugin set:  " << owner->set_name << " " << owner->set_version << " (" << owner->license << ", "
            << owner->file.filename().string() << ")\n"
            << "  concurrent:  " << (f->concurrent ? "yes (items processed in parallel)" : "no (one item at a time)")
            << "\n"
            << "  requires:    " << io_text(stage->input_requirements()) << "\n"
            << "  produces:    " << io_text(stage->output_promises()) << "\n\n";
  std::istringstream doc(f->doc);
  for (std::string line; std::getline(doc, line);) std::cout << "  " << line << "\n";
  std::cout << "\nParameters:\n";
  if (stage->params().empty()) std::cout << "  (none)\n";
  for (const auto* p : stage->params()) {
    const auto& s = p->spec();
    std::cout << "  " << s.name << "  (" << param_type_name(s.type)
              << (s.required() ? ", required" : ", default " + param_value_text(*s.default_value))
              << (s.unit.empty() ? "" : ", unit " + s.unit) << bounds_text(s) << ")\n      " << s.doc << "\n";
  }
  return kExitOk;
}

int cmd_manifest(const std::string& plugin_file, const std::optional<std::string>& output) {
  PluginRegistry registry;
  const auto& info = registry.load_file(plugin_file);
  if (!info.ok()) {
    std::cerr << "lumen manifest: " << info.file.string() << " refused: " << info.error << "\n";
    return kExitFatal;
  }
  const auto text = plugin_manifest_json(info);
  if (output)
    write_file_atomic(*output, text);
  else
    std::cout << text;
  return kExitOk;
}

int cmd_check_plugin(const std::string& plugin_file) {
  PluginRegistry registry;
  const auto& info = registry.load_file(plugin_file);
  auto problems = conformance_problems(info);
  if (info.ok()) {
    auto manifest = info.file;
    manifest.replace_extension(".json");
    std::ifstream in(manifest);
    if (!in) {
      problems.push_back("no manifest " + manifest.string() + " beside the plugin (lumen_add_plugin writes it)");
    } else {
      std::stringstream ss;
      ss << in.rdbuf();
      if (ss.str() != plugin_manifest_json(info))
        problems.push_back("manifest " + manifest.string() +
                           " is stale: it differs from what the plugin declares; rebuild, or run `lumen manifest " +
                           info.file.string() + " --output " + manifest.string() + "`");
    }
  }
  if (problems.empty()) {
    std::cout << info.file.string() << ": OK, plugin set '" << info.set_name << "' " << info.set_version << ", "
              << info.stages.size() << " stages conform\n";
    return kExitOk;
  }
  for (const auto& p : problems) std::cerr << info.file.string() << ": " << p << "\n";
  std::cerr << problems.size() << " problem" << (problems.size() == 1 ? "" : "s") << " found\n";
  return kExitUsage;
}

} // namespace lumen::host
