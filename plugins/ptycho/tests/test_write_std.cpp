// Tests of ptycho.write_std: a small scan (7 positions of 8 x 6 in blocks of 3 + 3 + 1, with dark,
// flat, per-block masks and per-frame exposures) written in both layouts and read back with the
// HDF5 C API the way a reconstruction code reads it (every key, dtype, shape, units attribute and
// value, the mask OR across blocks, posx/posy = pos columns, the CXI soft link); then with h5py
// when /usr/bin/python3 has it (checking the files against schemas/ptycho_std.schema.json too);
// and the failures: a missing scan scalar, an out-of-order block, a truncated scan (no file, no
// temporary), a mismatched frame shape.
//
// Run: build/bin/test_ptycho "[write_std]"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "ptycho_stages.hpp"
#include "std_writer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <hdf5.h>
#include <string>
#include <vector>

using namespace lumen;
using namespace lumen::ptycho;
using lumen::test::error_of;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kN = 7, kNy = 8, kNx = 6;

template <typename S> void set(Param<S>& p, const S& v) {
  using Stored = std::conditional_t<std::is_same_v<S, int>, std::int64_t, S>;
  p.assign(ParamValue{Stored(v)});
}

double frame_value(std::int64_t k, std::int64_t y, std::int64_t x) {
  return static_cast<double>(1000 * k + 10 * y + x);
}
double pos_x(std::int64_t k) {
  return 1e-6 * static_cast<double>(k) - 2e-6;
}
double pos_y(std::int64_t k) {
  return -0.5e-6 * static_cast<double>(k * k) + 1e-7;
}
double exposure(std::int64_t k) {
  return 0.1 + 0.01 * static_cast<double>(k);
}
double dark_value(std::int64_t y, std::int64_t x) {
  return 0.5 * static_cast<double>(y) + 0.25 * static_cast<double>(x);
}
double flat_value(std::int64_t y, std::int64_t x) {
  return 1.0 + 0.01 * static_cast<double>(y * kNx + x);
}
// Each block flags its own pixel; all of them flag (1, 1): the file must hold the OR.
const std::vector<std::pair<std::int64_t, std::int64_t>> kBlockBad{{0, 0}, {7, 5}, {3, 2}};

Array f64_values(std::vector<double> v, Shape shape) {
  Array a(DType::f64, shape);
  std::copy(v.begin(), v.end(), a.writable<double>().data());
  return a;
}

// Block b of the scan: frames [begin, end), u16 frames, f64 pos and exposure, f32 dark/flat,
// u8 mask; scan scalars in meta unless `scalars` is false.
Item block(int b, std::int64_t begin, std::int64_t end, bool scalars = true, std::int64_t scan_frames = kN,
           std::int64_t nx = kNx) {
  const std::int64_t n = end - begin;
  Item item("scan_0042/" + std::to_string(begin));
  item.provenance.source_file = "/data/raw/scan_0042.h5";
  Array image(DType::u16, Shape{n, kNy, nx});
  auto v = image.writable<std::uint16_t>();
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t y = 0; y < kNy; ++y)
      for (std::int64_t x = 0; x < nx; ++x) v.at(k, y, x) = static_cast<std::uint16_t>(frame_value(begin + k, y, x));
  item.set("image", image);
  std::vector<double> pos, expo;
  for (std::int64_t k = begin; k < end; ++k) {
    pos.push_back(pos_x(k));
    pos.push_back(pos_y(k));
    expo.push_back(exposure(k));
  }
  item.set("pos", f64_values(pos, Shape{n, 2}));
  item.set("exposure_s", f64_values(expo, Shape{n}));
  Array dark(DType::f32, Shape{kNy, kNx}), flat(DType::f32, Shape{kNy, kNx}), mask(DType::u8, Shape{kNy, kNx});
  auto d = dark.writable<float>();
  auto f = flat.writable<float>();
  auto m = mask.writable<std::uint8_t>();
  for (std::int64_t y = 0; y < kNy; ++y)
    for (std::int64_t x = 0; x < kNx; ++x) {
      d.at(y, x) = static_cast<float>(dark_value(y, x));
      f.at(y, x) = static_cast<float>(flat_value(y, x));
    }
  m.at(1, 1) = 1;
  m.at(kBlockBad[static_cast<std::size_t>(b)].first, kBlockBad[static_cast<std::size_t>(b)].second) = 1;
  item.set("dark", dark);
  item.set("flat", flat);
  item.set("mask", mask);
  item.meta.set("index", begin);
  item.meta.set("file_index", std::int64_t{0});
  item.meta.set("scan_frames", scan_frames);
  item.meta.set("units", "photons");
  if (scalars) {
    item.meta.set("energy_eV", 706.8, "", "eV");
    item.meta.set("det_dist_m", 0.325, "", "m");
    item.meta.set("pixel_m", 11e-6, "", "m");
  }
  item.meta.set("dark_subtracted", true);
  item.meta.set("grouping", "sum");
  item.meta.set("frames_per_pos", std::int64_t{2});
  item.meta.set("roi_origin", MetaValue{std::vector<double>{4, 2}});
  item.meta.set("saturated_pixels", std::int64_t{b}); // per block: must not reach the file
  return item;
}

