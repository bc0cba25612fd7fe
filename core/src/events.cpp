#include "lumen/engine/events.hpp"

#include "lumen/error.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace lumen::engine {

namespace {
using Json = nlohmann::ordered_json;

std::string iso_now() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

Json event(std::string_view type) {
  Json j;
  j["event"] = type;
  j["time"] = iso_now();
  return j;
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
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
  line += '\n';
  std::lock_guard lock(mutex_);
  const std::string seq = "{\"seq\":" + std::to_string(seq_++) + ",";
  line.replace(0, 1, seq);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

void EventLog::run_start(std::string_view run_id, std::string_view pipeline, std::string_view pipeline_file,
                         int threads, std::size_t units_planned, std::size_t units_skipped) {
  auto j = event("run_start");
  j["run_id"] = run_id;
  j["pipeline"] = pipeline;
  j["pipeline_file"] = pipeline_file;
  j["threads"] = threads;
  j["units_planned"] = units_planned;
  j["units_skipped"] = units_skipped;
  write_line(dump(j));
}

void EventLog::stage_start(std::string_view stage_id, std::string_view use) {
  auto j = event("stage_start");
  j["stage"] = stage_id;
  j["use"] = use;
  write_line(dump(j));
}

void EventLog::item_done(std::string_view stage_id, std::string_view item_id, std::string_view source_file) {
  auto j = event("item_done");
  j["stage"] = stage_id;
  j["item"] = item_id;
  j["source"] = source_file;
  write_line(dump(j));
}

void EventLog::item_failed(std::string_view stage_id, std::string_view item_id, std::string_view source_file,
                           std::string_view message) {
  auto j = event("item_failed");
  j["stage"] = stage_id;
  j["item"] = item_id;
  j["source"] = source_file;
  j["message"] = message;
  write_line(dump(j));
}

void EventLog::unit_done(std::string_view unit_id, std::string_view source_file) {
  auto j = event("unit_done");
  j["unit"] = unit_id;
  j["source"] = source_file;
  write_line(dump(j));
}

void EventLog::output_written(std::string_view stage_id, std::string_view path, std::uint64_t bytes) {
  auto j = event("output_written");
  j["stage"] = stage_id;
  j["path"] = path;
  j["bytes"] = bytes;
  write_line(dump(j));
}

void EventLog::stage_end(std::string_view stage_id, const StageCounts& c) {
  auto j = event("stage_end");
  j["stage"] = stage_id;
  j["items_in"] = c.items_in;
  j["items_out"] = c.items_out;
  j["items_failed"] = c.items_failed;
  j["bytes_in"] = c.bytes_in;
  j["bytes_written"] = c.bytes_written;
  j["seconds"] = c.seconds;
  j["busy_seconds"] = c.busy_seconds;
  write_line(dump(j));
}

void EventLog::run_end(std::string_view status, int exit_code, double seconds, std::uint64_t items_failed) {
  auto j = event("run_end");
  j["status"] = status;
  j["exit_code"] = exit_code;
  j["seconds"] = seconds;
  j["items_failed"] = items_failed;
  write_line(dump(j));
}

} // namespace lumen::engine
