// logs/run_events.jsonl: one typed JSON event per line (schemas/run_events.schema.json).
// Each line is written with a single write and flushed, so a killed run leaves whole lines.
// Every event has "seq" (its line number in the file, from 0), "event" (the type) and "time".
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

namespace lumen::engine {

struct StageCounts {
  std::uint64_t items_in = 0, items_out = 0, items_failed = 0, bytes_in = 0, bytes_written = 0;
  double seconds = 0;      // wall time from the stage's first to its last activity
  double busy_seconds = 0; // summed time inside the stage's code, over all threads
};

class EventLog {
public:
  explicit EventLog(const std::filesystem::path& file); // appends
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;
  ~EventLog();

  void run_start(std::string_view run_id, std::string_view pipeline, std::string_view pipeline_file, int threads,
                 std::size_t units_planned, std::size_t units_skipped);
  void stage_start(std::string_view stage_id, std::string_view use);
  void item_done(std::string_view stage_id, std::string_view item_id, std::string_view source_file);
  void item_failed(std::string_view stage_id, std::string_view item_id, std::string_view source_file,
                   std::string_view message);
  void unit_done(std::string_view unit_id, std::string_view source_file);
  void output_written(std::string_view stage_id, std::string_view path, std::uint64_t bytes);
  void stage_end(std::string_view stage_id, const StageCounts& counts);
  void run_end(std::string_view status, int exit_code, double seconds, std::uint64_t items_failed);

private:
  void write_line(std::string&& line);
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  std::uint64_t seq_ = 0; // position of the next event in the file
};

} // namespace lumen::engine
