// The `mrc` plugin set: stage implementations and the plugin entry point. What each stage
// does and its parameters are declared in mrc_stages.hpp; the parser is in mrc_io.cpp.
//
// Example pipeline (convert maps to float32 copies with the same voxel size):
//   stages:
//     - id: in
//       use: mrc.read
//       with: {path: maps/}
//     - id: out
//       use: mrc.write
#include "mrc_stages.hpp"

#include <chrono>
#include <ctime>

namespace lumen::mrc {

// ---- mrc.read ----------------------------------------------------------------------------------

std::vector<WorkUnit> MrcRead::plan() {
  if (*frames_per_item == 0) return FileReader::plan();
  const auto files = input_files();
  std::vector<WorkUnit> units;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto index = static_cast<std::int64_t>(i);
    std::int64_t nz = 0;
    try {
      nz = read_header(FileSource(files[i])).nz;
    } catch (const InputError&) {
      // A bad file gets one whole-file unit: read() then fails that item with the full
      // message, and the other files go on.
      units.push_back(file_unit(files[i], index));
      continue;
    }
    for (std::int64_t z = 0; z < nz; z += *frames_per_item)
      units.push_back(file_unit(files[i], index, z, std::min(nz, z + *frames_per_item)));
  }
  return units;
}

void MrcRead::read(const WorkUnit& unit, Emit& emit) {
  const FileSource src(unit.source_file);
  const Header header = read_header(src);
  const bool ranged = unit.end > unit.begin;
  if (ranged && unit.end > header.nz)
    throw InputError(src.name() + ": sections " + std::to_string(unit.begin) + " to " + std::to_string(unit.end) +
                     " were planned but the file now has " + std::to_string(header.nz) +
                     " (it changed since the run was planned)");
  const std::int64_t z0 = ranged ? unit.begin : 0, z1 = ranged ? unit.end : header.nz;
  Item item = make_item(unit, ranged ? z0 : -1);
  if (ranged) {
    item.meta.set("mrc_section_begin", z0, "first section of this item in the file");
    item.meta.set("mrc_section_end", z1, "one past the last section of this item");
  }
  item.set("image", read_sections(src, header, z0, z1));
  header_to_meta(header, item.meta);
  // A range of a volume is a sub-volume: its first section lies z0 voxels further along z, so
  // a writer that places it by origin puts it where it was. (Image stacks have no z position.)
  if (ranged && header.kind() == "volume")
    if (const auto oz = item.meta.get_number("origin_z"), vz = item.meta.get_number("voxel_size_z"); oz && vz)
      item.meta.set("origin_z", *oz + static_cast<double>(z0) * *vz,
                    "ORIGIN z of this range: the file's plus first section x voxel size", "Å");
  emit(std::move(item));
}

// ---- mrc.write ---------------------------------------------------------------------------------

namespace {
std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}
} // namespace

WriteSpec MrcWrite::spec_for(const Item& item) const {
  WriteSpec s;
  const Meta& m = item.meta;
  static constexpr const char* axes[] = {"x", "y", "z"};
  for (std::size_t i = 0; i < 3; ++i) {
    if (const auto v = m.get_number(std::string("voxel_size_") + axes[i])) s.voxel_size[i] = *v;
    if (const auto v = m.get_number(std::string("origin_") + axes[i])) s.origin[i] = *v;
  }
  const bool volume = *kind == "volume" || (*kind == "auto" && m.get_string("mrc_kind").value_or("") == "volume");
  s.ispg = volume ? 1 : 0;
  for (int i = 0; i < 9; ++i) {
    const auto label = m.find("mrc_label_" + std::to_string(i));
    if (!label || !std::holds_alternative<std::string>(label->value)) break;
    s.labels.push_back(std::get<std::string>(label->value));
  }
  s.labels.push_back(std::string("Lumen ") + lumen::version() + " " + utc_now());
  s.u8_as_mode0 = *u8_mode == "mode0_unsigned";
  s.f64_to_f32 = *f64_to_f32;
  return s;
}

void MrcWrite::process(Item& item, Emit& emit) {
  const Array& image = item.array("image");
  const WriteSpec spec = spec_for(item);
  check_writable(image, spec, "item '" + item.id() + "'"); // before any file is created
  const std::filesystem::path target = target_for(item);
  AtomicFile file(target);
  write_mrc([&file](const void* p, std::size_t n) { file.write(p, n); }, image, spec, target.string());
  const auto bytes = file.commit();
  record_written(item, target, bytes, "mrc_path");
  emit(std::move(item));
}

} // namespace lumen::mrc

LUMEN_PLUGIN("mrc", "1.0.0", "MIT", lumen::stage<lumen::mrc::MrcRead>("mrc.read"),
             lumen::stage<lumen::mrc::MrcWrite>("mrc.write"));
