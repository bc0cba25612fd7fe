#include "lumen/engine/executor.hpp"

#include "bounded_queue.hpp"
#include "lumen/atomic_file.hpp"
#include "lumen/engine/events.hpp"
#include "lumen/engine/ledger.hpp"
#include "progress.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace lumen::detail {
// Ties every item to the work unit it came from. When the last item of a unit is gone, the
// unit is complete and its leaves are recorded in the ledger.
struct UnitToken {
  std::function<void(UnitToken&)> on_complete;
  std::size_t reader = 0;        // stage index of the source
  std::size_t unit = 0;          // index into that source's plan
  std::uint64_t done_leaves = 0; // leaves already complete for this unit (from the ledger)
  std::mutex mutex;
  std::uint64_t failed_leaves = 0; // leaves some item of this unit failed to reach
  UnitToken() = default;
  UnitToken(const UnitToken&) = delete;
  UnitToken& operator=(const UnitToken&) = delete;
  ~UnitToken() {
    if (on_complete) on_complete(*this);
  }
};
} // namespace lumen::detail

namespace lumen::engine {

namespace {

using Clock = std::chrono::steady_clock;

// Time this thread spent blocked handing items to full downstream queues; subtracted from
// the stage's busy time so busy_seconds measures the stage's own work.
thread_local std::int64_t t_blocked_ns = 0;

// Set from a signal handler; read by every run's watcher thread.
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "request_stop must be async-signal-safe");
using detail::UnitToken;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct StageState;

class StageContext final : public Context {
public:
  StageContext(const RunDir& run, std::string stage_id, int threads, Console& console, EventLog& events,
               StageState& state)
      : run_(run), stage_id_(std::move(stage_id)), threads_(threads), console_(console), events_(events),
        state_(state) {}
  const std::string& run_id() const override { return run_.run_id; }
  const std::string& stage_id() const override { return stage_id_; }
  const std::filesystem::path& outputs_dir() const override { return run_.outputs; }
  std::filesystem::path artifacts_dir() const override {
    auto dir = run_.artifacts / stage_id_;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message());
    return dir;
  }
  int threads() const override { return threads_; }
  void log(LogLevel level, std::string_view message) const override { console_.log(level, stage_id_, message); }
  void record_output(const std::filesystem::path& path, std::uint64_t bytes) const override;

private:
  const RunDir& run_;
  std::string stage_id_;
  int threads_;
  Console& console_;
  EventLog& events_;
  StageState& state_;
};

struct StageState {
  std::atomic<std::uint64_t> items_in{0}, items_out{0}, items_failed{0}, bytes_in{0}, bytes_written{0};
  std::atomic<std::int64_t> busy_ns{0};
  std::atomic<std::int64_t> first_ns{-1}, last_ns{0};
  std::unique_ptr<BoundedQueue<Item>> queue; // input queue (processors only)
  std::unique_ptr<StageContext> context;
  std::uint64_t reach_leaves = 0; // leaves reachable from this stage (bit per stage index)
  std::uint64_t ancestors = 0;    // this stage and every stage upstream of it
  bool after_aggregator = false;  // an aggregator is this stage or upstream of it
  int workers = 1;
  std::atomic<int> workers_left{0};
  std::vector<WorkUnit> plan;             // readers; identities are dropped once hashed
  std::vector<std::string> unit_hashes;   // stable_hash(identity) per planned unit
  std::vector<std::uint64_t> done_leaves; // per planned unit: leaves the ledger records as done
  std::atomic<std::size_t> next_unit{0};
  std::size_t units_to_run = 0;
  std::atomic<std::size_t> units_read{0};
};

void StageContext::record_output(const std::filesystem::path& path, std::uint64_t bytes) const {
  state_.bytes_written += bytes;
  // Lexically first: std::filesystem::relative resolves both paths (a readlink per component,
  // ~11 system calls per file), which a writer of small files (tile.write) paid per file. It is
  // the fallback for paths that do not lie lexically under the run directory.
  const auto outside = [](const std::filesystem::path& r) { return r.empty() || r.native().rfind("..", 0) == 0; };
  std::error_code ec;
  auto rel = path.lexically_normal().lexically_relative(run_.root.lexically_normal());
  if (outside(rel)) rel = std::filesystem::relative(path, run_.root, ec);
  const auto shown = (ec || outside(rel)) ? path : rel;
  events_.output_written(stage_id_, shown.string(), bytes);
}

