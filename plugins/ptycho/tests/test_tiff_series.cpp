// Tests of ptycho.read_tiff_series and ptycho.sidecar_from_csv: small numbered TIFF series written
// with the tiff core's writer (frame_0.tif .. frame_11.tif, so natural order differs from byte
// order) and sidecars written with the hdf5 core's H5Editor; blocks in multiples of
// frames_per_pos, positions, per-frame and scalar quantities, dark/flat/mask shared by every item,
// frame_index by file number and by position, the errors (rows != frames, a frame of another size
// or dtype, a frame_index naming no file); the CSV: unsorted rows, duplicates, a missing column, a
// bad number, rows != frames, column mapping and units, and the sidecar it writes read back by
// ptycho.read_tiff_series.
//
// Run: build/bin/test_ptycho "[tiff_series]"
#include "hdf5_io.hpp"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "tiff_io.hpp"
#include "tiff_sidecar_stages.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <hdf5.h>
#include <string>
#include <vector>

using namespace lumen;
using namespace lumen::ptycho;
using lumen::test::error_of;
namespace fs = std::filesystem;

namespace {

void set(Param<std::string>& p, const std::string& v) {
  p.assign(ParamValue{v});
}
void set(Param<std::int64_t>& p, std::int64_t v) {
  p.assign(ParamValue{v});
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

constexpr std::int64_t kN = 12, kNy = 4, kNx = 3;

double pixel(std::int64_t k, std::int64_t y, std::int64_t x) {
  return static_cast<double>(100 * k + 10 * y + x);
}
double px(std::int64_t k) {
  return 1e-6 * (1.5 * static_cast<double>(k) - 3);
}
double py(std::int64_t k) {
  return 1e-6 * (-0.25 * static_cast<double>(k * k) + 2);
}

Array f64(const std::vector<double>& v, Shape shape) {
  Array a(DType::f64, shape);
  std::copy(v.begin(), v.end(), a.writable<double>().data());
  return a;
}

// frame_0.tif .. frame_<n-1>.tif, u16 (kNy, kNx), pixel(k, y, x) in frame k.
void write_frames(const fs::path& dir, std::int64_t n = kN, const std::string& stem = "frame_") {
  fs::create_directories(dir);
  for (std::int64_t k = 0; k < n; ++k) {
    Array a(DType::u16, Shape{kNy, kNx});
    auto v = a.writable<std::uint16_t>();
    for (std::int64_t y = 0; y < kNy; ++y)
      for (std::int64_t x = 0; x < kNx; ++x) v.at(y, x) = static_cast<std::uint16_t>(pixel(k, y, x));
    tiff::write_tiff(dir / (stem + std::to_string(k) + ".tif"), a, tiff::WriteOptions{}, "test frame");
  }
}

// A new HDF5 file whose first dataset is `first` (H5ChunkWriter creates it); the rest via H5Editor.
void new_file(const fs::path& file, const std::string& path, const Array& first) {
  hdf5::WriteOptions o;
  o.dataset = path;
  hdf5::H5ChunkWriter w(file, first.dtype(), first.shape(), false, o, nullptr, "test sidecar");
  w.append(first);
  w.close();
}

struct SidecarSpec {
  std::int64_t rows = kN;
  bool reversed_with_index = false; // rows in reverse order, with frame_index
  std::int64_t index_offset = 0;    // frame_index = frame + offset
  bool packed = false;              // pos (N, 2) instead of posx_m / posy_m
  bool calibration = true;
};

// posx_m, posy_m (or pos), energy_eV (N,) per frame, det_dist_m (), pixel_m (1,), exposure_s (),
// dark, flat f64 and a u32 mask (ny, nx).
fs::path write_sidecar_file(const fs::path& file, const SidecarSpec& s = {}) {
  std::vector<double> x, y, xy, energy, index;
  for (std::int64_t r = 0; r < s.rows; ++r) {
    const std::int64_t k = s.reversed_with_index ? s.rows - 1 - r : r;
    x.push_back(px(k));
    y.push_back(py(k));
    xy.push_back(px(k));
    xy.push_back(py(k));
    energy.push_back(700 + static_cast<double>(k));
    index.push_back(static_cast<double>(k + s.index_offset));
  }
  if (s.packed)
    new_file(file, "pos", f64(xy, Shape{s.rows, 2}));
  else
    new_file(file, "posx_m", f64(x, Shape{s.rows}));
  hdf5::H5Editor e(file, "test sidecar");
  if (!s.packed) e.write_array("posy_m", f64(y, Shape{s.rows}));
  e.write_array("energy_eV", f64(energy, Shape{s.rows}));
  e.write_scalar("det_dist_m", 0.25);
  e.write_array("pixel_m", f64({11e-6}, Shape{1}));
  e.write_scalar("exposure_s", 0.1);
  if (s.reversed_with_index || s.index_offset != 0) e.write_array("frame_index", f64(index, Shape{s.rows}));
  if (s.calibration) {
    std::vector<double> dark, flat;
    for (std::int64_t i = 0; i < kNy * kNx; ++i) {
      dark.push_back(0.5 * static_cast<double>(i));
      flat.push_back(1.0 + 0.1 * static_cast<double>(i));
    }
    e.write_array("dark", f64(dark, Shape{kNy, kNx}));
    e.write_array("flat", f64(flat, Shape{kNy, kNx}));
    Array mask(DType::u32, Shape{kNy, kNx});
    mask.writable<std::uint32_t>().at(1, 2) = 256;
    e.write_array("mask", mask);
  }
  e.close();
  return file;
}

std::vector<Item> read_series(const fs::path& frames, const fs::path& sidecar, const fs::path& out,
                              std::int64_t per_item = 5, std::int64_t per_pos = 2,
                              const std::string& index_from = "name") {
  ReadTiffSeries r;
  set(r.path, (frames / "frame_*.tif").string());
  set(r.sidecar, sidecar.string());
  set(r.frames_per_item, per_item);
  set(r.frames_per_pos, per_pos);
  set(r.frame_index_from, index_from);
  lumen::testing::Context ctx(out);
  return lumen::testing::read_all(r, ctx);
}

// Every item's frames are frames index .. index + n - 1 of the scan, with their rows.
void check_rows(const std::vector<Item>& items) {
  for (const Item& item : items) {
    const std::int64_t first = *item.meta.get_int("index");
    const Array& image = item.array("image");
    const auto v = image.view<std::uint16_t>();
    const auto pos = item.array("pos").view<double>();
    const auto energy = item.array("energy_eV").view<double>();
    for (std::int64_t j = 0; j < image.dim(0); ++j) {
      const std::int64_t k = first + j;
      for (std::int64_t y = 0; y < kNy; ++y)
        for (std::int64_t x = 0; x < kNx; ++x) CHECK(v.at(j, y, x) == pixel(k, y, x));
      CHECK(pos.at(j, 0) == px(k));
      CHECK(pos.at(j, 1) == py(k));
      CHECK(energy.data()[j] == 700 + static_cast<double>(k));
    }
  }
}

// The variable-length string attribute "units" of a dataset, read with the HDF5 C API.
std::string units_of(const fs::path& file, const char* dataset) {
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
  const hid_t a = H5Aopen(d, "units", H5P_DEFAULT);
  const hid_t t = H5Aget_type(a);
  std::string out = "(not a variable-length string)";
  if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
    char* s = nullptr;
    const hid_t mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
    if (H5Aread(a, mt, &s) >= 0 && s) {
      out = s;
      H5free_memory(s);
    }
    H5Tclose(mt);
  }
  H5Tclose(t);
  H5Aclose(a);
  H5Dclose(d);
  H5Fclose(f);
  return out;
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file) << text;
}

} // namespace

