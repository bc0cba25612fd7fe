// The file-stage bases of the SDK: unit planning (ranges, file positions, ledger identities) and
// the conventional item id/index/file_index, and where FileWriter puts files.
#include "lumen/file_stages.hpp"
#include "lumen/testing.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

// Plans two ranges per file, as stack readers do.
class RangedReader final : public lumen::FileReader {
public:
  RangedReader() : FileReader({".dat"}, "test") {}
  std::vector<lumen::WorkUnit> plan() override {
    std::vector<lumen::WorkUnit> units;
    const auto files = input_files();
    for (std::size_t i = 0; i < files.size(); ++i)
      for (std::int64_t b = 0; b < 4; b += 2)
        units.push_back(file_unit(files[i], static_cast<std::int64_t>(i), b, b + 2));
    return units;
  }
  void read(const lumen::WorkUnit& unit, lumen::Emit& emit) override { emit(make_item(unit, unit.begin)); }
};

class NullWriter final : public lumen::FileWriter {
public:
  NullWriter() : lumen::FileWriter("{stem}_{index:03d}.dat") {}
  void process(lumen::Item& item, lumen::Emit& emit) override {
    const auto target = target_for(item);
    record_written(item, target, 0, "dat_path");
    emit(std::move(item));
  }
};

} // namespace

TEST_CASE("file readers: ranges of one file are distinct units that know their file's position", "[sdk][files]") {
  const fs::path dir = fs::temp_directory_path() / ("lumen-file-stages-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* name : {"b_10.dat", "b_2.dat"}) std::ofstream(dir / name) << "x";

  RangedReader reader;
  reader.path.assign(lumen::ParamValue{(dir / "*.dat").string()});
  reader.validate();
  const auto units = reader.plan();
  REQUIRE(units.size() == 4);
  std::set<std::string> identities;
  for (const auto& u : units) identities.insert(u.identity);
  CHECK(identities.size() == 4);                             // one ledger key per range
  CHECK(units[0].source_file == (dir / "b_2.dat").string()); // natural order: 2 before 10
  CHECK(units[2].file_index == 1);
  CHECK(units[3].id == "b_10.dat[2:4]");

  lumen::testing::Collect out;
  reader.read(units[3], out);
  REQUIRE(out.items.size() == 1);
  const lumen::Item item = out.items[0]; // a copy: out.items grows below
  CHECK(item.id() == "b_10/0002");
  CHECK(item.meta.get_int("index") == 2);
  CHECK(item.meta.get_int("file_index") == 1);
  CHECK(item.provenance.source_file == (dir / "b_10.dat").string());

  lumen::testing::Context ctx(dir);
  NullWriter writer;
  writer.attach(ctx);
  lumen::Item first = item, second = item; // process() moves the item on
  writer.process(first, out);
  CHECK(out.items.back().meta.get_string("dat_path") == "b_10_002.dat");
  writer.dir.assign(lumen::ParamValue{std::string("sub")});
  writer.process(second, out);
  CHECK(out.items.back().meta.get_string("dat_path") == "sub/b_10_002.dat");
  fs::remove_all(dir);
}

namespace {
class OneUnitReader final : public lumen::FileReader {
public:
  OneUnitReader() : FileReader({".dat"}, "test") {}
  void read(const lumen::WorkUnit& unit, lumen::Emit& emit) override { emit(make_item(unit)); }
};
} // namespace

TEST_CASE("file readers: recursive reads sub-directories and max_files keeps the first N files", "[sdk][files]") {
  const fs::path dir = fs::temp_directory_path() / ("lumen-file-stages-max-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "a");
  fs::create_directories(dir / "b");
  for (const char* name : {"a/f_2.dat", "a/f_10.dat", "b/f_1.dat", "top.dat"}) std::ofstream(dir / name) << "x";

  OneUnitReader reader;
  reader.path.assign(lumen::ParamValue{dir.string()});
  CHECK(reader.plan().size() == 1); // not recursive: top.dat only
  reader.recursive.assign(lumen::ParamValue{true});
  auto units = reader.plan();
  REQUIRE(units.size() == 4);
  CHECK(units[0].source_file == (dir / "a" / "f_2.dat").string());
  CHECK(units[3].source_file == (dir / "top.dat").string());
  reader.max_files.assign(lumen::ParamValue{std::int64_t{2}});
  units = reader.plan();
  REQUIRE(units.size() == 2);
  CHECK(units[1].source_file == (dir / "a" / "f_10.dat").string());
  CHECK(units[1].file_index == 1);
  reader.max_files.assign(lumen::ParamValue{std::int64_t{50}}); // more than there are: all of them
  CHECK(reader.plan().size() == 4);
  // The limit is declared like any parameter: negative values are refused before any data is read.
  CHECK_FALSE(reader.max_files.spec().check(lumen::ParamValue{std::int64_t{-1}}).empty());
  fs::remove_all(dir);
}
