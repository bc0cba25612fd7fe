// ptycho.read_tiff_series and ptycho.sidecar_from_csv (declared, with what they do, in
// tiff_sidecar_stages.hpp; the CSV and sidecar code is in sidecar.cpp, the TIFF decoding in the
// tiff set's core, the sidecar's quantities are read by scan_reader.cpp as read_ad reads them).
#include "tiff_sidecar_stages.hpp"

#include "lumen/atomic_file.hpp"
#include "lumen/input_paths.hpp"
#include "lumen/name_template.hpp"
#include "tiff_io.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace lumen::ptycho {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTiffExtensions{".tif", ".tiff"};

// Rows `rows` of a per-frame array (axis 0), in that order.
Array take_rows(const Array& a, const std::vector<std::int64_t>& rows) {
  if (a.empty()) return a;
  Shape shape = a.shape();
  shape.dims[0] = static_cast<std::int64_t>(rows.size());
  Array out(DType::f64, shape);
  const Array src = a.contiguous_copy();
  const std::int64_t width = a.size() / a.dim(0);
  const double* in = src.view<double>().data();
  double* o = out.writable<double>().data();
  for (std::size_t k = 0; k < rows.size(); ++k)
    std::copy(in + rows[k] * width, in + (rows[k] + 1) * width, o + static_cast<std::int64_t>(k) * width);
  return out;
}

} // namespace

// ---- ptycho.read_tiff_series ---------------------------------------------------------------------

struct ReadTiffSeries::Series {
  std::vector<fs::path> files;
  std::string name;
  tiff::PageInfo layout;
  ScanInfo info;                      // from the sidecar: scalars, dark, flat, mask
  ScanBlock rows;                     // pos, energy, exposure of every frame, in file order
  std::string identity;               // the sidecar's
  std::vector<std::uint8_t> excluded; // per frame, 1 = left out (exclude)
};

ReadTiffSeries::ReadTiffSeries() : FileReader(kTiffExtensions, "TIFF (numbered single-page frames)") {}

void ReadTiffSeries::validate() const {
  FileReader::validate();
  if (pos_x_path->empty() != pos_y_path->empty())
    throw ConfigError(pos_x_path->empty() ? "pos_x_path" : "pos_y_path",
                      "pos_x_path and pos_y_path go together: give both, or set both to \"\" and use pos_path");
  if (pos_x_path->empty() && pos_path->empty())
    throw ConfigError("pos_path", "the positions are needed: give pos_x_path + pos_y_path or pos_path");
  (void)exclude_param(*exclude);
}

