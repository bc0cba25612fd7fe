#include "lumen/engine/pipeline.hpp"

#include "lumen/engine/ledger.hpp"
#include "lumen/engine/suggest.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <yaml-cpp/yaml.h>

namespace lumen::engine {

std::string SourceLoc::str() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  return s;
}

namespace {
std::string join_diagnostics(const std::vector<Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) s += (s.empty() ? "" : "\n") + d.loc.str() + ": error: " + d.message;
  return s;
}
} // namespace

PipelineError::PipelineError(std::vector<Diagnostic> diagnostics)
    : Error(join_diagnostics(diagnostics)), diagnostics_(std::move(diagnostics)) {}
PipelineError::~PipelineError() = default;

namespace {
// One diagnostic, built without an initializer_list (GCC 12 warns falsely about those).
[[noreturn]] void throw_one(SourceLoc loc, std::string message) {
  std::vector<Diagnostic> d;
  d.push_back(Diagnostic{std::move(loc), std::move(message)});
  throw PipelineError(std::move(d));
}
} // namespace

Override parse_override(std::string_view text) {
  const auto eq = text.find('=');
  const auto dot = text.find('.');
  if (eq == std::string_view::npos || dot == std::string_view::npos || dot > eq || dot == 0 || dot + 1 == eq)
    throw_one(SourceLoc{"--set", 0, 0}, "'" + std::string(text) +
                                            "' is not KEY=VALUE with KEY vars.NAME or STAGE_ID.PARAM (e.g. --set "
                                            "vars.input=data/*.fits or --set write.compression=3)");
  return Override{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

namespace {

const std::vector<std::string> kTopKeys = {"pipeline", "description", "version", "requires",
                                           "on_error", "vars",        "stages"};
const std::vector<std::string> kStageKeys = {"id", "use", "with", "from", "on_error"};

class Resolver {
public:
  Resolver(std::string display_name, const PluginRegistry& registry, const std::vector<Override>& overrides,
           std::filesystem::path base_dir)
      : file_(std::move(display_name)), registry_(registry), overrides_(overrides), base_dir_(std::move(base_dir)) {}

  ResolvedPipeline run(const std::string& text);

private:
  SourceLoc loc(const YAML::Node& n) const {
    const auto m = n.Mark();
    if (m.line < 0) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }
  void error(const SourceLoc& l, std::string msg) { diags_.push_back({l, std::move(msg)}); }
  void error(const YAML::Node& n, std::string msg) { error(loc(n), std::move(msg)); }

  // Where a value came from: the file, or a --set override (which has no line in the file).
  SourceLoc value_loc(const YAML::Node& n, const std::string& override_key) const {
    if (overridden_.count(override_key)) return {"--set " + override_key, 0, 0};
    return loc(n);
  }

  void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& what);
  void read_vars(const YAML::Node& root);
  YAML::Node substitute(const YAML::Node& n, const std::string& where);
  std::optional<ParamValue> convert(const YAML::Node& n, const ParamSpec& spec, const SourceLoc& l,
                                    const std::string& where);
  void resolve_stage(const YAML::Node& node, std::size_t index, ResolvedPipeline& out);
  void wire(ResolvedPipeline& out);
  void check_requirements(ResolvedPipeline& out);

  std::string file_;
  const PluginRegistry& registry_;
  const std::vector<Override>& overrides_;
  std::filesystem::path base_dir_; // the pipeline file's directory: the built-in var pipeline_dir
  std::set<std::string> overridden_;
  std::vector<Diagnostic> diags_;
  std::vector<std::pair<std::string, YAML::Node>> vars_;
  std::map<std::string, YAML::Node> stage_from_; // stage id -> its `from` node
};

void Resolver::check_keys(const YAML::Node& map, const std::vector<std::string>& allowed, const std::string& what) {
  for (const auto& kv : map) {
    const auto key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      error(kv.first, "unknown key '" + key + "' in " + what + did_you_mean(key, allowed) + "; allowed keys: " + list);
    }
  }
}

void Resolver::read_vars(const YAML::Node& root) {
  const auto vars = root["vars"];
  if (vars && !vars.IsNull()) {
    if (!vars.IsMap()) {
      error(vars, "'vars' must be a mapping of name: value");
    } else {
      for (const auto& kv : vars) vars_.emplace_back(kv.first.as<std::string>(), kv.second);
    }
  }
  // Built in: ${pipeline_dir}, so a pipeline can name files shipped beside it (layouts, tables)
  // whatever the working directory. A var the file declares with that name wins.
  if (std::none_of(vars_.begin(), vars_.end(), [](const auto& v) { return v.first == "pipeline_dir"; }))
    vars_.emplace_back("pipeline_dir", YAML::Node(base_dir_.string()));
  std::vector<std::string> names;
  for (const auto& [n, v] : vars_) names.push_back(n);
  for (const auto& o : overrides_) {
    if (o.key.rfind("vars.", 0) != 0) continue;
    const auto name = o.key.substr(5);
    YAML::Node value;
    try {
      value = YAML::Load(o.value);
    } catch (const YAML::Exception& e) {
      error(SourceLoc{"--set " + o.key, 0, 0}, "value '" + o.value + "' is not valid YAML: " + e.msg);
      continue;
    }
    auto it = std::find_if(vars_.begin(), vars_.end(), [&](const auto& p) { return p.first == name; });
    if (it == vars_.end()) {
      error(
          SourceLoc{"--set " + o.key, 0, 0},
          "the pipeline declares no var '" + name + "'" + did_you_mean(name, names) + "; declared vars: " + [&] {
            std::string l;
            for (const auto& n : names) l += (l.empty() ? "" : ", ") + n;
            return l.empty() ? std::string("none") : l;
          }());
      continue;
    }
    it->second = value;
  }
}

YAML::Node Resolver::substitute(const YAML::Node& n, const std::string& where) {
  if (n.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& e : n) out.push_back(substitute(e, where));
    return out;
  }
  if (n.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : n) out[kv.first] = substitute(kv.second, where);
    return out;
  }
  if (!n.IsScalar()) return n;
  const std::string s = n.Scalar();
  if (s.find("${") == std::string::npos) return n;
  std::vector<std::string> names;
  for (const auto& [name, v] : vars_) names.push_back(name);
  const auto lookup = [&](const std::string& name) -> const YAML::Node* {
    for (const auto& [vn, v] : vars_)
      if (vn == name) return &v;
    return nullptr;
  };
  static const std::regex whole(R"(^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$)");
  std::smatch m;
  if (std::regex_match(s, m, whole)) {
    const auto* v = lookup(m[1]);
    if (!v) {
      error(n, where + ": unknown var '${" + m[1].str() + "}'" + did_you_mean(m[1].str(), names) +
                   "; declare it under 'vars:' or pass --set vars." + m[1].str() + "=...");
      return n;
    }
    return YAML::Clone(*v);
  }
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (s.compare(i, 2, "${") == 0) {
      const auto close = s.find('}', i);
      if (close == std::string::npos) {
        error(n, where + ": unclosed '${' in \"" + s + "\"");
        return n;
      }
      const auto name = s.substr(i + 2, close - i - 2);
      const auto* v = lookup(name);
      if (!v) {
        error(n, where + ": unknown var '${" + name + "}'" + did_you_mean(name, names));
        return n;
      }
      if (!v->IsScalar()) {
        error(n, where + ": var '" + name + "' is a list or mapping and cannot be part of the string \"" + s +
                     "\"; use \"${" + name + "}\" alone to pass it whole");
        return n;
      }
      out += v->Scalar();
      i = close + 1;
      continue;
    }
    out += s[i++];
  }
  YAML::Node r(out);
  return r;
}

