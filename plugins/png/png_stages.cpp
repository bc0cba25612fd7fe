// The `png` plugin set: stage implementations and the plugin entry point.
// What each stage does, and its parameters, are declared in png_stages.hpp; the libpng code
// is in png_io.cpp; the path expansion is the SDK's (lumen/input_paths.hpp).
//
// Example pipeline (re-compress a directory of PNGs):
//   stages:
//     - id: in
//       use: png.read
//       with: {path: scans/}
//     - id: out
//       use: png.write
//       with: {compression: 9, filter: all}
#include "png_stages.hpp"

namespace lumen::png {

// ---- png.read ----------------------------------------------------------------------------------

void PngRead::read(const WorkUnit& unit, Emit& emit) {
  const std::filesystem::path file(unit.source_file);
  DecodedPng png = read_png(file);
  Item item = make_item(unit);
  item.set("image", std::move(png.image));
  item.meta.set("bit_depth", png.bit_depth, "bits per decoded sample");
  item.meta.set("channels", png.channels, "1 gray, 2 gray+alpha, 3 RGB, 4 RGBA");
  emit(std::move(item));
}

// ---- png.write ---------------------------------------------------------------------------------

void PngWrite::process(Item& item, Emit& emit) {
  const Array& image = item.array("image");
  check_encodable(image, "item '" + item.id() + "'"); // before any file is created
  const std::filesystem::path target = target_for(item);

  AtomicFile file(target);
  write_png(file.stream(), image,
            WriteOptions{*compression, filter_from_name(*filter), Strategy::standard, encoder_from_name(*encoder)},
            target.string());
  const auto bytes = file.commit();
  record_written(item, target, bytes, "png_path");
  emit(std::move(item));
}

} // namespace lumen::png

LUMEN_PLUGIN("png", "1.0.0", "MIT", lumen::stage<lumen::png::PngRead>("png.read"),
             lumen::stage<lumen::png::PngWrite>("png.write"));
