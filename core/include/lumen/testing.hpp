// Test helpers for plugin authors: drive a stage directly, without the host.
//
//   lumen::testing::Context ctx(tmp_dir);   // outputs go to tmp_dir
//   stage.attach(ctx);
//   stage.start();
//   lumen::testing::Collect out;
//   stage.process(item, out);               // out.items holds what it emitted
//   auto items = lumen::testing::read_all(reader, ctx);   // a reader's whole plan
#pragma once

#include "lumen/stage.hpp"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lumen::testing {

/// A run context whose outputs and artifacts live under one directory; it records the files
/// a writer reports and the messages a stage logs.
class Context final : public lumen::Context {
public:
  explicit Context(std::filesystem::path outputs = std::filesystem::temp_directory_path(),
                   std::string stage_id = "test-stage")
      : outputs_(std::move(outputs)), stage_id_(std::move(stage_id)) {}
  [[nodiscard]] const std::string& run_id() const override { return run_id_; }
  [[nodiscard]] const std::string& stage_id() const override { return stage_id_; }
  [[nodiscard]] const std::filesystem::path& outputs_dir() const override { return outputs_; }
  [[nodiscard]] std::filesystem::path artifacts_dir() const override {
    auto dir = outputs_ / "artifacts" / stage_id_;
    std::filesystem::create_directories(dir);
    return dir;
  }
  [[nodiscard]] int threads() const override { return 1; }
  void log(LogLevel level, std::string_view message) const override { logged.emplace_back(level, message); }
  void record_output(const std::filesystem::path& path, std::uint64_t bytes) const override {
    recorded.emplace_back(path, bytes);
  }

  mutable std::vector<std::pair<std::filesystem::path, std::uint64_t>> recorded;
  mutable std::vector<std::pair<LogLevel, std::string>> logged;

private:
  std::filesystem::path outputs_;
  std::string run_id_ = "test-run";
  std::string stage_id_;
};

/// An Emit that keeps every item emitted to it.
struct Collect final : Emit {
  std::vector<Item> items;
  void operator()(Item item) override { items.push_back(std::move(item)); }
};

/// Runs a reader as the host would, on one thread: validate, attach `ctx`, start, plan, read
/// every unit; returns what it emitted. An InputError from a unit propagates.
inline std::vector<Item> read_all(Reader& reader, const lumen::Context& ctx) {
  reader.validate();
  reader.attach(ctx);
  reader.start();
  Collect out;
  for (const auto& unit : reader.plan()) reader.read(unit, out);
  return std::move(out.items);
}

} // namespace lumen::testing
