// The standardized ptychography file (see std_writer.hpp for both layouts).
#include "std_writer.hpp"

#include "lumen/error.hpp"

#include <algorithm>

namespace lumen::ptycho {

namespace fs = std::filesystem;

Layout parse_layout(const std::string& name) {
  if (name == "std") return Layout::std;
  if (name == "cxi") return Layout::cxi;
  throw Error("layout must be std or cxi, got '" + name + "'");
}

const char* layout_name(Layout l) noexcept {
  return l == Layout::cxi ? "cxi" : "std";
}

std::optional<double> common_value(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  for (const double x : v)
    if (!(x == v.front())) return std::nullopt;
  return v.front();
}

namespace {

constexpr const char* kCxiDetector = "/entry_1/instrument_1/detector_1";
constexpr const char* kCxiSource = "/entry_1/instrument_1/source_1";
constexpr const char* kCxiTranslation = "/entry_1/sample_1/geometry_1/translation";

std::string data_path(Layout l) {
  return l == Layout::cxi ? std::string(kCxiDetector) + "/data" : "/entry/data";
}

Array f64_array(const std::vector<double>& v, const Shape& shape) {
  Array a(DType::f64, shape);
  std::copy(v.begin(), v.end(), a.writable<double>().data());
  return a;
}

Array f64_vector(const std::vector<double>& v) {
  return f64_array(v, Shape{static_cast<std::int64_t>(v.size())});
}

Meta units(const std::string& u) {
  Meta m;
  m.set("units", u);
  return m;
}

// A scalar when every frame has the same value, else one value per frame; with its units.
void write_per_frame(hdf5::H5Editor& f, const std::string& path, const std::vector<double>& v,
                     const std::string& unit) {
  if (const auto one = common_value(v))
    f.write_scalar(path, *one);
  else
    f.write_array(path, f64_vector(v));
  f.write_attributes(path, units(unit));
}

void write_scalar(hdf5::H5Editor& f, const std::string& path, double v, const std::string& unit) {
  f.write_scalar(path, v);
  f.write_attributes(path, units(unit));
}

void write_array(hdf5::H5Editor& f, const std::string& path, const Array& a, const std::string& unit) {
  f.write_array(path, a);
  f.write_attributes(path, units(unit));
}

} // namespace

StdScanWriter::StdScanWriter(const fs::path& file, Layout layout, std::int64_t ny, std::int64_t nx, hdf5::Codec codec,
                             int level, ThreadPool* pool, std::string what)
    : file_(file), layout_(layout), ny_(ny), nx_(nx), what_(std::move(what)) {
  hdf5::WriteOptions o;
  o.dataset = data_path(layout);
  o.codec = codec;
  o.level = level;
  data_ = std::make_unique<hdf5::H5ChunkWriter>(file, DType::f32, Shape{1, ny, nx}, true, o, pool, what_);
}

StdScanWriter::~StdScanWriter() = default;

void StdScanWriter::append(const Array& frames, const Array& pos, const std::vector<double>& energy_eV,
                           const std::vector<double>& exposure_s) {
  const bool one = frames.ndim() == 2;
  const std::int64_t n = one ? 1 : frames.dim(0);
  if ((frames.ndim() != 2 && frames.ndim() != 3) || frames.dim(frames.ndim() - 2) != ny_ ||
      frames.dim(frames.ndim() - 1) != nx_)
    throw InputError(what_ + ": frames of shape " + frames.shape().str() + " do not fit the scan's " +
                     std::to_string(ny_) + " x " + std::to_string(nx_) + " frames");
  if (pos.ndim() != 2 || pos.dim(0) != n || pos.dim(1) != 2)
    throw InputError(what_ + ": \"pos\" has shape " + pos.shape().str() + ", expected (" + std::to_string(n) + ", 2)");
  if (static_cast<std::int64_t>(energy_eV.size()) != n)
    throw InputError(what_ + ": " + std::to_string(energy_eV.size()) + " energies for " + std::to_string(n) +
                     " frames");
  if (!exposure_s.empty() && static_cast<std::int64_t>(exposure_s.size()) != n)
    throw InputError(what_ + ": " + std::to_string(exposure_s.size()) + " exposures for " + std::to_string(n) +
                     " frames");
  if (frames_ > 0 && exposure_s.empty() != exposure_.empty())
    throw InputError(what_ + ": exposure_s is known for " + (exposure_.empty() ? "this block" : "the frames so far") +
                     " but not for " + (exposure_.empty() ? "the frames so far" : "this block") +
                     ": give it for the whole scan (array \"exposure_s\" or meta exposure_s) or for none");
  const Array f32 = frames.as(DType::f32);
  data_->append(one ? f32.contiguous_copy().reshape(Shape{1, ny_, nx_}) : f32);
  const Array p = pos.as(DType::f64).contiguous_copy();
  const auto pv = p.view<double>();
  pos_.insert(pos_.end(), pv.begin(), pv.end());
  energy_.insert(energy_.end(), energy_eV.begin(), energy_eV.end());
  exposure_.insert(exposure_.end(), exposure_s.begin(), exposure_s.end());
  frames_ += n;
}

void StdScanWriter::add_mask(const Array& mask) {
  if (mask.ndim() != 2 || mask.dim(0) != ny_ || mask.dim(1) != nx_)
    throw InputError(what_ + ": \"mask\" has shape " + mask.shape().str() + ", the frames are " + std::to_string(ny_) +
                     " x " + std::to_string(nx_));
  if (mask_.empty()) mask_.assign(static_cast<std::size_t>(ny_ * nx_), 0);
  const Array m = mask.contiguous_copy();
  visit_dtype(m.dtype(), [&]<typename T>(T) {
    const auto v = m.view<T>();
    const T* src = v.data();
    for (std::size_t i = 0; i < mask_.size(); ++i) mask_[i] |= static_cast<std::uint8_t>(src[i] != T{0});
  });
}

void StdScanWriter::set_dark(const Array& dark) {
  if (dark_.empty()) dark_ = dark.as(DType::f32).contiguous_copy();
}

void StdScanWriter::set_flat(const Array& flat) {
  if (flat_.empty()) flat_ = flat.as(DType::f32).contiguous_copy();
}

std::int64_t StdScanWriter::masked_pixels() const {
  return std::count(mask_.begin(), mask_.end(), std::uint8_t{1});
}

void StdScanWriter::close(const ScanHeader& header) {
  if (frames_ == 0) throw InputError(what_ + ": the scan has no frames");
  data_->close();
  data_.reset();
  if (layout_ == Layout::cxi)
    close_cxi(header);
  else
    close_std(header);
}

void StdScanWriter::close_std(const ScanHeader& h) {
  hdf5::H5Editor f(file_, what_);
  const auto n = static_cast<std::size_t>(frames_);
  f.write_attributes("/entry/data", units(h.data_units));
  write_array(f, "/entry/pos", f64_array(pos_, Shape{frames_, 2}), "m");
  std::vector<double> x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = pos_[2 * i];
    y[i] = pos_[2 * i + 1];
  }
  write_array(f, "/entry/posx_m", f64_vector(x), "m");
  write_array(f, "/entry/posy_m", f64_vector(y), "m");
  write_per_frame(f, "/entry/energy_eV", energy_, "eV");
  write_scalar(f, "/entry/det_dist_m", h.det_dist_m, "m");
  write_scalar(f, "/entry/pixel_m", h.pixel_m, "m");
  if (!exposure_.empty()) write_per_frame(f, "/entry/exposure_s", exposure_, "s");
  if (!mask_.empty()) {
    Array m(DType::u8, Shape{ny_, nx_});
    std::copy(mask_.begin(), mask_.end(), m.writable<std::uint8_t>().data());
    write_array(f, "/entry/mask", m, "1");
  }
  if (!dark_.empty()) write_array(f, "/entry/dark", dark_, h.data_units);
  if (!flat_.empty()) write_array(f, "/entry/flat", flat_, "1");
  f.write_string_list_attribute("/entry", "source_files", h.source_files);
  f.write_attributes("/entry", h.entry_attributes);
  f.close();
}

