// The `hdf5` plugin set: stage implementations and the plugin entry point.
// What each stage does, and its parameters, are declared in hdf5_stages.hpp; the HDF5 code is
// in hdf5_io.cpp.
//
// Example pipeline (re-chunk and compress a CXI scan, 20 frames per item):
//   stages:
//     - id: in
//       use: hdf5.read
//       with: {path: scan.cxi, dataset: entry_1/instrument_1/detector_1/data, frames_per_item: 20}
//     - id: out
//       use: hdf5.write
//       with: {mode: append, dataset: entry/data/data, compression: shuffle+deflate}
#include "hdf5_stages.hpp"

namespace lumen::hdf5 {

namespace fs = std::filesystem;

// ---- hdf5.read ---------------------------------------------------------------------------------

void Hdf5Read::validate() const {
  FileReader::validate();
  if (dataset->empty()) throw ConfigError("dataset", "give the dataset's path inside the file, e.g. entry/data/data");
  if (frames->size() == 1)
    throw ConfigError("frames", "give a range [begin, end), e.g. [0, 100], or leave it empty for all frames");
  if (frames->size() == 2 && (*frames)[1] <= (*frames)[0])
    throw ConfigError("frames", "the range [" + std::to_string((*frames)[0]) + ", " + std::to_string((*frames)[1]) +
                                    ") is empty: end must be greater than begin");
}

std::vector<WorkUnit> Hdf5Read::plan() {
  const bool ranged = frames->size() == 2;
  if (*frames_per_item == 0 && !ranged) return FileReader::plan();
  const auto files = input_files();
  std::vector<WorkUnit> units;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& file = files[i];
    const auto file_index = static_cast<std::int64_t>(i);
    // Frame counts are needed to cut ranges. A file that cannot say gets a whole-file unit, so
    // that its read fails with the reason; one bad file never stops planning.
    std::int64_t n = -1;
    try {
      H5Reader r(file);
      const DatasetInfo info = r.info(*dataset);
      if (info.dims.size() >= 3) n = info.dims[0];
    } catch (const InputError&) {
    }
    const std::int64_t b0 = ranged ? (*frames)[0] : 0, e0 = ranged ? (*frames)[1] : n;
    if (n < 0 || e0 > n) {
      units.push_back(file_unit(file, file_index));
      continue;
    }
    const std::int64_t step = *frames_per_item > 0 ? *frames_per_item : e0 - b0;
    for (std::int64_t b = b0; b < e0; b += step)
      units.push_back(file_unit(file, file_index, b, std::min(e0, b + step)));
  }
  return units;
}

void Hdf5Read::read(const WorkUnit& unit, Emit& emit) {
  H5Reader r{fs::path(unit.source_file)};
  const DatasetInfo info = r.info(*dataset);
  std::int64_t begin = unit.begin, end = unit.end;
  const bool wants_range = *frames_per_item > 0 || frames->size() == 2;
  if (wants_range && end <= begin) {
    // Planned as a whole-file unit because the frame count was unknown: say why now.
    if (info.dims.size() < 3)
      r.fail("dataset '" + *dataset + "' has shape " + info.shape_text() +
             "; frames_per_item and frames need a stack of rank 3 or 4 (axis 0 = frames)");
    begin = frames->size() == 2 ? (*frames)[0] : 0;
    end = frames->size() == 2 ? (*frames)[1] : info.dims[0];
  }
  const bool range = end > begin;
  Item item = range ? make_item(unit, begin) : make_item(unit);
  item.set("image", r.read(*dataset, begin, end, *frames_per_item == 1));
  r.read_attributes(*dataset, item.meta);
  item.meta.set("hdf5_dataset", *dataset, "dataset read");
  std::vector<double> shape(info.dims.begin(), info.dims.end());
  item.meta.set("hdf5_shape", std::move(shape), "shape of the whole dataset in the file");
  item.meta.set("hdf5_dtype", info.stored, "element type in the file");
  emit(std::move(item));
}

// ---- what hdf5.write and hdf5.append share ------------------------------------------------------

