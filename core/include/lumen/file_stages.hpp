// Base classes for stages that read or write files, so that every format takes its paths the
// same way and writes its outputs the same way.
//
// FileReader: the `path` parameter (a file, a directory or a glob, see input_paths.hpp), one
// work unit per file by default, and make_item() for items that carry the conventional
// provenance and meta:
//   id          "<stem>" for a file holding one image, "<stem>/<frame:04d>" for frame `frame`
//               of a stack (or HDU of a multi-extension file)
//   index       the frame's index inside its file (0 for a single image), so that a writer's
//               `name: "{stem}_{index:04d}.fits"` gives one file per frame
//   file_index  the file's position in the expanded input list
//
// FileWriter: the `dir` and `name` parameters, where the file goes (target_for) and how the
// item records it (record_written). Writers write through lumen::AtomicFile, so no reader ever
// sees a half-written file.
//
// Example (a reader of one image per file):
//   class Read final : public lumen::FileReader {
//   public:
//     Read() : FileReader({".mrc", ".map"}, "MRC") {}
//     void read(const lumen::WorkUnit& unit, lumen::Emit& emit) override {
//       lumen::Item item = make_item(unit);
//       item.set("image", decode(unit.source_file));
//       emit(std::move(item));
//     }
//   };
#pragma once

#include "lumen/item.hpp"
#include "lumen/param.hpp"
#include "lumen/stage.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lumen {

class FileReader : public Reader {
public:
  Param<std::string> path;

  /// Rejects wildcards in the directory part of `path`. Subclasses that override call this too.
  void validate() const override;
  /// One work unit per file of input_files().
  [[nodiscard]] std::vector<WorkUnit> plan() override;

protected:
  /// `extensions` (".fits", ...) select files when `path` is a directory; `format` names the
  /// format in the parameter's doc ("FITS").
  FileReader(std::vector<std::string> extensions, std::string_view format);

  /// `path` expanded: sorted in natural order; throws InputError when nothing matches.
  [[nodiscard]] std::vector<std::filesystem::path> input_files() const;
  /// A unit for `file` at plan position `index`, optionally for frames [begin, end).
  [[nodiscard]] static WorkUnit file_unit(const std::filesystem::path& file, std::int64_t index, std::int64_t begin = 0,
                                          std::int64_t end = 0);
  /// An item for `unit` with the conventional id, provenance and meta (see above). `frame` < 0
  /// means the file holds a single image.
  [[nodiscard]] static Item make_item(const WorkUnit& unit, std::int64_t frame = -1);

private:
  std::vector<std::string> extensions_;
};

class FileWriter : public Writer {
public:
  Param<std::string> dir;
  Param<std::string> name;

  /// Checks the `name` template. Subclasses that override call this too.
  void validate() const override;

protected:
  /// `default_name` is the default of `name`, e.g. "{stem}_{index:04d}.fits".
  explicit FileWriter(std::string default_name);

  /// outputs/, outputs/<dir>, or <dir> when it is absolute.
  [[nodiscard]] std::filesystem::path output_root() const;
  /// output_root() / name expanded for `item`.
  [[nodiscard]] std::filesystem::path target_for(const Item& item) const;
  /// Reports the file to the run and sets meta `meta_key` to its path relative to outputs/
  /// (or as written when it lies outside).
  void record_written(Item& item, const std::filesystem::path& target, std::uintmax_t bytes,
                      const std::string& meta_key) const;
};

} // namespace lumen
