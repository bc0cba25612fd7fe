// The live progress line: items done per stage, source units done/total, rate and ETA.
// On a terminal it redraws one status line; otherwise it logs a plain line every 10 s.
#pragma once

#include "lumen/engine/console.hpp"
#include "lumen/engine/pipeline.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace lumen::engine {

class Progress {
public:
  struct Sample {
    std::uint64_t items = 0, failed = 0;
    std::size_t units_done = 0, units_total = 0;
    bool reader = false;
  };
  Progress(Console& console, const ResolvedPipeline& pipeline, std::function<Sample(std::size_t)> sample);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();
  void stop();

private:
  void loop();
  [[nodiscard]] std::string render(double elapsed) const;

  Console& console_;
  const ResolvedPipeline& pipeline_;
  std::function<Sample(std::size_t)> sample_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace lumen::engine