std::vector<Item> scan_blocks() {
  std::vector<Item> items;
  items.push_back(block(0, 0, 3));
  items.push_back(block(1, 3, 6));
  items.push_back(block(2, 6, 7));
  return items;
}

struct Run {
  lumen::testing::Context ctx;
  WriteStd stage;
  lumen::testing::Collect out;
  explicit Run(const fs::path& dir, const std::string& layout = "std", const std::string& compression = "none")
      : ctx(dir, "write") {
    set(stage.layout, layout);
    set(stage.compression, compression);
    stage.validate();
    stage.attach(ctx);
    stage.start();
  }
  void feed(std::vector<Item> items) {
    for (auto& item : items) stage.process(item, out);
  }
};

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// ---- reading back with the HDF5 C API ------------------------------------------------------------

struct Dataset {
  std::vector<hsize_t> dims;
  H5T_class_t cls = H5T_NO_CLASS;
  std::size_t size = 0; // bytes per element
  bool is_signed = false;
  std::vector<double> values;
  std::string units;
  std::vector<hsize_t> chunk; // empty when not chunked
};

std::string string_attribute(hid_t obj, const char* name) {
  if (H5Aexists(obj, name) <= 0) return "(missing)";
  const hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  const hid_t t = H5Aget_type(a);
  std::string out;
  if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0) {
    char* s = nullptr;
    const hid_t mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
    if (H5Aread(a, mt, &s) >= 0 && s) {
      out = s;
      H5free_memory(s);
    }
    H5Tclose(mt);
  } else {
    out = "(not a variable-length string)";
  }
  H5Tclose(t);
  H5Aclose(a);
  return out;
}

Dataset read_dataset(hid_t file, const std::string& path) {
  Dataset d;
  const hid_t ds = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  REQUIRE(ds >= 0);
  const hid_t t = H5Dget_type(ds), sp = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
  d.cls = H5Tget_class(t);
  d.size = H5Tget_size(t);
  d.is_signed = d.cls == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_2;
  const int rank = H5Sget_simple_extent_ndims(sp);
  d.dims.resize(static_cast<std::size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(sp, d.dims.data(), nullptr);
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    d.chunk.resize(static_cast<std::size_t>(rank));
    H5Pget_chunk(dcpl, rank, d.chunk.data());
  }
  d.values.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(sp)));
  REQUIRE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, d.values.data()) >= 0);
  d.units = string_attribute(ds, "units");
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Tclose(t);
  H5Dclose(ds);
  return d;
}

bool is_f32(const Dataset& d) {
  return d.cls == H5T_FLOAT && d.size == 4;
}
bool is_f64(const Dataset& d) {
  return d.cls == H5T_FLOAT && d.size == 8;
}
bool is_uint(const Dataset& d, std::size_t bytes) {
  return d.cls == H5T_INTEGER && d.size == bytes && !d.is_signed;
}
using Dims = std::vector<hsize_t>;

