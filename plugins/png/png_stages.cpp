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

void PngRead::validate() const {
  if (const auto problem = check_input_spec(*path); !problem.empty()) throw ConfigError("path", problem);
}

std::vector<WorkUnit> PngRead::plan() {
  const auto files = expand_input_path(*path, {".png"});
  std::vector<WorkUnit> units;
  units.reserve(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    WorkUnit u;
    u.id = files[i].filename().string();
    u.identity = file_identity(files[i]);
    u.source_file = files[i].string();
    u.index = static_cast<std::int64_t>(i);
    units.push_back(std::move(u));
  }
  return units;
}

void PngRead::read(const WorkUnit& unit, Emit& emit) {
  const std::filesystem::path file(unit.source_file);
  DecodedPng png = read_png(file);
  Item item(file.stem().string());
  item.set("image", std::move(png.image));
  item.meta.set("bit_depth", png.bit_depth, "bits per decoded sample");
  item.meta.set("channels", png.channels, "1 gray, 2 gray+alpha, 3 RGB, 4 RGBA");
  item.provenance.source_file = unit.source_file;
  emit(std::move(item));
}

// ---- png.write ---------------------------------------------------------------------------------

void PngWrite::validate() const {
  check_name_pattern(*name, "name");
}

std::filesystem::path PngWrite::output_root() const {
  const std::filesystem::path& outputs = ctx().outputs_dir();
  if (dir->empty()) return outputs;
  const std::filesystem::path d(*dir);
  return d.is_absolute() ? d : outputs / d;
}

void PngWrite::process(Item& item, Emit& emit) {
  const Array& image = item.array("image");
  check_encodable(image, "item '" + item.id() + "'"); // before any file is created
  const std::filesystem::path target = output_root() / expand_name(*name, item, ctx().stage_id());

  AtomicFile file(target);
  write_png(file.stream(), image, WriteOptions{*compression, filter_from_name(*filter)}, target.string());
  const auto bytes = file.commit();
  ctx().record_output(target, bytes);

  // Relative to outputs/ when inside it (the usual case), else the path as written.
  const auto relative = target.lexically_relative(ctx().outputs_dir());
  const bool inside = !relative.empty() && *relative.begin() != "..";
  item.meta.set("png_path", MetaValue{(inside ? relative : target).generic_string()}, "PNG file written");
  emit(std::move(item));
}

} // namespace lumen::png

LUMEN_PLUGIN("png", "1.0.0", "MIT", lumen::stage<lumen::png::PngRead>("png.read"),
             lumen::stage<lumen::png::PngWrite>("png.write"));
