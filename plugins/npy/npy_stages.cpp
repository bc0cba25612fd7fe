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

} // namespace lumen::npy

LUMEN_PLUGIN("npy", "1.0.0", "MIT", lumen::stage<lumen::npy::NpyRead>("npy.read"),
             lumen::stage<lumen::npy::NpyWrite>("npy.write"));
