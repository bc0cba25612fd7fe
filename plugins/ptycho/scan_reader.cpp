// Reading a ptychography scan from one HDF5 file, block by block (see scan_reader.hpp).
#include "scan_reader.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lumen::ptycho {

namespace {

std::string number(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

std::string dims_text(const std::vector<std::int64_t>& d) {
  if (d.empty()) return "() (scalar)";
  std::string s = "(";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + (d.size() == 1 ? ",)" : ")");
}

std::int64_t count(const std::vector<std::int64_t>& d) {
  std::int64_t n = 1;
  for (const auto v : d) n *= v;
  return n;
}

// "'/entry/x' (pos_x_path)" for messages.
std::string named(const SourcePath& p) {
  return "'" + p.path + "' (" + p.origin + ")";
}

// Any call on `p` that fails says which parameter (or layout entry) named the dataset.
template <typename F> auto with_origin(const SourcePath& p, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const InputError& e) {
    throw InputError(p.origin + ": " + e.what());
  }
}

std::vector<std::int64_t> dims_of(hdf5::H5Reader& r, const SourcePath& p) {
  return with_origin(p, [&] { return r.dims(p.path); });
}

Array read_f64(hdf5::H5Reader& r, const SourcePath& p, std::int64_t begin, std::int64_t end) {
  return with_origin(p, [&] { return r.read(p.path, begin, end).as(DType::f64).contiguous_copy(); });
}

double to_ev(double v, const ScanSource& s, bool wavelength) {
  if (wavelength) return kHcEvM / v;
  switch (s.energy_kind) {
  case EnergyKind::joule:
    return v / kElectronVoltJ;
  case EnergyKind::wavelength:
    return kHcEvM / v;
  case EnergyKind::scaled:
    break;
  }
  return v * s.energy_scale;
}

// One value for the whole scan: every stored value must be the same (a scalar, (1,), or a
// per-frame list that never changes), finite and > 0.
double scan_constant(hdf5::H5Reader& r, const SourcePath& p, const char* what) {
  const std::vector<double> v = with_origin(p, [&] { return r.read_numbers(p.path); });
  if (v.empty()) r.fail(named(p) + " is empty; it should hold the " + what);
  for (const double x : v)
    if (x != v.front())
      r.fail(named(p) + " holds different values (" + number(v.front()) + " and " + number(x) + "); the " + what +
             " must be one value for the scan");
  if (!std::isfinite(v.front()) || v.front() <= 0)
    r.fail(named(p) + " holds " + number(v.front()) + "; the " + what + " must be > 0");
  return v.front();
}

// A per-frame quantity: one value (-> scan scalar) or one per frame, (N,) or (N, 1).
bool per_frame(hdf5::H5Reader& r, const SourcePath& p, std::int64_t frames, const char* what) {
  const auto d = dims_of(r, p);
  const std::int64_t n = count(d);
  if (n == 1) return false;
  const bool list = (d.size() == 1 && d[0] == frames) || (d.size() == 2 && d[0] == frames && d[1] == 1);
  if (!list)
    r.fail(named(p) + " has shape " + dims_text(d) + "; the " + what + " must be one value or one per frame (" +
           std::to_string(frames) + ",)");
  return true;
}

Array calibration(hdf5::H5Reader& r, const SourcePath& p, const ScanInfo& info, const char* what) {
  const auto d = dims_of(r, p);
  if (d.size() != 2 || d[0] != info.ny || d[1] != info.nx)
    r.fail(named(p) + " has shape " + dims_text(d) + "; the " + what + " must be one frame, (" +
           std::to_string(info.ny) + ", " + std::to_string(info.nx) + ")");
  return with_origin(p, [&] { return r.read(p.path); });
}

Array mask_u8(const Array& stored) {
  Array out(DType::u8, stored.shape());
  auto o = out.writable<std::uint8_t>();
  visit_dtype(stored.dtype(), [&]<typename T>(T) {
    const Array c = stored.contiguous_copy();
    const auto v = c.view<T>();
    const T* in = v.data();
    std::uint8_t* dst = o.data();
    for (std::int64_t i = 0; i < c.size(); ++i) dst[i] = in[i] != T{0} ? 1 : 0;
  });
  return out;
}

// Drop an optional dataset the file does not have.
void drop_absent(hdf5::H5Reader& r, SourcePath& p) {
  if (!p.empty() && p.optional && !r.has_dataset(p.path)) p = SourcePath{};
}

} // namespace