ChunkedOutput::ChunkedOutput(Stage* owner)
    : dataset{owner, "dataset", std::string("data"), "dataset path inside the file; missing groups are created"},
      array{owner, "array", std::string("image"), "which array of the item to write"},
      compression{owner, "compression", std::string("none"),
                  "none, deflate or shuffle+deflate (HDF5's standard filters: any HDF5 reader opens them)",
                  OneOf{{"none", "deflate", "shuffle+deflate"}}},
      level{owner, "level", 1, "deflate level, 1 (fastest, the default) to 9 (smallest)", Min{1}, Max{9}},
      threads{owner, "threads", 0, "compression threads; 0 = the run's --threads", Min{0}, Max{256}} {}

void ChunkedOutput::validate() const {
  if (dataset->empty() || dataset->back() == '/')
    throw ConfigError("dataset", "give a dataset path such as data or entry/data/data (not a group)");
  if (array->empty()) throw ConfigError("array", "name the array to write, e.g. image");
}

void ChunkedOutput::start(const Context& ctx) {
  const int n = *threads > 0 ? *threads : ctx.threads();
  if (*compression != "none") pool_ = std::make_unique<ThreadPool>(std::max(1, n));
}

WriteOptions ChunkedOutput::options() const {
  WriteOptions o;
  o.dataset = *dataset;
  o.codec = codec_from_name(*compression);
  o.level = *level;
  return o;
}

// ---- hdf5.write --------------------------------------------------------------------------------

void Hdf5Write::validate() const {
  FileWriter::validate();
  out.validate();
}

void Hdf5Write::start() {
  out.start(ctx());
}

void Hdf5Write::process(Item& item, Emit& emit) {
  const Array& data = item.array(*out.array);
  const fs::path target = target_for(item);
  AtomicFile file(target);
  file.release_stream(); // HDF5 opens the temporary file by name
  {
    H5ChunkWriter w(file.temp_path(), data.dtype(), data.shape(), false, out.options(), out.pool(),
                    "item '" + item.id() + "'");
    w.append(data);
    w.write_attributes(item.meta);
    w.close();
  }
  const auto bytes = file.commit();
  record_written(item, target, bytes, "hdf5_path");
  emit(std::move(item));
}

// ---- hdf5.append -------------------------------------------------------------------------------

void Hdf5Append::validate() const {
  FileAggregator::validate();
  out.validate();
}

void Hdf5Append::start() {
  out.start(ctx());
}

void Hdf5Append::process(Item& item, Emit&) {
  const Array& data = item.array(*out.array);
  if (data.ndim() != 2 && data.ndim() != 3)
    throw InputError("hdf5.append takes (ny, nx) frames or (n, ny, nx) blocks; item '" + item.id() + "' has " +
                     std::string(dtype_name(data.dtype())) + " " + data.shape().str());
  const Array block =
      data.ndim() == 2 ? data.reshape(Shape{1, data.dim(0), data.dim(1)}) : data; // a view when contiguous
  if (!writer_) {
    const fs::path target = target_for(item);
    file_ = std::make_unique<AtomicFile>(target);
    file_->release_stream();
    writer_ = std::make_unique<H5ChunkWriter>(file_->temp_path(), block.dtype(), block.shape(), true, out.options(),
                                              out.pool(), target.string());
    Meta attrs = item.meta; // the first item's meta, minus what only describes that item
    attrs.erase("index");
    attrs.erase("file_index");
    writer_->write_attributes(attrs);
    first_id_ = item.id();
  }
  writer_->append(block);
  // The unit is done only when the file is: hold its token until finish() commits.
  held_units_.hold(item);
}

void Hdf5Append::finish(Emit&) {
  if (!writer_) return;
  const auto release = held_units_.release_at_exit(); // whatever happens, before the run ends
  writer_->close();
  const std::int64_t frames_written = writer_->frames_written();
  writer_.reset();
  const fs::path target = file_->target();
  const auto bytes = file_->commit();
  file_.reset();
  ctx().record_output(target, bytes);
  ctx().log(LogLevel::info, "appended " + std::to_string(frames_written) + " frames (first item '" + first_id_ +
                                "') to " + target.string());
}

} // namespace lumen::hdf5

LUMEN_PLUGIN("hdf5", "1.0.0", "MIT", lumen::stage<lumen::hdf5::Hdf5Read>("hdf5.read"),
             lumen::stage<lumen::hdf5::Hdf5Write>("hdf5.write"), lumen::stage<lumen::hdf5::Hdf5Append>("hdf5.append"));