class File {
public:
  explicit File(const fs::path& p) : id(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) { REQUIRE(id >= 0); }
  ~File() { H5Fclose(id); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  [[nodiscard]] bool exists(const std::string& path) const {
    return H5Lexists(id, path.c_str(), H5P_DEFAULT) > 0;
  } // parents must exist
  hid_t id;
};

void check_frames(const Dataset& d) {
  CHECK(is_f32(d));
  REQUIRE(d.dims == Dims{kN, kNy, kNx});
  CHECK(d.chunk == Dims{1, kNy, kNx});
  CHECK(d.units == "photons");
  bool same = true;
  for (std::int64_t k = 0; k < kN; ++k)
    for (std::int64_t y = 0; y < kNy; ++y)
      for (std::int64_t x = 0; x < kNx; ++x)
        same = same && d.values[static_cast<std::size_t>((k * kNy + y) * kNx + x)] == frame_value(k, y, x);
  CHECK(same);
}

void check_mask(const Dataset& d) {
  REQUIRE(d.dims == Dims{kNy, kNx});
  std::vector<double> want(static_cast<std::size_t>(kNy * kNx), 0.0);
  want[1 * kNx + 1] = 1;
  for (const auto& [y, x] : kBlockBad) want[static_cast<std::size_t>(y * kNx + x)] = 1;
  CHECK(d.values == want);
}

void check_calibration(const Dataset& dark, const Dataset& flat) {
  CHECK(is_f32(dark));
  CHECK(is_f32(flat));
  REQUIRE(dark.dims == Dims{kNy, kNx});
  REQUIRE(flat.dims == Dims{kNy, kNx});
  CHECK(dark.units == "photons");
  CHECK(flat.units == "1");
  bool same = true;
  for (std::int64_t y = 0; y < kNy; ++y)
    for (std::int64_t x = 0; x < kNx; ++x) {
      same = same && dark.values[static_cast<std::size_t>(y * kNx + x)] == static_cast<float>(dark_value(y, x));
      same = same && flat.values[static_cast<std::size_t>(y * kNx + x)] == static_cast<float>(flat_value(y, x));
    }
  CHECK(same);
}

void check_entry_attributes(hid_t file, const char* group, const std::string& layout) {
  const hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
  REQUIRE(g >= 0);
  CHECK(string_attribute(g, "lumen_version") == lumen::version());
  CHECK(string_attribute(g, "run_id") == "test-run");
  CHECK(string_attribute(g, "layout") == layout);
  CHECK(string_attribute(g, "grouping") == "sum");
  CHECK(string_attribute(g, "units") == "photons");
  const std::string created = string_attribute(g, "created");
  CHECK(created.size() == 20);
  CHECK(created.back() == 'Z');
  CHECK(H5Aexists(g, "dark_subtracted") > 0);
  CHECK(H5Aexists(g, "frames_per_pos") > 0);
  CHECK(H5Aexists(g, "roi_origin") > 0);
  CHECK(H5Aexists(g, "index") == 0); // per-block keys stay out
  CHECK(H5Aexists(g, "saturated_pixels") == 0);
  // source_files: a list of strings
  const hid_t a = H5Aopen(g, "source_files", H5P_DEFAULT);
  REQUIRE(a >= 0);
  const hid_t sp = H5Aget_space(a), t = H5Aget_type(a);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(sp, &n, nullptr);
  REQUIRE(n == 1);
  char* s = nullptr;
  const hid_t mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
  REQUIRE(H5Aread(a, mt, &s) >= 0);
  CHECK(std::string(s) == "/data/raw/scan_0042.h5");
  H5free_memory(s);
  H5Tclose(mt);
  H5Tclose(t);
  H5Sclose(sp);
  H5Aclose(a);
  // masked_pixels counts the OR-ed mask
  double masked = 0;
  const hid_t m = H5Aopen(g, "masked_pixels", H5P_DEFAULT);
  REQUIRE(m >= 0);
  H5Aread(m, H5T_NATIVE_DOUBLE, &masked);
  H5Aclose(m);
  CHECK(masked == 4);
  H5Gclose(g);
}

fs::path write_scan(const fs::path& dir, const std::string& layout, const std::string& compression = "none") {
  Run run(dir, layout, compression);
  run.feed(scan_blocks());
  // The scan is complete at its 7th frame: committed before finish().
  const fs::path target = dir / "scan_0042_std.h5";
  CHECK(fs::exists(target));
  run.stage.finish(run.out);
  CHECK(run.out.items.empty());
  REQUIRE(run.ctx.recorded.size() == 1);
  CHECK(run.ctx.recorded[0].first == target);
  CHECK(files_in(dir) == std::vector<std::string>{"scan_0042_std.h5"});
  return target;
}

bool have_h5py() {
  return std::system("/usr/bin/python3 -c 'import h5py' > /dev/null 2>&1") == 0;
}

fs::path schema_file() {
  return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "schemas" /
         "ptycho_std.schema.json";
}

} // namespace

