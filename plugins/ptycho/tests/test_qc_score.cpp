// Tests of ptycho.qc_score and its scoring (qc/qc_score.hpp): on synthetic scans made by the synth
// set's PtychoScene (the pixels of synth.ptycho_scan) with frames corrupted in known ways (intensity
// drop, shifted beam, hot line, blank frame) at known indices, the corrupted frames rank at the top
// (recall within the top 2 x #bad at least 0.9); each reject mode; rect and circ regions (masked
// frames neither shape the statistics nor get rejected); robust statistics; the stage on a
// standardized file written by ptycho.write_std: every output, readable npy headers of the right
// shapes, CSV columns, qc_meta.json, ptypy_indices.json; and clear errors for bad paths and
// parameters.
//
// Run: build/bin/test_ptycho "[qc_score]"
#include "hdf5_io.hpp"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "npy_io.hpp"
#include "ptycho_scan.hpp"
#include "ptycho_stages.hpp"
#include "qc/qc_score.hpp"
#include "qc/qc_stage.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace lumen;
using namespace lumen::ptycho;
using lumen::test::error_of;
namespace fs = std::filesystem;

namespace {

template <typename S> void set(Param<S>& p, const S& v) {
  using Stored = std::conditional_t<std::is_same_v<S, int>, std::int64_t, S>;
  p.assign(ParamValue{Stored(v)});
}
void set(Param<std::string>& p, const char* v) {
  p.assign(ParamValue{std::string(v)});
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

struct Scan {
  Array frames; // (N, size, size) f32
  std::vector<double> x, y;
  std::vector<std::int64_t> bad; // corrupted frame indices
};

// A synthetic far-field scan (synth.ptycho_scan's pixels) with 2 frames of each corruption.
Scan corrupted_scan(std::int64_t positions = 120, int size = 64, std::uint64_t seed = 3) {
  synth::PtychoScanSpec spec;
  spec.size = size;
  spec.positions = positions;
  spec.photons = 2e6;
  spec.seed = seed;
  const synth::PtychoScene scene(spec);
  const synth::PtychoBlock b = synth::render_ptycho_frames(scene, 0, positions);
  Scan s;
  s.frames = b.frames.as(DType::f32);
  const auto pos = b.pos.view<double>();
  for (std::int64_t i = 0; i < positions; ++i) {
    s.x.push_back(pos.at(i, 0));
    s.y.push_back(pos.at(i, 1));
  }
  auto v = s.frames.writable<float>();
  const std::int64_t px = static_cast<std::int64_t>(size) * size;
  auto frame = [&](std::int64_t i) { return v.data() + i * px; };
  // Two frames of each kind, spread over the scan (for 120 positions: 11, 70 / 25, 88 / 40, 101 / 57, 115).
  auto at = [&](std::int64_t i) { return i * positions / 120; };
  // intensity drop (beam dump): 20 % of the counts
  for (const std::int64_t i : {at(11), at(70)}) {
    for (std::int64_t k = 0; k < px; ++k) frame(i)[k] *= 0.2f;
    s.bad.push_back(i);
  }
  // shifted beam: the pattern moved by (7, 5) pixels
  for (const std::int64_t i : {at(25), at(88)}) {
    std::vector<float> copy(frame(i), frame(i) + px);
    for (int yy = 0; yy < size; ++yy)
      for (int xx = 0; xx < size; ++xx)
        frame(i)[yy * size + xx] =
            copy[static_cast<std::size_t>(((yy + size - 7) % size) * size + (xx + size - 5) % size)];
    s.bad.push_back(i);
  }
  // hot detector line: one row at the saturation level
  for (const std::int64_t i : {at(40), at(101)}) {
    for (int xx = 0; xx < size; ++xx) frame(i)[(size / 6) * size + xx] = 60000.0f;
    s.bad.push_back(i);
  }
  // blank frame (shutter closed, detector read out empty)
  for (const std::int64_t i : {at(57), at(115)}) {
    std::fill(frame(i), frame(i) + px, 0.0f);
    s.bad.push_back(i);
  }
  return s;
}

qc::QcInput input_of(const Scan& s) {
  qc::QcInput in;
  in.frames = s.frames.dim(0);
  in.ny = s.frames.dim(1);
  in.nx = s.frames.dim(2);
  const Array frames = s.frames;
  in.read = [frames](std::int64_t b, std::int64_t e) { return frames.slice(b, e); };
  return in;
}

double recall_at(const qc::QcResult& r, const std::vector<std::int64_t>& bad, std::size_t k) {
  const auto order = qc::ranking(r.score, r.masked);
  const std::set<std::int64_t> top(order.begin(),
                                   order.begin() + static_cast<std::ptrdiff_t>(std::min(k, order.size())));
  std::size_t hit = 0;
  for (const auto i : bad) hit += top.count(i);
  return static_cast<double>(hit) / static_cast<double>(bad.size());
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string config_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.param() + ": " + e.what();
  }
  return "(no ConfigError)";
}

npy::Header npy_header(const fs::path& p) {
  const FileSource src(p);
  return npy::read_header(src);
}

} // namespace