ScanSource cxi_source(const std::string& entry) {
  const std::string e = "/" + entry + "/";
  const std::string det = e + "instrument_1/detector_1/";
  ScanSource s;
  auto at = [](std::string path, std::string origin, bool optional = false) {
    return SourcePath{std::move(path), "CXI " + std::move(origin), optional};
  };
  s.data = at(det + "data", "detector data");
  s.pos = at(e + "sample_1/geometry_1/translation", "sample translation");
  s.det_dist = at(det + "distance", "detector distance");
  s.pixel = at(det + "x_pixel_size", "detector x_pixel_size");
  s.mask = at(det + "mask", "detector mask", true);
  s.exposure = at(det + "count_time", "detector count_time", true);
  s.energy = at(e + "instrument_1/source_1/energy", "source energy", true);
  s.energy_kind = EnergyKind::joule;
  s.wavelength = at(e + "instrument_1/source_1/wavelength", "source wavelength");
  return s;
}

std::int64_t scan_frames(hdf5::H5Reader& r, const ScanSource& src) {
  const auto d = dims_of(r, src.data);
  if (d.size() == 3) return d[0];
  if (d.size() == 2) return 1;
  r.fail(named(src.data) + " has shape " + dims_text(d) +
         "; the frames must be a stack (N, ny, nx) or one image (ny, nx)");
}

void inspect_per_scan(hdf5::H5Reader& r, ScanInfo& info, const std::string& frames_text) {
  ScanSource& s = info.source;
  for (SourcePath* p : {&s.pos, &s.pos_x, &s.pos_y, &s.energy, &s.det_dist, &s.pixel, &s.exposure, &s.dark, &s.flat,
                        &s.mask, &s.wavelength})
    drop_absent(r, *p);

  // Positions: one row per frame.
  if (!s.pos.empty()) {
    const auto p = dims_of(r, s.pos);
    if (p.size() != 2 || (p[1] != 2 && p[1] != 3))
      r.fail(named(s.pos) + " has shape " + dims_text(p) + "; positions must be (N, 2) [x, y] or (N, 3) [x, y, z]");
    if (p[0] != info.frames)
      r.fail("positions count != frames: " + named(s.pos) + " has " + std::to_string(p[0]) + " rows but " +
             frames_text + " (one position per frame)");
  } else if (!s.pos_x.empty() || !s.pos_y.empty()) {
    for (const SourcePath* q : {&s.pos_x, &s.pos_y}) {
      if (q->empty())
        r.fail("positions need both x and y; only " + named(s.pos_x.empty() ? s.pos_y : s.pos_x) + " is given");
      const auto p = dims_of(r, *q);
      const bool column = p.size() == 1 || (p.size() == 2 && p[1] == 1);
      if (!column) r.fail(named(*q) + " has shape " + dims_text(p) + "; a position column must be (N,) or (N, 1)");
      if (p[0] != info.frames)
        r.fail("positions count != frames: " + named(*q) + " has " + std::to_string(p[0]) + " values but " +
               frames_text + " (one position per frame)");
    }
  }

  // Scalars.
  if (!s.det_dist.empty())
    info.scalars.set("det_dist_m", MetaValue{scan_constant(r, s.det_dist, "detector distance") * s.dist_scale},
                     "sample-detector distance, from " + s.det_dist.path, "m");
  if (!s.pixel.empty())
    info.scalars.set("pixel_m", MetaValue{scan_constant(r, s.pixel, "pixel size") * s.pixel_scale},
                     "detector pixel size, from " + s.pixel.path, "m");
  if (s.energy.empty() && !s.wavelength.empty()) {
    const double lambda = scan_constant(r, s.wavelength, "wavelength");
    info.scalars.set("energy_eV", MetaValue{to_ev(lambda, s, true)}, "photon energy, h c / " + s.wavelength.path, "eV");
  } else if (!s.energy.empty()) {
    info.energy_per_frame = per_frame(r, s.energy, info.frames, "photon energy");
    if (!info.energy_per_frame)
      info.scalars.set("energy_eV", MetaValue{to_ev(scan_constant(r, s.energy, "photon energy"), s, false)},
                       "photon energy, from " + s.energy.path, "eV");
  }
  if (!s.exposure.empty()) {
    info.exposure_per_frame = per_frame(r, s.exposure, info.frames, "exposure time");
    if (!info.exposure_per_frame)
      info.scalars.set("exposure_s", MetaValue{scan_constant(r, s.exposure, "exposure time") * s.exposure_scale},
                       "exposure of one frame, from " + s.exposure.path, "s");
  }

  // Calibration, once per scan.
  if (!s.dark.empty()) info.dark = calibration(r, s.dark, info, "dark").as(DType::f32);
  if (!s.flat.empty()) info.flat = calibration(r, s.flat, info, "flat").as(DType::f32);
  if (!s.mask.empty()) info.mask = mask_u8(calibration(r, s.mask, info, "mask"));
}