TEST_CASE("write_std: the std layout read back with the HDF5 C API", "[ptycho][write_std]") {
  lumen::test::TempDir tmp("ptycho_std");
  for (const std::string compression : {"none", "shuffle+deflate"}) {
    DYNAMIC_SECTION("compression " << compression) {
      const fs::path file = write_scan(tmp.path() / compression, "std", compression);
      File f(file);
      check_frames(read_dataset(f.id, "/entry/data"));

      const Dataset pos = read_dataset(f.id, "/entry/pos");
      const Dataset px = read_dataset(f.id, "/entry/posx_m"), py = read_dataset(f.id, "/entry/posy_m");
      CHECK(is_f64(pos));
      CHECK(is_f64(px));
      CHECK(is_f64(py));
      REQUIRE(pos.dims == Dims{kN, 2});
      REQUIRE(px.dims == Dims{kN});
      REQUIRE(py.dims == Dims{kN});
      CHECK((pos.units == "m" && px.units == "m" && py.units == "m"));
      for (std::int64_t k = 0; k < kN; ++k) {
        const auto i = static_cast<std::size_t>(k);
        CHECK(pos.values[2 * i] == pos_x(k));
        CHECK(pos.values[2 * i + 1] == pos_y(k));
        CHECK(px.values[i] == pos.values[2 * i]);
        CHECK(py.values[i] == pos.values[2 * i + 1]);
      }

      const Dataset energy = read_dataset(f.id, "/entry/energy_eV");
      CHECK(is_f64(energy));
      CHECK(energy.dims.empty()); // the same for every frame: a scalar
      CHECK(energy.values == std::vector<double>{706.8});
      CHECK(energy.units == "eV");
      const Dataset dist = read_dataset(f.id, "/entry/det_dist_m"), pix = read_dataset(f.id, "/entry/pixel_m");
      CHECK((is_f64(dist) && dist.dims.empty() && dist.values == std::vector<double>{0.325} && dist.units == "m"));
      CHECK((is_f64(pix) && pix.dims.empty() && pix.values == std::vector<double>{11e-6} && pix.units == "m"));

      const Dataset expo = read_dataset(f.id, "/entry/exposure_s");
      CHECK(is_f64(expo));
      REQUIRE(expo.dims == Dims{kN}); // per frame, they differ
      for (std::int64_t k = 0; k < kN; ++k) CHECK(expo.values[static_cast<std::size_t>(k)] == exposure(k));
      CHECK(expo.units == "s");

      const Dataset mask = read_dataset(f.id, "/entry/mask");
      CHECK(is_uint(mask, 1));
      CHECK(mask.units == "1");
      check_mask(mask);
      check_calibration(read_dataset(f.id, "/entry/dark"), read_dataset(f.id, "/entry/flat"));
      check_entry_attributes(f.id, "/entry", "std");
    }
  }
}