// ---- ptycho.read_tiff_series ---------------------------------------------------------------------

TEST_CASE("read_tiff_series: blocks in natural order with positions, scalars and shared calibration",
          "[ptycho][tiff_series]") {
  lumen::test::TempDir tmp("ptycho_tiff");
  write_frames(tmp.path() / "scan");
  const fs::path side = write_sidecar_file(tmp.path() / "side.h5");
  // frames_per_item 5 with frames_per_pos 2: blocks of 4.
  const auto items = read_series(tmp.path() / "scan", side, tmp.path() / "out");
  REQUIRE(items.size() == 3);
  check_rows(items);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    const auto first = static_cast<std::int64_t>(4 * i);
    CHECK(item.array("image").shape() == Shape({4, kNy, kNx}));
    CHECK(item.array("image").dtype() == DType::u16);
    CHECK(item.array("pos").shape() == Shape({4, 2}));
    CHECK(item.meta.get_int("index") == first);
    CHECK(item.meta.get_int("file_index") == 0);
    CHECK(item.meta.get_int("scan_frames") == kN);
    CHECK(item.meta.get_number("det_dist_m") == 0.25);
    CHECK(item.meta.get_number("pixel_m") == 11e-6);
    CHECK(item.meta.get_number("exposure_s") == 0.1);
    CHECK_FALSE(item.meta.get_number("energy_eV").has_value()); // per frame: the array
    CHECK(item.meta.get_string("units") == "counts");
    CHECK(item.meta.get_string("series") == "frame");
    CHECK(item.meta.get_string("series_first") == "frame_" + std::to_string(first) + ".tif");
    CHECK(item.meta.get_string("series_last") == "frame_" + std::to_string(first + 3) + ".tif");
    CHECK(item.id() == "frame/" + std::string(first < 10 ? "000" : "00") + std::to_string(first));
    CHECK(item.array("dark").dtype() == DType::f32);
    CHECK(item.array("flat").dtype() == DType::f32);
    CHECK(item.array("mask").dtype() == DType::u8);
    CHECK(item.array("mask").view<std::uint8_t>().at(1, 2) == 1);
    CHECK(item.array("mask").view<std::uint8_t>().at(0, 0) == 0);
    CHECK(item.array("flat").view<float>().at(1, 1) == Approx(1.4));
    // One storage for the whole scan.
    CHECK(item.array("dark").raw() == items[0].array("dark").raw());
    CHECK(item.array("mask").raw() == items[0].array("mask").raw());
  }
  // frame_2 before frame_10 (byte order would put frame_10 after frame_1).
  CHECK(items[0].array("image").view<std::uint16_t>().at(2, 0, 0) == 200);
  CHECK(items[2].array("image").view<std::uint16_t>().at(2, 0, 0) == 1000);
  CHECK(items[2].meta.get_string("series_first") == "frame_8.tif");
}