class Run {
public:
  Run(ResolvedPipeline& p, const RunDir& dir, const RunOptions& opt, Console& console)
      : p_(p), dir_(dir), opt_(opt), console_(console) {}
  RunResult execute();

private:
  void prepare();
  void plan_units();
  void reader_worker(std::size_t s);
  void processor_worker(std::size_t s);
  void stage_finished(std::size_t s);
  void deliver(std::size_t from, Item&& item);
  void fail(std::size_t s, const Item* item, const std::string& message);
  void unit_complete(UnitToken& t);
  void abort_run();
  std::string leaf_key(std::size_t reader, std::size_t unit, std::size_t leaf) const;
  void mark(std::size_t s) {
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0_).count();
    std::int64_t expected = -1;
    states_[s]->first_ns.compare_exchange_strong(expected, now);
    states_[s]->last_ns = now;
  }

  ResolvedPipeline& p_;
  const RunDir& dir_;
  const RunOptions& opt_;
  Console& console_;
  int threads_ = 1;
  std::size_t capacity_ = 8;
  Clock::time_point t0_ = Clock::now();
  std::vector<std::unique_ptr<StageState>> states_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<Ledger> ledger_;
  std::vector<std::string> stage_hashes_;
  std::vector<std::string> leaf_suffix_; // per stage: "|id:hash" of it and every stage upstream
  std::atomic<bool> aborted_{false};
  std::atomic<bool> interrupted_{false};
  std::atomic<std::uint64_t> failures_{0}, units_done_{0};
  std::uint64_t units_planned_ = 0, units_skipped_ = 0;
  bool stop_on_any_error_ = false;
};

void Run::prepare() {
  const std::size_t n = p_.stages.size();
  if (n > 64) throw Error("a pipeline may have at most 64 stages, this one has " + std::to_string(n));
  threads_ = opt_.threads > 0 ? opt_.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  capacity_ =
      opt_.queue_capacity > 0 ? opt_.queue_capacity : std::max<std::size_t>(8, 4 * static_cast<std::size_t>(threads_));
  stop_on_any_error_ = opt_.fail_fast || p_.stop_on_error;

  // Stages that want ordered input get a serial upstream: one worker per upstream stage.
  std::vector<bool> serial(n, false);
  for (std::size_t i = n; i-- > 0;)
    if (p_.stages[i].factory->ordered_input || serial[i])
      for (auto in : p_.stages[i].inputs) serial[in] = true;

  for (std::size_t i = 0; i < n; ++i) {
    auto st = std::make_unique<StageState>();
    const auto& s = p_.stages[i];
    st->workers = (s.factory->concurrent && !serial[i]) ? threads_ : 1;
    st->ancestors = std::uint64_t{1} << i;
    st->after_aggregator = s.stage->kind() == StageKind::aggregator;
    for (auto in : s.inputs) {
      st->ancestors |= states_[in]->ancestors;
      st->after_aggregator = st->after_aggregator || states_[in]->after_aggregator;
    }
    if (s.stage->kind() != StageKind::reader) {
      std::size_t producers = 0;
      for (auto in : s.inputs) producers += static_cast<std::size_t>(states_[in]->workers);
      st->queue = std::make_unique<BoundedQueue<Item>>(capacity_, producers, opt_.queue_bytes,
                                                       [](const Item& item) { return item.nbytes(); });
    }
    st->context = std::make_unique<StageContext>(dir_, s.id, threads_, console_, *events_, *st);
    states_.push_back(std::move(st));
    stage_hashes_.push_back(p_.stage_hash(i));
  }
  for (std::size_t leaf = 0; leaf < n; ++leaf) {
    std::string suffix;
    for (std::size_t i = 0; i < n; ++i)
      if (states_[leaf]->ancestors & (std::uint64_t{1} << i)) suffix += "|" + p_.stages[i].id + ":" + stage_hashes_[i];
    leaf_suffix_.push_back(std::move(suffix));
  }
  for (std::size_t i = n; i-- > 0;) {
    if (p_.stages[i].outputs.empty()) states_[i]->reach_leaves = std::uint64_t{1} << i;
    for (auto o : p_.stages[i].outputs) states_[i]->reach_leaves |= states_[o]->reach_leaves;
  }
}

std::string Run::leaf_key(std::size_t reader, std::size_t unit, std::size_t leaf) const {
  return stable_hash(states_[reader]->unit_hashes[unit] + leaf_suffix_[leaf]);
}