ScanInfo inspect_scan(hdf5::H5Reader& r, const ScanSource& src) {
  ScanInfo info;
  info.source = src;
  const ScanSource& s = info.source;

  // Frames.
  const auto d = dims_of(r, s.data);
  info.frames = scan_frames(r, s);
  info.single_frame = d.size() == 2;
  info.ny = d[d.size() - 2];
  info.nx = d[d.size() - 1];
  (void)with_origin(s.data, [&] { return r.info(s.data.path); }); // the dtype must be an image's
  const std::string frames_text =
      "the data " + named(s.data) + " has " + std::to_string(info.frames) + " frame" + (info.frames == 1 ? "" : "s");
  inspect_per_scan(r, info, frames_text);
  return info;
}

void read_rows(hdf5::H5Reader& r, const ScanInfo& info, std::int64_t begin, std::int64_t end, ScanBlock& b) {
  const ScanSource& s = info.source;
  const std::int64_t n = end - begin;
  if (!s.pos.empty() || !s.pos_x.empty()) {
    b.pos = Array(DType::f64, Shape{n, 2});
    auto out = b.pos.writable<double>();
    if (!s.pos.empty()) {
      const Array p = read_f64(r, s.pos, begin, end);
      const auto v = p.view<double>();
      const std::int64_t cols = p.dim(1);
      for (std::int64_t k = 0; k < n; ++k) {
        out.at(k, 0) = v.data()[k * cols] * s.pos_scale;
        out.at(k, 1) = v.data()[k * cols + 1] * s.pos_scale;
      }
    } else {
      const Array x = read_f64(r, s.pos_x, begin, end), y = read_f64(r, s.pos_y, begin, end);
      for (std::int64_t k = 0; k < n; ++k) {
        out.at(k, 0) = x.view<double>().data()[k] * s.pos_scale;
        out.at(k, 1) = y.view<double>().data()[k] * s.pos_scale;
      }
    }
  }
  auto column = [&](const SourcePath& p, auto&& convert) {
    const Array a = read_f64(r, p, begin, end);
    Array out(DType::f64, Shape{n});
    const double* in = a.view<double>().data();
    double* o = out.writable<double>().data();
    for (std::int64_t k = 0; k < n; ++k) o[k] = convert(in[k]);
    return out;
  };
  if (info.energy_per_frame) b.energy = column(s.energy, [&](double v) { return to_ev(v, s, false); });
  if (info.exposure_per_frame) b.exposure = column(s.exposure, [&](double v) { return v * s.exposure_scale; });
}

ScanBlock read_block(hdf5::H5Reader& r, const ScanInfo& info, std::int64_t begin, std::int64_t end) {
  const ScanSource& s = info.source;
  if (begin < 0 || end > info.frames || end <= begin)
    r.fail("frames [" + std::to_string(begin) + ", " + std::to_string(end) + ") are outside the scan of " +
           std::to_string(info.frames) + " frames");
  ScanBlock b;
  if (info.single_frame)
    b.image = with_origin(s.data, [&] { return r.read(s.data.path); }).reshape(Shape{1, info.ny, info.nx});
  else
    b.image = with_origin(s.data, [&] { return r.read(s.data.path, begin, end); });

  read_rows(r, info, begin, end, b);
  return b;
}

std::int64_t block_frames(std::int64_t frames_per_item, std::int64_t frames_per_pos) {
  return std::max(frames_per_pos, frames_per_item / frames_per_pos * frames_per_pos);
}

double unit_factor(const std::string& u) {
  if (u == "m" || u == "eV" || u == "s") return 1;
  if (u == "mm" || u == "ms") return 1e-3;
  if (u == "um") return 1e-6;
  if (u == "nm") return 1e-9;
  if (u == "keV") return 1e3;
  throw Error("unknown unit '" + u + "'");
}

void set_block(Item& item, ScanBlock block, const ScanInfo& info, const std::string& units) {
  item.set("image", std::move(block.image));
  if (!block.pos.empty()) item.set("pos", std::move(block.pos));
  if (!block.energy.empty()) item.set("energy_eV", std::move(block.energy));
  if (!block.exposure.empty()) item.set("exposure_s", std::move(block.exposure));
  if (!info.dark.empty()) item.set("dark", info.dark); // the scan's arrays, shared, not copied
  if (!info.flat.empty()) item.set("flat", info.flat);
  if (!info.mask.empty()) item.set("mask", info.mask);
  item.meta.set("scan_frames", info.frames, "frames of the whole scan");
  item.meta.set("units", units, "what the pixel values are");
  for (const auto& e : info.scalars.entries()) item.meta.set(e.key, e.value, e.comment, e.unit);
}