TEST_CASE("write_std: the CXI 1.6 layout read back with the HDF5 C API", "[ptycho][write_std]") {
  lumen::test::TempDir tmp("ptycho_cxi");
  const fs::path file = write_scan(tmp.path(), "cxi");
  File f(file);
  const Dataset version = read_dataset(f.id, "/cxi_version");
  CHECK((version.cls == H5T_INTEGER && version.dims.empty() && version.values == std::vector<double>{160}));
  CHECK(read_dataset(f.id, "/number_of_entries").values == std::vector<double>{1});
  CHECK_FALSE(f.exists("/entry"));

  const std::string det = "/entry_1/instrument_1/detector_1";
  check_frames(read_dataset(f.id, det + "/data"));
  const Dataset dist = read_dataset(f.id, det + "/distance");
  CHECK((is_f64(dist) && dist.dims.empty() && dist.values == std::vector<double>{0.325} && dist.units == "m"));
  for (const char* name : {"/x_pixel_size", "/y_pixel_size"}) {
    const Dataset p = read_dataset(f.id, det + name);
    CHECK((is_f64(p) && p.dims.empty() && p.values == std::vector<double>{11e-6} && p.units == "m"));
  }
  const Dataset mask = read_dataset(f.id, det + "/mask");
  CHECK(is_uint(mask, 4)); // CXI: uint32 bit field, bit 0 = invalid pixel
  check_mask(mask);
  const Dataset count_time = read_dataset(f.id, det + "/count_time");
  REQUIRE(count_time.dims == Dims{kN});
  CHECK(count_time.values[3] == exposure(3));
  CHECK(count_time.units == "s");
  check_calibration(read_dataset(f.id, det + "/dark"), read_dataset(f.id, det + "/flat"));

  const Dataset energy = read_dataset(f.id, "/entry_1/instrument_1/source_1/energy");
  CHECK((is_f64(energy) && energy.dims.empty() && energy.units == "J"));
  CHECK(energy.values[0] == Approx(706.8 * 1.602176634e-19).epsilon(1e-15));
  const Dataset wavelength = read_dataset(f.id, "/entry_1/instrument_1/source_1/wavelength");
  CHECK(wavelength.values[0] == Approx(1.7541e-9).epsilon(1e-4)); // 1239.84198 nm eV / 706.8 eV
  CHECK(wavelength.units == "m");

  const Dataset t = read_dataset(f.id, "/entry_1/sample_1/geometry_1/translation");
  CHECK(is_f64(t));
  REQUIRE(t.dims == Dims{kN, 3});
  CHECK(t.units == "m");
  for (std::int64_t k = 0; k < kN; ++k) {
    const auto i = static_cast<std::size_t>(k);
    CHECK(t.values[3 * i] == pos_x(k));
    CHECK(t.values[3 * i + 1] == pos_y(k));
    CHECK(t.values[3 * i + 2] == 0.0);
  }

  // entry_1/data_1/data: a soft link (CXI convention) that resolves to the detector data.
  H5L_info_t info;
  REQUIRE(H5Lget_info(f.id, "/entry_1/data_1/data", &info, H5P_DEFAULT) >= 0);
  CHECK(info.type == H5L_TYPE_SOFT);
  std::vector<char> target(info.u.val_size + 1, '\0');
  REQUIRE(H5Lget_val(f.id, "/entry_1/data_1/data", target.data(), target.size(), H5P_DEFAULT) >= 0);
  CHECK(std::string(target.data()) == det + "/data");
  check_frames(read_dataset(f.id, "/entry_1/data_1/data"));
  REQUIRE(H5Lget_info(f.id, "/entry_1/data_1/translation", &info, H5P_DEFAULT) >= 0);
  CHECK(info.type == H5L_TYPE_SOFT);
  CHECK(read_dataset(f.id, "/entry_1/data_1/translation").values == t.values);
  check_entry_attributes(f.id, "/entry_1", "cxi");
}