TEST_CASE("read_tiff_series: frames_per_item rounds to whole positions, a last short block", "[ptycho][tiff_series]") {
  lumen::test::TempDir tmp("ptycho_tiff");
  write_frames(tmp.path() / "scan");
  const fs::path side = write_sidecar_file(tmp.path() / "side.h5");
  const auto items = read_series(tmp.path() / "scan", side, tmp.path() / "out", 5, 3); // blocks of 3
  REQUIRE(items.size() == 4);
  check_rows(items);
  const auto one = read_series(tmp.path() / "scan", side, tmp.path() / "out", 1, 3); // at least one position
  CHECK(one.size() == 4);
  const auto seven = read_series(tmp.path() / "scan", side, tmp.path() / "out", 7, 1); // 7 + 5
  REQUIRE(seven.size() == 2);
  CHECK(seven[1].array("image").dim(0) == 5);
  check_rows(seven);
}

TEST_CASE("read_tiff_series: frame_index pairs rows with files by number or by position, and pos (N, 2)",
          "[ptycho][tiff_series]") {
  lumen::test::TempDir tmp("ptycho_tiff");
  write_frames(tmp.path() / "scan");
  const fs::path reversed = write_sidecar_file(tmp.path() / "rev.h5", {.reversed_with_index = true});
  check_rows(read_series(tmp.path() / "scan", reversed, tmp.path() / "out"));

  // frame_index 100 .. 111: no file has those numbers; by position the k-th smallest is file k.
  const fs::path offset = write_sidecar_file(tmp.path() / "off.h5", {.reversed_with_index = true, .index_offset = 100});
  const std::string e = error_of([&] { (void)read_series(tmp.path() / "scan", offset, tmp.path() / "out"); });
  CHECK(contains(e, "frame_0.tif (frame number 0) has no row"));
  CHECK(contains(e, "100 .. 111"));
  CHECK(contains(e, "frame_index_from: position"));
  check_rows(read_series(tmp.path() / "scan", offset, tmp.path() / "out", 5, 2, "position"));

  const fs::path packed = write_sidecar_file(tmp.path() / "packed.h5", {.packed = true, .calibration = false});
  const auto items = read_series(tmp.path() / "scan", packed, tmp.path() / "out");
  check_rows(items);
  CHECK_FALSE(items[0].has("dark"));
  CHECK_FALSE(items[0].has("mask"));
}