FrameExclusion read_exclusion(const std::string& json_path) {
  FrameExclusion e;
  e.file = json_path;
  std::ifstream in(json_path);
  if (!in) throw Error("cannot open '" + json_path + "' (a ptypy_indices.json written by ptycho.qc_score)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& x) {
    throw Error("'" + json_path + "' is not valid JSON: " + x.what());
  }
  const std::string what = "'" + json_path +
                           "' must be an object with \"frames\" (an integer > 0) and \"rejected\" "
                           "(a list of frame indices), as ptycho.qc_score writes it (ptypy_indices: true)";
  if (!j.is_object() || !j.contains("frames") || !j["frames"].is_number_integer() || !j.contains("rejected") ||
      !j["rejected"].is_array())
    throw Error(what);
  e.frames = j["frames"].get<std::int64_t>();
  if (e.frames <= 0) throw Error(what + "; \"frames\" is " + std::to_string(e.frames));
  for (const auto& v : j["rejected"]) {
    if (!v.is_number_integer()) throw Error(what + "; \"rejected\" holds " + v.dump());
    const auto i = v.get<std::int64_t>();
    if (i < 0 || i >= e.frames)
      throw Error("'" + json_path + "': rejected index " + std::to_string(i) + " is outside the " +
                  std::to_string(e.frames) + " frames the file describes");
    e.rejected.push_back(i);
  }
  return e;
}

std::optional<FrameExclusion> exclude_param(const std::string& value) {
  if (value.empty()) return std::nullopt;
  try {
    return read_exclusion(value);
  } catch (const Error& e) {
    throw ConfigError("exclude", e.what());
  }
}

std::vector<std::uint8_t> excluded_frames(const FrameExclusion& e, std::int64_t scan_frames,
                                          std::int64_t frames_per_pos, const std::string& scan) {
  const std::int64_t fpp = std::max<std::int64_t>(1, frames_per_pos);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(scan_frames), 0);
  if (e.frames == scan_frames) {
    for (const auto i : e.rejected) {
      const std::int64_t first = i / fpp * fpp; // the whole position
      for (std::int64_t k = first; k < std::min(scan_frames, first + fpp); ++k) out[static_cast<std::size_t>(k)] = 1;
    }
  } else if (e.frames * fpp == scan_frames) {
    for (const auto i : e.rejected)
      for (std::int64_t k = i * fpp; k < (i + 1) * fpp; ++k) out[static_cast<std::size_t>(k)] = 1;
  } else {
    throw InputError(scan + " has " + std::to_string(scan_frames) + " frames (frames_per_pos " + std::to_string(fpp) +
                     ") but the exclude file " + e.file + " describes a scan of " + std::to_string(e.frames) +
                     " frames: it must be this scan's frames, or its positions (frames / frames_per_pos); is it the "
                     "QC of another scan?");
  }
  return out;
}

std::int64_t kept_before(const std::vector<std::uint8_t>& excluded, std::int64_t frame) {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < frame; ++i) n += excluded[static_cast<std::size_t>(i)] ? 0 : 1;
  return n;
}

void drop_excluded(ScanBlock& b, const std::vector<std::uint8_t>& excluded, std::int64_t begin) {
  const std::int64_t n = b.image.dim(0);
  std::vector<std::int64_t> keep;
  for (std::int64_t k = 0; k < n; ++k)
    if (!excluded[static_cast<std::size_t>(begin + k)]) keep.push_back(k);
  if (static_cast<std::int64_t>(keep.size()) == n) return;
  auto rows = [&](const Array& a) {
    if (a.empty()) return a;
    const Array c = a.contiguous_copy();
    Shape shape = c.shape();
    shape.dims[0] = static_cast<std::int64_t>(keep.size());
    Array out = Array::uninitialized(c.dtype(), shape);
    const std::size_t row = c.nbytes() / static_cast<std::size_t>(n);
    const auto* src = static_cast<const unsigned char*>(c.raw());
    auto* dst = static_cast<unsigned char*>(out.raw());
    for (std::size_t j = 0; j < keep.size(); ++j)
      std::memcpy(dst + j * row, src + static_cast<std::size_t>(keep[j]) * row, row);
    return out;
  };
  if (keep.empty()) {
    b = ScanBlock{};
    return;
  }
  b.image = rows(b.image);
  b.pos = rows(b.pos);
  b.energy = rows(b.energy);
  b.exposure = rows(b.exposure);
}

void renumber(Item& item, const std::vector<std::uint8_t>& excluded, std::int64_t begin) {
  const auto total = static_cast<std::int64_t>(excluded.size());
  const std::int64_t kept = kept_before(excluded, total);
  item.meta.set("index", kept_before(excluded, begin), "first kept frame of the block in the scan (exclude)");
  item.meta.set("scan_frames", kept, "frames of the whole scan after exclude");
  item.meta.set("excluded_frames", total - kept, "frames left out by exclude (ptypy_indices.json)");
  item.meta.set("first_frame_read", begin, "first frame of the block in the file");
}

} // namespace lumen::ptycho
