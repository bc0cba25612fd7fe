// Tests of the QC pictures (qc/qc_render.hpp): qc_maps.png read back with the png set's decoder
// (size, many colours, the reject-ring red present exactly when frames are rejected, a raster
// and a scattered spiral, degenerate scans: one frame, constant values, NaN, all masked, a line
// scan), the errors (lengths, no frames, size, non-finite positions, an unwritable path), and
// the thumbnail gallery (log scaling and area averaging to exact values, dtypes and shapes,
// every thumbnail referenced by index.html and present, order by score, HTML escaping, errors).
//
// Run: build/bin/test_ptycho "[qc_render]"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "png_io.hpp"
#include "qc/qc_render.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace lumen;
using namespace lumen::ptycho::qc;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const lumen::Error& e) {
    return e.what();
  }
  return "(no lumen::Error)";
}

// A raster of nx x ny positions, `step` metres apart, with smooth maps and a few outliers.
ScanMaps raster(int nx, int ny, double step) {
  ScanMaps m;
  m.title = "raster.cxi: test scan";
  for (int j = 0; j < ny; ++j)
    for (int i = 0; i < nx; ++i) {
      const double u = static_cast<double>(i) / nx, v = static_cast<double>(j) / ny;
      m.x.push_back(i * step);
      m.y.push_back(j * step);
      m.score.push_back(0.1 + 0.05 * u);
      m.stxm.push_back(12 + std::sin(6 * u) * std::cos(4 * v));
      m.dpcx.push_back(0.3 * std::sin(5 * u + 2 * v));
      m.dpcy.push_back(-0.2 * std::cos(3 * v));
    }
  const std::size_t n = m.x.size();
  m.rejected.assign(n, 0);
  m.masked.assign(n, 0);
  for (std::size_t k : {std::size_t{7}, n / 2, n - 3}) {
    m.score[k] = 1.0;
    m.stxm[k] = 4;
    m.rejected[k] = 1;
  }
  for (std::size_t k = 0; k < n; k += 11) m.masked[k] = 1;
  return m;
}

struct Picture {
  png::DecodedPng png;
  std::set<std::uint32_t> colours;
  std::int64_t red = 0; // pixels of the reject-ring red
};

Picture look(const fs::path& file) {
  Picture p{png::read_png(file), {}, 0};
  const auto& img = p.png.image;
  REQUIRE(img.ndim() == 3);
  const auto v = img.view<std::uint8_t>();
  const int c = static_cast<int>(img.dim(2));
  for (std::int64_t y = 0; y < img.dim(0); ++y)
    for (std::int64_t x = 0; x < img.dim(1); ++x) {
      const std::uint8_t* px = &v.at(y, x, 0);
      p.colours.insert(static_cast<std::uint32_t>(px[0] << 16 | px[1] << 8 | px[2]));
      if (px[0] >= 200 && px[1] <= 40 && px[2] <= 40) ++p.red;
      (void)c;
    }
  return p;
}

bool no_temp_files(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().string().ends_with(".lumen-tmp")) return false;
  return true;
}

Array frame_u16(std::int64_t h, std::int64_t w, double cy, double cx, double peak) {
  Array a(DType::u16, {h, w});
  auto v = a.writable<std::uint16_t>();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      const double r2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
      v.at(y, x) = static_cast<std::uint16_t>(peak * std::exp(-r2 / 200.0) + 2);
    }
  return a;
}

} // namespace

TEST_CASE("qc maps: a raster with rejects draws four coloured panels and red rings", "[qc_render]") {
  test::TempDir tmp("qc_render");
  const ScanMaps m = raster(30, 25, 2e-6);
  const fs::path out = tmp.path() / "qc_maps.png";
  render_qc_maps(m, out);
  const Picture p = look(out);
  CHECK(p.png.image.dim(0) == 1300);
  CHECK(p.png.image.dim(1) == 1600);
  CHECK(p.colours.size() > 500);
  CHECK(p.red > 100); // three rejected frames ringed in each of the four panels and the legend
  CHECK(no_temp_files(tmp.path()));

  SECTION("no rejects: no red, still a full picture") {
    ScanMaps clean = m;
    clean.rejected.clear();
    render_qc_maps(clean, out, 800, 650);
    const Picture q = look(out);
    CHECK(q.png.image.dim(0) == 650);
    CHECK(q.png.image.dim(1) == 800);
    CHECK(q.colours.size() > 300);
    // The legend still shows one ring; with no rejected frame the maps add none.
    CHECK(q.red < p.red / 4);
  }
}

