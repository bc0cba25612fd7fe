// Plugin and stage descriptions as JSON (schemas/plugin_manifest.schema.json).
#pragma once

#include "lumen/engine/plugin_registry.hpp"

#include <string>

namespace lumen::engine {

/// Describes one stage: name, kind, summary, doc, concurrency, parameters, inputs, outputs.
/// Constructs the stage with its defaults to read its parameter declarations.
[[nodiscard]] std::string stage_json(const StageFactory& factory, int indent = 2);
/// The manifest written beside a plugin's shared object.
[[nodiscard]] std::string plugin_manifest_json(const PluginInfo& plugin);
/// Checks a stage the way `lumen check-plugin` does: constructible with defaults, every
/// parameter documented, every default passing its own constraints, name `<set>.<verb>`.
/// Returns one line per problem (empty when conformant).
[[nodiscard]] std::vector<std::string> conformance_problems(const PluginInfo& plugin);

} // namespace lumen::engine
