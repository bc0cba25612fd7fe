#include "lumen/engine/events.hpp"

#include "json_line.hpp"
#include "lumen/error.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace lumen::engine {

namespace {
// ISO 8601 UTC with milliseconds. The calendar part is recomputed only when the second
// changes (per thread), so an event costs one clock read, not a strftime.
std::string iso_now() {
  thread_local std::time_t cached_second = -1;
  thread_local char cached[32];
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  if (t != cached_second) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = t;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string out(cached);
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + (ms / 10) % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

JsonLine event(std::string_view type) {
  JsonLine j;
  j.str("event", type).str("time", iso_now());
  return j;
}
} // namespace

EventLog::EventLog(const std::filesystem::path& file) {
  // seq continues across re-runs into the same run directory: count the lines already there.
  if (std::FILE* in = std::fopen(file.c_str(), "rb")) {
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, in)) > 0)
      for (std::size_t i = 0; i < n; ++i) seq_ += buf[i] == '\n';
    std::fclose(in);
  }
  file_ = std::fopen(file.c_str(), "ab");
  if (!file_) throw Error("cannot open the event log " + file.string() + " for appending");
}

EventLog::~EventLog() {
  if (file_) std::fclose(file_);
}

void EventLog::write_line(std::string&& line) {
  std::lock_guard lock(mutex_);
  const std::string seq = "{\"seq\":" + std::to_string(seq_++) + ",";
  line.replace(0, 1, seq);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

void EventLog::run_start(std::string_view run_id, std::string_view pipeline, std::string_view pipeline_file,
                         int threads, std::size_t units_planned, std::size_t units_skipped) {
  auto j = event("run_start");
  j.str("run_id", run_id);
  j.str("pipeline", pipeline);
  j.str("pipeline_file", pipeline_file);
  j.num("threads", std::int64_t{threads});
  j.num("units_planned", std::uint64_t{units_planned});
  j.num("units_skipped", std::uint64_t{units_skipped});
  write_line(j.finish());
}

void EventLog::stage_start(std::string_view stage_id, std::string_view use) {
  auto j = event("stage_start");
  j.str("stage", stage_id);
  j.str("use", use);
  write_line(j.finish());
}

void EventLog::item_done(std::string_view stage_id, std::string_view item_id, std::string_view source_file) {
  auto j = event("item_done");
  j.str("stage", stage_id);
  j.str("item", item_id);
  j.str("source", source_file);
  write_line(j.finish());
}

void EventLog::item_failed(std::string_view stage_id, std::string_view item_id, std::string_view source_file,
                           std::string_view message) {
  auto j = event("item_failed");
  j.str("stage", stage_id);
  j.str("item", item_id);
  j.str("source", source_file);
  j.str("message", message);
  write_line(j.finish());
}

void EventLog::unit_done(std::string_view unit_id, std::string_view source_file) {
  auto j = event("unit_done");
  j.str("unit", unit_id);
  j.str("source", source_file);
  write_line(j.finish());
}

void EventLog::output_written(std::string_view stage_id, std::string_view path, std::uint64_t bytes) {
  auto j = event("output_written");
  j.str("stage", stage_id);
  j.str("path", path);
  j.num("bytes", std::uint64_t{bytes});
  write_line(j.finish());
}

void EventLog::stage_end(std::string_view stage_id, const StageCounts& c) {
  auto j = event("stage_end");
  j.str("stage", stage_id);
  j.num("items_in", c.items_in);
  j.num("items_out", c.items_out);
  j.num("items_failed", c.items_failed);
  j.num("bytes_in", c.bytes_in);
  j.num("bytes_written", c.bytes_written);
  j.num("seconds", c.seconds);
  j.num("busy_seconds", c.busy_seconds);
  write_line(j.finish());
}

void EventLog::run_end(std::string_view status, int exit_code, double seconds, std::uint64_t items_failed) {
  auto j = event("run_end");
  j.str("status", status);
  j.num("exit_code", std::int64_t{exit_code});
  j.num("seconds", seconds);
  j.num("items_failed", std::uint64_t{items_failed});
  write_line(j.finish());
}

} // namespace lumen::engine
