// testkit: stages that exist only to exercise the host in tests.
//
//   testkit.count    reader: `count` items with meta index, an 4x4 u8 image, optional per-unit
//                    marker files (to observe which units were read)
//   testkit.throw    transform: throws for the items whose index is in `fail_indices`
//   testkit.sleep    transform: sleeps `ms` milliseconds per item (kill/resume tests)
//   testkit.write    writer: writes `<outputs>/<id>.txt` atomically, `bytes` bytes long
//   testkit.collect  aggregator: counts items, emits one summary item in finish()
//   testkit.to_electrons, testkit.adu_only: declare units, to exercise the units checks
//   testkit.jitter, testkit.expect_order, testkit.observe_order: ordered-input checks
#include "lumen/lumen.hpp"

#include <chrono>
#include <thread>

namespace {

class Count final : public lumen::Reader {
public:
  static constexpr const char* summary = "Test source: `count` tiny items";
  static constexpr const char* doc = "Emits one item per work unit with meta 'index' and a 4x4 u8 'image'.\n"
                                     "Example:\n  - id: src\n    use: testkit.count\n    with: {count: 3}";
  static constexpr bool concurrent = true;
  lumen::Param<int> count{
      this, "count", 3, "number of work units (one item each)", lumen::Min{0}, lumen::Max{10000000}};
  lumen::Param<std::string> units{this, "units", std::string("adu"), "value of meta 'units'",
                                  lumen::OneOf{{"adu", "electrons", "photons", "normalized", "counts"}}};
  lumen::Param<std::string> read_log{
      this, "read_log", std::string(""),
      "if set, a directory where reading unit N creates file N (tests see what was read)"};
  lumen::Produces out_{this, {.arrays = {"image"}, .meta_keys = {"index", "units"}, .units = ""}};

  std::vector<lumen::WorkUnit> plan() override {
    std::vector<lumen::WorkUnit> units_out;
    for (int i = 0; i < *count; ++i)
      units_out.push_back(
          {.id = "item" + std::to_string(i), .identity = "testkit.count#" + std::to_string(i), .index = i});
    return units_out;
  }
  void read(const lumen::WorkUnit& unit, lumen::Emit& emit) override {
    if (!read_log->empty()) lumen::write_file_atomic(std::filesystem::path(*read_log) / unit.id, "read\n");
    lumen::Item item(unit.id);
    lumen::Array a(lumen::DType::u8, {4, 4});
    for (auto& v : a.writable<std::uint8_t>()) v = static_cast<std::uint8_t>(unit.index);
    item.set("image", a);
    item.meta.set("index", unit.index);
    item.meta.set(lumen::keys::units, *units);
    emit(std::move(item));
  }
};

class Throw final : public lumen::Transform {
public:
  static constexpr const char* summary = "Test transform: fails chosen items";
  static constexpr const char* doc = "Throws lumen::InputError for items whose meta 'index' is in fail_indices.";
  static constexpr bool concurrent = true;
  lumen::Param<std::vector<std::int64_t>> fail_indices{this, "fail_indices", std::vector<std::int64_t>{},
                                                       "indices of the items to fail"};
  lumen::Requires in_{this, {.meta_keys = {"index"}}};
  void process(lumen::Item& item, lumen::Emit& emit) override {
    const auto index = item.meta.get_int("index").value_or(-1);
    for (auto f : *fail_indices)
      if (f == index) throw lumen::InputError("testkit.throw: deliberate failure of item " + std::to_string(index));
    emit(std::move(item));
  }
};

class Sleep final : public lumen::Transform {
public:
  static constexpr const char* summary = "Test transform: sleeps per item";
  static constexpr const char* doc = "Sleeps `ms` milliseconds, then passes the item on.";
  lumen::Param<int> ms{this, "ms", 10, "milliseconds per item", lumen::Min{0}, lumen::Max{60000}, lumen::Unit{"ms"}};
  void process(lumen::Item& item, lumen::Emit& emit) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(*ms));
    emit(std::move(item));
  }
};

