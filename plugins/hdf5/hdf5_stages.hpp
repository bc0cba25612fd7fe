// The `hdf5` plugin set: HDF5 datasets in and out.
//
//   hdf5.read   reader  one dataset of each HDF5/NeXus/CXI file, whole or in frame ranges -> "image"
//   hdf5.write  writer      "image" arrays -> one file per item
//   hdf5.append aggregator  the frames of all items -> one (N, ny, nx) stack in one file
//
// Example pipeline (a numbered TIFF series into one compressed HDF5 stack):
//   stages:
//     - id: frames
//       use: tiff.read
//       with: {path: "scan/frame_*.tif", series: true, mode: frames}
//     - id: stack
//       use: hdf5.append
//       with: {dataset: entry/data/data, compression: shuffle+deflate, name: scan.h5}
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

// What both writers share: dataset, array, compression, threads, and the chunk compression pool.
struct ChunkedOutput {
  explicit ChunkedOutput(Stage* owner);
  Param<std::string> dataset;
  Param<std::string> array;
  Param<std::string> compression;
  Param<int> level;
  Param<int> threads;

  void validate() const;
  void start(const Context& ctx);
  [[nodiscard]] WriteOptions options() const;
  [[nodiscard]] ThreadPool* pool() const noexcept { return pool_.get(); }

private:
  std::unique_ptr<ThreadPool> pool_;
};

#define LUMEN_HDF5_CHUNK_DOC                                                                                           \
  "Chunks are one frame (one index of axis 0; for 2-D arrays the whole image), cut into row blocks over\n"             \
  "16 MiB. compression: none, deflate or shuffle+deflate (HDF5's standard filters 1 and 2, readable by\n"              \
  "h5py and any HDF5 tool without plugins) at `level` 1-9; chunks are compressed in parallel in this\n"                \
  "stage's own threads (libdeflate) and written pre-filtered with H5Dwrite_chunk. Meta becomes attributes\n"           \
  "of the dataset (ints as int64, floats as float64, strings as UTF-8, lists as float64 arrays, bools as\n"            \
  "uint8).\n"

class Hdf5Write final : public FileWriter {
public:
  static constexpr const char* summary =
      "Writes each item's array to its own HDF5 file, chunked, optionally compressed";
  static constexpr const char* doc =
      "Writes each item's array (`array`, default \"image\") to dataset `dataset` of a new file per item\n"
      "(name template, default {id}.h5; the file appears atomically) and passes the item on with meta\n"
      "hdf5_path. To gather the frames of many items into one stack, use hdf5.append.\n" LUMEN_HDF5_CHUNK_DOC "\n"
      "Example:\n"
      "  - id: save\n"
      "    use: hdf5.write\n"
      "    with: {dataset: entry/data/data, compression: shuffle+deflate, level: 1}\n";
  static constexpr bool concurrent = true; // one file per item; HDF5 serialises its own calls

  Hdf5Write() : FileWriter("{id}.h5") {}

  ChunkedOutput out{this};

  Requires in_{this, {.arrays = {}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"hdf5_path"}, .units = ""}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;
};

class Hdf5Append final : public FileAggregator {
public:
  static constexpr const char* summary =
      "Appends the frames of all items, in source order, to one (N, ny, nx) HDF5 stack, chunked, compressed";
  static constexpr const char* doc =
      "Writes the frames of all items, in source order, into one (N, ny, nx) dataset of one file: a\n"
      "(ny, nx) item is one frame, an (n, ny, nx) item n frames; dims and dtype must match the first item\n"
      "(a mismatching item fails, the file goes on). Frames are written as they arrive, so memory stays\n"
      "bounded (never the whole stack); the file appears atomically when the run ends. `name` is expanded\n"
      "with the first item (default {stage}.h5); items are consumed (not passed on). The dataset's\n"
      "attributes are the first item's meta. Items reach this stage in source order (it asks for ordered\n"
      "input), so the stages above it run on one thread each. As an aggregator it is never skipped on\n"
      "resume: a re-run rewrites the whole stack from all inputs, so the file is always "
      "complete.\n" LUMEN_HDF5_CHUNK_DOC "\n"
      "Example:\n"
      "  - id: stack\n"
      "    use: hdf5.append\n"
      "    with: {dataset: entry/data/data, compression: shuffle+deflate, level: 1, name: scan.h5}\n";
  static constexpr bool concurrent = false; // one open file
  static constexpr bool ordered_input = true;

  Hdf5Append() : FileAggregator("{stage}.h5") {}

  ChunkedOutput out{this};

  Requires in_{this, {.arrays = {}, .meta_keys = {}, .units = ""}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;
  void finish(Emit& emit) override;

private:
  // The open file, and the units that count as done only once it is committed.
  std::unique_ptr<AtomicFile> file_;
  std::unique_ptr<H5ChunkWriter> writer_;
  HeldUnits held_units_;
  std::string first_id_;
};

} // namespace lumen::hdf5