TEST_CASE("qc maps: a raster fills its panels (markers sized from the scan step)", "[qc_render]") {
  test::TempDir tmp("qc_render");
  ScanMaps m = raster(20, 20, 1e-6);
  m.masked.clear();
  m.rejected.clear();
  // A little position jitter, as encoders report it.
  for (std::size_t i = 0; i < m.x.size(); ++i) {
    m.x[i] += 0.03e-6 * std::sin(static_cast<double>(i) * 1.7);
    m.y[i] += 0.03e-6 * std::cos(static_cast<double>(i) * 2.3);
  }
  const fs::path out = tmp.path() / "maps.png";
  render_qc_maps(m, out);
  const auto png = png::read_png(out);
  const auto v = png.image.view<std::uint8_t>();
  std::int64_t background = 0; // the plot boxes' light grey, visible wherever no marker covers
  for (std::int64_t y = 0; y < png.image.dim(0); ++y)
    for (std::int64_t x = 0; x < png.image.dim(1); ++x)
      background += v.at(y, x, 0) == 245 && v.at(y, x, 1) == 245 && v.at(y, x, 2) == 245;
  CHECK(background > 0);                                        // the margin around the scan
  CHECK(background < png.image.dim(0) * png.image.dim(1) / 30); // but no holes between frames
}

TEST_CASE("qc maps: scattered positions (Fermat spiral) are drawn where measured", "[qc_render]") {
  test::TempDir tmp("qc_render");
  ScanMaps m;
  m.position_unit = "um";
  const int n = 600;
  for (int k = 0; k < n; ++k) {
    const double r = 0.8 * std::sqrt(static_cast<double>(k)), th = k * 2.39996323;
    m.x.push_back(r * std::cos(th) + 50);
    m.y.push_back(r * std::sin(th) - 20);
    m.score.push_back(std::fmod(k * 0.37, 1.0));
    m.stxm.push_back(r);
    m.dpcx.push_back(std::cos(th));
    m.dpcy.push_back(std::sin(th));
  }
  m.rejected.assign(n, 0);
  m.rejected[100] = 1;
  const fs::path out = tmp.path() / "spiral.png";
  render_qc_maps(m, out, 1200, 1000);
  const Picture p = look(out);
  CHECK(p.png.image.dim(0) == 1000);
  CHECK(p.png.image.dim(1) == 1200);
  CHECK(p.colours.size() > 500);
  CHECK(p.red > 20);
}

TEST_CASE("qc maps: degenerate scans give a sane picture", "[qc_render]") {
  test::TempDir tmp("qc_render");
  const fs::path out = tmp.path() / "maps.png";
  const double nan = std::numeric_limits<double>::quiet_NaN();

  SECTION("one frame") {
    ScanMaps m;
    m.x = {1e-3};
    m.y = {2e-3};
    m.score = {0.5};
    m.stxm = {10};
    m.dpcx = {0};
    m.dpcy = {0};
    m.rejected = {1};
    render_qc_maps(m, out, 800, 650);
    const Picture p = look(out);
    CHECK(p.png.image.dim(1) == 800);
    CHECK(p.colours.size() > 20);
    CHECK(p.red > 0);
  }
  SECTION("constant values, all frames at one position") {
    ScanMaps m;
    m.x.assign(10, 0.0);
    m.y.assign(10, 0.0);
    m.score.assign(10, 0.0);
    m.stxm.assign(10, 3.0);
    m.dpcx.assign(10, 0.0);
    m.dpcy.assign(10, 0.0);
    render_qc_maps(m, out, 800, 650);
    CHECK(look(out).colours.size() > 20);
  }
  SECTION("NaN values, everything masked, a line scan") {
    ScanMaps m = raster(40, 1, 1e-7);
    std::fill(m.stxm.begin(), m.stxm.end(), nan);
    m.dpcx[3] = nan;
    m.masked.assign(m.x.size(), 1);
    render_qc_maps(m, out, 800, 650);
    const Picture p = look(out);
    CHECK(p.png.image.dim(0) == 650);
    CHECK(p.colours.size() > 50);
  }
  CHECK(no_temp_files(tmp.path()));
}