std::vector<WorkUnit> ReadTiffSeries::plan() {
  auto s = std::make_shared<Series>();
  s->files = input_files();
  s->name = tiff::series_name(s->files.front());
  {
    tiff::TiffFile first(s->files.front());
    s->layout = first.select(0);
    if (s->layout.samples != 1)
      first.fail("is " + s->layout.describe() + "; ptychography frames have one sample per pixel (ny, nx)");
  }
  const auto n = static_cast<std::int64_t>(s->files.size());

  // The sidecar, once for the scan.
  const fs::path side(*sidecar);
  hdf5::H5Reader r(side);
  s->identity = file_identity(side);
  auto at = [](const Param<std::string>& p) { return SourcePath{*p, p.spec().name, true}; };
  ScanSource& src = s->info.source;
  src.pos_x = at(pos_x_path);
  src.pos_y = at(pos_y_path);
  src.pos = at(pos_path);
  src.energy = at(energy_path);
  src.det_dist = at(det_dist_path);
  src.pixel = at(pixel_path);
  src.exposure = at(exposure_path);
  src.dark = at(dark_path);
  src.flat = at(flat_path);
  src.mask = at(mask_path);
  const bool has_xy = !src.pos_x.empty() && r.has_dataset(src.pos_x.path) && r.has_dataset(src.pos_y.path);
  if (has_xy) {
    src.pos = SourcePath{};
  } else if (!src.pos.empty() && r.has_dataset(src.pos.path)) {
    src.pos_x = src.pos_y = SourcePath{};
  } else if (!src.pos_x.empty() && (r.has_dataset(src.pos_x.path) || r.has_dataset(src.pos_y.path))) {
    src.pos = SourcePath{}; // only one of x and y: inspect_per_scan names the missing one
    src.pos_x.optional = src.pos_y.optional = false;
  } else {
    std::string holds;
    try {
      (void)r.dims(src.pos_x.empty() ? src.pos.path : src.pos_x.path);
    } catch (const InputError& e) {
      holds = e.what();
    }
    r.fail("the sidecar has no positions: neither '" + *pos_x_path + "' + '" + *pos_y_path + "' nor '" + *pos_path +
           "' (pos_x_path, pos_y_path, pos_path); " + holds);
  }
  s->info.frames = n;
  s->info.ny = s->layout.height;
  s->info.nx = s->layout.width;
  const std::string frames = "the series " + *path + " has " + frames_text(s->files);
  inspect_per_scan(r, s->info, frames);
  read_rows(r, s->info, 0, n, s->rows);

  // Which row belongs to which file.
  if (!frame_index_path->empty() && r.has_dataset(*frame_index_path)) {
    const std::vector<double> v = r.read_numbers(*frame_index_path);
    if (static_cast<std::int64_t>(v.size()) != n)
      r.fail("rows != frames: '" + *frame_index_path + "' (frame_index_path) has " + std::to_string(v.size()) +
             " rows but " + frames);
    std::vector<std::int64_t> index;
    for (const double x : v) {
      if (x != std::floor(x)) r.fail("'" + *frame_index_path + "' holds " + std::to_string(x) + ", not a frame index");
      index.push_back(static_cast<std::int64_t>(x));
    }
    const auto rows = match_rows(s->files, index, index_from(*frame_index_from), side.string());
    s->rows.pos = take_rows(s->rows.pos, rows);
    s->rows.energy = take_rows(s->rows.energy, rows);
    s->rows.exposure = take_rows(s->rows.exposure, rows);
  }
  if (const auto e = exclude_param(*exclude))
    s->excluded = excluded_frames(*e, n, *frames_per_pos, "the series " + *path);
  series_ = s;

  std::vector<WorkUnit> planned;
  const std::int64_t step = block_frames(*frames_per_item, *frames_per_pos);
  for (std::int64_t b = 0; b < n; b += step) {
    const std::int64_t e = std::min(n, b + step);
    WorkUnit u = file_unit(s->files[static_cast<std::size_t>(b)], 0, b, e);
    u.id = s->name + "[" + std::to_string(b) + ":" + std::to_string(e) + "]";
    for (std::int64_t i = b + 1; i < e; ++i) u.identity += "\n" + file_identity(s->files[static_cast<std::size_t>(i)]);
    u.identity += "\nsidecar " + s->identity;
    planned.push_back(std::move(u));
  }
  return planned;
}

void ReadTiffSeries::read(const WorkUnit& unit, Emit& emit) {
  const std::shared_ptr<const Series> s = series_;
  if (!s) throw InputError(unit.id + ": read before plan");
  const std::int64_t begin = unit.begin, end = unit.end, n = end - begin;
  if (begin < 0 || end > s->info.frames || n <= 0) throw InputError(unit.id + ": frames outside the planned series");
  const tiff::PageInfo& layout = s->layout;
  const std::uint64_t frame_bytes = layout.nbytes();
  ScanBlock block;
  block.image = Array::uninitialized(layout.dtype, Shape{n, s->info.ny, s->info.nx});
  auto* dst = static_cast<unsigned char*>(block.image.raw());
  for (std::int64_t i = begin; i < end; ++i) {
    tiff::TiffFile f(s->files[static_cast<std::size_t>(i)]);
    if (const int pages = f.pages(); pages != 1)
      f.fail("holds " + std::to_string(pages) + " pages; every file of the series must hold one frame");
    const tiff::PageInfo info = f.select(0);
    if (!info.same_layout(layout))
      f.fail("is " + info.describe() + " but the series starts with " + s->files.front().filename().string() +
             ", which is " + layout.describe() + ": every frame needs the same size and dtype");
    f.decode(info, dst + static_cast<std::size_t>(i - begin) * frame_bytes);
  }
  if (!s->rows.pos.empty()) block.pos = s->rows.pos.slice(begin, end);
  if (!s->rows.energy.empty()) block.energy = s->rows.energy.slice(begin, end);
  if (!s->rows.exposure.empty()) block.exposure = s->rows.exposure.slice(begin, end);
  if (!s->excluded.empty()) {
    drop_excluded(block, s->excluded, begin);
    if (block.image.empty()) return; // every frame of the block left out
  }

  Item item(s->name + tiff::frame_suffix(begin));
  item.provenance.source_file = unit.source_file;
  item.meta.set("index", begin, "first frame of the block in the scan");
  item.meta.set("file_index", std::int64_t{0}, "the scan (a series is one scan)");
  set_block(item, std::move(block), s->info, *units);
  if (!s->excluded.empty()) renumber(item, s->excluded, begin);
  item.meta.set("series", s->name, "name of the series (file names without their numbers)");
  item.meta.set("series_first", s->files[static_cast<std::size_t>(begin)].filename().string(),
                "first file of the block");
  item.meta.set("series_last", s->files[static_cast<std::size_t>(end - 1)].filename().string(),
                "last file of the block");
  item.meta.set("sidecar", *sidecar, "the HDF5 sidecar of the series");
  emit(std::move(item));
}

