#include "progress.hpp"

#include <chrono>
#include <cstdio>

namespace lumen::engine {

namespace {
std::string duration_text(double s) {
  if (!(s >= 0) || s > 359999) return "--:--";
  const auto t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}
} // namespace

Progress::Progress(Console& console, const ResolvedPipeline& pipeline, std::function<Sample(std::size_t)> sample)
    : console_(console), pipeline_(pipeline), sample_(std::move(sample)) {
  thread_ = std::thread([this] { loop(); });
}

Progress::~Progress() {
  stop();
}

void Progress::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  console_.clear_status();
}

std::string Progress::render(double elapsed) const {
  std::size_t done = 0, total = 0;
  std::string stages;
  for (std::size_t i = 0; i < pipeline_.stages.size(); ++i) {
    const auto s = sample_(i);
    if (s.reader) {
      done += s.units_done;
      total += s.units_total;
    }
    stages += (stages.empty() ? "" : " | ") + pipeline_.stages[i].id + " " + std::to_string(s.items);
    if (s.failed) stages += " (" + std::to_string(s.failed) + " failed)";
  }
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : -1;
  char head[160];
  std::snprintf(head, sizeof head, "[%zu/%zu units %3.0f%%  %.1f/s  ETA %s] ", done, total,
                total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0.0, rate,
                duration_text(eta).c_str());
  return head + stages;
}

void Progress::loop() {
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  const auto period = console_.interactive() ? std::chrono::milliseconds(250) : std::chrono::milliseconds(1000);
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, period, [&] { return stop_; });
    if (stop_) break;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - t0).count();
    if (console_.interactive()) {
      console_.status(render(elapsed));
    } else if (now - last_log >= std::chrono::seconds(10)) {
      last_log = now;
      console_.log(LogLevel::info, "progress", render(elapsed));
    }
  }
}

} // namespace lumen::engine