TEST_CASE("read_tiff_series: rows != frames, frames of another size or dtype, no positions", "[ptycho][tiff_series]") {
  lumen::test::TempDir tmp("ptycho_tiff");
  write_frames(tmp.path() / "scan");
  const fs::path eleven = write_sidecar_file(tmp.path() / "eleven.h5", {.rows = 11});
  std::string e = error_of([&] { (void)read_series(tmp.path() / "scan", eleven, tmp.path() / "out"); });
  CHECK(contains(e, "positions count != frames"));
  CHECK(contains(e, "11 values"));
  CHECK(contains(e, "has 12 frames (frame_0.tif .. frame_11.tif)"));

  const fs::path side = write_sidecar_file(tmp.path() / "side.h5");
  {
    Array big(DType::u16, Shape{kNy + 1, kNx});
    tiff::write_tiff(tmp.path() / "scan" / "frame_7.tif", big, tiff::WriteOptions{}, "test frame");
    e = error_of([&] { (void)read_series(tmp.path() / "scan", side, tmp.path() / "out"); });
    CHECK(contains(e, "frame_7.tif"));
    CHECK(contains(e, "same size and dtype"));
    Array f32(DType::f32, Shape{kNy, kNx});
    tiff::write_tiff(tmp.path() / "scan" / "frame_7.tif", f32, tiff::WriteOptions{}, "test frame");
    e = error_of([&] { (void)read_series(tmp.path() / "scan", side, tmp.path() / "out"); });
    CHECK(contains(e, "frame_7.tif"));
    CHECK(contains(e, "f32"));
  }

  hdf5::WriteOptions o;
  o.dataset = "energy_eV";
  {
    hdf5::H5ChunkWriter w(tmp.path() / "nopos.h5", DType::f64, Shape{kN}, false, o, nullptr, "test");
    w.append(f64(std::vector<double>(kN, 700.0), Shape{kN}));
    w.close();
  }
  write_frames(tmp.path() / "scan"); // frame_7 good again
  e = error_of([&] { (void)read_series(tmp.path() / "scan", tmp.path() / "nopos.h5", tmp.path() / "out"); });
  CHECK(contains(e, "the sidecar has no positions"));
  CHECK(contains(e, "energy_eV")); // what the file holds
}

// ---- ptycho.sidecar_from_csv ---------------------------------------------------------------------

