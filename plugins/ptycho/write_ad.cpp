// ptycho.write_ad (see write_ad.hpp for what it writes; ad_writer.cpp for the HDF5 code).
#include "write_ad.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

namespace lumen::ptycho {

namespace {

std::string who(const Item& item) {
  return "item '" + item.id() + "'";
}

// Stored value per SI value (the inverse of ptycho.read_ad's factors to SI).
double per_si(const std::string& unit) {
  if (unit == "m" || unit == "eV" || unit == "s") return 1;
  if (unit == "mm" || unit == "ms") return 1e3;
  if (unit == "um") return 1e6;
  if (unit == "nm") return 1e9;
  if (unit == "keV") return 1e-3;
  throw Error("unknown unit '" + unit + "'");
}

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Where one NDAttribute's values come from, per block.
enum class From { pos_x, pos_y, energy, det_dist, pixel, exposure, unique_id };

struct Column {
  AdAttribute attr;
  From from;
  double scale; // stored per SI
};

// The n values of a per-frame quantity: the 1-D array `name` when the item has it, else meta
// `name` repeated; nullopt when neither is there.
std::optional<std::vector<double>> per_frame(const Item& item, const char* name, std::int64_t n) {
  if (item.has(name)) {
    const Array& a = item.array(name);
    if (a.ndim() != 1 || a.dim(0) != n)
      throw InputError(who(item) + ": \"" + name + "\" has shape " + a.shape().str() + ", expected (" +
                       std::to_string(n) + "): one value per frame");
    const Array d = a.as(DType::f64).contiguous_copy();
    const auto v = d.view<double>();
    return std::vector<double>(v.begin(), v.end());
  }
  if (const auto v = item.meta.get_number(name)) return std::vector<double>(static_cast<std::size_t>(n), *v);
  return std::nullopt;
}

std::optional<std::vector<double>> values_of(const Item& item, From from, std::int64_t n, std::int64_t index) {
  switch (from) {
  case From::pos_x:
  case From::pos_y: {
    const Array p = item.array("pos").as(DType::f64).contiguous_copy();
    const double* v = p.view<double>().data();
    std::vector<double> out(static_cast<std::size_t>(n));
    const std::int64_t col = from == From::pos_x ? 0 : 1;
    for (std::int64_t k = 0; k < n; ++k) out[static_cast<std::size_t>(k)] = v[2 * k + col];
    return out;
  }
  case From::energy:
    return per_frame(item, "energy_eV", n);
  case From::exposure:
    return per_frame(item, "exposure_s", n);
  case From::det_dist:
  case From::pixel: {
    const auto v = item.meta.get_number(from == From::det_dist ? "det_dist_m" : "pixel_m");
    if (!v) return std::nullopt;
    return std::vector<double>(static_cast<std::size_t>(n), *v);
  }
  case From::unique_id: {
    std::vector<double> out(static_cast<std::size_t>(n));
    for (std::int64_t k = 0; k < n; ++k) out[static_cast<std::size_t>(k)] = static_cast<double>(index + k + 1);
    return out;
  }
  }
  return std::nullopt;
}

} // namespace

struct WriteAd::Scan {
  std::unique_ptr<AtomicFile> file;
  std::unique_ptr<AdScanWriter> writer;
  std::vector<Column> columns;
  HeldUnits held; // released when the file is committed or dropped
  std::optional<std::int64_t> scan_frames;
  std::string first_id;
  Meta root;
};

WriteAd::WriteAd() : FileAggregator("{stem}.h5") {}
WriteAd::~WriteAd() = default;

AdLayout WriteAd::load_layout() const {
  return layout->empty() ? minimal_ad_layout() : parse_ad_layout(*layout);
}

void WriteAd::validate() const {
  FileAggregator::validate();
  AdLayout lay;
  try {
    lay = load_layout();
    (void)lay.detector_path();
  } catch (const Error& e) {
    throw ConfigError("layout", e.what());
  }
  for (const char* a : {"PosX", "PosY"})
    if (!lay.ndattribute_path(a))
      throw ConfigError("layout", "the layout " + lay.origin + " places no NDAttribute " + a +
                                      " and has no ndattr_default group: the positions would not be written; add "
                                      "<dataset name=\"...\" source=\"ndattribute\" ndattribute=\"" +
                                      a + "\"/> to it");
}

void WriteAd::start() {
  layout_ = load_layout();
  if (*compression != "none") pool_ = std::make_unique<ThreadPool>(std::max(1, ctx().threads()));
}

void WriteAd::process(Item& item, Emit&) {
  const std::string w = who(item);
  const std::int64_t scan_id = item.meta.get_int("file_index").value_or(0);
  if (const auto f = failed_.find(scan_id); f != failed_.end())
    throw InputError(w + ": scan " + std::to_string(scan_id) +
                     " (file_index) was abandoned after an earlier error, so no file is written for it: " + f->second);
  auto it = scans_.find(scan_id);
  try {
    const Array& image = item.array("image");
    if (image.ndim() != 2 && image.ndim() != 3)
      throw InputError(w + ": \"image\" has shape " + image.shape().str() + "; frames are (n, ny, nx) or (ny, nx)");
    const std::int64_t n = image.ndim() == 3 ? image.dim(0) : 1;
    const std::int64_t ny = image.dim(image.ndim() - 2), nx = image.dim(image.ndim() - 1);
    const std::int64_t index = item.meta.get_int("index").value_or(0);
    if (!item.has("pos"))
      throw InputError(w + " has no \"pos\" array: ptycho.write_ad needs the scan positions, (n, 2) metres [x, y]");
    const Array& pos = item.array("pos");
    if (pos.ndim() != 2 || pos.dim(0) != n || pos.dim(1) != 2)
      throw InputError(w + ": \"pos\" has shape " + pos.shape().str() + ", expected (" + std::to_string(n) +
                       ", 2): one [x, y] row per frame");

    if (it == scans_.end()) {
      if (index != 0)
        throw InputError(w + " is out of order: scan " + std::to_string(scan_id) +
                         " starts with frame 0, expected index 0, got " + std::to_string(index));
      auto scan = std::make_unique<Scan>();
      const struct {
        From from;
        const char* name;
        const char* description;
        const std::string* unit;
      } all[] = {{From::pos_x, "PosX", "sample x position", &*pos_unit},
                 {From::pos_y, "PosY", "sample y position", &*pos_unit},
                 {From::energy, "Energy", "photon energy", &*energy_unit},
                 {From::det_dist, "DetDistance", "sample-detector distance", &*dist_unit},
                 {From::pixel, "PixelSize", "detector pixel size", &*pixel_unit},
                 {From::exposure, "AcquireTime", "exposure time", &*exposure_unit},
                 {From::unique_id, "NDArrayUniqueId", "unique id of the NDArray", nullptr}};
      for (const auto& a : all) {
        if (!values_of(item, a.from, n, index)) continue; // not known for this scan: not written
        Column c{AdAttribute{a.name, a.unit ? *a.unit : "", a.description, a.from == From::unique_id}, a.from,
                 a.unit ? per_si(*a.unit) : 1.0};
        scan->columns.push_back(std::move(c));
      }
      const std::filesystem::path target = target_for(item);
      if (const auto t = targets_.find(target); t != targets_.end() && t->second != scan_id)
        throw InputError(w + ": scans " + std::to_string(t->second) + " and " + std::to_string(scan_id) +
                         " would both be written to " + target.string() +
                         "; put {stem} or {file_index} in the name template");
      targets_[target] = scan_id;
      Meta& r = scan->root;
      r.set("lumen_version", lumen::version());
      r.set("run_id", ctx().run_id());
      r.set("created", utc_now(), "UTC, when the file was written");
      r.set("writer", "ptycho.write_ad");
      r.set("layout", layout_->origin);
      r.set("units", item.meta.get_string("units").value_or("counts"), "what the pixel values are");
      scan->scan_frames = item.meta.get_int("scan_frames");
      scan->first_id = item.id();
      scan->file = std::make_unique<AtomicFile>(target);
      scan->file->release_stream(); // HDF5 opens the temporary file by name
      std::vector<AdAttribute> attrs;
      for (const auto& c : scan->columns) attrs.push_back(c.attr);
      AdWriterOptions o;
      o.codec = hdf5::codec_from_name(*compression);
      o.level = *level;
      o.pool = pool_.get();
      o.what = "scan " + std::to_string(scan_id) + " (" + target.string() + ")";
      scan->writer =
          std::make_unique<AdScanWriter>(scan->file->temp_path(), *layout_, std::move(attrs), image.dtype(), ny, nx, o);
      it = scans_.emplace(scan_id, std::move(scan)).first;
    }
    Scan& scan = *it->second;
    AdScanWriter& aw = *scan.writer;
    if (ny != aw.ny() || nx != aw.nx() || image.dtype() != aw.dtype())
      throw InputError(w + ": frames of " + std::to_string(ny) + " x " + std::to_string(nx) + " " +
                       std::string(dtype_name(image.dtype())) + ", but scan " + std::to_string(scan_id) +
                       " started with " + std::to_string(aw.ny()) + " x " + std::to_string(aw.nx()) + " " +
                       std::string(dtype_name(aw.dtype())) + " (item '" + scan.first_id +
                       "'): every block of a scan has the same frame shape and dtype");
    if (index != aw.frames())
      throw InputError(w + " is out of order: scan " + std::to_string(scan_id) +
                       " expected the block starting at frame " + std::to_string(aw.frames()) +
                       " (frames written so far), got index " + std::to_string(index) +
                       " (ptycho.write_ad needs the blocks in order, without gaps)");
    if (scan.scan_frames && aw.frames() + n > *scan.scan_frames)
      throw InputError(w + ": frames " + std::to_string(index) + ".." + std::to_string(index + n - 1) +
                       " exceed the scan's scan_frames = " + std::to_string(*scan.scan_frames));
    std::vector<std::vector<double>> values;
    for (const Column& c : scan.columns) {
      auto v = values_of(item, c.from, n, index);
      if (!v)
        throw InputError(w + " has no " + c.attr.name +
                         " value, but the scan's first block had one: every block must carry it");
      for (double& x : *v) x *= c.scale;
      values.push_back(std::move(*v));
    }
    aw.append(image, values);
    const std::pair<const char*, const Param<std::string>*> calibration[] = {
        {"dark", &dark_path}, {"flat", &flat_path}, {"mask", &mask_path}};
    for (const auto& [array, path] : calibration)
      if (item.has(array) && !(*path)->empty()) aw.add_array(**path, item.array(array));
    // The unit is done only when the file is: hold its token until the scan is committed.
    scan.held.hold(item);
    if (scan.scan_frames && aw.frames() == *scan.scan_frames) {
      commit(scan);
      scans_.erase(it);
    }
  } catch (const std::exception& e) {
    // The scan cannot be complete any more: drop its file (the temporary is removed).
    failed_[scan_id] = w + ": " + e.what();
    if (it != scans_.end()) scans_.erase(it);
    throw;
  }
}

void WriteAd::commit(Scan& scan) {
  const auto release = scan.held.release_at_exit(); // whatever happens
  const std::int64_t frames = scan.writer->frames();
  scan.root.set("scan_frames", frames);
  scan.writer->close(scan.root);
  scan.writer.reset();
  const std::filesystem::path target = scan.file->target();
  const auto bytes = scan.file->commit();
  scan.file.reset();
  ctx().record_output(target, bytes);
  ctx().log(LogLevel::info, "wrote " + std::to_string(frames) + " frames (first item '" + scan.first_id + "') to " +
                                target.string() + " (areaDetector layout " + layout_->origin + ")");
}

void WriteAd::finish(Emit&) {
  std::string errors;
  for (auto& [scan_id, scan] : scans_) {
    try {
      if (scan->scan_frames && scan->writer->frames() != *scan->scan_frames)
        throw InputError("truncated scan: " + std::to_string(scan->writer->frames()) +
                         " of scan_frames = " + std::to_string(*scan->scan_frames) + " frames arrived (first item '" +
                         scan->first_id + "'); the file " + scan->file->target().string() + " is not written");
      commit(*scan);
    } catch (const std::exception& e) {
      errors += (errors.empty() ? "" : "; ") + std::string("scan ") + std::to_string(scan_id) + ": " + e.what();
    }
  }
  scans_.clear(); // uncommitted files: their temporaries are removed here
  if (!errors.empty()) throw InputError(errors);
}

} // namespace lumen::ptycho