std::optional<ParamValue> Resolver::convert(const YAML::Node& n, const ParamSpec& spec, const SourceLoc& l,
                                            const std::string& where) {
  const auto fail = [&](const std::string& got) -> std::optional<ParamValue> {
    std::string example;
    switch (spec.type) {
    case ParamType::boolean:
      example = "true or false";
      break;
    case ParamType::integer:
      example = "a whole number such as 3";
      break;
    case ParamType::number:
      example = "a number such as 1.5";
      break;
    case ParamType::string:
      example = "a string";
      break;
    case ParamType::number_list:
      example = "a list of numbers such as [1.5, 2]";
      break;
    case ParamType::integer_list:
      example = "a list of whole numbers such as [256, 256]";
      break;
    case ParamType::string_list:
      example = "a list of strings such as [a, b]";
      break;
    }
    error(l, where + ": expected " + example + " (type " + param_type_name(spec.type) + "), got " + got);
    return std::nullopt;
  };
  const auto shown = [](const YAML::Node& x) {
    if (x.IsNull()) return std::string("nothing (the value is empty)");
    if (x.IsScalar()) return "'" + x.Scalar() + "'";
    if (x.IsSequence()) return std::string("a list");
    return std::string("a mapping");
  };
  const auto scalar_int = [](const YAML::Node& x, std::int64_t& out) {
    if (!x.IsScalar()) return false;
    static const std::regex re(R"(^[+-]?[0-9]+$)");
    if (!std::regex_match(x.Scalar(), re)) return false;
    try {
      out = std::stoll(x.Scalar());
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
  const auto scalar_num = [](const YAML::Node& x, double& out) {
    if (!x.IsScalar()) return false;
    const auto& s = x.Scalar();
    if (s == ".nan" || s == ".NaN" || s == "nan") return false;
    try {
      std::size_t pos = 0;
      out = std::stod(s, &pos);
      return pos == s.size();
    } catch (const std::exception&) {
      return false;
    }
  };
  switch (spec.type) {
  case ParamType::boolean: {
    bool b = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b)) return fail(shown(n));
    return ParamValue{b};
  }
  case ParamType::integer: {
    std::int64_t i = 0;
    if (!scalar_int(n, i)) return fail(shown(n));
    return ParamValue{i};
  }
  case ParamType::number: {
    double d = 0;
    if (!scalar_num(n, d)) return fail(shown(n));
    return ParamValue{d};
  }
  case ParamType::string:
    if (!n.IsScalar()) return fail(shown(n));
    return ParamValue{n.Scalar()};
  case ParamType::number_list: {
    if (!n.IsSequence()) return fail(shown(n));
    std::vector<double> v;
    for (const auto& e : n) {
      double d = 0;
      if (!scalar_num(e, d)) return fail("a list with the element " + shown(e));
      v.push_back(d);
    }
    return ParamValue{v};
  }
  case ParamType::integer_list: {
    if (!n.IsSequence()) return fail(shown(n));
    std::vector<std::int64_t> v;
    for (const auto& e : n) {
      std::int64_t i = 0;
      if (!scalar_int(e, i)) return fail("a list with the element " + shown(e));
      v.push_back(i);
    }
    return ParamValue{v};
  }
  case ParamType::string_list: {
    if (n.IsScalar()) return ParamValue{std::vector<std::string>{n.Scalar()}}; // one string reads as a list of one
    if (!n.IsSequence()) return fail(shown(n));
    std::vector<std::string> v;
    for (const auto& e : n) {
      if (!e.IsScalar()) return fail("a list with the element " + shown(e));
      v.push_back(e.Scalar());
    }
    return ParamValue{v};
  }
  }
  return std::nullopt;
}