class Write final : public lumen::Writer {
public:
  static constexpr const char* summary = "Test writer: one text file per item";
  static constexpr const char* doc = "Writes `bytes` bytes to <outputs>/<name> atomically, in small chunks.";
  static constexpr bool concurrent = true;
  lumen::Param<std::string> name{this, "name", std::string("{id}.txt"), "file-name template"};
  lumen::Param<int> bytes{this, "bytes", 100000, "file size in bytes", lumen::Min{1}, lumen::Max{100000000}};
  void validate() const override { lumen::check_name_pattern(*name, "name"); }
  void process(lumen::Item& item, lumen::Emit& emit) override {
    const auto path = ctx().outputs_dir() / lumen::expand_name(*name, item, ctx().stage_id());
    lumen::AtomicFile f(path);
    const std::string chunk(1000, 'x');
    for (int written = 0; written < *bytes; written += 1000) {
      const auto n = std::min<std::size_t>(1000, static_cast<std::size_t>(*bytes - written));
      f.write(chunk.data(), n);
    }
    ctx().record_output(path, f.commit());
    emit(std::move(item));
  }
};

class ToElectrons final : public lumen::Calibrator {
public:
  static constexpr const char* summary = "Test calibrator: relabels ADU as electrons";
  static constexpr const char* doc = "Sets meta units to electrons (no pixel change): exercises units checks.";
  static constexpr bool concurrent = true;
  lumen::Requires in_{this, {.units = "adu"}};
  lumen::Produces out_{this, {.units = "electrons"}};
  void process(lumen::Item& item, lumen::Emit& emit) override {
    item.meta.set(lumen::keys::units, "electrons");
    emit(std::move(item));
  }
};

class AduOnly final : public lumen::Transform {
public:
  static constexpr const char* summary = "Test transform: accepts only ADU";
  static constexpr const char* doc = "Passes items on; declares that it requires units adu.";
  static constexpr bool concurrent = true;
  lumen::Requires in_{this, {.units = "adu"}};
  void process(lumen::Item& item, lumen::Emit& emit) override { emit(std::move(item)); }
};

class Jitter final : public lumen::Transform {
public:
  static constexpr const char* summary = "Test transform: sleeps 0-4 ms depending on the item";
  static constexpr const char* doc = "Concurrent; sleeps (index * 7) % 5 ms, so parallel workers finish out of order.";
  static constexpr bool concurrent = true;
  void process(lumen::Item& item, lumen::Emit& emit) override {
    const auto index = item.meta.get_int("index").value_or(0);
    std::this_thread::sleep_for(std::chrono::milliseconds((index * 7) % 5));
    emit(std::move(item));
  }
};

// Checks the order it sees; `ordered` picks whether it asks the host for ordered input.
template <bool Ordered> class OrderCheck final : public lumen::Transform {
public:
  static constexpr const char* summary = "Test transform: fails an item that arrives out of source order";
  static constexpr const char* doc = "Fails any item whose meta index is below the previous one.";
  static constexpr bool ordered_input = Ordered;
  void process(lumen::Item& item, lumen::Emit& emit) override {
    const auto index = item.meta.get_int("index").value_or(0);
    if (index < last_)
      throw lumen::InputError("out of order: " + std::to_string(index) + " after " + std::to_string(last_));
    last_ = index;
    emit(std::move(item));
  }

private:
  std::int64_t last_ = -1; // serial stage: one worker
};

class Collect final : public lumen::Aggregator {
public:
  static constexpr const char* summary = "Test aggregator: counts items";
  static constexpr const char* doc = "Counts the items it sees and emits one item 'summary' in finish().";
  void process(lumen::Item&, lumen::Emit&) override { ++seen_; }
  void finish(lumen::Emit& emit) override {
    lumen::Item s("summary");
    s.meta.set("count", static_cast<std::int64_t>(seen_));
    emit(std::move(s));
  }

private:
  std::size_t seen_ = 0; // process() is serial for this stage (not concurrent)
};

} // namespace

LUMEN_PLUGIN("testkit", "1.0.0", "MIT", lumen::stage<Count>("testkit.count"), lumen::stage<Throw>("testkit.throw"),
             lumen::stage<Sleep>("testkit.sleep"), lumen::stage<Write>("testkit.write"),
             lumen::stage<Collect>("testkit.collect"), lumen::stage<ToElectrons>("testkit.to_electrons"),
             lumen::stage<AduOnly>("testkit.adu_only"), lumen::stage<Jitter>("testkit.jitter"),
             lumen::stage<OrderCheck<true>>("testkit.expect_order"),
             lumen::stage<OrderCheck<false>>("testkit.observe_order"));
