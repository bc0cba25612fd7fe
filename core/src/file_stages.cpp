#include "lumen/file_stages.hpp"

#include "lumen/error.hpp"
#include "lumen/input_paths.hpp"

#include <cstdio>

namespace lumen {

namespace {

std::string path_doc(const std::vector<std::string>& extensions, std::string_view format) {
  std::string list;
  for (const auto& ext : extensions) list += (list.empty() ? "*" : ", *") + ext;
  return "a " + std::string(format) + " file, a directory (every " + list +
         " in it, natural order, not recursive) or a glob such as frames/*" +
         (extensions.empty() ? std::string() : extensions.front()) + " (wildcards * and ? in the file name only)";
}

} // namespace

FileReader::FileReader(std::vector<std::string> extensions, std::string_view format)
    : path{this, "path", Required{}, path_doc(extensions, format)},
      recursive{this, "recursive", false,
                "when path is a directory, also read matching files in its sub-directories (hidden ones skipped); "
                "the list is sorted in natural order of the full paths"},
      max_files{this, "max_files", std::int64_t{0},
                "read only the first N files of the sorted input list (0 = all), e.g. for a quick run on a big tree",
                Min{0}},
      extensions_(std::move(extensions)) {}

void FileReader::validate() const {
  if (const auto problem = check_input_spec(*path); !problem.empty()) throw ConfigError("path", problem);
}

std::vector<std::filesystem::path> FileReader::input_files() const {
  auto files = expand_input_path(*path, extensions_, *recursive);
  if (*max_files > 0 && files.size() > static_cast<std::size_t>(*max_files))
    files.resize(static_cast<std::size_t>(*max_files));
  return files;
}

std::vector<WorkUnit> FileReader::plan() {
  const auto files = input_files();
  std::vector<WorkUnit> units;
  units.reserve(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) units.push_back(file_unit(files[i], static_cast<std::int64_t>(i)));
  return units;
}

WorkUnit FileReader::file_unit(const std::filesystem::path& file, std::int64_t file_index, std::int64_t begin,
                               std::int64_t end) {
  WorkUnit u;
  u.id = file.filename().string();
  u.identity = file_identity(file);
  if (end > begin) {
    const std::string range = "[" + std::to_string(begin) + ":" + std::to_string(end) + "]";
    u.id += range;
    u.identity += range; // each range is its own unit in the ledger
  }
  u.source_file = file.string();
  u.index = file_index;
  u.file_index = file_index;
  u.begin = begin;
  u.end = end;
  return u;
}

Item FileReader::make_item(const WorkUnit& unit, std::int64_t frame) {
  const std::filesystem::path file(unit.source_file);
  std::string id = file.stem().string();
  if (frame >= 0) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "/%04lld", static_cast<long long>(frame));
    id += suffix;
  }
  Item item(std::move(id));
  item.provenance.source_file = unit.source_file;
  item.meta.set("index", static_cast<std::int64_t>(frame < 0 ? 0 : frame), "frame index inside the source file");
  item.meta.set("file_index", unit.file_index, "position of the source file in the input list");
  return item;
}

const char* const kOutputDirDoc =
    "output directory: empty for the run's outputs/; a relative path is inside outputs/; an absolute path is used "
    "as given";
const char* const kOutputNameDoc =
    "file-name template: {id}, {stem}, {index:04d}, {stage} or any meta key; '/' makes sub-directories";

std::filesystem::path output_directory(const Context& ctx, const std::string& dir) {
  const std::filesystem::path& outputs = ctx.outputs_dir();
  if (dir.empty()) return outputs;
  const std::filesystem::path d(dir);
  return d.is_absolute() ? d : outputs / d;
}

void record_output_file(const Context& ctx, Item& item, const std::filesystem::path& target, std::uintmax_t bytes,
                        const std::string& meta_key) {
  ctx.record_output(target, bytes);
  const auto relative = target.lexically_relative(ctx.outputs_dir());
  const bool inside = !relative.empty() && *relative.begin() != "..";
  item.meta.set(meta_key, MetaValue{(inside ? relative : target).generic_string()}, "file written");
}

} // namespace lumen