TEST_CASE("qc_score: corrupted frames rank at the top (recall within 2 x #bad >= 0.9)", "[ptycho][qc_score]") {
  const Scan s = corrupted_scan();
  qc::QcOptions o;
  o.embed_side = 16;
  o.frames_per_block = 7; // blocks that do not divide N
  ThreadPool pool(2);
  SECTION("features and PCA together, with threads") {
    const qc::QcResult r = qc::score_frames(input_of(s), o, &pool);
    REQUIRE(r.frames() == 120);
    const double recall = recall_at(r, s.bad, 2 * s.bad.size());
    INFO("recall " << recall);
    REQUIRE(recall >= 0.9);
    for (const double v : r.score) {
      CHECK(v >= 0.0);
      CHECK(v < 1.0);
    }
    // The blank frames: zero intensity, similarity 0 and the lowest STXM.
    CHECK(r.feature(57, 0) == 0.0);
    CHECK(r.stxm[57] == 0.0);
    // The shifted beam moved the centre of mass by about (+5, +7) pixels.
    CHECK(r.dpcx[25] > 3.0);
    CHECK(r.dpcy[25] > 4.0);
  }
  SECTION("the same result on one thread, and with bin 2") {
    const qc::QcResult a = qc::score_frames(input_of(s), o, &pool);
    const qc::QcResult b = qc::score_frames(input_of(s), o, nullptr);
    CHECK(a.score == b.score);
    o.bin = 2;
    o.embed_side = 16;
    const qc::QcResult c = qc::score_frames(input_of(s), o, &pool);
    CHECK(recall_at(c, s.bad, 2 * s.bad.size()) >= 0.9);
  }
  SECTION("features alone (w_feat 1) and PCA alone (w_feat 0) each find most of them") {
    o.w_feat = 1.0;
    const qc::QcResult f = qc::score_frames(input_of(s), o, &pool);
    CHECK(recall_at(f, s.bad, 2 * s.bad.size()) >= 0.9);
    o.w_feat = 0.0;
    const qc::QcResult p = qc::score_frames(input_of(s), o, &pool);
    CHECK(recall_at(p, s.bad, 2 * s.bad.size()) >= 0.75);
  }
  SECTION("a clean scan has no frame above 0.5 bar the chance few") {
    const qc::QcResult clean = qc::score_frames(input_of(corrupted_scan(120, 64, 3)), o, &pool);
    std::size_t high = 0;
    for (std::size_t i = 0; i < clean.score.size(); ++i)
      if (std::find(s.bad.begin(), s.bad.end(), static_cast<std::int64_t>(i)) == s.bad.end() && clean.score[i] >= 0.5)
        ++high;
    CHECK(high <= 12); // the uncorrupted frames of the scan: at most 10 % flagged
  }
}

TEST_CASE("qc_score: NaN and inf pixels count as 0, the scores stay finite", "[ptycho][qc_score]") {
  Scan s = corrupted_scan(40, 32);
  auto v = s.frames.writable<float>();
  v.data()[5 * 32 * 32 + 100] = std::numeric_limits<float>::quiet_NaN();
  v.data()[6 * 32 * 32 + 200] = std::numeric_limits<float>::infinity();
  v.data()[7 * 32 * 32 + 300] = -std::numeric_limits<float>::infinity();
  qc::QcOptions o;
  o.embed_side = 8;
  const qc::QcResult r = qc::score_frames(input_of(s), o, nullptr);
  for (std::int64_t i = 0; i < r.frames(); ++i) {
    CHECK(std::isfinite(r.score[static_cast<std::size_t>(i)]));
    for (std::size_t j = 0; j < r.feature_count(); ++j) CHECK(std::isfinite(r.feature(i, j)));
  }
}

TEST_CASE("qc_score: tiny scans (1, 2, 3 frames) score without trouble", "[ptycho][qc_score]") {
  const Scan s = corrupted_scan(20, 32);
  for (const std::int64_t n : {1, 2, 3}) {
    Scan t = s;
    t.frames = s.frames.slice(0, n).contiguous_copy();
    qc::QcOptions o;
    o.embed_side = 8;
    const qc::QcResult r = qc::score_frames(input_of(t), o, nullptr);
    REQUIRE(r.frames() == n);
    for (const double v : r.score) CHECK(std::isfinite(v));
    CHECK(r.pca_k_used <= n);
  }
}

TEST_CASE("qc_score: bad detector pixels count as 0", "[ptycho][qc_score]") {
  Scan s = corrupted_scan(40, 32);
  auto v = s.frames.writable<float>();
  const std::int64_t hot = 5 * 32 + 7; // a pixel that flares in two frames
  v.data()[5 * 32 * 32 + hot] = 1e7f;  // frames 5 and 15 are not among the corrupted ones
  v.data()[15 * 32 * 32 + hot] = 1e7f;
  Scan zeroed = s; // the same scan with the pixel at 0 everywhere
  zeroed.frames = s.frames.clone();
  auto z = zeroed.frames.writable<float>();
  for (std::int64_t i = 0; i < 40; ++i) z.data()[i * 32 * 32 + hot] = 0;
  for (const int bin : {1, 2}) {
    qc::QcOptions o;
    o.embed_side = 8;
    o.bin = bin;
    const qc::QcResult plain = qc::score_frames(input_of(s), o, nullptr);
    qc::QcInput in = input_of(s);
    in.bad_pixels.assign(32 * 32, 0);
    in.bad_pixels[static_cast<std::size_t>(hot)] = 1;
    const qc::QcResult masked = qc::score_frames(in, o, nullptr);
    const qc::QcResult truth = qc::score_frames(input_of(zeroed), o, nullptr);
    CHECK(masked.features == truth.features);
    CHECK(masked.score == truth.score);
    CHECK(plain.score[5] > truth.score[5] + 0.1); // unmasked, the flares stand out
    CHECK(plain.score[15] > truth.score[15] + 0.1);
  }
  qc::QcInput wrong = input_of(s);
  wrong.bad_pixels.assign(10, 0);
  qc::QcOptions o;
  o.embed_side = 8;
  CHECK(contains(error_of([&] { (void)qc::score_frames(wrong, o, nullptr); }), "the bad-pixel mask has 10 pixels"));
}

