// The `npy` plugin set: stage implementations and the plugin entry point. What each stage does
// and its parameters are declared in npy_stages.hpp; the parser is in npy_io.cpp.
//
// Example pipeline (round trip through .npy):
//   stages:
//     - id: in
//       use: npy.read
//       with: {path: arrays/}
//     - id: out
//       use: npy.write
//       with: {dir: copies}
#include "npy_stages.hpp"

#include <cstdio>

namespace lumen::npy {

void NpyRead::read(const WorkUnit& unit, Emit& emit) {
  const FileSource src(unit.source_file);
  const Header header = read_header(src);
  Item item = make_item(unit);
  item.set("image", read_data(src, header));
  item.meta.set("npy_descr", header.descr, "dtype as stored in the file");
  item.meta.set("npy_fortran_order", header.fortran_order, "stored in Fortran order (transposed on reading)");
  item.meta.set("npy_shape", header.shape_text(), "shape as stored in the file");
  item.meta.set("npy_version", std::to_string(header.major) + "." + std::to_string(header.minor),
                ".npy format version");
  emit(std::move(item));
}

void NpyWrite::validate() const {
  FileWriter::validate();
  if (array->empty()) throw ConfigError("array", "the array name must not be empty (e.g. image or mask)");
}

void NpyWrite::process(Item& item, Emit& emit) {
  const Array& data = item.array(*array); // InputError naming the item and the array when absent
  const std::string who = "item '" + item.id() + "', array '" + *array + "'";
  if (data.empty() || data.size() == 0) throw InputError(who + ": the array is empty");
  const std::filesystem::path target = target_for(item);
  AtomicFile file(target);
  write_npy([&file](const void* p, std::size_t n) { file.write(p, n); }, data, target.string());
  const auto bytes = file.commit();
  record_written(item, target, bytes, "npy_path");
  emit(std::move(item));
}

// ---- npy.append ---------------------------------------------------------------------------------

void NpyAppend::validate() const {
  FileAggregator::validate();
  if (array->empty()) throw ConfigError("array", "the array name must not be empty (e.g. image)");
}

void NpyAppend::process(Item& item, Emit&) {
  const Array& data = item.array(*array);
  const int fd = *frame_dims;
  if (data.ndim() != fd && data.ndim() != fd + 1)
    throw InputError("npy.append: item '" + item.id() + "' array '" + *array + "' has shape " + data.shape().str() +
                     "; frames have " + std::to_string(fd) + " dims (frame_dims), so items need " + std::to_string(fd) +
                     " or " + std::to_string(fd + 1) + " dims");
  const std::int64_t n = data.ndim() == fd ? 1 : data.dim(0);
  Shape frame;
  frame.ndim = fd;
  for (int a = 0; a < fd; ++a) frame.dims[a] = data.dim(data.ndim() - fd + a);
  if (!file_) {
    file_ = std::make_unique<AtomicFile>(target_for(item));
    dtype_ = data.dtype();
    frame_ = frame;
    // Room for any frame count: the header of 10^15 frames.
    Shape huge;
    huge.ndim = fd + 1;
    huge.dims[0] = 1'000'000'000'000'000;
    for (int a = 0; a < fd; ++a) huge.dims[a + 1] = frame.dims[a];
    const std::string header = make_header(dtype_, huge);
    header_size_ = header.size();
    file_->write(header.data(), header.size());
  } else if (!(frame == frame_) || data.dtype() != dtype_) {
    throw InputError("npy.append: item '" + item.id() + "' has " + std::string(dtype_name(data.dtype())) + " frames " +
                     frame.str() + ", but the file holds " + std::string(dtype_name(dtype_)) + " frames " +
                     frame_.str() + " (from the first item)");
  }
  write_npy_data([this](const void* p, std::size_t k) { file_->write(p, k); }, data);
  frames_ += n;
  held_units_.hold(item);
}

void NpyAppend::finish(Emit&) {
  if (!file_) return;
  const auto release = held_units_.release_at_exit(); // whatever happens, before the run ends
  Shape shape;
  shape.ndim = frame_.ndim + 1;
  shape.dims[0] = frames_;
  for (int a = 0; a < frame_.ndim; ++a) shape.dims[a + 1] = frame_.dims[a];
  const std::string header = make_header(dtype_, shape, header_size_);
  if (header.size() != header_size_) throw Error("npy.append: the final header does not fit the reserved room");
  if (std::fseek(file_->stream(), 0, SEEK_SET) != 0)
    throw Error("npy.append: cannot seek in " + file_->temp_path().string());
  file_->write(header.data(), header.size());
  const std::filesystem::path target = file_->target();
  const auto bytes = file_->commit();
  file_.reset();
  ctx().record_output(target, bytes);
  ctx().log(LogLevel::info, "appended " + std::to_string(frames_) + " frames to " + target.string());
}

} // namespace lumen::npy

LUMEN_PLUGIN("npy", "1.0.0", "MIT", lumen::stage<lumen::npy::NpyRead>("npy.read"),
             lumen::stage<lumen::npy::NpyWrite>("npy.write"), lumen::stage<lumen::npy::NpyAppend>("npy.append"));