namespace {

// The CSV of the test scan, rows in the order `order`, positions in um, energy in keV.
std::string scan_csv(const std::vector<std::int64_t>& order,
                     const std::string& header = "frame_index,SampleX,SampleY,Energy,det_dist_m,"
                                                 "pixel_m,exposure_s") {
  std::string s = "# EPICS scan 42\n\n" + header + "\n";
  for (const std::int64_t k : order) {
    s += std::to_string(k) + "," + std::to_string(px(k) * 1e6) + "," + std::to_string(py(k) * 1e6) + "," +
         std::to_string(0.7 + 0.001 * static_cast<double>(k)) + ",0.25,11e-6,0.1\n";
    if (k == 5) s += "# a comment between rows\n\n";
  }
  return s;
}

std::vector<std::int64_t> shuffled() {
  return {3, 0, 11, 5, 1, 2, 10, 4, 9, 8, 6, 7};
}

void map_columns(SidecarFromCsv& s) {
  set(s.col_posx, "SampleX");
  set(s.col_posy, "SampleY");
  set(s.col_energy, "Energy");
  set(s.pos_unit, "um");
  set(s.energy_unit, "keV");
}

std::vector<Item> run_csv(SidecarFromCsv& s, const fs::path& csv, const fs::path& out) {
  set(s.path, csv.string());
  lumen::testing::Context ctx(out);
  return lumen::testing::read_all(s, ctx);
}

} // namespace

TEST_CASE("sidecar_from_csv: unsorted rows, mapped columns and units -> a sidecar read_tiff_series reads",
          "[ptycho][tiff_series][csv]") {
  lumen::test::TempDir tmp("ptycho_csv");
  write_frames(tmp.path() / "scan");
  write_text(tmp.path() / "scan_42.csv", scan_csv(shuffled()));
  SidecarFromCsv s;
  map_columns(s);
  set(s.frames, (tmp.path() / "scan" / "frame_*.tif").string());
  const auto out = run_csv(s, tmp.path() / "scan_42.csv", tmp.path() / "out");
  REQUIRE(out.size() == 1);
  const fs::path side = tmp.path() / "out" / "scan_42_sidecar.h5";
  REQUIRE(fs::exists(side));
  CHECK(out[0].meta.get_string("sidecar") == "scan_42_sidecar.h5");
  CHECK(out[0].meta.get_int("rows") == kN);
  const auto idx = out[0].array("frame_index").view<double>();
  for (std::int64_t k = 0; k < kN; ++k) CHECK(idx.data()[k] == static_cast<double>(k));

  // What is in the file: sorted, SI, scalars when constant.
  hdf5::H5Reader r(side);
  CHECK(r.dims("posx_m") == std::vector<std::int64_t>{kN});
  CHECK(r.dims("det_dist_m").empty());
  CHECK(r.read_numbers("det_dist_m") == std::vector<double>{0.25});
  CHECK(r.read_numbers("exposure_s") == std::vector<double>{0.1});
  const auto energy = r.read_numbers("energy_eV");
  REQUIRE(energy.size() == kN);
  CHECK(energy[3] == Approx(703));
  const auto fi = r.read_numbers("frame_index");
  for (std::int64_t k = 0; k < kN; ++k) CHECK(fi[static_cast<std::size_t>(k)] == static_cast<double>(k));
  CHECK(units_of(side, "posx_m") == "m");
  CHECK(units_of(side, "energy_eV") == "eV");
  CHECK(units_of(side, "exposure_s") == "s");

  // Round trip: the series with that sidecar.
  const auto items = read_series(tmp.path() / "scan", side, tmp.path() / "out");
  REQUIRE(items.size() == 3);
  for (const Item& item : items) {
    const std::int64_t first = *item.meta.get_int("index");
    const auto pos = item.array("pos").view<double>();
    const auto en = item.array("energy_eV").view<double>();
    for (std::int64_t j = 0; j < item.array("image").dim(0); ++j) {
      CHECK(pos.at(j, 0) == Approx(px(first + j)).margin(1e-12));
      CHECK(pos.at(j, 1) == Approx(py(first + j)).margin(1e-12));
      CHECK(en.data()[j] == Approx(700 + static_cast<double>(first + j)));
    }
    CHECK(item.meta.get_number("pixel_m") == 11e-6);
  }
}

