#include "lumen/error.hpp"
#include "lumen/input_paths.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {
class TempDir {
public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("lumen-test-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  [[nodiscard]] const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

void touch(const fs::path& p) {
  std::ofstream(p) << "";
}
} // namespace

TEST_CASE("glob patterns match file names like a shell", "[paths]") {
  using lumen::glob_match;
  CHECK(glob_match("*.png", "a.png"));
  CHECK(glob_match("*.png", {".png"}) == false);
  CHECK(glob_match(".*", ".hidden"));
  CHECK(glob_match("f_??.png", "f_01.png"));
  CHECK_FALSE(glob_match("f_??.png", "f_1.png"));
  CHECK(glob_match("a*b*c", "aXXbYYc"));
  CHECK(glob_match("a*b*c", "abbbc"));
  CHECK_FALSE(glob_match("a*b*c", "abbbcd"));
  CHECK(glob_match("*", "anything"));
  CHECK(glob_match("exact.png", "exact.png"));
  CHECK_FALSE(glob_match("exact.png", "exact.pngx"));
}

TEST_CASE("input paths expand to sorted file lists", "[paths]") {
  const TempDir tmp("paths");
  for (const char* n : {"b.png", "a.png", "c.PNG", ".hidden.png", "notes.txt", "f_10.png"}) touch(tmp.path() / n);
  fs::create_directories(tmp.path() / "sub.png");

  const auto dir = lumen::expand_input_path(tmp.path().string(), {".png"});
  std::vector<std::string> names;
  for (const auto& p : dir) names.push_back(p.filename().string());
  CHECK(names == std::vector<std::string>{"a.png", "b.png", "c.PNG", "f_10.png"});

  const auto glob = lumen::expand_input_path((tmp.path() / "?.png").string(), {".png"});
  REQUIRE(glob.size() == 2);
  CHECK(glob[0] == tmp.path() / "a.png");

  CHECK(lumen::expand_input_path((tmp.path() / "b.png").string(), {".png"}).size() == 1);

  try {
    (void)lumen::expand_input_path((tmp.path() / "z*.png").string(), {".png"});
    FAIL("no error");
  } catch (const lumen::InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("no file matches"));
    CHECK_THAT(e.what(), Catch::Contains("z*.png"));
  }
  try {
    (void)lumen::expand_input_path((tmp.path() / "missing_dir" / "*.png").string(), {".png"});
    FAIL("no error");
  } catch (const lumen::InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("missing_dir' does not exist"));
  }
  CHECK_THROWS_AS(lumen::expand_input_path((tmp.path() / "absent.png").string(), {".png"}), lumen::InputError);
  CHECK_THROWS_AS(lumen::expand_input_path((tmp.path() / "sub.png").string(), {".png"}), lumen::InputError);
  CHECK_FALSE(lumen::check_input_spec("d*/x.png").empty());
  CHECK(lumen::check_input_spec("d/x*.png").empty());
}

TEST_CASE("numbered files sort in natural order", "[paths]") {
  using lumen::natural_less;
  CHECK(natural_less("frame_2.tif", "frame_10.tif"));
  CHECK_FALSE(natural_less("frame_10.tif", "frame_2.tif"));
  CHECK(natural_less("slice_009.tif", "slice_010.tif"));
  CHECK(natural_less("a.tif", "b.tif"));
  CHECK(natural_less("x7", "x07")); // equal value: fewer leading zeros first, so the order is total
  CHECK_FALSE(natural_less("same", "same"));
  const TempDir tmp("natural");
  for (const char* n : {"f_10.tif", "f_9.tif", "f_100.tif", "f_1.tif", "F_2.TIF"}) touch(tmp.path() / n);
  const auto files = lumen::expand_input_path(tmp.path().string(), {".tif", ".tiff"});
  std::vector<std::string> names;
  for (const auto& p : files) names.push_back(p.filename().string());
  CHECK(names == std::vector<std::string>{"F_2.TIF", "f_1.tif", "f_9.tif", "f_10.tif", "f_100.tif"});
  CHECK_THROWS_WITH(lumen::expand_input_path(tmp.path().string(), {".fits", ".fit"}),
                    Catch::Contains("the directory has no *.fits, *.fit files"));
}

TEST_CASE("recursive directory mode descends into sub-directories, skipping hidden ones", "[paths]") {
  const TempDir tmp("recursive");
  for (const char* d : {"s/B/Cell_02", "s/B/Cell_10", "s/A/Cell_01", "s/.cache"})
    fs::create_directories(tmp.path() / d);
  for (const char* n : {"s/B/Cell_10/x.mrc", "s/B/Cell_02/y.mrc", "s/A/Cell_01/z.mrc", "s/.cache/hidden.mrc",
                        "s/top.mrc", "s/A/notes.txt"})
    touch(tmp.path() / n);
  // Not recursive: only the directory itself.
  const auto flat = lumen::expand_input_path((tmp.path() / "s").string(), {".mrc"});
  REQUIRE(flat.size() == 1);
  CHECK(flat[0].filename() == "top.mrc");
  // Recursive: every folder below, natural order of the full paths, hidden folders skipped.
  const auto all = lumen::expand_input_path((tmp.path() / "s").string(), {".mrc"}, true);
  std::vector<std::string> rel;
  for (const auto& p : all) rel.push_back(p.lexically_relative(tmp.path() / "s").generic_string());
  CHECK(rel == std::vector<std::string>{"A/Cell_01/z.mrc", "B/Cell_02/y.mrc", "B/Cell_10/x.mrc", "top.mrc"});
  CHECK_THROWS_WITH(lumen::expand_input_path((tmp.path() / "s").string(), {".fits"}, true),
                    Catch::Contains("the directory and its sub-directories have no *.fits files"));
}
