// Streaming execution of a resolved pipeline.
//
// Items flow through bounded queues (at most `queue_capacity` items and `queue_bytes` of array
// data per stage input; one item always fits), so peak memory depends on those bounds and the
// thread count, not on the number of inputs. Stages
// whose class declares `concurrent` process items on `threads` workers; others on one.
#pragma once

#include "lumen/engine/console.hpp"
#include "lumen/engine/pipeline.hpp"
#include "lumen/engine/run_dir.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace lumen::engine {

enum ExitCode : int { kExitOk = 0, kExitUsage = 1, kExitItemsFailed = 2, kExitFatal = 3 };

struct RunOptions {
  int threads = 0;                                 // 0: all cores
  std::size_t queue_capacity = 0;                  // 0: 4 x threads, at least 8
  std::size_t queue_bytes = std::size_t{64} << 20; // array bytes queued per stage input (64 MiB)
  bool fail_fast = false;
  bool use_ledger = true;      // skip work the ledger records as done
  std::string redo_from_stage; // `lumen resume --from`: redo leaves downstream of this stage
};

struct RunResult {
  int exit_code = kExitOk;
  std::uint64_t items_failed = 0;
  std::uint64_t units_planned = 0, units_skipped = 0, units_done = 0;
  double seconds = 0;
  std::string fatal_message;
};

/// Asks running pipelines to stop soon: no new work units start, queued items are dropped,
/// the run ends with status "interrupted" (exit code 3). Async-signal-safe: the host calls it
/// from its SIGINT/SIGTERM handler. Files being written are abandoned, never left truncated.
void request_stop() noexcept;

/// Runs the pipeline into `run_dir`: writes config.yaml, events and ledger, then streams.
[[nodiscard]] RunResult execute(ResolvedPipeline& pipeline, const RunDir& run_dir, const RunOptions& options,
                                Console& console);

} // namespace lumen::engine