void Run::plan_units() {
  std::uint64_t redo_mask = 0;
  if (!opt_.redo_from_stage.empty()) {
    bool found = false;
    for (std::size_t i = 0; i < p_.stages.size(); ++i)
      if (p_.stages[i].id == opt_.redo_from_stage) {
        redo_mask = states_[i]->reach_leaves;
        found = true;
      }
    if (!found) throw Error("--from " + opt_.redo_from_stage + ": the pipeline has no stage with that id");
  }
  for (std::size_t i = 0; i < p_.stages.size(); ++i) {
    auto& s = p_.stages[i];
    if (s.stage->kind() != StageKind::reader) continue;
    auto& st = *states_[i];
    try {
      st.plan = static_cast<Reader&>(*s.stage).plan();
    } catch (const std::exception& e) {
      fail(i, nullptr, std::string("planning failed: ") + e.what());
      st.plan.clear();
    }
    // Keep 32 hex digits per unit instead of its identity text: memory per planned unit stays
    // small when a run plans hundreds of thousands of files.
    st.unit_hashes.reserve(st.plan.size());
    for (std::size_t u = 0; u < st.plan.size(); ++u) {
      st.plan[u].index = static_cast<std::int64_t>(u);
      st.unit_hashes.push_back(stable_hash(st.plan[u].identity));
      std::string().swap(st.plan[u].identity);
    }
    // What the ledger already holds, decided once per unit: leaves below an aggregator never
    // count as done (an aggregate needs all its inputs), nor do leaves `--from` asks to redo.
    st.done_leaves.assign(st.plan.size(), 0);
    if (opt_.use_ledger)
      for (std::size_t u = 0; u < st.plan.size(); ++u) {
        for (std::size_t leaf = 0; leaf < p_.stages.size(); ++leaf) {
          const auto bit = std::uint64_t{1} << leaf;
          if ((st.reach_leaves & bit) && !(redo_mask & bit) && !states_[leaf]->after_aggregator &&
              ledger_->contains(leaf_key(i, u, leaf)))
            st.done_leaves[u] |= bit;
        }
        if (st.done_leaves[u] == st.reach_leaves) ++units_skipped_;
      }
    units_planned_ += st.plan.size();
    st.units_to_run = st.plan.size();
  }
}

void Run::fail(std::size_t s, const Item* item, const std::string& message) {
  ++failures_;
  ++states_[s]->items_failed;
  const auto id = item ? item->id() : std::string("(stage)");
  const auto src = item ? item->provenance.source_file : std::string();
  events_->item_failed(p_.stages[s].id, id, src, message);
  console_.log(LogLevel::error, p_.stages[s].id,
               "item '" + id + "'" + (src.empty() ? "" : " from " + src) + " failed: " + message);
  if (item && item->unit_token()) {
    std::lock_guard lock(item->unit_token()->mutex);
    item->unit_token()->failed_leaves |= states_[s]->reach_leaves;
  }
  if (stop_on_any_error_ || p_.stages[s].stop_on_error) {
    console_.log(LogLevel::error, p_.stages[s].id,
                 opt_.fail_fast ? "stopping the run (--fail-fast)" : "stopping the run (on_error: stop)");
    abort_run();
  }
}

void Run::abort_run() {
  if (aborted_.exchange(true)) return;
  for (auto& st : states_)
    if (st->queue) st->queue->abort();
}

void Run::unit_complete(UnitToken& t) {
  if (aborted_) return;
  auto& st = *states_[t.reader];
  const auto& unit = st.plan[t.unit];
  std::uint64_t failed;
  {
    std::lock_guard lock(t.mutex);
    failed = t.failed_leaves;
  }
  for (std::size_t leaf = 0; leaf < p_.stages.size(); ++leaf) {
    const auto bit = std::uint64_t{1} << leaf;
    if (!(st.reach_leaves & bit) || (t.done_leaves & bit) || (failed & bit) || states_[leaf]->after_aggregator)
      continue;
    ledger_->record(leaf_key(t.reader, t.unit, leaf), unit.id, p_.stages[leaf].id);
  }
  if (!failed) {
    ++units_done_;
    events_->unit_done(unit.id, unit.source_file);
  }
}

// Sends an item emitted by stage `from` to every downstream stage that still has work for
// its unit; a leaf stage marks the item done.
void Run::deliver(std::size_t from, Item&& item) {
  auto& st = *states_[from];
  ++st.items_out;
  item.provenance.stages.push_back(p_.stages[from].id);
  const auto& outs = p_.stages[from].outputs;
  if (outs.empty()) {
    events_->item_done(p_.stages[from].id, item.id(), item.provenance.source_file);
    return;
  }
  const std::uint64_t done = item.unit_token() ? item.unit_token()->done_leaves : 0;
  std::size_t last = outs.size();
  for (std::size_t k = outs.size(); k-- > 0;)
    if ((states_[outs[k]]->reach_leaves & ~done) != 0) {
      last = k;
      break;
    }
  for (std::size_t k = 0; k < outs.size(); ++k) {
    if ((states_[outs[k]]->reach_leaves & ~done) == 0) continue; // everything below is done for this unit
    auto& queue = *states_[outs[k]]->queue;
    const auto t_push = Clock::now();
    if (k == last)
      queue.push(std::move(item));
    else
      queue.push(Item(item)); // arrays are shared; writers copy on write
    t_blocked_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t_push).count();
    if (k == last) return;
  }
}

