// The `tiff` plugin set: stage implementations and the plugin entry point.
// What each stage does, and its parameters, are declared in tiff_stages.hpp; the libtiff code
// is in tiff_io.cpp.
//
// Example pipeline (split multi-page files into one deflate TIFF per page):
//   stages:
//     - id: in
//       use: tiff.read
//       with: {path: stacks/, mode: frames}
//     - id: out
//       use: tiff.write
//       with: {compression: deflate, name: "{stem}_{index:04d}.tif"}
#include "tiff_stages.hpp"

#include <algorithm>
#include <cstdio>

namespace lumen::tiff {

namespace fs = std::filesystem;

// ---- tiff.read ---------------------------------------------------------------------------------

void TiffRead::validate() const {
  FileReader::validate();
  if (*frames_per_item > 0 && *mode == "frames")
    throw ConfigError("frames_per_item", "frames_per_item groups pages into stacks and needs mode: stack (mode: "
                                         "frames already gives one item per page)");
}

std::vector<WorkUnit> TiffRead::plan() {
  const auto files = input_files();
  std::vector<WorkUnit> units;
  if (!*series) {
    if (*mode == "frames" || *frames_per_item == 0) return FileReader::plan();
    // Blocks of pages: count each file's pages now. A file that cannot be opened gets one
    // whole-file unit, so that its read fails with the reason (one bad file never stops planning).
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto& file = files[i];
      const auto file_index = static_cast<std::int64_t>(i);
      int pages = 0;
      try {
        TiffFile f(file);
        pages = f.pages();
      } catch (const InputError&) {
      }
      if (pages == 0) units.push_back(file_unit(file, file_index));
      for (int b = 0; b < pages; b += *frames_per_item)
        units.push_back(file_unit(file, file_index, b, std::min(pages, b + *frames_per_item)));
    }
    return units;
  }

  // A series: the first file sets the layout every other file must match.
  series_files_ = files;
  series_name_ = series_name(files.front());
  {
    TiffFile first(files.front());
    series_layout_ = first.select(0);
  }
  const auto n = static_cast<std::int64_t>(files.size());
  if (*mode == "frames") {
    for (std::int64_t i = 0; i < n; ++i) units.push_back(file_unit(files[static_cast<std::size_t>(i)], i));
    return units;
  }
  const std::int64_t block = *frames_per_item > 0 ? *frames_per_item : n;
  for (std::int64_t b = 0; b < n; b += block) {
    const std::int64_t e = std::min(n, b + block);
    WorkUnit u = file_unit(files[static_cast<std::size_t>(b)], b, b, e);
    u.id = series_name_ + "[" + std::to_string(b) + ":" + std::to_string(e) + "]";
    for (std::int64_t i = b + 1; i < e; ++i) u.identity += "\n" + file_identity(files[static_cast<std::size_t>(i)]);
    units.push_back(std::move(u));
  }
  return units;
}

void TiffRead::read(const WorkUnit& unit, Emit& emit) {
  if (*series) return read_series(unit, emit);
  TiffFile file{fs::path(unit.source_file)};
  const int pages = file.pages();

  if (*mode == "frames") {
    for (int page = 0; page < pages; ++page) {
      const PageInfo info = file.select(page);
      Item item = pages > 1 ? make_item(unit, page) : make_item(unit);
      file.read_meta(info, item.meta);
      Array image = Array::uninitialized(info.dtype, info.shape());
      file.decode(info, image.raw());
      item.set("image", std::move(image));
      emit(std::move(item)); // one page in memory at a time
    }
    return;
  }

  const bool block = unit.end > unit.begin; // frames_per_item > 0
  const int begin = block ? static_cast<int>(unit.begin) : 0;
  const int end = block ? static_cast<int>(unit.end) : pages;
  if (end > pages)
    file.fail("has " + std::to_string(pages) + " pages, fewer than planned (" + std::to_string(end) +
              "): did it change during the run?");
  Item item = block ? make_item(unit, begin) : make_item(unit);
  const PageInfo info = file.select(begin);
  file.read_meta(info, item.meta);
  const bool single = block ? *frames_per_item == 1 : pages == 1;
  item.set("image", single ? file.read_page(begin) : file.read_pages(begin, end));
  emit(std::move(item));
}