void Resolver::resolve_stage(const YAML::Node& node, std::size_t index, ResolvedPipeline& out) {
  ResolvedStage rs;
  rs.loc = loc(node);
  if (!node.IsMap()) {
    error(node, "stage #" + std::to_string(index + 1) + " must be a mapping with 'id' and 'use'");
    return;
  }
  check_keys(node, kStageKeys, "stage #" + std::to_string(index + 1));

  static const std::regex id_re(R"(^[A-Za-z_][A-Za-z0-9_-]*$)");
  const auto id_node = node["id"];
  if (!id_node || !id_node.IsScalar()) {
    error(node, "stage #" + std::to_string(index + 1) + " has no 'id' (add e.g. 'id: step" + std::to_string(index + 1) +
                    "')");
    return;
  }
  rs.id = id_node.Scalar();
  if (!std::regex_match(rs.id, id_re))
    error(id_node,
          "stage id '" + rs.id + "' must start with a letter or '_' and contain only letters, digits, '_' and '-'");
  for (const auto& s : out.stages)
    if (s.id == rs.id) error(id_node, "stage id '" + rs.id + "' is used twice (first at " + s.loc.str() + ")");

  const auto use_node = node["use"];
  const std::string where_stage = "stage '" + rs.id + "'";
  if (!use_node || !use_node.IsScalar()) {
    error(node, where_stage + " has no 'use' (the stage to run, e.g. 'use: png.write'; `lumen plugins` lists them)");
    return;
  }
  rs.use = use_node.Scalar();
  rs.factory = registry_.find(rs.use, &rs.plugin);
  if (!rs.factory) {
    std::string why = where_stage + ": unknown stage '" + rs.use + "'" + did_you_mean(rs.use, registry_.stage_names());
    const auto set = rs.use.substr(0, rs.use.find('.'));
    for (const auto& p : registry_.plugins())
      if (!p.ok() && p.file.filename().string().find(set) != std::string::npos)
        why += "; note: plugin " + p.file.string() + " was refused: " + p.error;
    why += "; `lumen plugins` lists the available stages";
    error(use_node, why);
    return;
  }
  rs.stage = rs.factory->create();
  const std::string where = where_stage + " (" + rs.use + ")";

  if (const auto oe = node["on_error"]) {
    if (!oe.IsScalar() || (oe.Scalar() != "stop" && oe.Scalar() != "continue"))
      error(oe, where + ": on_error must be 'stop' or 'continue'");
    else
      rs.stop_on_error = oe.Scalar() == "stop";
  }

  // Parameters: the file's `with`, then --set overrides, then vars substitution. The file's
  // nodes are used as they are (not cloned) so that every message keeps its line and column.
  struct Setting {
    std::string key;
    YAML::Node value;
    SourceLoc key_loc, value_loc;
  };
  std::vector<Setting> settings;
  const auto with = node["with"];
  if (with && !with.IsNull() && !with.IsMap()) {
    error(with, where + ": 'with' must be a mapping of parameter: value");
    return;
  }
  if (with && with.IsMap())
    for (const auto& kv : with)
      settings.push_back({kv.first.as<std::string>(), kv.second, loc(kv.first), loc(kv.second)});
  for (const auto& o : overrides_) {
    if (o.key.rfind(rs.id + ".", 0) != 0) continue;
    const auto param = o.key.substr(rs.id.size() + 1);
    const SourceLoc ol{"--set " + o.key, 0, 0};
    YAML::Node value;
    try {
      value = YAML::Load(o.value);
    } catch (const YAML::Exception& e) {
      error(ol, "value '" + o.value + "' is not valid YAML: " + e.msg);
      continue;
    }
    auto it = std::find_if(settings.begin(), settings.end(), [&](const Setting& x) { return x.key == param; });
    if (it != settings.end())
      *it = Setting{param, value, ol, ol};
    else
      settings.push_back({param, value, ol, ol});
  }

  std::vector<std::string> names;
  for (const auto* p : rs.stage->params()) names.push_back(p->spec().name);
  std::string name_list;
  for (const auto& n : names) name_list += (name_list.empty() ? "" : ", ") + n;

  std::map<std::string, SourceLoc> param_locs;
  for (const auto& setting : settings) {
    const auto& key = setting.key;
    auto it = std::find_if(rs.stage->params().begin(), rs.stage->params().end(),
                           [&](const ParamBase* p) { return p->spec().name == key; });
    if (it == rs.stage->params().end()) {
      error(setting.key_loc, where + ": unknown parameter '" + key + "'" + did_you_mean(key, names) + "; " + rs.use +
                                 " takes: " + (name_list.empty() ? "no parameters" : name_list) + " (`lumen inspect " +
                                 rs.use + "` shows them)");
      continue;
    }
    ParamBase& p = **it;
    const std::string pwhere = where + ", parameter '" + key + "'";
    const auto value_node = substitute(setting.value, pwhere);
    const SourceLoc& vl = setting.value_loc;
    param_locs[key] = vl;
    const auto v = convert(value_node, p.spec(), vl, pwhere);
    if (!v) continue;
    if (const auto problem = p.spec().check(*v); !problem.empty()) {
      std::string range;
      if (p.spec().min || p.spec().max)
        range = " (allowed range: " + (p.spec().min ? param_bound_text(*p.spec().min) : "-inf") + " to " +
                (p.spec().max ? param_bound_text(*p.spec().max) : "inf") + ")";
      error(vl, pwhere + ": " + problem + range);
      continue;
    }
    p.assign(*v);
  }
  bool missing = false;
  for (const auto* p : rs.stage->params())
    if (p->spec().required() && !p->is_set()) {
      missing = true;
      error(rs.loc, where + ": required parameter '" + p->spec().name + "' is not set (" + p->spec().doc +
                        "); add it under 'with:' or pass --set " + rs.id + "." + p->spec().name + "=...");
    }
  if (!missing) {
    try {
      rs.stage->validate();
    } catch (const ConfigError& e) {
      const auto pl = param_locs.count(e.param()) ? param_locs[e.param()] : rs.loc;
      error(pl, where + (e.param().empty() ? "" : ", parameter '" + e.param() + "'") + ": " + e.what());
    } catch (const std::exception& e) {
      error(rs.loc, where + ": " + e.what());
    }
  }
  for (const auto* p : rs.stage->params()) rs.params.emplace_back(p->spec().name, p->current());
  if (node["from"]) stage_from_[rs.id] = node["from"];
  out.stages.push_back(std::move(rs));
}