TEST_CASE("qc maps: bad input is a clear error and writes nothing", "[qc_render]") {
  test::TempDir tmp("qc_render");
  const fs::path out = tmp.path() / "maps.png";
  ScanMaps m = raster(5, 4, 1e-6);

  ScanMaps short_score = m;
  short_score.score.pop_back();
  CHECK(contains(error_text([&] { render_qc_maps(short_score, out); }), "score has 19 values but x has 20"));
  ScanMaps short_flags = m;
  short_flags.rejected.resize(3);
  CHECK(contains(error_text([&] { render_qc_maps(short_flags, out); }), "rejected has 3 values"));
  CHECK(contains(error_text([&] { render_qc_maps(ScanMaps{}, out); }), "no frames"));
  CHECK(contains(error_text([&] { render_qc_maps(m, out, 10, 10); }), "out of range"));
  ScanMaps bad_pos = m;
  bad_pos.y[2] = std::numeric_limits<double>::infinity();
  CHECK(contains(error_text([&] { render_qc_maps(bad_pos, out); }), "frame 2 has a non-finite stage position"));
  CHECK_FALSE(fs::exists(out));

  std::ofstream(tmp.path() / "a_file") << "x";
  CHECK_THROWS(render_qc_maps(m, tmp.path() / "a_file" / "maps.png"));
  CHECK(no_temp_files(tmp.path()));
}

TEST_CASE("qc thumbs: log1p scaling and area averaging give exact 8-bit values", "[qc_render]") {
  test::TempDir tmp("qc_render");
  const double e = std::exp(1.0);
  SECTION("log scale, min to max") {
    Array f(DType::f64, {2, 2});
    auto v = f.writable<double>();
    v.at(0, 0) = -5; // negative counts clip to 0
    v.at(0, 1) = e - 1;
    v.at(1, 0) = e * e - 1;
    v.at(1, 1) = e * e * e - 1;
    write_thumbs_gallery({Thumb{3, 0, 0, 0.5, "", f}}, tmp.path(), "t", 8);
    const auto png = png::read_png(tmp.path() / "frame_3.png");
    REQUIRE(png.image.shape() == Shape({2, 2}));
    const auto p = png.image.view<std::uint8_t>();
    CHECK(p.at(0, 0) == 0);
    CHECK(p.at(0, 1) == 85);
    CHECK(p.at(1, 0) == 170);
    CHECK(p.at(1, 1) == 255);
  }
  SECTION("2x2 blocks averaged in log space") {
    // log values: columns 0-1 are 0, columns 2-3 are 2, one pixel of the bottom-right block 4.
    Array f(DType::f32, {4, 4});
    auto v = f.writable<float>();
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) v.at(y, x) = x < 2 ? 0.0f : static_cast<float>(e * e - 1);
    v.at(3, 3) = static_cast<float>(std::pow(e, 4) - 1);
    write_thumbs_gallery({Thumb{0, 0, 0, 0.5, "", f}}, tmp.path(), "t", 2);
    const auto png = png::read_png(tmp.path() / "frame_0.png");
    REQUIRE(png.image.shape() == Shape({2, 2}));
    const auto p = png.image.view<std::uint8_t>();
    CHECK(p.at(0, 0) == 0);
    CHECK(p.at(1, 0) == 0);
    CHECK(p.at(0, 1) == 204); // 2 / 2.5 of the range
    CHECK(p.at(1, 1) == 255); // (2 + 2 + 2 + 4) / 4 = 2.5
  }
}