void TiffRead::read_series(const WorkUnit& unit, Emit& emit) {
  const auto open_frame = [&](TiffFile& f) {
    if (const int n = f.pages(); n != 1)
      f.fail("holds " + std::to_string(n) +
             " pages; every file of a series must hold one (read it with series: false)");
    const PageInfo info = f.select(0);
    if (!info.same_layout(series_layout_))
      f.fail("is " + info.describe() + " but the series starts with " + series_files_.front().filename().string() +
             ", which is " + series_layout_.describe() + ": every file of a series needs the same dims and dtype");
    return info;
  };

  if (*mode == "frames") {
    TiffFile f{fs::path(unit.source_file)};
    const PageInfo info = open_frame(f);
    Item item = make_item(unit);
    item.meta.set("index", unit.index, "position of the file in the series");
    f.read_meta(info, item.meta);
    Array image = Array::uninitialized(info.dtype, info.shape());
    f.decode(info, image.raw());
    item.set("image", std::move(image));
    emit(std::move(item));
    return;
  }

  const std::int64_t begin = unit.begin, end = unit.end, n = end - begin;
  if (begin < 0 || end > static_cast<std::int64_t>(series_files_.size()) || n <= 0)
    throw InputError(unit.id + ": frame range outside the planned series");
  const bool single = *frames_per_item == 1;
  const std::uint64_t frame_bytes = series_layout_.nbytes();
  if (frame_bytes * static_cast<std::uint64_t>(n) > kMaxDecodedBytes)
    throw InputError(series_files_.front().string() + ": a series of " + std::to_string(n) + " frames of " +
                     series_layout_.describe() + " exceeds the " + std::to_string(kMaxDecodedBytes >> 30) +
                     " GiB limit; set frames_per_item to read it in blocks");
  const Shape fs_shape = series_layout_.shape();
  Shape shape;
  if (single) {
    shape = fs_shape;
  } else {
    shape.ndim = fs_shape.ndim + 1;
    shape.dims[0] = n;
    for (int a = 0; a < fs_shape.ndim; ++a) shape.dims[a + 1] = fs_shape.dims[a];
  }
  Array stack = Array::uninitialized(series_layout_.dtype, shape);
  auto* dst = static_cast<unsigned char*>(stack.raw());

  Item item(*frames_per_item > 0 ? series_name_ + frame_suffix(begin) : series_name_);
  item.provenance.source_file = series_files_[static_cast<std::size_t>(begin)].string();
  item.meta.set("index", begin, "position of the first frame in the series");
  item.meta.set("file_index", begin, "position of the first file in the input list");
  for (std::int64_t i = begin; i < end; ++i) {
    TiffFile f(series_files_[static_cast<std::size_t>(i)]);
    const PageInfo info = open_frame(f);
    if (i == begin) f.read_meta(info, item.meta);
    f.decode(info, dst + static_cast<std::size_t>(i - begin) * frame_bytes);
  }
  item.meta.set("pages", n, "frames (files) in this item");
  item.meta.set("series_first", series_files_[static_cast<std::size_t>(begin)].filename().string(),
                "first file of the item");
  item.meta.set("series_last", series_files_[static_cast<std::size_t>(end - 1)].filename().string(),
                "last file of the item");
  item.set("image", std::move(stack));
  emit(std::move(item));
}

// ---- tiff.write --------------------------------------------------------------------------------

void TiffWrite::validate() const {
  FileWriter::validate();
  if (!can_encode(*compression))
    throw ConfigError("compression", "this libtiff cannot write " + *compression + "; use deflate or lzw");
  if (*predictor != "none" && *predictor != "auto" && *compression == "none")
    throw ConfigError("predictor", "a predictor only helps a compression; set compression: deflate, lzw or zstd");
  if (*predictor != "none" && *predictor != "auto" && *compression == "packbits")
    throw ConfigError("predictor", "packbits does not use a predictor; set predictor: none or use deflate/lzw/zstd");
  if (*tile % 16 != 0)
    throw ConfigError("tile", "TIFF tiles must be a multiple of 16 pixels, got " + std::to_string(*tile));
  if (*level > 0 && *compression != "deflate" && *compression != "zstd")
    throw ConfigError("level", "level applies to deflate (1-9) and zstd (1-22), not to " + *compression);
  if (*level > 9 && *compression == "deflate")
    throw ConfigError("level", "deflate levels are 1-9, got " + std::to_string(*level));
}

void TiffWrite::start() {
  const int n = *threads > 0 ? *threads : ctx().threads();
  if (parallel_codec(*compression)) pool_ = std::make_unique<ThreadPool>(std::max(1, n));
}

WriteOptions TiffWrite::options() const {
  WriteOptions o;
  o.compression = *compression;
  o.predictor = *predictor;
  o.level = *level;
  o.tile = *tile;
  o.bigtiff = *bigtiff;
  o.layout = *layout;
  o.software = "Lumen " LUMEN_VERSION;
  return o;
}

void TiffWrite::process(Item& item, Emit& emit) {
  const Array& image = item.array("image");
  WriteOptions o = options();
  if (*description == "meta") o.description = description_for(image, item.meta);
  if (o.predictor == "auto") {
    const bool compressing = o.compression == "lzw" || o.compression == "deflate" || o.compression == "zstd";
    const bool floats = image.dtype() == DType::f32 || image.dtype() == DType::f64;
    o.predictor = !compressing ? "none" : floats ? "float" : "horizontal";
  }
  const std::string what = "item '" + item.id() + "'";
  check_writable(image, o, what); // before any file is created
  const fs::path target = target_for(item);

  AtomicFile file(target);
  file.release_stream(); // libtiff opens the temporary file by name
  write_tiff(file.temp_path(), image, o, what, pool_.get());
  const auto bytes = file.commit();
  record_written(item, target, bytes, "tiff_path");
  emit(std::move(item));
}

} // namespace lumen::tiff

LUMEN_PLUGIN("tiff", "1.0.0", "MIT", lumen::stage<lumen::tiff::TiffRead>("tiff.read"),
             lumen::stage<lumen::tiff::TiffWrite>("tiff.write"));