TEST_CASE("qc_score: reject modes", "[ptycho][qc_score]") {
  const std::vector<double> score{0.1, 0.9, 0.3, 0.95, 0.5, 0.2, 0.7, 0.0, 0.6, 0.4};
  const std::vector<std::uint8_t> none(score.size(), 0);
  auto count = [](const std::vector<std::uint8_t>& v) { return std::count(v.begin(), v.end(), 1); };
  SECTION("none") {
    CHECK(count(qc::select_rejects(score, none, {})) == 0);
  }
  SECTION("topk: the K highest") {
    const auto r = qc::select_rejects(score, none, {qc::RejectMode::topk, 3});
    CHECK(r == std::vector<std::uint8_t>{0, 1, 0, 1, 0, 0, 1, 0, 0, 0});
    CHECK(count(qc::select_rejects(score, none, {qc::RejectMode::topk, 50})) == 10);
  }
  SECTION("topp: ceil(p n) of the evaluated frames") {
    CHECK(count(qc::select_rejects(score, none, {qc::RejectMode::topp, 0.25})) == 3); // ceil(2.5)
    CHECK(count(qc::select_rejects(score, none, {qc::RejectMode::topp, 0.2})) == 2);
    CHECK(count(qc::select_rejects(score, none, {qc::RejectMode::topp, 1.0})) == 10);
  }
  SECTION("thresh: score >= T") {
    const auto r = qc::select_rejects(score, none, {qc::RejectMode::thresh, 0.6});
    CHECK(r == std::vector<std::uint8_t>{0, 1, 0, 1, 0, 0, 1, 0, 1, 0});
  }
  SECTION("masked frames are never rejected, and topp counts only evaluated frames") {
    std::vector<std::uint8_t> m(score.size(), 0);
    m[3] = m[1] = 1; // the two highest
    const auto r = qc::select_rejects(score, m, {qc::RejectMode::topk, 2});
    CHECK(r == std::vector<std::uint8_t>{0, 0, 0, 0, 0, 0, 1, 0, 1, 0});
    CHECK(count(qc::select_rejects(score, m, {qc::RejectMode::topp, 0.5})) == 4); // of 8
    CHECK(count(qc::select_rejects(score, m, {qc::RejectMode::thresh, 0.0})) == 8);
  }
  SECTION("ties go to the lower index") {
    const std::vector<double> tie{0.5, 0.5, 0.5};
    CHECK(qc::select_rejects(tie, {}, {qc::RejectMode::topk, 1}) == std::vector<std::uint8_t>{1, 0, 0});
  }
}