TEST_CASE("sidecar_from_csv: duplicate index, missing column, bad number, rows != frames, nothing written",
          "[ptycho][tiff_series][csv]") {
  lumen::test::TempDir tmp("ptycho_csv");
  write_frames(tmp.path() / "scan");
  const fs::path out = tmp.path() / "out";

  SECTION("a frame_index twice names the index and both lines") {
    auto order = shuffled();
    order[6] = 3; // lines: 2 comment+blank, header on 3, rows from 4; 3 is on line 4, again on line 12
    write_text(tmp.path() / "dup.csv", scan_csv(order));
    SidecarFromCsv s;
    map_columns(s);
    const std::string e = error_of([&] { (void)run_csv(s, tmp.path() / "dup.csv", out); });
    CHECK(contains(e, "frame_index 3"));
    CHECK(contains(e, "lines 4 and 12"));
    CHECK_FALSE(fs::exists(out / "dup_sidecar.h5"));
  }
  SECTION("a missing column lists the header") {
    write_text(tmp.path() / "miss.csv", scan_csv(shuffled()));
    SidecarFromCsv s; // columns not mapped: posx_m is not in the header
    const std::string e = error_of([&] { (void)run_csv(s, tmp.path() / "miss.csv", out); });
    CHECK(contains(e, "no column 'posx_m' (col_posx)"));
    CHECK(contains(e, "frame_index, SampleX, SampleY, Energy, det_dist_m, pixel_m, exposure_s"));
    CHECK_FALSE(fs::exists(out / "miss_sidecar.h5"));
  }
  SECTION("a bad number names line and column") {
    std::string text = scan_csv({0, 1, 2});
    text.replace(text.find(",0.25,", text.find("\n1,")), 6, ",abc,");
    write_text(tmp.path() / "bad.csv", text);
    SidecarFromCsv s;
    map_columns(s);
    const std::string e = error_of([&] { (void)run_csv(s, tmp.path() / "bad.csv", out); });
    CHECK(contains(e, "line 5, column 5 ('det_dist_m'): 'abc' is not a finite number"));
  }
  SECTION("rows != frames gives both counts and the first and last file") {
    write_text(tmp.path() / "short.csv", scan_csv({0, 1, 2, 3, 4}));
    SidecarFromCsv s;
    map_columns(s);
    set(s.frames, (tmp.path() / "scan" / "frame_*.tif").string());
    const std::string e = error_of([&] { (void)run_csv(s, tmp.path() / "short.csv", out); });
    CHECK(contains(e, "rows != frames"));
    CHECK(contains(e, "5 rows (lines 4 .. 8)"));
    CHECK(contains(e, "12 frames (frame_0.tif .. frame_11.tif)"));
    CHECK_FALSE(fs::exists(out / "short_sidecar.h5"));
  }
  SECTION("a row whose frame_index names no file") {
    auto order = shuffled();
    order[0] = 40;
    write_text(tmp.path() / "far.csv", scan_csv(order));
    SidecarFromCsv s;
    map_columns(s);
    set(s.frames, (tmp.path() / "scan" / "frame_*.tif").string());
    const std::string e = error_of([&] { (void)run_csv(s, tmp.path() / "far.csv", out); });
    CHECK(contains(e, "frame_3.tif (frame number 3) has no row"));
  }
  SECTION("a varying distance") {
    std::string text = scan_csv({0, 1, 2});
    text.replace(text.find(",0.25,", text.find("\n2,")), 6, ",0.3,");
    write_text(tmp.path() / "dist.csv", text);
    SidecarFromCsv s;
    map_columns(s);
    const std::string e = error_of([&] { (void)run_csv(s, tmp.path() / "dist.csv", out); });
    CHECK(contains(e, "column 'det_dist_m' holds 0.25 on line 4 but 0.3 on line 6"));
  }
}