void Resolver::wire(ResolvedPipeline& out) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < out.stages.size(); ++i) {
    auto& s = out.stages[i];
    const bool reader = s.stage->kind() == StageKind::reader;
    const auto from_it = stage_from_.find(s.id);
    if (reader) {
      if (from_it != stage_from_.end())
        error(from_it->second, "stage '" + s.id + "' (" + s.use + ") is a reader (a source) and takes no 'from'");
      ids.push_back(s.id);
      continue;
    }
    std::vector<std::pair<std::string, YAML::Node>> from;
    if (from_it == stage_from_.end()) {
      if (i == 0) {
        error(s.loc, "stage '" + s.id + "' (" + s.use +
                         ") is first but is not a reader: a pipeline starts with a reader (a source such as "
                         "synth.starfield or png.read)");
        ids.push_back(s.id);
        continue;
      }
      from.emplace_back(out.stages[i - 1].id, YAML::Node());
    } else if (from_it->second.IsScalar()) {
      from.emplace_back(from_it->second.Scalar(), from_it->second);
    } else if (from_it->second.IsSequence() && from_it->second.size() > 0) {
      for (const auto& e : from_it->second) from.emplace_back(e.IsScalar() ? e.Scalar() : std::string{}, e);
    } else {
      error(from_it->second, "stage '" + s.id + "': 'from' must be a stage id or a list of stage ids");
    }
    for (const auto& [fid, fnode] : from) {
      const auto it = std::find(ids.begin(), ids.end(), fid);
      if (it == ids.end()) {
        std::vector<std::string> all;
        for (const auto& x : out.stages) all.push_back(x.id);
        const bool later = std::find(all.begin(), all.end(), fid) != all.end();
        error(fnode ? loc(fnode) : s.loc,
              "stage '" + s.id + "': 'from: " + fid + "' " +
                  (later ? "refers to a stage declared later; stages may only take input from stages above them"
                         : "names no stage" + did_you_mean(fid, ids)));
        continue;
      }
      const auto src = static_cast<std::size_t>(it - ids.begin());
      if (std::find(s.inputs.begin(), s.inputs.end(), src) == s.inputs.end()) {
        s.inputs.push_back(src);
        out.stages[src].outputs.push_back(i);
      }
    }
    ids.push_back(s.id);
  }
}