TEST_CASE("qc_score: rect and circ regions", "[ptycho][qc_score]") {
  const std::vector<double> x{0, 1, 2, 3, -1, 0.5}, y{0, 0, 0, 0, 1, 2};
  SECTION("rect [cx, cy, w, h]: |x - cx| <= w/2 and |y - cy| <= h/2") {
    CHECK(qc::region_mask(x, y, {1, 0, 2, 1}, {}) == std::vector<std::uint8_t>{0, 0, 0, 1, 1, 1});
  }
  SECTION("circ [cx, cy, r]: distance <= r") {
    CHECK(qc::region_mask(x, y, {}, {0, 0, 1.5}) == std::vector<std::uint8_t>{0, 0, 1, 1, 0, 1});
  }
  SECTION("none") {
    CHECK(qc::region_mask(x, y, {}, {}) == std::vector<std::uint8_t>(6, 0));
  }
  SECTION("masked frames do not enter the statistics and are never rejected") {
    const Scan s = corrupted_scan();
    qc::QcOptions o;
    o.embed_side = 16;
    qc::QcInput in = input_of(s);
    // A disc around the scan centre holding about half the positions.
    std::vector<double> r2;
    for (std::size_t i = 0; i < s.x.size(); ++i) r2.push_back(std::hypot(s.x[i], s.y[i]));
    std::vector<double> sorted = r2;
    std::nth_element(sorted.begin(), sorted.begin() + 60, sorted.end());
    in.masked = qc::region_mask(s.x, s.y, {}, {0, 0, sorted[60]});
    const auto evaluated = std::count(in.masked.begin(), in.masked.end(), 0);
    CHECK(evaluated >= 55);
    CHECK(evaluated <= 65);
    const qc::QcResult r = qc::score_frames(in, o, nullptr);
    const auto rej = qc::select_rejects(r.score, r.masked, {qc::RejectMode::topp, 0.5});
    for (std::size_t i = 0; i < rej.size(); ++i)
      if (r.masked[i]) CHECK(rej[i] == 0);
    CHECK(std::count(rej.begin(), rej.end(), 1) == (evaluated + 1) / 2);
    // The bad frames inside the disc still rank first among the evaluated ones.
    std::vector<std::int64_t> inside_bad;
    for (const auto i : s.bad)
      if (!in.masked[static_cast<std::size_t>(i)]) inside_bad.push_back(i);
    REQUIRE(!inside_bad.empty());
    CHECK(recall_at(r, inside_bad, 2 * inside_bad.size()) >= 0.9);
    // Masked frames have no say: changing a masked frame changes no evaluated score.
    Scan t = s;
    t.frames = s.frames.clone();
    std::int64_t out_idx = -1;
    for (std::size_t i = 0; i < in.masked.size(); ++i)
      if (in.masked[i] && std::find(s.bad.begin(), s.bad.end(), static_cast<std::int64_t>(i)) == s.bad.end()) {
        out_idx = static_cast<std::int64_t>(i);
        break;
      }
    REQUIRE(out_idx >= 0);
    auto tv = t.frames.writable<float>();
    std::fill(tv.data() + out_idx * 64 * 64, tv.data() + (out_idx + 1) * 64 * 64, 1e6f);
    qc::QcInput in2 = input_of(t);
    in2.masked = in.masked;
    const qc::QcResult r2b = qc::score_frames(in2, o, nullptr);
    for (std::size_t i = 0; i < r.score.size(); ++i)
      if (!in.masked[i]) CHECK(r2b.score[i] == Approx(r.score[i]).margin(1e-12));
  }
  SECTION("a region holding no position fails clearly") {
    const Scan s = corrupted_scan(20, 32);
    qc::QcInput in = input_of(s);
    in.masked.assign(20, 1);
    qc::QcOptions o;
    o.embed_side = 8;
    CHECK(contains(error_of([&] { (void)qc::score_frames(in, o, nullptr); }), "contains none of their positions"));
  }
}

TEST_CASE("qc_score: robust statistics and geometry", "[ptycho][qc_score]") {
  const qc::Robust r = qc::robust_stats({1, 2, 3, 4, 100});
  CHECK(r.median == 3.0);
  CHECK(r.scale == Approx(1.4826 * 1.0));
  const qc::Robust flat = qc::robust_stats({5, 5, 5, 5, 9});
  CHECK(flat.median == 5.0);
  CHECK(flat.scale == Approx(1.2533 * 0.8)); // MAD 0: the mean absolute deviation
  CHECK(qc::robust_stats({2, 2, 2}).scale == 0.0);
  qc::QcOptions o;
  o.roi = {10, 20, 64, 32};
  o.bin = 2;
  o.embed_side = 16;
  const qc::Geometry g = qc::make_geometry(o, 100, 100);
  CHECK(g.hb == 32);
  CHECK(g.wb == 16);
  o.roi = {50, 50, 64, 32};
  CHECK(contains(error_of([&] { (void)qc::make_geometry(o, 100, 100); }), "does not fit in the frames of 100 x 100"));
  o.roi = {};
  o.bin = 8;
  CHECK(contains(error_of([&] { (void)qc::make_geometry(o, 100, 100); }), "smaller than embed_side = 16"));
}

namespace {

// The corrupted scan as a standardized file (ptycho.write_std), in dir/scan_std.h5.
fs::path write_std_file(const Scan& s, const fs::path& dir, const Array& mask = {}) {
  lumen::testing::Context ctx(dir, "write");
  WriteStd w;
  set(w.name, "scan_std.h5");
  w.validate();
  w.attach(ctx);
  w.start();
  lumen::testing::Collect out;
  const std::int64_t N = s.frames.dim(0);
  for (std::int64_t b = 0; b < N; b += 50) {
    const std::int64_t e = std::min(N, b + 50);
    Item item("scan/" + std::to_string(b));
    item.set("image", s.frames.slice(b, e).contiguous_copy());
    Array pos(DType::f64, Shape{e - b, 2});
    auto pv = pos.writable<double>();
    for (std::int64_t i = b; i < e; ++i) {
      pv.at(i - b, 0) = s.x[static_cast<std::size_t>(i)];
      pv.at(i - b, 1) = s.y[static_cast<std::size_t>(i)];
    }
    item.set("pos", std::move(pos));
    if (!mask.empty()) item.set("mask", mask);
    item.meta.set("index", b);
    item.meta.set("file_index", std::int64_t{0});
    item.meta.set("scan_frames", N);
    item.meta.set("energy_eV", MetaValue{700.0});
    item.meta.set("det_dist_m", MetaValue{2.0});
    item.meta.set("pixel_m", MetaValue{75e-6});
    w.process(item, out);
  }
  w.finish(out);
  const fs::path f = dir / "scan_std.h5";
  REQUIRE(fs::exists(f));
  return f;
}

struct QcRun {
  lumen::testing::Context ctx;
  QcScore stage;
  explicit QcRun(const fs::path& out) : ctx(out, "qc") { set(stage.embed_side, 16); }
  std::vector<Item> run() { return lumen::testing::read_all(stage, ctx); }
};

} // namespace