class EmitTo final : public Emit {
public:
  EmitTo(const std::function<void(Item&&)>& f) : f_(f) {}
  void operator()(Item item) override { f_(std::move(item)); }

private:
  const std::function<void(Item&&)>& f_;
};

void Run::reader_worker(std::size_t s) {
  auto& st = *states_[s];
  auto& reader = static_cast<Reader&>(*p_.stages[s].stage);
  std::shared_ptr<UnitToken> current;
  const std::function<void(Item &&)> sink = [&](Item&& item) {
    if (!item.unit_token()) item.set_unit_token(current);
    if (item.provenance.source_file.empty()) item.provenance.source_file = st.plan[current->unit].source_file;
    st.bytes_in += item.nbytes();
    deliver(s, std::move(item));
  };
  EmitTo emit(sink);
  while (!aborted_) {
    const std::size_t u = st.next_unit.fetch_add(1);
    if (u >= st.plan.size()) break;
    const auto& unit = st.plan[u];
    const std::uint64_t done = st.done_leaves[u];
    if (done == st.reach_leaves) {
      ++st.units_read;
      continue; // counted as skipped in run_start
    }
    current = std::make_shared<UnitToken>();
    current->reader = s;
    current->unit = u;
    current->done_leaves = done;
    current->on_complete = [this](UnitToken& t) { unit_complete(t); };
    ++st.items_in;
    mark(s);
    const auto t_start = Clock::now();
    t_blocked_ns = 0;
    try {
      reader.read(unit, emit);
    } catch (const std::exception& e) {
      Item failed_item(unit.id);
      failed_item.provenance.source_file = unit.source_file;
      failed_item.set_unit_token(current);
      fail(s, &failed_item, e.what());
    }
    st.busy_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t_start).count() - t_blocked_ns;
    mark(s);
    ++st.units_read;
    current.reset();
  }
}

void Run::processor_worker(std::size_t s) {
  auto& st = *states_[s];
  auto& stage = static_cast<Processor&>(*p_.stages[s].stage);
  const auto& req = stage.input_requirements();
  std::vector<std::string> accepted_units;
  for (std::size_t a = 0, b; a <= req.units.size() && !req.units.empty(); a = b + 1) {
    b = req.units.find('|', a);
    if (b == std::string::npos) b = req.units.size();
    accepted_units.push_back(req.units.substr(a, b - a));
  }
  const std::function<void(Item &&)> sink = [&](Item&& item) { deliver(s, std::move(item)); };
  EmitTo emit(sink);
  while (auto item = st.queue->pop()) {
    ++st.items_in;
    st.bytes_in += item->nbytes();
    mark(s);
    const auto t_start = Clock::now();
    t_blocked_ns = 0;
    try {
      for (const auto& a : req.arrays)
        if (!item->has(a)) (void)item->array(a); // throws a clear InputError naming what is there
      for (const auto& k : req.meta_keys)
        if (!item->meta.has(k))
          throw InputError(p_.stages[s].use + " requires the meta key '" + k + "', which item '" + item->id() +
                           "' does not have");
      if (!accepted_units.empty())
        if (const auto u = item->meta.get_string(keys::units);
            u && std::find(accepted_units.begin(), accepted_units.end(), *u) == accepted_units.end())
          throw InputError(p_.stages[s].use + " requires units " + req.units + ", but item '" + item->id() +
                           "' is in units '" + *u + "'");
      stage.process(*item, emit);
    } catch (const std::exception& e) {
      fail(s, &*item, e.what());
    }
    st.busy_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t_start).count() - t_blocked_ns;
    mark(s);
  }
}