void Resolver::check_requirements(ResolvedPipeline& out) {
  struct State {
    std::set<std::string> arrays;
    bool arrays_known = false;
    std::string units;
    bool units_known = false;
  };
  const auto split = [](const std::string& u) {
    std::vector<std::string> v;
    std::stringstream ss(u);
    std::string part;
    while (std::getline(ss, part, '|'))
      if (!part.empty()) v.push_back(part);
    return v;
  };
  std::vector<State> states(out.stages.size());
  for (std::size_t i = 0; i < out.stages.size(); ++i) {
    auto& s = out.stages[i];
    const auto& req = s.stage->input_requirements();
    const auto& prod = s.stage->output_promises();
    State in;
    if (!s.inputs.empty()) {
      in = states[s.inputs[0]];
      for (std::size_t k = 1; k < s.inputs.size(); ++k) {
        const auto& o = states[s.inputs[k]];
        std::set<std::string> both;
        for (const auto& a : in.arrays)
          if (o.arrays.count(a)) both.insert(a);
        in.arrays = both;
        in.arrays_known = in.arrays_known && o.arrays_known;
        if (!(in.units_known && o.units_known && in.units == o.units)) in.units_known = false;
      }
      const std::string where = "stage '" + s.id + "' (" + s.use + ")";
      const auto& up = out.stages[s.inputs[0]].id;
      if (in.arrays_known)
        for (const auto& a : req.arrays)
          if (!in.arrays.count(a)) {
            std::string have;
            for (const auto& x : in.arrays) have += (have.empty() ? "" : ", ") + x;
            error(s.loc, where + " requires the array '" + a + "', but its input from '" + up + "' carries only: " +
                             (have.empty() ? "no arrays" : have) + "; add a stage that produces it before this one");
          }
      const auto accepted = split(req.units);
      if (in.units_known && !accepted.empty() &&
          std::find(accepted.begin(), accepted.end(), in.units) == accepted.end())
        error(s.loc, where + " requires units " + req.units + ", but its input from '" + up + "' is in units '" +
                         in.units + "'; add a calibration stage that converts it");
    }
    State o = in;
    if (s.stage->kind() == StageKind::reader) {
      o = State{};
      o.arrays_known = !prod.arrays.empty();
    }
    for (const auto& a : prod.arrays) o.arrays.insert(a);
    if (!prod.units.empty()) {
      o.units = prod.units;
      o.units_known = prod.units.find('|') == std::string::npos;
    }
    states[i] = o;
  }
}