TEST_CASE("qc_score stage: a standardized file in, every output out", "[ptycho][qc_score]") {
  const test::TempDir tmp("qc-stage");
  const Scan s = corrupted_scan();
  const fs::path file = write_std_file(s, tmp.path());
  const fs::path out = tmp.path() / "out";
  QcRun q(out);
  set(q.stage.path, file.string());
  set(q.stage.reject_topk, std::int64_t{16});
  set(q.stage.ptypy_indices, true);
  set(q.stage.thumbs, 5);
  set(q.stage.roi, std::vector<std::int64_t>{0, 0, 64, 64});
  const auto items = q.run();
  REQUIRE(items.size() == 1);
  CHECK(items[0].array("score").shape() == Shape({120}));
  CHECK(items[0].meta.get_int("rejected") == 16);

  for (const char* name : {"outlier_score.npy", "stxm.npy", "dpcx.npy", "dpcy.npy"}) {
    const npy::Header h = npy_header(out / name);
    CHECK(h.dtype == DType::f64);
    CHECK(h.shape == std::vector<std::int64_t>{120});
  }
  CHECK(npy_header(out / "reject_indices.npy").shape == std::vector<std::int64_t>{16});
  CHECK(npy_header(out / "accept_indices.npy").shape == std::vector<std::int64_t>{104});
  // No region: an empty (0,) list, which numpy reads (Lumen's own reader refuses empty arrays).
  CHECK(contains(slurp(out / "mask_indices.npy"), "{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }"));

  // The rejected frames are the corrupted ones (k = 2 x #bad = 16).
  const FileSource rs(out / "reject_indices.npy");
  const Array rej = npy::read_data(rs, npy::read_header(rs));
  std::set<std::int64_t> rejected;
  for (std::int64_t i = 0; i < rej.size(); ++i) rejected.insert(rej.view<std::int32_t>().data()[i]);
  std::size_t hit = 0;
  for (const auto i : s.bad) hit += rejected.count(i);
  CHECK(static_cast<double>(hit) / static_cast<double>(s.bad.size()) >= 0.9);

  // CSV: header and one line per frame.
  const std::string csv = slurp(out / "qc_summary.csv");
  CHECK(csv.rfind("index,x,y,total_intensity,com_x,com_y,ring_0,ring_1,ring_2,ring_3,speckle_contrast,similarity,"
                  "pca_error,feature_dev,pca_dev,score,masked,rejected\n",
                  0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 121);

  const auto meta = nlohmann::json::parse(slurp(out / "qc_meta.json"));
  CHECK(meta["frames"] == 120);
  CHECK(meta["counts"]["rejected"] == 16);
  CHECK(meta["datasets"]["data_path"] == "/entry/data");
  CHECK(meta["datasets"]["pos"] == "/entry/pos");
  CHECK(meta["parameters"]["reject_topk"] == 16);
  CHECK(meta["parameters"]["embed_side"] == 16);
  CHECK(meta["timings_s"]["pass"].get<double>() > 0);

  const auto pj = nlohmann::json::parse(slurp(out / "ptypy_indices.json"));
  CHECK(pj["frames"] == 120);
  CHECK(pj["rejected"].size() == 16);
  CHECK(pj["accepted"].size() == 104);
  CHECK(pj["data_path"] == "/entry/data");

  CHECK(fs::file_size(out / "qc_maps.png") > 10000);
  CHECK(fs::exists(out / "thumbs" / "index.html"));
  for (const auto& e : fs::directory_iterator(out)) CHECK_FALSE(contains(e.path().string(), ".lumen-tmp"));
}

TEST_CASE("qc_score stage: regions, positions as two columns, prefix", "[ptycho][qc_score]") {
  const test::TempDir tmp("qc-stage-region");
  const Scan s = corrupted_scan(60, 48, 5);
  const fs::path file = write_std_file(s, tmp.path());
  QcRun q(tmp.path() / "out");
  set(q.stage.path, file.string());
  set(q.stage.pos_x_path, "/entry/posx_m");
  set(q.stage.pos_y_path, "/entry/posy_m");
  set(q.stage.rect, std::vector<double>{0, 0, 1e9, 0}); // validated: h must be > 0
  CHECK(contains(config_error_of([&] { q.run(); }), "rect: rect [cx, cy, w, h] needs finite values and w, h > 0"));
  // A rect around the left half of the scan.
  set(q.stage.rect, std::vector<double>{-1.0, 0, 2.0, 1.0});
  set(q.stage.prefix, "{stem}_");
  set(q.stage.maps, false);
  set(q.stage.thumbs, 0);
  set(q.stage.reject_topp, 0.1);
  q.run();
  const fs::path out = tmp.path() / "out";
  std::size_t left = 0;
  for (const double v : s.x) left += v <= 0 ? 1 : 0;
  const npy::Header mh = npy_header(out / "scan_std_mask_indices.npy");
  CHECK(mh.shape == std::vector<std::int64_t>{static_cast<std::int64_t>(60 - left)});
  const auto ev = static_cast<std::int64_t>(left);
  CHECK(npy_header(out / "scan_std_reject_indices.npy").shape ==
        std::vector<std::int64_t>{(ev + 9) / 10}); // ceil(0.1 n)
  CHECK_FALSE(fs::exists(out / "scan_std_qc_maps.png"));
  const auto meta = nlohmann::json::parse(slurp(out / "scan_std_qc_meta.json"));
  CHECK(meta["datasets"]["pos"] == "/entry/posx_m + /entry/posy_m");
  CHECK(meta["counts"]["masked"] == 60 - static_cast<std::int64_t>(left));
}

TEST_CASE("qc_score stage: the file's bad-pixel mask is found and applied", "[ptycho][qc_score]") {
  const test::TempDir tmp("qc-stage-mask");
  Scan s = corrupted_scan(30, 32);
  auto v = s.frames.writable<float>();
  v.data()[4 * 32 * 32 + 40] = 1e7f; // a flare at a pixel the mask knows
  Array mask(DType::u8, Shape{32, 32});
  mask.writable<std::uint8_t>().data()[40] = 1;
  mask.writable<std::uint8_t>().data()[41] = 1;
  const fs::path file = write_std_file(s, tmp.path(), mask);
  auto run = [&](const std::string& mask_path, const std::string& sub) {
    QcRun q(tmp.path() / sub);
    set(q.stage.path, file.string());
    set(q.stage.embed_side, 8);
    set(q.stage.maps, false);
    set(q.stage.thumbs, 0);
    set(q.stage.mask_path, mask_path);
    q.run();
    return nlohmann::json::parse(slurp(tmp.path() / sub / "qc_meta.json"));
  };
  const auto found = run("", "auto");
  CHECK(found["datasets"]["mask_path"] == "/entry/mask");
  CHECK(found["datasets"]["bad_pixels"] == 2);
  const auto off = run("none", "off");
  CHECK(off["datasets"]["mask_path"] == "none");
  // With the mask, frame 4's flare is gone: its total intensity is below the unmasked run's.
  auto total4 = [&](const std::string& sub) {
    const std::string csv = slurp(tmp.path() / sub / "qc_summary.csv");
    std::istringstream lines(csv);
    std::string line;
    for (int i = 0; i <= 5; ++i) std::getline(lines, line); // header, frames 0..4
    return std::stod(line.substr(line.find(',', line.find(',', line.find(',') + 1) + 1) + 1));
  };
  CHECK(total4("off") - total4("auto") >= 1e7 * 0.99);
  QcRun q(tmp.path() / "bad");
  set(q.stage.path, file.string());
  set(q.stage.mask_path, "/entry/badmask");
  const std::string e = error_of([&] { q.run(); });
  CHECK(contains(e, "mask_path '/entry/badmask' is not a dataset"));
  CHECK(contains(e, "/entry/mask (32, 32)"));
}

TEST_CASE("qc_score stage: bad paths and parameters give clear errors", "[ptycho][qc_score]") {
  const test::TempDir tmp("qc-stage-errors");
  const Scan s = corrupted_scan(20, 32);
  const fs::path file = write_std_file(s, tmp.path());
  const fs::path out = tmp.path() / "out";
  SECTION("a data_path that is not in the file names the file and lists the rank-3 datasets") {
    QcRun q(out);
    set(q.stage.path, file.string());
    set(q.stage.data_path, "/entry/frames");
    const std::string e = error_of([&] { q.run(); });
    CHECK(contains(e, file.string()));
    CHECK(contains(e, "data_path '/entry/frames' is not a dataset"));
    CHECK(contains(e, "datasets of rank 3: /entry/data (20, 32, 32)"));
  }
  SECTION("a data_path of the wrong rank") {
    QcRun q(out);
    set(q.stage.path, file.string());
    set(q.stage.data_path, "/entry/pos");
    CHECK(contains(error_of([&] { q.run(); }), "the frames must be a stack (N, ny, nx)"));
  }
  SECTION("a pos_path of the wrong shape lists the rank-2 datasets") {
    QcRun q(out);
    set(q.stage.path, file.string());
    set(q.stage.pos_path, "/entry/posx_m");
    const std::string e = error_of([&] { q.run(); });
    CHECK(contains(e, "pos_path '/entry/posx_m' has shape (20,)"));
    CHECK(contains(e, "/entry/pos (20, 2)"));
  }
  SECTION("a missing pos_x_path") {
    QcRun q(out);
    set(q.stage.path, file.string());
    set(q.stage.pos_x_path, "/entry/px");
    set(q.stage.pos_y_path, "/entry/posy_m");
    const std::string e = error_of([&] { q.run(); });
    CHECK(contains(e, "pos_x_path '/entry/px' is not a dataset"));
    CHECK(contains(e, "/entry/posx_m (20,)"));
  }
  SECTION("no frames at the default paths") {
    const fs::path other = tmp.path() / "other.h5";
    {
      hdf5::WriteOptions wo;
      wo.dataset = "stack";
      hdf5::H5ChunkWriter w(other, DType::f32, Shape{4, 8, 8}, false, wo, nullptr, "test");
      w.append(Array(DType::f32, Shape{4, 8, 8}));
      w.close();
    }
    QcRun q(out);
    set(q.stage.path, other.string());
    const std::string e = error_of([&] { q.run(); });
    CHECK(contains(e, "no frames (N, ny, nx) at the default paths"));
    CHECK(contains(e, "set data_path"));
    CHECK(contains(e, "stack (4, 8, 8)"));
  }
  SECTION("parameters are checked before any data") {
    QcRun q(out);
    set(q.stage.path, file.string());
    set(q.stage.reject_topk, std::int64_t{3});
    set(q.stage.reject_thresh, 0.5);
    CHECK(contains(config_error_of([&] { q.stage.validate(); }), "reject_topk: give at most one reject mode"));
    set(q.stage.reject_topk, std::int64_t{0});
    set(q.stage.reject_thresh, 1.0);
    CHECK(contains(config_error_of([&] { q.stage.validate(); }), "must be below 1"));
    set(q.stage.reject_thresh, 0.0);
    set(q.stage.rect, std::vector<double>{0, 0, 1});
    CHECK(contains(config_error_of([&] { q.stage.validate(); }), "rect must be [cx, cy, w, h]"));
    set(q.stage.rect, std::vector<double>{0, 0, 1, 1});
    set(q.stage.circ, std::vector<double>{0, 0, 1});
    CHECK(contains(config_error_of([&] { q.stage.validate(); }), "not both"));
    set(q.stage.rect, std::vector<double>{});
    set(q.stage.circ, std::vector<double>{0, 0, -1});
    CHECK(contains(config_error_of([&] { q.stage.validate(); }), "r > 0"));
    set(q.stage.circ, std::vector<double>{});
    set(q.stage.roi, std::vector<std::int64_t>{0, 0, 8});
    CHECK(contains(config_error_of([&] { q.stage.validate(); }), "roi must be [y0, x0, h, w]"));
    set(q.stage.roi, std::vector<std::int64_t>{});
    set(q.stage.pos_x_path, "/entry/posx_m");
    CHECK(contains(config_error_of([&] { q.stage.validate(); }), "go together"));
    set(q.stage.pos_x_path, "");
    set(q.stage.prefix, "{index}_");
    CHECK(contains(config_error_of([&] { q.stage.validate(); }), "prefix knows only {stem}"));
    CHECK_FALSE(fs::exists(out / "qc_meta.json"));
  }
  SECTION("several files without {stem} in prefix: each fails, nothing is overwritten") {
    fs::create_directories(tmp.path() / "two");
    fs::copy_file(file, tmp.path() / "two" / "a.h5");
    fs::copy_file(file, tmp.path() / "two" / "b.h5");
    QcRun q(out);
    set(q.stage.path, (tmp.path() / "two" / "*.h5").string());
    const std::string e = error_of([&] { q.run(); });
    CHECK(contains(e, "path matches 2 files, whose outputs would overwrite each other"));
    CHECK(contains(e, "set prefix"));
    CHECK_FALSE(fs::exists(out / "outlier_score.npy"));
  }
  SECTION("a truncated file fails naming the file, and writes nothing") {
    const fs::path cut = tmp.path() / "cut.h5";
    fs::copy_file(file, cut);
    fs::resize_file(cut, fs::file_size(file) / 2);
    QcRun q(out);
    set(q.stage.path, cut.string());
    const std::string e = error_of([&] { q.run(); });
    CHECK(contains(e, cut.string()));
    CHECK_FALSE(fs::exists(out / "outlier_score.npy"));
    CHECK_FALSE(fs::exists(out / "qc_meta.json"));
  }
  SECTION("a roi outside the frame fails the file and writes nothing") {
    QcRun q(out);
    set(q.stage.path, file.string());
    set(q.stage.roi, std::vector<std::int64_t>{16, 16, 32, 32});
    CHECK(contains(error_of([&] { q.run(); }), "does not fit in the frames of 32 x 32"));
    CHECK_FALSE(fs::exists(out / "outlier_score.npy"));
  }
}

namespace {

// ptycho.read_ad on a standardized file (/entry/data, /entry/pos) with `exclude`.
std::vector<Item> read_excluding(const fs::path& file, const fs::path& json, const fs::path& dir,
                                 std::int64_t frames_per_pos = 1) {
  lumen::testing::Context ctx(dir, "read");
  ReadAd r;
  set(r.path, file.string());
  set(r.data_path, "/entry/data");
  set(r.pos_path, "/entry/pos");
  set(r.frames_per_item, std::int64_t{6});
  set(r.frames_per_pos, frames_per_pos);
  set(r.exclude, json.string());
  return lumen::testing::read_all(r, ctx);
}

// Frame index -> the frame's first pixel and its x position, to identify frames after exclusion.
struct Seen {
  std::vector<float> first_pixel;
  std::vector<double> x;
  std::int64_t scan_frames = -1, excluded = -1;
};
Seen seen(const std::vector<Item>& items) {
  Seen s;
  std::int64_t next = 0;
  for (const Item& it : items) {
    REQUIRE(it.meta.get_int("index") == next); // gap-free, renumbered
    const Array img = it.array("image").as(DType::f32).contiguous_copy();
    const auto pos = it.array("pos").view<double>();
    const std::int64_t n = img.dim(0), px = img.dim(1) * img.dim(2);
    REQUIRE(it.array("pos").dim(0) == n);
    for (std::int64_t k = 0; k < n; ++k) {
      s.first_pixel.push_back(img.view<float>().data()[k * px + px / 2 + img.dim(2) / 2]);
      s.x.push_back(pos.at(k, 0));
    }
    next += n;
    s.scan_frames = *it.meta.get_int("scan_frames");
    s.excluded = *it.meta.get_int("excluded_frames");
  }
  CHECK(s.scan_frames == next);
  return s;
}

} // namespace

TEST_CASE("exclude: the readers leave out the frames a ptypy_indices.json rejects", "[ptycho][qc_score][exclude]") {
  const test::TempDir tmp("qc-exclude");
  const Scan s = corrupted_scan(20, 32);
  const fs::path file = write_std_file(s, tmp.path());
  auto json = [&](const std::string& text) {
    const fs::path p = tmp.path() / "indices.json";
    std::ofstream(p) << text;
    return p;
  };
  auto x_of = [&](std::initializer_list<std::int64_t> kept_out) {
    std::vector<double> x;
    for (std::int64_t i = 0; i < 20; ++i)
      if (std::find(kept_out.begin(), kept_out.end(), i) == kept_out.end())
        x.push_back(s.x[static_cast<std::size_t>(i)]);
    return x;
  };
  SECTION("frame indices: the frames and their positions go, the rest is renumbered") {
    const Seen r = seen(read_excluding(file, json(R"({"frames": 20, "rejected": [3, 7, 8, 19]})"), tmp.path()));
    CHECK(r.scan_frames == 16);
    CHECK(r.excluded == 4);
    CHECK(r.x == x_of({3, 7, 8, 19}));
  }
  SECTION("frames_per_pos 2: a rejected exposure takes its whole position") {
    const Seen r = seen(read_excluding(file, json(R"({"frames": 20, "rejected": [3, 8]})"), tmp.path(), 2));
    CHECK(r.x == x_of({2, 3, 8, 9}));
  }
  SECTION("indices of positions (the QC ran on the grouped file): all exposures of each go") {
    const Seen r = seen(read_excluding(file, json(R"({"frames": 10, "rejected": [0, 9]})"), tmp.path(), 2));
    CHECK(r.x == x_of({0, 1, 18, 19}));
  }
  SECTION("the frames through ptycho.group stay consistent") {
    auto items = read_excluding(file, json(R"({"frames": 10, "rejected": [4]})"), tmp.path(), 2);
    lumen::testing::Context ctx(tmp.path(), "group");
    Group g;
    set(g.frames_per_pos, std::int64_t{2});
    g.validate();
    g.attach(ctx);
    g.start();
    lumen::testing::Collect out;
    for (auto& it : items) g.process(it, out);
    std::int64_t positions = 0;
    for (const Item& it : out.items) {
      CHECK(it.meta.get_int("index") == positions);
      positions += it.array("image").dim(0);
      CHECK(it.meta.get_int("scan_frames") == 9);
    }
    CHECK(positions == 9);
  }
  SECTION("the QC's own ptypy_indices.json, consumed by the reader") {
    QcRun q(tmp.path() / "qc");
    set(q.stage.path, file.string());
    set(q.stage.embed_side, 8);
    set(q.stage.reject_topk, std::int64_t{5});
    set(q.stage.ptypy_indices, true);
    set(q.stage.maps, false);
    set(q.stage.thumbs, 0);
    q.run();
    const fs::path pj = tmp.path() / "qc" / "ptypy_indices.json";
    const auto j = nlohmann::json::parse(slurp(pj));
    const auto rejected = j["rejected"].get<std::vector<std::int64_t>>();
    REQUIRE(rejected.size() == 5);
    const Seen r = seen(read_excluding(file, pj, tmp.path()));
    CHECK(r.scan_frames == 15);
    std::vector<double> want;
    for (std::int64_t i = 0; i < 20; ++i)
      if (std::find(rejected.begin(), rejected.end(), i) == rejected.end())
        want.push_back(s.x[static_cast<std::size_t>(i)]);
    CHECK(r.x == want);
  }
  SECTION("a file of another scan fails naming both counts") {
    const std::string e =
        error_of([&] { (void)read_excluding(file, json(R"({"frames": 7, "rejected": [1]})"), tmp.path()); });
    CHECK(contains(e, "has 20 frames (frames_per_pos 1) but the exclude file"));
    CHECK(contains(e, "describes a scan of 7 frames"));
  }
  SECTION("a bad JSON fails validation") {
    ReadAd r;
    set(r.path, file.string());
    set(r.exclude, json(R"({"frames": 20, "rejected": [25]})").string());
    CHECK(contains(config_error_of([&] { r.validate(); }), "exclude: "));
    CHECK(contains(config_error_of([&] { r.validate(); }), "rejected index 25 is outside the 20 frames"));
    set(r.exclude, json("[1, 2").string());
    CHECK(contains(config_error_of([&] { r.validate(); }), "is not valid JSON"));
    set(r.exclude, (tmp.path() / "missing.json").string());
    CHECK(contains(config_error_of([&] { r.validate(); }), "cannot open"));
  }
}