TEST_CASE("sidecar_from_csv: optional columns off, rows in file order, per-frame exposure",
          "[ptycho][tiff_series][csv]") {
  lumen::test::TempDir tmp("ptycho_csv");
  write_text(tmp.path() / "plain.csv", "x,y,t\n1,2,0.1\n3,4,0.2\n \n5,6,0.3\n");
  SidecarFromCsv s;
  set(s.col_index, "");
  set(s.col_posx, "x");
  set(s.col_posy, "y");
  set(s.col_exposure, "t");
  set(s.exposure_unit, "ms");
  set(s.pos_unit, "mm");
  for (auto* p : {&s.col_energy, &s.col_det_dist, &s.col_pixel}) set(*p, "");
  set(s.name, "side.h5");
  (void)run_csv(s, tmp.path() / "plain.csv", tmp.path() / "out");
  hdf5::H5Reader r(tmp.path() / "out" / "side.h5");
  CHECK_FALSE(r.has_dataset("frame_index"));
  CHECK_FALSE(r.has_dataset("energy_eV"));
  const auto x = r.read_numbers("posx_m"), y = r.read_numbers("posy_m");
  REQUIRE(x.size() == 3);
  REQUIRE(y.size() == 3);
  CHECK(x[1] == Approx(3e-3));
  CHECK(y[2] == Approx(6e-3));
  const auto t = r.read_numbers("exposure_s");
  REQUIRE(t.size() == 3);
  CHECK(t[2] == Approx(0.3e-3));
}

TEST_CASE("read_tiff_series: exclude leaves out the rejected positions of a ptypy_indices.json",
          "[ptycho][tiff_series][exclude]") {
  lumen::test::TempDir tmp("ptycho_tiff");
  write_frames(tmp.path() / "scan");
  const fs::path side = write_sidecar_file(tmp.path() / "side.h5");
  const fs::path json = tmp.path() / "ptypy_indices.json";
  write_text(json, R"({"frames": 12, "rejected": [3, 10], "accepted": []})"); // frames: whole positions 1 and 5
  ReadTiffSeries r;
  set(r.path, (tmp.path() / "scan" / "frame_*.tif").string());
  set(r.sidecar, side.string());
  set(r.frames_per_item, std::int64_t{4});
  set(r.frames_per_pos, std::int64_t{2});
  set(r.exclude, json.string());
  lumen::testing::Context ctx(tmp.path() / "out");
  const auto items = lumen::testing::read_all(r, ctx);
  std::vector<std::int64_t> frames; // which file frames arrived, by their pixel values
  std::int64_t next = 0;
  for (const Item& item : items) {
    CHECK(item.meta.get_int("index") == next);
    CHECK(item.meta.get_int("scan_frames") == 8);
    CHECK(item.meta.get_int("excluded_frames") == 4);
    const auto v = item.array("image").view<std::uint16_t>();
    const auto pos = item.array("pos").view<double>();
    REQUIRE(item.array("pos").dim(0) == item.array("image").dim(0));
    for (std::int64_t j = 0; j < item.array("image").dim(0); ++j) {
      const std::int64_t k = v.at(j, 0, 0) / 100;
      frames.push_back(k);
      CHECK(pos.at(j, 0) == px(k));
      CHECK(item.array("energy_eV").view<double>().data()[j] == 700 + static_cast<double>(k));
    }
    next += item.array("image").dim(0);
  }
  CHECK(frames == std::vector<std::int64_t>{0, 1, 4, 5, 6, 7, 8, 9});
  // A file of another scan: the counts are named.
  write_text(json, R"({"frames": 5, "rejected": [1]})");
  ReadTiffSeries other;
  set(other.path, (tmp.path() / "scan" / "frame_*.tif").string());
  set(other.sidecar, side.string());
  set(other.exclude, json.string());
  lumen::testing::Context ctx2(tmp.path() / "out2");
  CHECK(contains(lumen::test::error_of([&] { (void)lumen::testing::read_all(other, ctx2); }),
                 "describes a scan of 5 frames"));
}
