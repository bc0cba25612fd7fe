// The `fits` plugin set: stage implementations and the plugin entry point. What each stage
// does is declared in fits_stages.hpp; the CFITSIO code is in fits_io.cpp.
#include "fits_stages.hpp"

#include <filesystem>

namespace lumen::fits {

// ---- fits.read -----------------------------------------------------------------------------------

void FitsRead::validate() const {
  FileReader::validate();
  try {
    (void)parse_hdu_selector(*hdu);
  } catch (const Error& e) {
    throw ConfigError("hdu", e.what());
  }
}

void FitsRead::start() {
  if (ctx().threads() > 1) pool_ = std::make_unique<ThreadPool>(ctx().threads() - 1);
}

void FitsRead::read(const WorkUnit& unit, Emit& emit) {
  const HduSelector selector = parse_hdu_selector(*hdu);
  FitsFile file{std::filesystem::path(unit.source_file)};
  bool multiple = false;
  const std::vector<int> chosen = file.select(selector, multiple);
  // One HDU at a time, so a file of many extensions never holds more than one image.
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const int number = chosen[i];
    Item item = make_item(unit, multiple ? static_cast<std::int64_t>(i) : -1);
    Meta header = file.header(number);
    for (const auto& e : header.entries()) item.meta.set(e.key, e.value, e.comment, e.unit);
    physics_from_header(item.meta);
    item.meta.set("fits_hdu", number, "HDU number in the source file (0 = primary)");
    item.set("image", file.pixels(number, pool_.get()));
    emit(std::move(item));
  }
}

// ---- fits.write ----------------------------------------------------------------------------------

void FitsWrite::process(Item& item, Emit& emit) {
  const Array& image = item.array("image");
  const std::filesystem::path target = target_for(item);
  AtomicFile out(target);
  // CFITSIO creates the file by name and refuses an existing one: hand it the temporary name.
  out.release_stream();
  std::filesystem::remove(out.temp_path());
  WriteReport report;
  try {
    report = write_fits(out.temp_path(), image, item.meta, WriteOptions{*checksum});
  } catch (const InputError& e) {
    throw InputError("item '" + item.id() + "': " + e.what());
  }
  const auto bytes = out.commit();
  for (const auto& s : report.skipped) {
    const std::string key = s.substr(0, s.find(':'));
    if (key.empty() || std::any_of(key.begin(), key.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
      continue; // Lumen's own keys are skipped by design
    const std::lock_guard lock(warned_mutex_);
    if (warned_.insert(key).second) ctx().log(LogLevel::warn, "fits.write: header key not written: " + s);
  }
  record_written(item, target, bytes, "fits_path");
  emit(std::move(item));
}

} // namespace lumen::fits

LUMEN_PLUGIN("fits", "1.0.0", "MIT", lumen::stage<lumen::fits::FitsRead>("fits.read"),
             lumen::stage<lumen::fits::FitsWrite>("fits.write"));
