// Base classes for stages that read or write files, so that every format takes its paths the
// same way and writes its outputs the same way.
//
// FileReader: the `path` parameter (a file, a directory or a glob, see input_paths.hpp; with
// `recursive: true` a directory's sub-directories too; `max_files: N` keeps the first N files of
// the sorted list, e.g. for a quick run on a big tree), one work unit per file by default, and make_item() for items
// that carry the conventional provenance and meta:
//   id          "<stem>" for a file holding one image, "<stem>/<frame:04d>" for frame `frame`
//               of a stack (or HDU of a multi-extension file)
//   index       the frame's index inside its file (0 for a single image), so that a writer's
//               `name: "{stem}_{index:04d}.fits"` gives one file per frame
//   file_index  the file's position in the expanded input list
//
// FileWriter: the `dir` and `name` parameters, where the file goes (target_for) and how the
// item records it (record_written). Writers write through lumen::AtomicFile, so no reader ever
// sees a half-written file. FileAggregator: the same for a stage that gathers every item into
// one file and commits it in finish().
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
#include "lumen/name_template.hpp"
#include "lumen/param.hpp"
#include "lumen/stage.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lumen {

class FileReader : public Reader {
public:
  Param<std::string> path;
  Param<bool> recursive;
  Param<std::int64_t> max_files;

  /// Rejects wildcards in the directory part of `path`. Subclasses that override call this too.
  void validate() const override;
  /// One work unit per file of input_files().
  [[nodiscard]] std::vector<WorkUnit> plan() override;

protected:
  /// `extensions` (".fits", ...) select files when `path` is a directory; `format` names the
  /// format in the parameter's doc ("FITS").
  FileReader(std::vector<std::string> extensions, std::string_view format);

  /// `path` expanded (sub-directories too with `recursive`), sorted in natural order, cut to the
  /// first `max_files` when that is > 0; throws InputError when nothing matches.
  [[nodiscard]] std::vector<std::filesystem::path> input_files() const;
  /// A unit for `file`, the `file_index`-th of input_files(), optionally for frames
  /// [begin, end) of it (then each range is its own unit, with its own ledger key).
  [[nodiscard]] static WorkUnit file_unit(const std::filesystem::path& file, std::int64_t file_index,
                                          std::int64_t begin = 0, std::int64_t end = 0);
  /// An item for `unit` with the conventional id, provenance and meta (see above). `frame` < 0
  /// means the file holds a single image.
  [[nodiscard]] static Item make_item(const WorkUnit& unit, std::int64_t frame = -1);

private:
  std::vector<std::string> extensions_;
};

/// The work units of the items an aggregator has consumed but not yet written out. The host counts
/// a unit as done (and records it in the ledger) when its last item is gone, so an aggregator that
/// keeps only the pixels of an item must hold the item's unit until its file is committed:
///   held_.hold(item);                               // in process()
///   const auto release = held_.release_at_exit();   // first line of the commit
/// Releasing after a failed commit is right too: the failure is recorded for the item at fault.
class HeldUnits {
public:
  void hold(const Item& item) {
    if (item.unit_token()) tokens_.push_back(item.unit_token());
  }
  void release() noexcept { tokens_.clear(); }
  /// Releases the held units when the returned guard goes out of scope, however the scope ends.
  [[nodiscard]] auto release_at_exit() noexcept {
    struct Guard {
      explicit Guard(HeldUnits& h) noexcept : held(h) {}
      HeldUnits& held;
      Guard(const Guard&) = delete;
      Guard& operator=(const Guard&) = delete;
      ~Guard() { held.release(); }
    };
    return Guard{*this};
  }

private:
  std::vector<std::shared_ptr<detail::UnitToken>> tokens_;
};

/// Where a writer's `dir` parameter puts files: outputs/, outputs/<dir>, or <dir> when absolute.
[[nodiscard]] std::filesystem::path output_directory(const Context& ctx, const std::string& dir);
/// Reports `target` to the run and sets meta `meta_key` of `item` to its path relative to
/// outputs/ (or as written when it lies outside).
void record_output_file(const Context& ctx, Item& item, const std::filesystem::path& target, std::uintmax_t bytes,
                        const std::string& meta_key);
/// The docs of the `dir` and `name` parameters, shared by every file-writing stage.
extern const char* const kOutputDirDoc;
extern const char* const kOutputNameDoc;

/// A stage that writes files, with the `dir` and `name` parameters. `Kind` is Writer (one file
/// per item: FileWriter) or Aggregator (one file from all items, committed in finish():
/// FileAggregator; the host never skips an aggregator's input on resume, so such a file is
/// always complete).
template <class Kind> class BasicFileWriter : public Kind {
public:
  Param<std::string> dir{this, "dir", std::string{}, kOutputDirDoc};
  Param<std::string> name;

  /// Checks the `name` template. Subclasses that override call this too.
  void validate() const override { check_name_pattern(*name, "name"); }

protected:
  /// `default_name` is the default of `name`, e.g. "{stem}_{index:04d}.fits".
  explicit BasicFileWriter(std::string default_name) : name{this, "name", std::move(default_name), kOutputNameDoc} {}

  /// outputs/, outputs/<dir>, or <dir> when it is absolute.
  [[nodiscard]] std::filesystem::path output_root() const { return output_directory(this->ctx(), *dir); }
  /// output_root() / name expanded for `item`.
  [[nodiscard]] std::filesystem::path target_for(const Item& item) const {
    return output_root() / expand_name(*name, item, this->ctx().stage_id());
  }
  /// Reports the file to the run and sets meta `meta_key` (see record_output_file).
  void record_written(Item& item, const std::filesystem::path& target, std::uintmax_t bytes,
                      const std::string& meta_key) const {
    record_output_file(this->ctx(), item, target, bytes, meta_key);
  }
};

using FileWriter = BasicFileWriter<Writer>;
using FileAggregator = BasicFileWriter<Aggregator>;

} // namespace lumen