TEST_CASE("qc thumbs: the gallery references every thumbnail, sorted by score, escaped", "[qc_render]") {
  test::TempDir tmp("qc_render");
  const fs::path dir = tmp.path() / "thumbs";
  Array stack(DType::f32, {1, 100, 60});
  auto sv = stack.writable<float>();
  for (std::int64_t y = 0; y < 100; ++y)
    for (std::int64_t x = 0; x < 60; ++x) sv.at(0, y, x) = static_cast<float>(x == 30 ? 5000 : y);
  Array with_nan(DType::f64, {50, 50});
  auto nv = with_nan.writable<double>();
  for (std::int64_t y = 0; y < 50; ++y)
    for (std::int64_t x = 0; x < 50; ++x) nv.at(y, x) = (x + y) % 7 == 0 ? std::nan("") : x * y - 100.0;
  const std::vector<Thumb> thumbs{
      {12, 1.5e-6, -2.25e-6, 0.40, "intensity drop", frame_u16(512, 512, 256, 256, 4000)},
      {5, 3e-6, 0, 0.95, "hot <line> & \"quotes\"", frame_u16(64, 64, 10, 50, 60000)},
      {40, 0, 4.5e-6, 0.70, "", stack},
      {7, 1e-6, 1e-6, std::nan(""), "no score", with_nan},
      {8, 2e-6, 1e-6, 0.10, "blank", Array(DType::u8, {32, 32})},
  };
  const auto written = write_thumbs_gallery(thumbs, dir, "scan <7> & co", 64, "m");
  REQUIRE(written.size() == 6);
  CHECK(written.back() == dir / "index.html");
  CHECK(no_temp_files(dir));

  const std::string html = read_text(dir / "index.html");
  for (const Thumb& t : thumbs) {
    const std::string name = "frame_" + std::to_string(t.index) + ".png";
    CHECK(contains(html, "src=\"" + name + "\""));
    REQUIRE(fs::exists(dir / name));
    const auto png = png::read_png(dir / name);
    CHECK(std::max(png.image.dim(0), png.image.dim(1)) <= 64);
  }
  CHECK(png::read_png(dir / "frame_12.png").image.shape() == Shape({64, 64}));
  CHECK(png::read_png(dir / "frame_40.png").image.shape() == Shape({64, 38})); // 100 x 60, aspect kept
  CHECK(png::read_png(dir / "frame_8.png").image.shape() == Shape({32, 32}));  // small: not enlarged
  // The peak of frame 12 (centre) is brighter than its corner.
  const auto png12 = png::read_png(dir / "frame_12.png");
  const auto f12 = png12.image.view<std::uint8_t>();
  CHECK(f12.at(32, 32) == 255);
  CHECK(f12.at(0, 0) < 30);

  // Order: 0.95 (5), 0.70 (40), 0.40 (12), 0.10 (8), then the NaN score (7).
  const auto at = [&](std::int64_t i) { return html.find("alt=\"frame " + std::to_string(i) + "\""); };
  CHECK(at(5) < at(40));
  CHECK(at(40) < at(12));
  CHECK(at(12) < at(8));
  CHECK(at(8) < at(7));
  CHECK(contains(html, "score 0.950"));
  CHECK(contains(html, "score n/a"));
  CHECK(contains(html, "x 1.5, y -2.25 \u00b5m")); // metres shown in µm
  CHECK(contains(html, "hot &lt;line&gt; &amp; &quot;quotes&quot;"));
  CHECK_FALSE(contains(html, "<line>"));
  CHECK(contains(html, "<title>scan &lt;7&gt; &amp; co</title>"));
  // Self-contained: no external resources, no scripts.
  CHECK_FALSE(contains(html, "http"));
  CHECK_FALSE(contains(html, "<script"));
  CHECK_FALSE(contains(html, "<link"));
}

TEST_CASE("qc thumbs: bad thumbs are clear errors", "[qc_render]") {
  test::TempDir tmp("qc_render");
  const Array ok(DType::u16, {8, 8});
  CHECK(contains(error_text([&] {
                   (void)write_thumbs_gallery({{1, 0, 0, 1, "", ok}, {1, 0, 0, 0.5, "", ok}}, tmp.path(), "t");
                 }),
                 "frame 1 appears twice"));
  CHECK(contains(error_text([&] {
                   (void)write_thumbs_gallery({{-1, 0, 0, 1, "", ok}}, tmp.path(), "t");
                 }),
                 "negative"));
  CHECK(contains(error_text([&] {
                   (void)write_thumbs_gallery({{2, 0, 0, 1, "", Array(DType::u8, {16})}}, tmp.path(), "t");
                 }),
                 "frame 2 has shape (16)"));
  CHECK(contains(error_text([&] {
                   (void)write_thumbs_gallery({{2, 0, 0, 1, "", Array()}}, tmp.path(), "t");
                 }),
                 "frame 2 has shape (empty)"));
  CHECK(contains(error_text([&] { (void)write_thumbs_gallery({}, tmp.path(), "t", 0); }), "side 0 px is out of range"));
  // No thumbs at all: an index that says so.
  const auto written = write_thumbs_gallery({}, tmp.path() / "empty", "nothing");
  REQUIRE(written.size() == 1);
  CHECK(contains(read_text(written[0]), "0 frames"));
}
