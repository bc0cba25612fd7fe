// The `ptycho` plugin set: stage implementations and the plugin entry point. What each stage
// does and its parameters are declared in ptycho_stages.hpp; the pixel work is in preprocess.cpp.
#include "ptycho_stages.hpp"

#include "qc/qc_stage.hpp"
#include "tiff_sidecar_stages.hpp"
#include "write_ad.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <sstream>

namespace lumen::ptycho {

namespace {

constexpr const char* kCalibration[] = {"dark", "flat", "mask"};
constexpr const char* kPerFrame[] = {"energy_eV", "exposure_s"};

std::string number(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

std::string who(const Item& item) {
  return "item '" + item.id() + "'";
}

std::string list_text(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Every calibration array the item has must be one frame: (ny, nx).
void check_calibration(const Item& item, const FrameShape& f) {
  for (const char* name : kCalibration) {
    if (!item.has(name)) continue;
    const Array& a = item.array(name);
    if (a.ndim() != 2 || a.dim(0) != f.ny || a.dim(1) != f.nx)
      throw InputError(who(item) + ": array \"" + name + "\" has shape " + a.shape().str() +
                       ", the frames of \"image\" are " + std::to_string(f.ny) + " x " + std::to_string(f.nx) +
                       " (calibration arrays are (ny, nx), the frame shape)");
  }
}

} // namespace

// ---- ptycho.read_ad, ptycho.read_cxi -----------------------------------------------------------

namespace {

const std::vector<std::string> kHdf5Extensions{".h5", ".hdf5", ".hdf", ".nxs", ".cxi"};

} // namespace

ScanFileReader::ScanFileReader() : FileReader(kHdf5Extensions, "HDF5 (areaDetector NDFileHDF5 or CXI)") {}

std::int64_t ScanFileReader::block_frames() const {
  return ptycho::block_frames(*frames_per_item, *frames_per_pos);
}

const ScanSource& ScanFileReader::source() {
  if (!source_) source_ = make_source();
  return *source_;
}

void ScanFileReader::start() {
  source_ = make_source();
  exclusion_ = exclude_param(*exclude);
}

std::vector<WorkUnit> ScanFileReader::plan() {
  const ScanSource& src = source();
  const auto files = input_files();
  const std::int64_t step = block_frames();
  std::vector<WorkUnit> planned_units;
  std::lock_guard lock(mu_);
  cache_.clear();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& file = files[i];
    const auto file_index = static_cast<std::int64_t>(i);
    // The frame count cuts the blocks. A file that cannot say gets one whole-file unit whose read
    // fails with the reason; one bad file never stops planning.
    std::int64_t n = -1;
    try {
      hdf5::H5Reader r(file);
      n = scan_frames(r, src);
    } catch (const InputError&) {
    }
    std::int64_t planned = 0;
    if (n <= 0) {
      planned_units.push_back(file_unit(file, file_index));
      planned = 1;
    } else {
      for (std::int64_t b = 0; b < n; b += step, ++planned)
        planned_units.push_back(file_unit(file, file_index, b, std::min(n, b + step)));
    }
    cache_[file.string()].remaining += planned;
  }
  return planned_units;
}

std::shared_ptr<const ScanInfo> ScanFileReader::scan_info(const WorkUnit& unit, hdf5::H5Reader& r) {
  std::lock_guard lock(mu_);
  Cached& c = cache_[unit.source_file];
  if (!c.info && c.error.empty()) {
    try {
      c.info = std::make_shared<const ScanInfo>(inspect_scan(r, source()));
    } catch (const InputError& e) {
      c.error = e.what();
    }
  }
  if (!c.error.empty()) throw InputError(c.error);
  return c.info;
}

void ScanFileReader::unit_done(const std::string& file) {
  std::lock_guard lock(mu_);
  const auto it = cache_.find(file);
  if (it != cache_.end() && --it->second.remaining <= 0) cache_.erase(it); // the scan's arrays go with it
}

void ScanFileReader::read(const WorkUnit& unit, Emit& emit) {
  struct Done {
    ScanFileReader& self;
    const std::string& file;
    ~Done() { self.unit_done(file); }
  } done{*this, unit.source_file};
  hdf5::H5Reader r{std::filesystem::path(unit.source_file)};
  const std::shared_ptr<const ScanInfo> info = scan_info(unit, r);
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
  if (unit.end > unit.begin) {
    ranges.emplace_back(unit.begin, unit.end);
  } else { // planned whole because the frame count was unknown then
    for (std::int64_t b = 0; b < info->frames; b += block_frames())
      ranges.emplace_back(b, std::min(info->frames, b + block_frames()));
  }
  std::vector<std::uint8_t> excluded;
  if (exclusion_) excluded = excluded_frames(*exclusion_, info->frames, *frames_per_pos, unit.source_file);
  for (const auto& [begin, end] : ranges) {
    ScanBlock block = read_block(r, *info, begin, end);
    if (!excluded.empty()) {
      drop_excluded(block, excluded, begin);
      if (block.image.empty()) continue; // every frame of the block left out
    }
    Item item = make_item(unit, begin);
    set_block(item, std::move(block), *info, *units);
    if (!excluded.empty()) renumber(item, excluded, begin);
    item.meta.set("data_path", info->source.data.path, "dataset of the frames");
    emit(std::move(item));
  }
}

// ptycho.read_ad

ReadAd::ReadAd() = default;

void ReadAd::validate() const {
  FileReader::validate();
  if (!pos_path->empty() && (!pos_x_path->empty() || !pos_y_path->empty()))
    throw ConfigError("pos_path", "give the positions either as pos_path (an (N, 2) table) or as pos_x_path + "
                                  "pos_y_path (two columns), not both");
  if (pos_x_path->empty() != pos_y_path->empty())
    throw ConfigError(pos_x_path->empty() ? "pos_x_path" : "pos_y_path",
                      "pos_x_path and pos_y_path go together: give both (or pos_path)");
  if (data_path->empty() && layout->empty())
    throw ConfigError("data_path", "give the dataset of the frames, e.g. /entry/data/data (or a layout)");
  (void)exclude_param(*exclude);
  try {
    (void)make_source(); // a layout that does not parse, or names an NDAttribute it does not place
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    throw ConfigError("layout", e.what());
  }
}

ScanSource ReadAd::make_source() const {
  std::optional<AdLayout> lay;
  if (!layout->empty()) lay = parse_ad_layout(*layout);
  auto resolve = [&](const Param<std::string>& p) -> SourcePath {
    const std::string& v = *p;
    const std::string& name = p.spec().name;
    if (v.empty()) return {};
    if (!lay || v.find('/') != std::string::npos) return {v, name, false};
    const auto where = lay->ndattribute_path(v);
    if (!where) {
      std::string known;
      for (const auto& a : lay->ndattributes()) known += (known.empty() ? "" : ", ") + a;
      throw ConfigError(name, name + ": the layout " + lay->origin + " places no NDAttribute '" + v +
                                  "' (it places: " + (known.empty() ? "none" : known) +
                                  "; and has no ndattr_default group). Name one of those, or give an HDF5 path "
                                  "(with '/')");
    }
    return {*where, name + ": NDAttribute '" + v + "' of layout " + lay->origin, false};
  };
  ScanSource s;
  if (lay && !data_path.is_set())
    s.data = {lay->detector_path(), "data_path: the detector dataset of layout " + lay->origin, false};
  else
    s.data = {*data_path, "data_path", false};
  s.pos = resolve(pos_path);
  s.pos_x = resolve(pos_x_path);
  s.pos_y = resolve(pos_y_path);
  s.energy = resolve(energy_path);
  s.det_dist = resolve(det_dist_path);
  s.pixel = resolve(pixel_path);
  s.exposure = resolve(exposure_path);
  s.dark = resolve(dark_path);
  s.flat = resolve(flat_path);
  s.mask = resolve(mask_path);
  s.pos_scale = unit_factor(*pos_unit);
  s.energy_scale = unit_factor(*energy_unit);
  s.dist_scale = unit_factor(*dist_unit);
  s.pixel_scale = unit_factor(*pixel_unit);
  s.exposure_scale = unit_factor(*exposure_unit);
  return s;
}

// ptycho.read_cxi

ReadCxi::ReadCxi() = default;

void ReadCxi::validate() const {
  FileReader::validate();
  if (entry->empty() || entry->find('/') != std::string::npos)
    throw ConfigError("entry", "entry must be a group name such as entry_1, got '" + *entry + "'");
  (void)exclude_param(*exclude);
}

ScanSource ReadCxi::make_source() const {
  ScanSource s = cxi_source(*entry);
  if (!dark_path->empty()) s.dark = {*dark_path, "dark_path", false};
  if (!flat_path->empty()) s.flat = {*flat_path, "flat_path", false};
  return s;
}

// ---- ptycho.dark_flat --------------------------------------------------------------------------

void DarkFlat::validate() const {
  if (!std::isfinite(*sat) || *sat < 0)
    throw ConfigError("sat", "sat must be a raw level >= 0 (0 = no saturation mask), got " + number(*sat));
  try {
    (void)parse_sat_mode(*sat_mode);
  } catch (const Error& e) {
    throw ConfigError("sat_mode", e.what());
  }
}

void DarkFlat::process(Item& item, Emit& emit) {
  const std::string w = who(item);
  const bool do_dark = *subtract_dark && item.has("dark");
  const bool do_flat = *divide_flat && item.has("flat");
  if (do_dark && item.meta.get_bool("dark_subtracted").value_or(false))
    throw InputError(w + " is already dark-subtracted (meta dark_subtracted): ptycho.dark_flat runs once; set "
                         "subtract_dark: false to only divide by the flat");
  if (do_flat && item.meta.get_bool("flat_divided").value_or(false))
    throw InputError(w + " is already flat-divided (meta flat_divided): ptycho.dark_flat runs once; set "
                         "divide_flat: false to only subtract the dark");
  const bool had_mask = item.has("mask");
  DarkFlatInput in;
  in.dark = do_dark ? &item.array("dark") : nullptr;
  in.flat = do_flat ? &item.array("flat") : nullptr;
  in.mask = had_mask ? &item.array("mask") : nullptr;
  in.sat = *sat;
  in.sat_mode = parse_sat_mode(*sat_mode);
  DarkFlatResult r = dark_flat(item.array("image"), in, w);

  item.array("image") = std::move(r.image);
  const bool flagged = r.saturated_pixels + r.bad_flat_pixels + r.bad_dark_pixels + r.nonfinite_pixels > 0;
  if (had_mask && !flagged)
    item.set("mask", mask_u8(item.array("mask"))); // the scan's mask, still shared when it was u8 0/1
  else if (had_mask || *sat > 0 || do_dark || do_flat || flagged)
    item.set("mask", std::move(r.mask));

  item.meta.set("dark_subtracted", do_dark || item.meta.get_bool("dark_subtracted").value_or(false),
                "dark subtracted from the image");
  item.meta.set("flat_divided", do_flat || item.meta.get_bool("flat_divided").value_or(false),
                "image divided by the flat");
  if (*sat > 0) {
    item.meta.set("sat_level", MetaValue{*sat}, "raw level from which a pixel counts as saturated");
    item.meta.set("sat_mode", *sat_mode, "saturated pixels: mask = set to 0, keep = values kept; both masked");
    item.meta.set("saturated_pixels", r.saturated_pixels, "pixels >= sat_level in a frame of this item");
  }
  if (do_flat) item.meta.set("bad_flat_pixels", r.bad_flat_pixels, "pixels with flat <= 0 or not finite (masked)");
  if (item.has("mask")) item.meta.set("masked_pixels", r.masked_pixels, "ones in mask");
  emit(std::move(item));
}

// ---- ptycho.group ------------------------------------------------------------------------------

void Group::validate() const {
  if (*frames_per_pos < 1)
    throw ConfigError("frames_per_pos", "frames_per_pos must be >= 1 (exposures per scan position), got " +
                                            std::to_string(*frames_per_pos));
  try {
    (void)parse_grouping(*grouping);
  } catch (const Error& e) {
    throw ConfigError("grouping", e.what());
  }
  if (!std::isfinite(*sat) || *sat < 0)
    throw ConfigError("sat", "sat must be a level >= 0 (0 = meta sat, else no clipping), got " + number(*sat));
}

void Group::process(Item& item, Emit& emit) {
  const std::string w = who(item);
  const Grouping mode = parse_grouping(*grouping);
  const std::int64_t fpp = *frames_per_pos;
  Array& image = item.array("image");
  const FrameShape f = frame_shape(image, w);
  const std::int64_t index = item.meta.get_int("index").value_or(0);
  const auto scan_frames = item.meta.get_int("scan_frames");
  if (scan_frames && *scan_frames % fpp != 0)
    throw InputError(w + ": the scan has N = " + std::to_string(*scan_frames) +
                     " frames (meta scan_frames), not a multiple of frames_per_pos = " + std::to_string(fpp) +
                     " (remainder " + std::to_string(*scan_frames % fpp) +
                     "): the scan is incomplete or frames_per_pos is wrong");
  item.meta.set("frames_per_pos", fpp, "exposures per scan position");
  item.meta.set("grouping", grouping_name(mode), "how each position's exposures were reduced");
  if (mode == Grouping::none) {
    emit(std::move(item));
    return;
  }
  if (f.n % fpp != 0)
    throw InputError(w + " holds " + std::to_string(f.n) + " frames (scan frames " + std::to_string(index) + ".." +
                     std::to_string(index + f.n - 1) + "), not a multiple of frames_per_pos = " + std::to_string(fpp) +
                     " (remainder " + std::to_string(f.n % fpp) +
                     "): a position's exposures must arrive in one item; the ptycho readers plan blocks in multiples "
                     "of frames_per_pos (give the reader a block size that is a multiple of " +
                     std::to_string(fpp) + ")");
  if (index % fpp != 0)
    throw InputError(w + " starts at scan frame " + std::to_string(index) +
                     " (meta index), which is not the first exposure of a position (a multiple of frames_per_pos = " +
                     std::to_string(fpp) + "): blocks must start on a position");
  check_calibration(item, f);
  if (item.has("pos")) {
    const Array& pos = item.array("pos");
    if (pos.ndim() != 2 || pos.dim(0) != f.n || pos.dim(1) != 2)
      throw InputError(w + ": \"pos\" has shape " + pos.shape().str() + ", expected (" + std::to_string(f.n) +
                       ", 2): one [x, y] row per frame");
  }
  for (const char* name : kPerFrame)
    if (item.has(name) && (item.array(name).ndim() != 1 || item.array(name).dim(0) != f.n))
      throw InputError(w + ": \"" + name + "\" has shape " + item.array(name).shape().str() + ", expected (" +
                       std::to_string(f.n) + "): one value per frame");

  const double clip = *sat > 0 ? *sat : item.meta.get_number("sat").value_or(0.0);
  const Array* mask = item.has("mask") ? &item.array("mask") : nullptr;
  GroupResult r = group_frames(image, fpp, mode, mode == Grouping::best ? mask : nullptr, clip);
  image = std::move(r.image);

  std::vector<std::int64_t> firsts(static_cast<std::size_t>(f.n / fpp));
  for (std::size_t g = 0; g < firsts.size(); ++g) firsts[g] = static_cast<std::int64_t>(g) * fpp;
  if (item.has("pos")) {
    Array& pos = item.array("pos");
    const double spread = max_group_spread(pos, fpp);
    if (spread > 1e-9 && !warned_.exchange(true))
      ctx().log(LogLevel::warn, w + ": the " + std::to_string(fpp) +
                                    " rows of \"pos\" of one position differ by up to " + number(spread) +
                                    " m (more than 1e-9 m); each position takes its first frame's row (is "
                                    "frames_per_pos right?). Shown once per run.");
    pos = reduce_rows(pos, fpp, RowReduce::selected, firsts);
  }
  if (item.has("exposure_s")) {
    const RowReduce how = mode == Grouping::sum    ? RowReduce::sum
                          : mode == Grouping::mean ? RowReduce::mean
                                                   : RowReduce::selected;
    item.array("exposure_s") = reduce_rows(item.array("exposure_s"), fpp, how, r.selected);
  }
  if (item.has("energy_eV"))
    item.array("energy_eV") = reduce_rows(item.array("energy_eV"), fpp, RowReduce::selected, r.selected);

  if (mode == Grouping::sum)
    if (const auto exposure = item.meta.get_number("exposure_s"))
      item.meta.set("exposure_s", MetaValue{*exposure * static_cast<double>(fpp)},
                    "exposure of a position (frames_per_pos exposures summed)", "s");
  item.meta.set("first_frame", index, "first frame of this item in the ungrouped scan");
  item.meta.set("index", index / fpp);
  if (scan_frames) item.meta.set("scan_frames", *scan_frames / fpp);
  emit(std::move(item));
}

// ---- ptycho.roi --------------------------------------------------------------------------------

void Roi::validate() const {
  const auto& r = *roi;
  if (r.size() != 2 || r[0] <= 0 || r[1] <= 0)
    throw ConfigError("roi", "roi must be [ny, nx] with two sizes > 0 in pixels, got " + list_text(r));
  const auto& c = *roi_center;
  if (!c.empty() && c.size() != 2)
    throw ConfigError("roi_center", "roi_center must be [cy, cx] (or empty for the frame centre), got " +
                                        std::to_string(c.size()) + " values");
  for (const double v : c)
    if (!std::isfinite(v) || v < 0)
      throw ConfigError("roi_center",
                        "roi_center values must be >= 0 (pixels, or fractions in [0, 1)), got " + number(v));
}

void Roi::process(Item& item, Emit& emit) {
  const std::string w = who(item);
  Array& image = item.array("image");
  const FrameShape f = frame_shape(image, w);
  check_calibration(item, f);
  const RoiWindow win = roi_window(f.ny, f.nx, *roi, *roi_center, w);
  image = crop_frames(image, win);
  for (const char* name : kCalibration)
    if (item.has(name)) item.array(name) = crop_frames(item.array(name), win);
  std::vector<double> origin{static_cast<double>(win.y0), static_cast<double>(win.x0)};
  if (const auto before = item.meta.get_list("roi_origin"); before && before->size() == 2)
    origin = {(*before)[0] + origin[0], (*before)[1] + origin[1]};
  item.meta.set("roi_origin", MetaValue{origin}, "first row and column of the crop in the detector frame", "pixels");
  item.meta.set("roi_shape", MetaValue{std::vector<double>{static_cast<double>(win.ny), static_cast<double>(win.nx)}},
                "crop size [ny, nx]", "pixels");
  emit(std::move(item));
}

// ---- ptycho.orient -----------------------------------------------------------------------------

void Orient::validate() const {
  const int r = *rotate;
  if (r != 0 && r != 90 && r != 180 && r != 270)
    throw ConfigError("rotate",
                      "rotate must be 0, 90, 180 or 270 (degrees counter-clockwise), got " + std::to_string(r));
  try {
    (void)parse_flip(*flip);
  } catch (const Error& e) {
    throw ConfigError("flip", e.what());
  }
}

void Orient::process(Item& item, Emit& emit) {
  const std::string w = who(item);
  const Flip how = parse_flip(*flip);
  Array& image = item.array("image");
  const FrameShape f = frame_shape(image, w);
  check_calibration(item, f);
  image = orient(image, *rotate, how);
  for (const char* name : kCalibration)
    if (item.has(name)) item.array(name) = orient(item.array(name), *rotate, how);
  item.meta.set("orient_rotate", static_cast<std::int64_t>(*rotate), "frames rotated counter-clockwise", "degrees");
  item.meta.set("orient_flip", flip_name(how), "mirror applied after the rotation: h = columns, v = rows");
  emit(std::move(item));
}

// ---- ptycho.write_std --------------------------------------------------------------------------

namespace {

// Meta keys that describe one block, not the scan: not copied to the file's attributes.
constexpr const char* kBlockKeys[] = {"index",           "file_index",   "first_frame", "saturated_pixels",
                                      "bad_flat_pixels", "masked_pixels"};

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A scan scalar: the parameter when > 0, else meta `key`; else the item fails naming both ways.
double scan_scalar(const Item& item, const char* key, double param, const char* unit) {
  if (param > 0) return param;
  if (const auto v = item.meta.get_number(key); v && std::isfinite(*v) && *v > 0) return *v;
  throw InputError(who(item) + ": the scan's " + key + " is unknown: meta has no " + key + " (> 0) and the parameter " +
                   key + " is 0; set meta " + key + " upstream (the reader) or give " +
                   "ptycho.write_std the parameter " + key + " (in " + unit + ")");
}

std::vector<double> per_frame_values(const Item& item, const char* name, std::int64_t n) {
  const Array& a = item.array(name);
  if (a.ndim() != 1 || a.dim(0) != n)
    throw InputError(who(item) + ": \"" + name + "\" has shape " + a.shape().str() + ", expected (" +
                     std::to_string(n) + "): one value per frame");
  const Array d = a.as(DType::f64).contiguous_copy();
  const auto v = d.view<double>();
  return {v.begin(), v.end()};
}

} // namespace

struct WriteStd::Scan {
  std::unique_ptr<AtomicFile> file;
  std::unique_ptr<StdScanWriter> writer;
  HeldUnits held; // released when the file is committed or dropped
  std::optional<std::int64_t> scan_frames;
  std::string first_id;
  ScanHeader header;
};

WriteStd::WriteStd() : FileAggregator("{stem}_std.h5") {}
WriteStd::~WriteStd() = default;

void WriteStd::validate() const {
  FileAggregator::validate();
  for (const auto* p : {&energy_ev, &det_dist_m, &pixel_m})
    if (!std::isfinite(p->get()) || p->get() < 0)
      throw ConfigError(p->spec().name, p->spec().name + " must be > 0, or 0 to take it from meta");
}

void WriteStd::start() {
  const int n = *threads > 0 ? *threads : ctx().threads();
  if (*compression != "none") pool_ = std::make_unique<ThreadPool>(std::max(1, n));
}

void WriteStd::process(Item& item, Emit&) {
  const std::string w = who(item);
  const std::int64_t scan_id = item.meta.get_int("file_index").value_or(0);
  if (const auto f = failed_.find(scan_id); f != failed_.end())
    throw InputError(w + ": scan " + std::to_string(scan_id) +
                     " (file_index) was abandoned after an earlier error, "
                     "so no file is written for it: " +
                     f->second);
  auto it = scans_.find(scan_id);
  try {
    const Array& image = item.array("image");
    const FrameShape f = frame_shape(image, w);
    const std::int64_t index = item.meta.get_int("index").value_or(0);
    if (it != scans_.end() && (f.ny != it->second->writer->ny() || f.nx != it->second->writer->nx()))
      throw InputError(w + ": frames of " + std::to_string(f.ny) + " x " + std::to_string(f.nx) + " (" +
                       image.shape().str() + "), but scan " + std::to_string(scan_id) + " started with frames of " +
                       std::to_string(it->second->writer->ny()) + " x " + std::to_string(it->second->writer->nx()) +
                       " (item '" + it->second->first_id + "'): every block of a scan has the same frame shape");
    if (!item.has("pos"))
      throw InputError(w + " has no \"pos\" array: ptycho.write_std needs the scan positions, (n, 2) metres [x, y]");
    const Array& pos = item.array("pos");
    if (pos.ndim() != 2 || pos.dim(0) != f.n || pos.dim(1) != 2)
      throw InputError(w + ": \"pos\" has shape " + pos.shape().str() + ", expected (" + std::to_string(f.n) +
                       ", 2): one [x, y] row per frame");
    check_calibration(item, f);

    std::vector<double> energy, exposure;
    if (*energy_ev > 0 || !item.has("energy_eV"))
      energy.assign(static_cast<std::size_t>(f.n), scan_scalar(item, "energy_eV", *energy_ev, "eV"));
    else
      energy = per_frame_values(item, "energy_eV", f.n);
    if (item.has("exposure_s"))
      exposure = per_frame_values(item, "exposure_s", f.n);
    else if (const auto e = item.meta.get_number("exposure_s"))
      exposure.assign(static_cast<std::size_t>(f.n), *e);

    if (it == scans_.end()) {
      if (index != 0)
        throw InputError(w + " is out of order: scan " + std::to_string(scan_id) +
                         " starts with frame 0, expected index 0, got " + std::to_string(index));
      auto scan = std::make_unique<Scan>();
      ScanHeader& h = scan->header;
      h.det_dist_m = scan_scalar(item, "det_dist_m", *det_dist_m, "m");
      h.pixel_m = scan_scalar(item, "pixel_m", *pixel_m, "m");
      h.data_units = item.meta.get_string("units").value_or("counts");
      if (h.data_units.empty()) h.data_units = "counts";
      const std::filesystem::path target = target_for(item);
      if (const auto t = targets_.find(target); t != targets_.end() && t->second != scan_id)
        throw InputError(w + ": scans " + std::to_string(t->second) + " and " + std::to_string(scan_id) +
                         " would both be written to " + target.string() +
                         "; put {stem} or {file_index} in the name template");
      targets_[target] = scan_id;
      Meta& a = h.entry_attributes;
      a.set("lumen_version", lumen::version());
      a.set("run_id", ctx().run_id());
      a.set("created", utc_now(), "UTC, when the file was written");
      a.set("layout", *layout);
      a.set("writer", "ptycho.write_std");
      for (const auto& e : item.meta.entries()) {
        bool block = false;
        for (const char* k : kBlockKeys) block = block || e.key == k;
        if (!block) a.set(e.key, e.value, e.comment, e.unit);
      }
      // The values written, where a parameter overrode meta.
      for (const auto* p : {&energy_ev, &det_dist_m, &pixel_m})
        if (p->get() > 0) a.set(p->spec().name, p->get(), "ptycho.write_std parameter", p->spec().unit);
      scan->scan_frames = item.meta.get_int("scan_frames");
      scan->first_id = item.id();
      scan->file = std::make_unique<AtomicFile>(target);
      scan->file->release_stream(); // HDF5 opens the temporary file by name
      scan->writer = std::make_unique<StdScanWriter>(scan->file->temp_path(), parse_layout(*layout), f.ny, f.nx,
                                                     hdf5::codec_from_name(*compression), *level, pool_.get(),
                                                     "scan " + std::to_string(scan_id) + " (" + target.string() + ")");
      it = scans_.emplace(scan_id, std::move(scan)).first;
    }
    Scan& scan = *it->second;
    StdScanWriter& sw = *scan.writer;
    if (index != sw.frames())
      throw InputError(w + " is out of order: scan " + std::to_string(scan_id) +
                       " expected the block starting at frame " + std::to_string(sw.frames()) +
                       " (frames written so far), got index " + std::to_string(index) +
                       " (ptycho.write_std needs the blocks in order, without gaps)");
    if (scan.scan_frames && sw.frames() + f.n > *scan.scan_frames)
      throw InputError(w + ": frames " + std::to_string(index) + ".." + std::to_string(index + f.n - 1) +
                       " exceed the scan's scan_frames = " + std::to_string(*scan.scan_frames));
    sw.append(image, pos, energy, exposure);
    if (item.has("mask")) sw.add_mask(item.array("mask"));
    if (item.has("dark")) sw.set_dark(item.array("dark"));
    if (item.has("flat")) sw.set_flat(item.array("flat"));
    if (!item.provenance.source_file.empty()) {
      auto& files = scan.header.source_files;
      if (std::find(files.begin(), files.end(), item.provenance.source_file) == files.end())
        files.push_back(item.provenance.source_file);
    }
    // The unit is done only when the file is: hold its token until the scan is committed.
    scan.held.hold(item);
    if (scan.scan_frames && sw.frames() == *scan.scan_frames) {
      commit(scan);
      scans_.erase(it);
    }
  } catch (const std::exception& e) {
    // The scan cannot be complete any more: drop its file (the temporary is removed) and fail
    // this item; later items of the scan fail naming this error.
    failed_[scan_id] = w + ": " + e.what();
    if (it != scans_.end()) scans_.erase(it);
    throw;
  }
}

void WriteStd::commit(Scan& scan) {
  const auto release = scan.held.release_at_exit(); // whatever happens
  StdScanWriter& sw = *scan.writer;
  const std::int64_t frames = sw.frames();
  scan.header.entry_attributes.set("scan_frames", frames);
  scan.header.entry_attributes.set("masked_pixels", sw.masked_pixels(), "pixels set in the scan's OR-ed mask");
  sw.close(scan.header);
  scan.writer.reset();
  const std::filesystem::path target = scan.file->target();
  const auto bytes = scan.file->commit();
  scan.file.reset();
  ctx().record_output(target, bytes);
  ctx().log(LogLevel::info, "wrote " + std::to_string(frames) + " frames (first item '" + scan.first_id + "') to " +
                                target.string() + " (layout " + *layout + ")");
}

void WriteStd::finish(Emit&) {
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

LUMEN_PLUGIN("ptycho", "0.1.0", "MIT", lumen::stage<lumen::ptycho::ReadAd>("ptycho.read_ad"),
             lumen::stage<lumen::ptycho::ReadCxi>("ptycho.read_cxi"),
             lumen::stage<lumen::ptycho::ReadTiffSeries>("ptycho.read_tiff_series"),
             lumen::stage<lumen::ptycho::SidecarFromCsv>("ptycho.sidecar_from_csv"),
             lumen::stage<lumen::ptycho::DarkFlat>("ptycho.dark_flat"),
             lumen::stage<lumen::ptycho::Group>("ptycho.group"), lumen::stage<lumen::ptycho::Roi>("ptycho.roi"),
             lumen::stage<lumen::ptycho::Orient>("ptycho.orient"),
             lumen::stage<lumen::ptycho::WriteStd>("ptycho.write_std"),
             lumen::stage<lumen::ptycho::WriteAd>("ptycho.write_ad"),
             lumen::stage<lumen::ptycho::QcScore>("ptycho.qc_score"));