ResolvedPipeline Resolver::run(const std::string& text) {
  ResolvedPipeline out;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw_one(SourceLoc{file_, e.mark.line + 1, e.mark.column + 1}, "not valid YAML: " + e.msg);
  }
  if (!root.IsMap())
    throw_one(SourceLoc{file_, 1, 1}, "a pipeline file is a YAML mapping with 'pipeline', 'version' and 'stages'");
  check_keys(root, kTopKeys, "the pipeline file");

  if (const auto n = root["pipeline"]; n && n.IsScalar())
    out.name = n.Scalar();
  else
    error(n ? loc(n) : SourceLoc{file_, 1, 1}, "missing 'pipeline: NAME' (the pipeline's name)");
  if (const auto n = root["description"]; n && n.IsScalar()) out.description = n.Scalar();
  if (const auto n = root["version"]) {
    std::int64_t v = 0;
    if (!n.IsScalar() || !YAML::convert<std::int64_t>::decode(n, v) || v < 1)
      error(n, "'version' must be the file format version, a whole number (this Lumen reads version " +
                   std::to_string(kPipelineFormatVersion) + ")");
    else if (v > kPipelineFormatVersion)
      error(n, "this file is written for pipeline format version " + std::to_string(v) + "; this Lumen (" +
                   LUMEN_VERSION + ") reads version " + std::to_string(kPipelineFormatVersion) + ": upgrade Lumen");
    else
      out.format_version = static_cast<int>(v);
  } else {
    error(SourceLoc{file_, 1, 1},
          "missing 'version: " + std::to_string(kPipelineFormatVersion) + "' (the pipeline file format version)");
  }
  if (const auto n = root["on_error"]) {
    if (!n.IsScalar() || (n.Scalar() != "stop" && n.Scalar() != "continue"))
      error(n, "on_error must be 'stop' or 'continue'");
    else
      out.stop_on_error = n.Scalar() == "stop";
  }
  if (const auto n = root["requires"]) {
    const auto sets = registry_.set_names();
    const auto check_set = [&](const YAML::Node& e) {
      if (!e.IsScalar()) {
        error(e, "'requires' lists plugin set names");
        return;
      }
      out.requires_sets.push_back(e.Scalar());
      if (std::find(sets.begin(), sets.end(), e.Scalar()) == sets.end()) {
        std::string why =
            "requires plugin set '" + e.Scalar() + "', which is not loaded" + did_you_mean(e.Scalar(), sets);
        for (const auto& p : registry_.plugins())
          if (!p.ok() && p.file.filename().string().find(e.Scalar()) != std::string::npos)
            why += "; " + p.file.string() + " was refused: " + p.error;
        error(e, why + "; use --plugin-path or LUMEN_PLUGIN_PATH to add plugin directories");
      }
    };
    if (n.IsSequence())
      for (const auto& e : n) check_set(e);
    else
      check_set(n);
  }
  read_vars(root);

  // Overrides of stages that do not exist are errors, with a suggestion.
  const auto stages = root["stages"];
  std::vector<std::string> stage_ids;
  if (stages && stages.IsSequence())
    for (const auto& s : stages)
      if (s.IsMap() && s["id"] && s["id"].IsScalar()) stage_ids.push_back(s["id"].Scalar());
  for (const auto& o : overrides_) {
    if (o.key.rfind("vars.", 0) == 0) continue;
    const auto sid = o.key.substr(0, o.key.find('.'));
    if (std::find(stage_ids.begin(), stage_ids.end(), sid) == stage_ids.end())
      error(SourceLoc{"--set " + o.key, 0, 0}, "no stage has the id '" + sid + "'" + did_you_mean(sid, stage_ids) +
                                                   " (KEY is vars.NAME or STAGE_ID.PARAM)");
  }

  if (!stages || !stages.IsSequence() || stages.size() == 0) {
    error(stages ? loc(stages) : SourceLoc{file_, 1, 1}, "missing 'stages:', a list of {id, use, with, from}");
  } else {
    for (std::size_t i = 0; i < stages.size(); ++i) resolve_stage(stages[i], i, out);
    if (diags_.empty()) wire(out);
    if (diags_.empty()) check_requirements(out);
  }
  out.vars.clear();
  for (const auto& [name, node] : vars_) {
    YAML::Emitter e;
    e << YAML::Flow << node;
    out.vars.emplace_back(name, e.c_str());
  }
  if (!diags_.empty()) throw PipelineError(std::move(diags_));
  return out;
}

