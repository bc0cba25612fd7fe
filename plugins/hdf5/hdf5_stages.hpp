// The `hdf5` plugin set: HDF5 datasets in and out.
//
//   hdf5.read   reader  one dataset of each HDF5/NeXus/CXI file, whole or in frame ranges -> "image"
//   hdf5.write  writer  "image" arrays -> one file per item, or frames appended to one stack
//
// Example pipeline (a numbered TIFF series into one compressed HDF5 stack):
//   stages:
//     - id: frames
//       use: tiff.read
//       with: {path: "scan/frame_*.tif", series: true, mode: frames}
//     - id: stack
//       use: hdf5.write
//       with: {mode: append, dataset: entry/data/data, compression: shuffle+deflate, name: scan.h5}
#pragma once

#include "hdf5_io.hpp"
#include "lumen/lumen.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lumen::hdf5 {

class Hdf5Read final : public FileReader {
public:
  static constexpr const char* summary =
      "Reads one dataset of HDF5 files (.h5/.hdf5/.hdf/.cxi/.nxs), whole or streamed in frame ranges";
  static constexpr const char* doc =
      "Reads the dataset `dataset` (a path inside the file, e.g. entry/data/data) of every file `path`\n"
      "matches. frames_per_item 0 (default) reads it whole as one item of its own shape (id <stem>).\n"
      "frames_per_item n > 0 streams a stack (rank 3 or 4, axis 0 = frames) in hyperslabs of n frames:\n"
      "one work unit and item per range, (n, ny, nx) with id <stem>/<first frame:04d> and meta index = first\n"
      "frame; n = 1 gives single frames (ny, nx). frames: [begin, end) limits the read to those frames (both\n"
      "modes). Memory is bounded by one range, whatever the dataset's size.\n"
      "Dtypes: u8, u16, u32, i16, i32, f32, f64 as stored; i8 -> i16; f16 -> f32; 64-bit integers -> f64 when\n"
      "every value read is at most 2^53 in magnitude (else the item fails). Strings, compounds and enums\n"
      "(h5py bools) fail the item with a clear message.\n"
      "Meta: the dataset's scalar and 1-D attributes (numbers, strings, numeric lists; up to 4096 values),\n"
      "e.g. areaDetector NDAttributes; an attribute `units` becomes the units key when it is one of adu,\n"
      "electrons, photons, normalized, counts (else h5_units); plus hdf5_dataset, hdf5_shape (the full\n"
      "dataset shape) and hdf5_dtype (as stored). A missing dataset fails the item with a message that\n"
      "names the file and lists what the deepest existing group holds; corrupt files fail with HDF5's own\n"
      "error stack in the message. The run goes on.\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: hdf5.read\n"
      "    with: {path: scan.cxi, dataset: entry_1/instrument_1/detector_1/data, frames_per_item: 20}\n";
  static constexpr bool concurrent = true; // one HDF5 handle per read; HDF5 serialises itself (see hdf5_io.hpp)

  Hdf5Read() : FileReader({".h5", ".hdf5", ".hdf", ".cxi", ".nxs", ".he5"}, "HDF5") {}

  Param<std::string> dataset{this, "dataset", Required{}, "path of the dataset inside the file, e.g. entry/data/data"};
  Param<int> frames_per_item{this, "frames_per_item", 0,
                             "0: the dataset (or the `frames` range) as one item; n > 0: items of n frames along "
                             "axis 0 (n = 1 gives single (ny, nx) frames)",
                             Min{0}};
  Param<std::vector<std::int64_t>> frames{this,
                                          "frames",
                                          std::vector<std::int64_t>{},
                                          "[begin, end): read only these frames of axis 0 (empty = all)",
                                          Length{0, 2},
                                          Min{0}};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"hdf5_dataset"}, .units = ""}};

  void validate() const override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;
};

class Hdf5Write final : public FileWriter {
public:
  static constexpr const char* summary =
      "Writes arrays to HDF5 (one file per item, or frames appended to one stack), chunked, optionally compressed";
  static constexpr const char* doc =
      "mode per_item (default) writes each item's array (`array`, default \"image\") to dataset `dataset` of a\n"
      "new file per item (name template, default {id}.h5) and passes the item on with meta hdf5_path.\n"
      "mode append writes the frames of all items, in source order, into one (N, ny, nx) dataset of one\n"
      "file: a (ny, nx) item is one frame, an (n, ny, nx) item n frames; dims and dtype must match the first\n"
      "item (a mismatching item fails, the file goes on). Frames are written as they arrive (memory stays\n"
      "bounded, never the whole stack); the file appears atomically when the run ends (finish). In append\n"
      "mode `name` is expanded with the first item (default {stage}.h5) and items are consumed (not passed on).\n"
      "Chunks are one frame (one index of axis 0; for 2-D arrays the whole image), cut into row blocks over\n"
      "16 MiB. compression: none, deflate or shuffle+deflate (HDF5's standard filters 1 and 2, readable by\n"
      "h5py and any HDF5 tool without plugins) at `level` 1-9; chunks are compressed in parallel in this\n"
      "stage's own threads (libdeflate) and written pre-filtered with H5Dwrite_chunk.\n"
      "Meta becomes attributes of the dataset (ints as int64, floats as float64, strings as UTF-8, lists as\n"
      "float64 arrays, bools as uint8); in append mode, the first item's meta.\n"
      "Items reach this stage in source order (it asks for ordered input), so the stages above it run on one\n"
      "thread each.\n"
      "Resume: in append mode the work units count as done only once the file is complete; a re-run that\n"
      "skips some units rewrites the file with only the units it redoes: run append pipelines in a fresh run\n"
      "directory or with `lumen resume --from <this stage>`.\n"
      "\n"
      "Example:\n"
      "  - id: stack\n"
      "    use: hdf5.write\n"
      "    with: {mode: append, dataset: entry/data/data, compression: shuffle+deflate, level: 4}\n";
  static constexpr bool concurrent = false; // append keeps one open file; per-item chunks use the pool
  static constexpr bool ordered_input = true;

  Hdf5Write() : FileWriter("{id}.h5") {}

  Param<std::string> dataset{this, "dataset", std::string("data"),
                             "dataset path inside the file; missing groups are created"};
  Param<std::string> array{this, "array", std::string("image"), "which array of the item to write"};
  Param<std::string> mode{this, "mode", std::string("per_item"),
                          "per_item: one file per item; append: all frames into one (N, ny, nx) dataset",
                          OneOf{{"per_item", "append"}}};
  Param<std::string> compression{this, "compression", std::string("none"), "none, deflate or shuffle+deflate",
                                 OneOf{{"none", "deflate", "shuffle+deflate"}}};
  Param<int> level{this, "level", 4, "deflate level, 1 (fastest) to 9 (smallest)", Min{1}, Max{9}};
  Param<int> threads{this, "threads", 0, "compression threads; 0 = the run's --threads", Min{0}, Max{256}};

  Requires in_{this, {.arrays = {}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"hdf5_path"}, .units = ""}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;
  void finish(Emit& emit) override;

private:
  [[nodiscard]] WriteOptions options() const;
  void append(Item& item);
  std::unique_ptr<ThreadPool> pool_;
  // append mode: the open file and what keeps its units from counting as done before it is.
  std::unique_ptr<AtomicFile> file_;
  std::unique_ptr<H5ChunkWriter> writer_;
  std::vector<std::shared_ptr<detail::UnitToken>> held_units_;
  std::string first_id_;
};

} // namespace lumen::hdf5
