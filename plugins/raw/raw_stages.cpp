// The `raw` plugin set: stage implementations and the plugin entry point. What each stage
// does is declared in raw_stages.hpp; LibRaw code is in raw_io.cpp, libtiff code in
// dng_writer.cpp.
#include "raw_stages.hpp"

#include <cstdio>
#include <filesystem>

namespace lumen::raw {

// ---- raw.read ------------------------------------------------------------------------------------

void RawRead::read(const WorkUnit& unit, Emit& emit) {
  RawFrame frame = read_raw(std::filesystem::path(unit.source_file), ReadOptions{*visible_only});
  Item item = make_item(unit);
  for (const auto& e : frame.meta.entries()) item.meta.set(e.key, e.value, e.comment, e.unit);
  item.set("image", std::move(frame.image));
  emit(std::move(item));
}

// ---- raw.write_dng -------------------------------------------------------------------------------

namespace {
// "2024-05-06T07:08:09" -> "2024:05:06 07:08:09" (EXIF DateTimeOriginal)
std::string exif_time(const std::string& iso) {
  if (iso.size() < 19) return {};
  std::string t = iso.substr(0, 19);
  t[4] = ':';
  t[7] = ':';
  t[10] = ' ';
  return t;
}
} // namespace

void RawWriteDng::process(Item& item, Emit& emit) {
  const Meta& m = item.meta;
  const std::string what = "item '" + item.id() + "'";
  DngInfo info;
  const auto cfa = m.get_string(keys::cfa);
  try {
    const std::string layout = cfa.value_or("");
    info.cfa = parse_cfa(layout, layout == "XTRANS" ? m.get_string("cfa_pattern").value_or("") : "");
  } catch (const Error& e) {
    throw InputError(what + ": raw.write_dng needs meta cfa (and cfa_pattern for XTRANS): " + e.what() +
                     " (read the mosaic with raw.read or set cfa upstream)");
  }
  if (const auto per = m.get_list("black_level_per_channel"); per && per->size() == 4 && info.cfa.rows == 2)
    info.black = {(*per)[0], (*per)[1], (*per)[2], (*per)[3]};
  else if (const auto b = m.get_number("black_level")) // X-Trans: one level (see dng_writer.hpp)
    info.black = {*b, *b, *b, *b};
  if (const auto wl = m.get_number("white_level")) info.white = *wl;
  info.make = !make->empty() ? *make : m.get_string("make").value_or("Lumen");
  info.model = !model->empty() ? *model : m.get_string("model").value_or("Synthetic");
  if (const auto wb = m.get_list("wb_as_shot"); wb && wb->size() >= 3 && (*wb)[0] > 0 && (*wb)[1] > 0 && (*wb)[2] > 0)
    info.as_shot_neutral = {1.0 / (*wb)[0], 1.0 / (*wb)[1], 1.0 / (*wb)[2]}; // LibRaw: cam_mul = 1 / neutral
  info.iso = m.get_number("iso").value_or(0);
  info.exposure_time = m.get_number("exposure_time").value_or(0);
  info.f_number = m.get_number("aperture").value_or(0);
  info.focal_length = m.get_number("focal_length").value_or(0);
  info.datetime = exif_time(m.get_string("timestamp").value_or(""));

  const std::filesystem::path target = target_for(item);
  AtomicFile out(target);
  out.release_stream(); // libtiff opens by name (and truncates)
  try {
    write_dng(out.temp_path(), item.array("image"), info);
  } catch (const InputError& e) {
    throw InputError(what + ": " + e.what());
  }
  const auto bytes = out.commit();
  record_written(item, target, bytes, "dng_path");
  emit(std::move(item));
}

} // namespace lumen::raw

LUMEN_PLUGIN("raw", "1.0.0", "MIT", lumen::stage<lumen::raw::RawRead>("raw.read"),
             lumen::stage<lumen::raw::RawWriteDng>("raw.write_dng"));
