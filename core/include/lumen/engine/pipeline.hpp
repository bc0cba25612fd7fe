// The pipeline model: YAML pipeline files parsed, substituted, checked and resolved into
// constructed stages. Every problem is reported with file:line:column, the stage id, the
// parameter, what was expected and, for misspellings, a suggestion.
#pragma once

#include "lumen/engine/plugin_registry.hpp"
#include "lumen/error.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lumen::engine {

inline constexpr int kPipelineFormatVersion = 1;

struct SourceLoc {
  std::string file;
  int line = 0, column = 0; // 1-based; 0 when unknown
  [[nodiscard]] std::string str() const;
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;
};

/// One or more problems with a pipeline; what() lists them all, one per line.
class PipelineError : public Error {
public:
  explicit PipelineError(std::vector<Diagnostic> diagnostics);
  ~PipelineError() override;
  [[nodiscard]] const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

private:
  std::vector<Diagnostic> diagnostics_;
};

struct ResolvedStage {
  std::string id;
  std::string use; // stage name "<set>.<verb>"
  SourceLoc loc;
  const StageFactory* factory = nullptr;
  const PluginInfo* plugin = nullptr;
  std::unique_ptr<Stage> stage;
  std::vector<std::size_t> inputs;                        // indices of upstream stages (empty for readers)
  std::vector<std::size_t> outputs;                       // indices of downstream stages
  std::vector<std::pair<std::string, ParamValue>> params; // every parameter, resolved, in declared order
  bool stop_on_error = false;
};

struct ResolvedPipeline {
  std::filesystem::path file;
  std::string name, description;
  int format_version = kPipelineFormatVersion;
  std::vector<std::string> requires_sets;
  std::vector<std::pair<std::string, std::string>> vars; // name -> value as YAML text
  std::vector<ResolvedStage> stages;                     // in file order (a topological order)
  bool stop_on_error = false;

  /// The fully resolved pipeline (defaults filled in, vars substituted, plugin versions).
  [[nodiscard]] std::string resolved_yaml() const;
  /// Stable hash of a stage's use and resolved parameters.
  [[nodiscard]] std::string stage_hash(std::size_t index) const;
};

/// `--set KEY=VALUE` overrides: KEY is `vars.NAME` or `STAGE_ID.PARAM`; VALUE is YAML.
struct Override {
  std::string key, value;
};
[[nodiscard]] Override parse_override(std::string_view text); // throws PipelineError

/// Parses and resolves a pipeline file. Throws PipelineError listing every problem found.
[[nodiscard]] ResolvedPipeline load_pipeline(const std::filesystem::path& file, const std::vector<Override>& overrides,
                                             const PluginRegistry& registry);
/// Same, from text (`display_name` is used in messages).
[[nodiscard]] ResolvedPipeline load_pipeline_text(const std::string& text, const std::string& display_name,
                                                  const std::vector<Override>& overrides,
                                                  const PluginRegistry& registry);

} // namespace lumen::engine