TEST_CASE("write_std: h5py reads both layouts, and they match the schema description", "[ptycho][write_std][python]") {
  if (!have_h5py()) {
    WARN("SKIPPED: /usr/bin/python3 has no h5py (apt-get install python3-h5py)");
    return;
  }
  lumen::test::TempDir tmp("ptycho_h5py");
  const fs::path std_file = write_scan(tmp.path() / "std", "std", "shuffle+deflate");
  const fs::path cxi_file = write_scan(tmp.path() / "cxi", "cxi");
  const fs::path schema = schema_file();
  const fs::path script = tmp.path() / "check.py";
  std::ofstream(script) << R"PY(
import json, sys
import h5py
import numpy as np
std = h5py.File(sys.argv[1], "r")
cxi = h5py.File(sys.argv[2], "r")
N, ny, nx = 7, 8, 6
k, y, x = np.meshgrid(np.arange(N), np.arange(ny), np.arange(nx), indexing="ij")
want = (1000 * k + 10 * y + x).astype(np.float32)
# What PtyPy's Hdf5Loader reads: data, posx_m, posy_m (and the scalars) directly by path.
data = std["entry/data"][...]
assert data.dtype == np.float32 and data.shape == (N, ny, nx), (data.dtype, data.shape)
assert np.array_equal(data, want)
px, py = std["entry/posx_m"][...], std["entry/posy_m"][...]
kk = np.arange(N)
assert np.array_equal(px, 1e-6 * kk - 2e-6) and np.array_equal(py, -0.5e-6 * kk * kk + 1e-7)
assert np.array_equal(std["entry/pos"][...], np.stack([px, py], axis=1))
assert std["entry/energy_eV"][()] == 706.8 and std["entry/det_dist_m"][()] == 0.325
assert std["entry/pixel_m"][()] == 11e-6
assert std["entry/mask"].dtype == np.uint8 and std["entry/mask"][...].sum() == 4
# The CXI file holds the same values, in its own names and SI units.
det = cxi["entry_1/instrument_1/detector_1"]
assert cxi["cxi_version"][()] == 160
assert np.array_equal(det["data"][...], data)
assert np.array_equal(cxi["entry_1/data_1/data"][...], data)
assert isinstance(cxi["entry_1/data_1"].get("data", getlink=True), h5py.SoftLink)
t = cxi["entry_1/sample_1/geometry_1/translation"][...]
assert np.array_equal(t[:, 0], px) and np.array_equal(t[:, 1], py) and not t[:, 2].any()
assert np.isclose(cxi["entry_1/instrument_1/source_1/energy"][()], 706.8 * 1.602176634e-19, rtol=1e-15, atol=0)
assert det["distance"][()] == 0.325 and det["x_pixel_size"][()] == 11e-6 and det["y_pixel_size"][()] == 11e-6
assert det["mask"].dtype == np.uint32 and np.array_equal(det["mask"][...], std["entry/mask"][...])
assert np.array_equal(det["count_time"][...], std["entry/exposure_s"][...])
assert list(std["entry"].attrs["source_files"]) == ["/data/raw/scan_0042.h5"]
# Every dataset the schema description lists, in both layouts: presence, dtype, rank, units.
if len(sys.argv) > 3:
    schema = json.load(open(sys.argv[3]))
    for layout, f in (("std", std), ("cxi", cxi)):
        for d in schema["layouts"][layout]["datasets"]:
            path = d["path"]
            if path not in f:
                assert not d["required"], f"{layout}: required {path} missing"
                continue
            ds = f[path]
            assert ds.dtype == np.dtype(d["dtype"]), (layout, path, ds.dtype, d["dtype"])
            assert ds.ndim in d["rank"], (layout, path, ds.ndim, d["rank"])
            if d.get("units"):
                u = ds.attrs.get("units")
                u = u.decode() if isinstance(u, bytes) else u
                assert u in d["units"].split("|"), (layout, path, u, d["units"])
        for link in schema["layouts"][layout].get("soft_links", []):
            assert isinstance(f.get(link["path"], getlink=True), h5py.SoftLink), link
            assert f.get(link["path"], getlink=True).path == link["target"], link
        print(layout, "matches the schema description")
# The names shared with a real CXI file (PETRA III P25) have the same rank there.
if len(sys.argv) > 4:
    real = h5py.File(sys.argv[4], "r")
    shared = 0
    def compare(name, obj):
        global shared
        if isinstance(obj, h5py.Dataset) and name in real:
            assert real[name].ndim == obj.ndim, (name, real[name].shape, obj.shape)
            shared += 1
    cxi.visititems(compare)
    for name in ("cxi_version", "entry_1/instrument_1/detector_1/data", "entry_1/instrument_1/detector_1/distance",
                 "entry_1/instrument_1/detector_1/x_pixel_size", "entry_1/instrument_1/detector_1/mask",
                 "entry_1/instrument_1/source_1/energy", "entry_1/sample_1/geometry_1/translation",
                 "entry_1/data_1/data"):
        assert name in real and name in cxi, name
    assert real["entry_1/instrument_1/detector_1/mask"].dtype == det["mask"].dtype
    print("names shared with the real CXI file:", shared)
print("OK")
)PY";
  std::string cmd = "/usr/bin/python3 " + script.string() + " " + std_file.string() + " " + cxi_file.string();
  const auto real = lumen::test::shared_file("ptycho/PETRAIII_P25_Near_Field_Ptycho.cxi");
  if (fs::exists(schema))
    cmd += " " + schema.string() + (real ? " " + real->string() : std::string());
  else
    WARN("schemas/ptycho_std.schema.json not found beside the sources (" << schema << "): layout check skipped");
  if (!real) WARN("the real CXI file ptycho/PETRAIII_P25_Near_Field_Ptycho.cxi is absent: name comparison skipped");
  const fs::path log = tmp.path() / "check.log";
  const int rc = std::system((cmd + " > " + log.string() + " 2>&1").c_str());
  std::ifstream in(log);
  const std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(output);
  CHECK(rc == 0);
  CHECK(output.find("OK") != std::string::npos);
}

