#include "lumen/engine/manifest.hpp"

#include <nlohmann/json.hpp>
#include <regex>

namespace lumen::engine {

namespace {
using Json = nlohmann::ordered_json;

Json param_value_json(const ParamValue& v) {
  return std::visit([](const auto& x) { return Json(x); }, v);
}

std::vector<std::string> split_units(const std::string& units) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= units.size() && !units.empty()) {
    const auto bar = units.find('|', start);
    out.push_back(units.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

Json io_json(const StageIO& io) {
  return Json{{"arrays", io.arrays}, {"meta_keys", io.meta_keys}, {"units", split_units(io.units)}};
}

Json param_json(const ParamSpec& s) {
  Json j{{"name", s.name}, {"type", param_type_name(s.type)}, {"doc", s.doc}, {"required", s.required()}};
  if (s.default_value) j["default"] = param_value_json(*s.default_value);
  if (s.min) j["min"] = *s.min;
  if (s.max) j["max"] = *s.max;
  if (!s.choices.empty()) j["choices"] = s.choices;
  if (s.min_items > 0) j["min_items"] = s.min_items;
  if (s.max_items != SIZE_MAX) j["max_items"] = s.max_items;
  if (!s.unit.empty()) j["unit"] = s.unit;
  return j;
}

Json stage_object(const StageFactory& f) {
  const auto stage = f.create();
  Json params = Json::array();
  for (const auto* p : stage->params()) params.push_back(param_json(p->spec()));
  return Json{{"name", f.name},
              {"kind", stage_kind_name(stage->kind())},
              {"summary", f.summary},
              {"doc", f.doc},
              {"concurrent", f.concurrent},
              {"ordered_input", f.ordered_input},
              {"params", params},
              {"requires", io_json(stage->input_requirements())},
              {"produces", io_json(stage->output_promises())}};
}
} // namespace

std::string stage_json(const StageFactory& factory, int indent) {
  return stage_object(factory).dump(indent);
}

std::string plugin_manifest_json(const PluginInfo& plugin) {
  Json stages = Json::array();
  for (const auto* s : plugin.stages) stages.push_back(stage_object(*s));
  Json j{{"manifest_version", 1},
         {"set", plugin.set_name},
         {"version", plugin.set_version},
         {"license", plugin.license},
         {"abi", Json{{"major", plugin.abi_major}, {"minor", plugin.abi_minor}}},
         {"core_fingerprint", plugin.fingerprint},
         {"file", plugin.file.filename().string()},
         {"stages", stages}};
  return j.dump(2) + "\n";
}

std::vector<std::string> conformance_problems(const PluginInfo& plugin) {
  std::vector<std::string> problems;
  if (!plugin.ok()) {
    problems.push_back(plugin.file.string() + ": " + plugin.error);
    return problems;
  }
  // The set part may hold hyphens (facility sets: camera-sony-a7s2.identify); the verb may not.
  static const std::regex name_re("[a-z][a-z0-9_-]*\\.[a-z][a-z0-9_]*");
  static const std::regex param_re("[a-z][a-z0-9_]*");
  if (plugin.stages.empty()) problems.push_back("plugin set '" + plugin.set_name + "' declares no stages");
  if (plugin.license.empty()) problems.push_back("plugin set '" + plugin.set_name + "' declares no license");
  if (!std::regex_match(plugin.set_version, std::regex("[0-9]+\\.[0-9]+\\.[0-9]+.*")))
    problems.push_back("plugin set '" + plugin.set_name + "' version '" + plugin.set_version +
                       "' is not a semantic version (MAJOR.MINOR.PATCH)");
  for (const auto* f : plugin.stages) {
    const std::string where = "stage '" + f->name + "'";
    if (!std::regex_match(f->name, name_re))
      problems.push_back(where + ": name must be '<set>.<verb>' in lower case (e.g. " + plugin.set_name + ".read)");
    else if (f->name.substr(0, f->name.find('.')) != plugin.set_name)
      problems.push_back(where + ": name must start with the plugin set name '" + plugin.set_name + ".'");
    if (f->summary.empty()) problems.push_back(where + ": empty summary");
    if (f->doc.empty()) problems.push_back(where + ": empty doc");
    std::unique_ptr<Stage> stage;
    try {
      stage = f->create();
    } catch (const std::exception& e) {
      problems.push_back(where + ": constructing it with defaults threw: " + e.what());
      continue;
    }
    std::vector<std::string> seen;
    for (const auto* p : stage->params()) {
      const auto& s = p->spec();
      const std::string pw = where + ", parameter '" + s.name + "'";
      if (!std::regex_match(s.name, param_re)) problems.push_back(pw + ": name must be snake_case");
      if (std::find(seen.begin(), seen.end(), s.name) != seen.end()) problems.push_back(pw + ": declared twice");
      seen.push_back(s.name);
      if (s.doc.empty()) problems.push_back(pw + ": no doc string");
      if (s.default_value) {
        if (auto e = s.check(*s.default_value); !e.empty()) problems.push_back(pw + ": default is invalid: " + e);
      }
      if (s.min && s.max && *s.min > *s.max) problems.push_back(pw + ": min is above max");
    }
    if (stage->kind() != StageKind::reader && dynamic_cast<Processor*>(stage.get()) == nullptr)
      problems.push_back(where + ": is neither a Reader nor a Processor");
  }
  return problems;
}

} // namespace lumen::engine
