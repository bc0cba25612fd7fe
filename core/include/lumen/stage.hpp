// The stage API: one interface for every kind of stage.
//
// Sources (`Reader`) plan work units and read each one, so the host can schedule, shard and
// skip them. Every other kind implements `process(item, emit)`, emitting 0..N items, and
// optionally `finish(emit)` (aggregators emit there). The host owns threading, queues,
// provenance, events and run directories; a stage only transforms items.
#pragma once

#include "lumen/item.hpp"
#include "lumen/param.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lumen {

enum class StageKind { reader, calibrator, transform, tiler, registrator, qc, aggregator, writer };
[[nodiscard]] const char* stage_kind_name(StageKind k) noexcept;

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

/// What the host gives a stage for the length of a run.
class Context {
public:
  virtual ~Context();
  [[nodiscard]] virtual const std::string& run_id() const = 0;
  [[nodiscard]] virtual const std::string& stage_id() const = 0;
  /// The run's `outputs/` directory (exists).
  [[nodiscard]] virtual const std::filesystem::path& outputs_dir() const = 0;
  /// `artifacts/<stage id>/`, created on first call: per-stage diagnostics.
  [[nodiscard]] virtual std::filesystem::path artifacts_dir() const = 0;
  /// Worker threads the run uses (a stage may size internal pools from it).
  [[nodiscard]] virtual int threads() const = 0;
  virtual void log(LogLevel level, std::string_view message) const = 0;
  /// Writers report each file they commit: pass the full path; the host shows it relative to
  /// the run directory when it lies inside it.
  virtual void record_output(const std::filesystem::path& path, std::uint64_t bytes) const = 0;
};

/// A unit of source work: typically one file, or one frame range of a stack. Every member has a
/// default, so readers may name only what they set (`{.id = ..., .identity = ...}`).
struct WorkUnit {
  std::string id{};                // stable, human-readable ("frame_0003.tif", "starfield/0007")
  std::string identity{};          // what makes the input this input (path+size+mtime, seed, ...)
  std::string source_file{};       // "" for synthetic data
  std::int64_t index = 0;          // position in the plan (the host numbers units after plan())
  std::int64_t file_index = 0;     // position of source_file in the reader's input list
  std::int64_t begin = 0, end = 0; // optional frame range
};
/// identity string for a file: absolute path, size and modification time.
[[nodiscard]] std::string file_identity(const std::filesystem::path& path);

/// Receives the items a stage emits. Emitting moves the item downstream.
class Emit {
public:
  virtual void operator()(Item item) = 0;

protected:
  ~Emit() = default;
};

/// What a stage requires of its input or produces. `units` may list alternatives
/// separated by `|` ("adu|electrons"); in `produces`, an empty `units` means unchanged.
struct StageIO {
  // Default member initialisers let authors name only the fields they need
  // (`{.units = "adu"}`) without -Wmissing-field-initializers.
  std::vector<std::string> arrays{};
  std::vector<std::string> meta_keys{};
  std::string units{};
};

class Stage {
public:
  Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;
  virtual ~Stage();

  [[nodiscard]] virtual StageKind kind() const noexcept = 0;

  /// Cross-parameter checks after all values are assigned and before any data is read.
  /// Throw lumen::ConfigError(param, message) for a bad combination.
  virtual void validate() const {}
  /// Called once before the first item (after validate); ctx() is valid from here on.
  virtual void start() {}
  /// Host only: gives the stage its run context before start().
  void attach(const Context& ctx) noexcept { ctx_ = &ctx; }

  [[nodiscard]] const std::vector<ParamBase*>& params() const noexcept { return params_; }
  [[nodiscard]] const StageIO& input_requirements() const noexcept { return requires_; }
  [[nodiscard]] const StageIO& output_promises() const noexcept { return produces_; }

protected:
  /// The run's context; valid in start, plan, read, process and finish.
  [[nodiscard]] const Context& ctx() const;
  void require(StageIO io) { requires_ = std::move(io); }
  void produce(StageIO io) { produces_ = std::move(io); }

private:
  friend class ParamBase;
  friend struct Requires;
  friend struct Produces;
  std::vector<ParamBase*> params_;
  StageIO requires_, produces_;
  const Context* ctx_ = nullptr;
};

/// A source: plans work units, then reads each one. `read` runs concurrently for
/// different units when the stage class declares `static constexpr bool concurrent = true`.
class Reader : public Stage {
public:
  [[nodiscard]] StageKind kind() const noexcept final { return StageKind::reader; }
  [[nodiscard]] virtual std::vector<WorkUnit> plan() = 0;
  virtual void read(const WorkUnit& unit, Emit& emit) = 0;
};

/// Every non-source stage.
class Processor : public Stage {
public:
  virtual void process(Item& item, Emit& emit) = 0;
  /// After the last item; aggregators emit their results here.
  virtual void finish(Emit& /*emit*/) {}
};

#define LUMEN_DEFINE_PROCESSOR_KIND(Name, Kind)                                                                        \
  class Name : public Processor {                                                                                      \
  public:                                                                                                              \
    [[nodiscard]] StageKind kind() const noexcept final { return StageKind::Kind; }                                    \
  }
LUMEN_DEFINE_PROCESSOR_KIND(Calibrator, calibrator);
LUMEN_DEFINE_PROCESSOR_KIND(Transform, transform);
LUMEN_DEFINE_PROCESSOR_KIND(Tiler, tiler);
LUMEN_DEFINE_PROCESSOR_KIND(Registrator, registrator);
LUMEN_DEFINE_PROCESSOR_KIND(QC, qc);
LUMEN_DEFINE_PROCESSOR_KIND(Aggregator, aggregator);
LUMEN_DEFINE_PROCESSOR_KIND(Writer, writer);
#undef LUMEN_DEFINE_PROCESSOR_KIND

/// Declares input requirements as a member: `lumen::Requires in_{this, {.arrays={"image"}}};`
struct Requires {
  Requires(Stage* s, StageIO io);
};
/// Declares outputs as a member: `lumen::Produces out_{this, {.units = "electrons"}};`
struct Produces {
  Produces(Stage* s, StageIO io);
};

} // namespace lumen