void StdScanWriter::close_cxi(const ScanHeader& h) {
  hdf5::H5Editor f(file_, what_);
  const std::string det = kCxiDetector, src = kCxiSource;
  f.write_scalar("/cxi_version", std::int64_t{160});
  f.write_scalar("/number_of_entries", std::int64_t{1});
  f.write_attributes(det + "/data", units(h.data_units));
  write_scalar(f, det + "/distance", h.det_dist_m, "m");
  write_scalar(f, det + "/x_pixel_size", h.pixel_m, "m");
  write_scalar(f, det + "/y_pixel_size", h.pixel_m, "m");
  if (!mask_.empty()) {
    Array m(DType::u32, Shape{ny_, nx_});
    std::copy(mask_.begin(), mask_.end(), m.writable<std::uint32_t>().data());
    write_array(f, det + "/mask", m, "1");
  }
  if (!exposure_.empty()) write_per_frame(f, det + "/count_time", exposure_, "s");
  if (!dark_.empty()) write_array(f, det + "/dark", dark_, h.data_units);
  if (!flat_.empty()) write_array(f, det + "/flat", flat_, "1");

  std::vector<double> joules(energy_.size()), wavelength(energy_.size());
  for (std::size_t i = 0; i < energy_.size(); ++i) {
    joules[i] = energy_[i] * kJoulePerEv;
    wavelength[i] = joules[i] > 0 ? kPlanckTimesC / joules[i] : 0.0;
  }
  write_per_frame(f, src + "/energy", joules, "J");
  write_per_frame(f, src + "/wavelength", wavelength, "m");

  const auto n = static_cast<std::size_t>(frames_);
  std::vector<double> t(3 * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    t[3 * i] = pos_[2 * i];
    t[3 * i + 1] = pos_[2 * i + 1];
  }
  write_array(f, kCxiTranslation, f64_array(t, Shape{frames_, 3}), "m");
  f.soft_link("/entry_1/data_1/data", det + "/data");
  f.soft_link("/entry_1/data_1/translation", kCxiTranslation);
  f.write_string_list_attribute("/entry_1", "source_files", h.source_files);
  f.write_attributes("/entry_1", h.entry_attributes);
  f.close();
}

} // namespace lumen::ptycho