TEST_CASE("write_std: energy per frame when the frames differ, parameters fill missing scalars",
          "[ptycho][write_std]") {
  lumen::test::TempDir tmp("ptycho_energy");
  Run run(tmp.path());
  set(run.stage.det_dist_m, 1.5);
  set(run.stage.pixel_m, 55e-6);
  auto items = scan_blocks();
  for (auto& item : items) {
    item.meta.erase("det_dist_m");
    item.meta.erase("pixel_m");
    const std::int64_t begin = item.meta.get_int("index").value();
    const std::int64_t n = item.array("image").dim(0);
    std::vector<double> e;
    for (std::int64_t k = begin; k < begin + n; ++k) e.push_back(700.0 + static_cast<double>(k));
    item.set("energy_eV", f64_values(e, Shape{n}));
    item.remove("exposure_s");
    item.meta.set("exposure_s", 0.25);
  }
  run.feed(std::move(items));
  run.stage.finish(run.out);
  File f(tmp.path() / "scan_0042_std.h5");
  const Dataset energy = read_dataset(f.id, "/entry/energy_eV");
  REQUIRE(energy.dims == Dims{kN});
  CHECK(energy.values[6] == 706.0);
  CHECK(read_dataset(f.id, "/entry/det_dist_m").values == std::vector<double>{1.5});
  CHECK(read_dataset(f.id, "/entry/pixel_m").values == std::vector<double>{55e-6});
  double attr = 0; // the entry's attribute records the value used, not the (absent) meta
  const hid_t a = H5Aopen_by_name(f.id, "/entry", "det_dist_m", H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(a >= 0);
  H5Aread(a, H5T_NATIVE_DOUBLE, &attr);
  H5Aclose(a);
  CHECK(attr == 1.5);
  const Dataset expo = read_dataset(f.id, "/entry/exposure_s");
  CHECK((expo.dims.empty() && expo.values == std::vector<double>{0.25}));
}

TEST_CASE("write_std: a missing det_dist_m fails naming the key and both ways to give it", "[ptycho][write_std]") {
  lumen::test::TempDir tmp("ptycho_missing");
  Run run(tmp.path());
  Item item = block(0, 0, 3, false);
  item.meta.set("energy_eV", 700.0);
  item.meta.set("pixel_m", 11e-6);
  const std::string e = error_of([&] { run.stage.process(item, run.out); });
  CHECK_THAT(e, Catch::Contains("det_dist_m is unknown") && Catch::Contains("meta det_dist_m") &&
                    Catch::Contains("parameter det_dist_m"));
  // The rest of the scan fails with the first error, and nothing is written.
  Item next = block(1, 3, 6);
  CHECK_THAT(error_of([&] { run.stage.process(next, run.out); }),
             Catch::Contains("abandoned") && Catch::Contains("det_dist_m"));
  run.stage.finish(run.out);
  CHECK(files_in(tmp.path()).empty());
}

TEST_CASE("write_std: an out-of-order block fails naming the expected and the got index", "[ptycho][write_std]") {
  lumen::test::TempDir tmp("ptycho_order");
  Run run(tmp.path());
  Item first = block(0, 0, 3);
  run.stage.process(first, run.out);
  Item skipped = block(2, 6, 7);
  CHECK_THAT(error_of([&] { run.stage.process(skipped, run.out); }), Catch::Contains("out of order") &&
                                                                         Catch::Contains("starting at frame 3") &&
                                                                         Catch::Contains("got index 6"));
  // A scan starting elsewhere than frame 0 is out of order too.
  Item late = block(1, 3, 6);
  late.meta.set("file_index", std::int64_t{1});
  late.provenance.source_file = "/data/raw/scan_0043.h5";
  CHECK_THAT(error_of([&] { run.stage.process(late, run.out); }),
             Catch::Contains("expected index 0") && Catch::Contains("got 3"));
  run.stage.finish(run.out);
  CHECK(files_in(tmp.path()).empty());
}

TEST_CASE("write_std: a truncated scan leaves no file and no temporary file", "[ptycho][write_std]") {
  lumen::test::TempDir tmp("ptycho_truncated");
  Run run(tmp.path(), "cxi", "shuffle+deflate");
  auto items = scan_blocks();
  items.pop_back(); // 6 of 7 frames
  run.feed(std::move(items));
  CHECK(files_in(tmp.path()).size() == 1); // the temporary, while the scan is open
  const std::string e = error_of([&] { run.stage.finish(run.out); });
  CHECK_THAT(e, Catch::Contains("truncated scan") && Catch::Contains("6 of scan_frames = 7"));
  CHECK(files_in(tmp.path()).empty());
  CHECK(run.ctx.recorded.empty());
}

TEST_CASE("write_std: a block with another frame shape fails and the scan writes nothing", "[ptycho][write_std]") {
  lumen::test::TempDir tmp("ptycho_shape");
  Run run(tmp.path());
  Item first = block(0, 0, 3);
  run.stage.process(first, run.out);
  Item narrow = block(1, 3, 6, true, kN, kNx - 1);
  CHECK_THAT(error_of([&] { run.stage.process(narrow, run.out); }),
             Catch::Contains("frames of 8 x 5") && Catch::Contains("started with frames of 8 x 6"));
  run.stage.finish(run.out);
  CHECK(files_in(tmp.path()).empty());
}

TEST_CASE("write_std: pos rows must equal the frames, and scans without scan_frames commit at the end",
          "[ptycho][write_std]") {
  lumen::test::TempDir tmp("ptycho_pos");
  {
    Run run(tmp.path());
    Item item = block(0, 0, 3);
    item.set("pos", f64_values({0, 0, 1e-6, 1e-6}, Shape{2, 2}));
    CHECK_THAT(error_of([&] { run.stage.process(item, run.out); }),
               Catch::Contains("\"pos\" has shape") && Catch::Contains("expected (3, 2)"));
    Item no_pos = block(0, 0, 3);
    no_pos.meta.set("file_index", std::int64_t{2});
    no_pos.remove("pos");
    CHECK_THAT(error_of([&] { run.stage.process(no_pos, run.out); }), Catch::Contains("no \"pos\" array"));
    run.stage.finish(run.out);
    CHECK(files_in(tmp.path()).empty());
  }
  {
    Run run(tmp.path());
    auto items = scan_blocks();
    for (auto& item : items) item.meta.erase("scan_frames");
    run.feed(std::move(items));
    CHECK_FALSE(fs::exists(tmp.path() / "scan_0042_std.h5")); // not known to be complete yet
    run.stage.finish(run.out);
    File f(tmp.path() / "scan_0042_std.h5");
    CHECK(read_dataset(f.id, "/entry/data").dims == Dims{kN, kNy, kNx});
  }
}