// ---- ptycho.sidecar_from_csv ---------------------------------------------------------------------

SidecarFromCsv::SidecarFromCsv() : FileReader({".csv", ".txt"}, "CSV (EPICS, one row per frame)") {}

void SidecarFromCsv::validate() const {
  FileReader::validate();
  check_name_pattern(*name, "name");
  for (const Param<std::string>* p : {&col_posx, &col_posy})
    if (p->get().empty())
      throw ConfigError(p->spec().name, "the positions are required: name the CSV column that holds them");
  if (!frames->empty())
    if (const std::string bad = check_input_spec(*frames); !bad.empty()) throw ConfigError("frames", bad);
}

void SidecarFromCsv::read(const WorkUnit& unit, Emit& emit) {
  const fs::path csv(unit.source_file);
  CsvColumns cols{*col_index, *col_posx, *col_posy, *col_energy, *col_det_dist, *col_pixel, *col_exposure};
  CsvUnits u{unit_factor(*pos_unit), unit_factor(*energy_unit), unit_factor(*dist_unit), unit_factor(*pixel_unit),
             unit_factor(*exposure_unit)};
  const SidecarTable t = parse_scan_csv(csv, cols, u);

  if (!frames->empty()) {
    const auto files = expand_input_path(*frames, kTiffExtensions);
    if (files.size() != t.rows()) {
      const auto [first, last] = std::minmax_element(t.line.begin(), t.line.end());
      throw InputError(csv.string() + ": rows != frames: the CSV has " + std::to_string(t.rows()) + " rows (lines " +
                       std::to_string(*first) + " .. " + std::to_string(*last) + ") but " + *frames + " has " +
                       frames_text(files));
    }
    if (!t.frame_index.empty()) (void)match_rows(files, t.frame_index, index_from(*frame_index_from), csv.string());
  }

  Item item = make_item(unit);
  auto column = [&](const char* key, const std::vector<double>& v) {
    if (v.empty()) return;
    Array a(DType::f64, Shape{static_cast<std::int64_t>(v.size())});
    std::copy(v.begin(), v.end(), a.writable<double>().data());
    item.set(key, std::move(a));
  };
  column("frame_index", std::vector<double>(t.frame_index.begin(), t.frame_index.end()));
  column("posx_m", t.posx);
  column("posy_m", t.posy);
  column("energy_eV", t.energy);
  column("det_dist_m", t.det_dist);
  column("pixel_m", t.pixel);
  column("exposure_s", t.exposure);
  item.meta.set("rows", static_cast<std::int64_t>(t.rows()), "frames (rows) in the CSV");
  item.meta.set("csv", csv.string(), "the EPICS CSV");

  const fs::path target = output_directory(ctx(), *dir) / expand_name(*name, item, ctx().stage_id());
  AtomicFile file(target);
  file.release_stream();
  write_sidecar(file.temp_path(), t);
  const auto bytes = file.commit();
  record_output_file(ctx(), item, target, bytes, "sidecar");
  ctx().log(LogLevel::info, "wrote the sidecar of " + std::to_string(t.rows()) + " frames to " + target.string());
  emit(std::move(item));
}

} // namespace lumen::ptycho