void emit_value(YAML::Emitter& e, const ParamValue& v) {
  struct Visitor {
    YAML::Emitter& e;
    void operator()(bool b) const { e << b; }
    void operator()(std::int64_t i) const { e << i; }
    void operator()(double d) const { e << YAML::Precision(17) << d; }
    void operator()(const std::string& s) const { e << YAML::DoubleQuoted << s; }
    void operator()(const std::vector<double>& l) const {
      e << YAML::Flow << YAML::BeginSeq;
      for (double d : l) e << YAML::Precision(17) << d;
      e << YAML::EndSeq;
    }
    void operator()(const std::vector<std::int64_t>& l) const {
      e << YAML::Flow << YAML::BeginSeq;
      for (auto i : l) e << i;
      e << YAML::EndSeq;
    }
    void operator()(const std::vector<std::string>& l) const {
      e << YAML::Flow << YAML::BeginSeq;
      for (const auto& s : l) e << YAML::DoubleQuoted << s;
      e << YAML::EndSeq;
    }
  };
  std::visit(Visitor{e}, v);
}

} // namespace

std::string ResolvedPipeline::resolved_yaml() const {
  YAML::Emitter e;
  e << YAML::Comment("Fully resolved by lumen " + std::string(LUMEN_VERSION) + " from " + file.string());
  e << YAML::BeginMap;
  e << YAML::Key << "pipeline" << YAML::Value << name;
  if (!description.empty()) e << YAML::Key << "description" << YAML::Value << description;
  e << YAML::Key << "version" << YAML::Value << format_version;
  if (!requires_sets.empty()) e << YAML::Key << "requires" << YAML::Value << YAML::Flow << requires_sets;
  e << YAML::Key << "on_error" << YAML::Value << (stop_on_error ? "stop" : "continue");
  if (!vars.empty()) {
    e << YAML::Key << "vars" << YAML::Value << YAML::BeginMap;
    for (const auto& [n, v] : vars) e << YAML::Key << n << YAML::Value << YAML::Load(v);
    e << YAML::EndMap;
  }
  e << YAML::Key << "stages" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : stages) {
    e << YAML::BeginMap;
    e << YAML::Key << "id" << YAML::Value << s.id;
    e << YAML::Key << "use" << YAML::Value << s.use;
    e << YAML::Comment("plugin set " + (s.plugin ? s.plugin->set_name + " " + s.plugin->set_version + ", " +
                                                       s.plugin->file.filename().string()
                                                 : std::string("?")));
    if (!s.inputs.empty()) {
      e << YAML::Key << "from" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (auto i : s.inputs) e << stages[i].id;
      e << YAML::EndSeq;
    }
    if (s.stop_on_error) e << YAML::Key << "on_error" << YAML::Value << "stop";
    e << YAML::Key << "with" << YAML::Value << YAML::BeginMap;
    for (const auto& [n, v] : s.params) {
      e << YAML::Key << n << YAML::Value;
      emit_value(e, v);
    }
    e << YAML::EndMap << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

std::string ResolvedPipeline::stage_hash(std::size_t index) const {
  const auto& s = stages.at(index);
  std::string text = s.use + "@" + (s.plugin ? s.plugin->set_version : "");
  for (const auto& [n, v] : s.params) text += "|" + n + "=" + param_value_text(v);
  return stable_hash(text);
}

ResolvedPipeline load_pipeline_text(const std::string& text, const std::string& display_name,
                                    const std::vector<Override>& overrides, const PluginRegistry& registry) {
  Resolver r(display_name, registry, overrides, std::filesystem::current_path());
  return r.run(text);
}

ResolvedPipeline load_pipeline(const std::filesystem::path& file, const std::vector<Override>& overrides,
                               const PluginRegistry& registry) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw_one(SourceLoc{file.string(), 0, 0}, "cannot read the pipeline file (does it exist?)");
  std::stringstream ss;
  ss << in.rdbuf();
  Resolver r(file.string(), registry, overrides, std::filesystem::absolute(file).parent_path());
  auto p = r.run(ss.str());
  p.file = file;
  return p;
}

} // namespace lumen::engine