// The last worker of a stage runs finish() and tells downstream queues one producer is done.
void Run::stage_finished(std::size_t s) {
  auto& st = *states_[s];
  auto& stage = *p_.stages[s].stage;
  if (auto* proc = dynamic_cast<Processor*>(&stage); proc && !aborted_) {
    const std::function<void(Item &&)> sink = [&](Item&& item) { deliver(s, std::move(item)); };
    EmitTo emit(sink);
    try {
      proc->finish(emit);
    } catch (const std::exception& e) {
      Item marker("(finish)");
      fail(s, &marker, std::string("finish failed: ") + e.what());
    }
  }
  StageCounts c;
  c.items_in = st.items_in;
  c.items_out = st.items_out;
  c.items_failed = st.items_failed;
  c.bytes_in = st.bytes_in;
  c.bytes_written = st.bytes_written;
  c.busy_seconds = static_cast<double>(st.busy_ns.load()) * 1e-9;
  c.seconds = st.first_ns < 0 ? 0.0 : static_cast<double>(st.last_ns - st.first_ns) * 1e-9;
  events_->stage_end(p_.stages[s].id, c);
}

RunResult Run::execute() {
  RunResult result;
  write_file_atomic(dir_.config_file(), p_.resolved_yaml());
  events_ = std::make_unique<EventLog>(dir_.events_file());
  ledger_ = std::make_unique<Ledger>(dir_.ledger_file());
  prepare();

  // start() every stage before any data flows; a failure here is fatal.
  for (std::size_t i = 0; i < p_.stages.size(); ++i) {
    auto& s = p_.stages[i];
    s.stage->attach(*states_[i]->context);
    try {
      s.stage->start();
    } catch (const std::exception& e) {
      throw Error("stage '" + s.id + "' (" + s.use + ") failed to start: " + e.what());
    }
  }
  plan_units();
  events_->run_start(dir_.run_id, p_.name, p_.file.string(), threads_, units_planned_, units_skipped_);
  if (units_skipped_ > 0)
    console_.log(LogLevel::info, "",
                 std::to_string(units_skipped_) + " of " + std::to_string(units_planned_) +
                     " work units are already complete in this run directory and are skipped");

  Progress progress(console_, p_, [this](std::size_t i) {
    const auto& st = *states_[i];
    return Progress::Sample{st.items_in.load(), st.items_failed.load(), st.units_read.load(), st.plan.size(),
                            p_.stages[i].stage->kind() == StageKind::reader};
  });

  // Watches for request_stop() (Ctrl-C) and turns it into an orderly abort.
  // It polls every 50 ms (a signal handler cannot notify), but wakes at once when the run ends, so
  // no run waits for its last poll.
  std::jthread watcher([this](std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    while (!stop.stop_requested()) {
      if (g_stop_requested.load()) {
        interrupted_ = true;
        console_.log(LogLevel::warn, "", "interrupted: stopping after the items in progress");
        abort_run();
        return;
      }
      wake.wait_for(lock, stop, std::chrono::milliseconds(50), [] { return false; });
    }
  });

  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < p_.stages.size(); ++i) {
    events_->stage_start(p_.stages[i].id, p_.stages[i].use);
    auto& st = *states_[i];
    st.workers_left = st.workers;
    const bool reader = p_.stages[i].stage->kind() == StageKind::reader;
    for (int w = 0; w < st.workers; ++w)
      threads.emplace_back([this, i, reader] {
        auto& s = *states_[i];
        if (reader)
          reader_worker(i);
        else
          processor_worker(i);
        if (--s.workers_left == 0) stage_finished(i);
        // Every worker is one producer of each downstream queue.
        for (auto o : p_.stages[i].outputs) states_[o]->queue->producer_done();
      });
  }
  for (auto& t : threads) t.join();
  watcher.request_stop();
  progress.stop();

  result.items_failed = failures_;
  result.units_planned = units_planned_;
  result.units_skipped = units_skipped_;
  result.units_done = units_done_;
  result.seconds = seconds_since(t0_);
  result.exit_code = interrupted_ ? kExitFatal : failures_ > 0 ? kExitItemsFailed : kExitOk;
  const std::string status = interrupted_    ? "interrupted"
                             : aborted_      ? "stopped"
                             : failures_ > 0 ? "items_failed"
                                             : "ok";
  if (interrupted_) result.fatal_message = "interrupted before the run finished; run it again to resume";
  events_->run_end(status, result.exit_code, result.seconds, failures_);
  return result;
}

} // namespace

void request_stop() noexcept {
  g_stop_requested.store(true);
}

RunResult execute(ResolvedPipeline& pipeline, const RunDir& run_dir, const RunOptions& options, Console& console) {
  Run run(pipeline, run_dir, options, console);
  try {
    return run.execute();
  } catch (const std::exception& e) {
    RunResult r;
    r.exit_code = kExitFatal;
    r.fatal_message = e.what();
    try {
      EventLog log(run_dir.events_file());
      log.run_end("fatal", kExitFatal, 0.0, 0);
    } catch (const std::exception&) {
    }
    return r;
  }
}

} // namespace lumen::engine
