// The `zarr` plugin set: movies as Zarr v2 directory stores, out and in.
//
//   zarr.write  aggregator  the frames of each movie, in order -> one chunked, Blosc-compressed store
//                           <root>/<schema>/<table>/<key>=<value>/<field>.zarr per movie
//   zarr.read   reader      stores -> blocks of frames ("image"), reading only the chunks a block needs
//
// Example pipelines (compress a movie, then restore frames 100..299 as .npy):
//   stages:
//     - id: movie
//       use: npy.read
//       with: {path: movie.npy}
//     - id: store
//       use: zarr.write
//       with: {chunk_frames: 100, cname: zstd, clevel: 5, shuffle: bit}
//
//   stages:
//     - id: in
//       use: zarr.read
//       with: {path: outputs/lumen/movies, frames: [100, 300]}
//     - id: out
//       use: npy.write
#pragma once

#include "lumen/lumen.hpp"
#include "lumen/thread_pool.hpp"
#include "zarr_io.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lumen::zarr {

class ZarrWrite final : public Aggregator {
public:
  static constexpr const char* summary =
      "Writes each movie (items sharing file_index) as a chunked, Blosc-compressed Zarr v2 store";
  static constexpr const char* doc =
      "Gathers the frames of each movie, in order, into one Zarr v2 directory store that zarr-python and any\n"
      "Zarr v2 reader open without Lumen. An item's \"image\" is one frame (H, W) or a block (n, H, W), any\n"
      "dtype; items of one movie share meta file_index and arrive in source order (this stage asks for\n"
      "ordered input), meta index = the item's first frame. A new file_index finishes the previous movie.\n"
      "Each item must continue its movie: same dtype and frame shape as the first item, index equal to the\n"
      "frames received so far (the first item is frame 0). Otherwise the item fails with the expected frame,\n"
      "and that movie's store is abandoned (no partial store; later items of the movie fail too).\n"
      "\n"
      "Where: <root>/<schema>/<table>/<key>=<value>/<field>.zarr, e.g. outputs/lumen/movies/movie=cells/\n"
      "data.zarr; `value` is a name template expanded with the movie's first item ({stem}, {file_index}, any\n"
      "meta key). The store is built in a hidden sibling `.<field>.zarr.<pid>-<n>.lumen-tmp`, .zarray and\n"
      ".zattrs written last, then renamed into place (replacing a store of the same name in one step), so\n"
      "no reader ever sees a half-written store; a failing or killed run leaves none (leftovers of killed\n"
      "runs are removed when the stage starts again).\n"
      "\n"
      "Layout: shape (T, H, W); chunks (chunk_frames, chunk_rows, chunk_cols), 0 = the whole frame; edge\n"
      "chunks full-size, zero-padded (v2 rule); dimension_separator \".\"; order C; fill_value 0; filters\n"
      "null. compressor blosc (cname zstd|lz4|lz4hc|blosclz|zlib, clevel 0-9, shuffle bit|byte|none,\n"
      "blocksize 0 = auto) or none (raw chunks). Chunks are compressed and written by `threads` workers with\n"
      "at most 2 x threads chunks in flight; frames are copied into the current chunk row as they arrive,\n"
      "so memory is bounded by one row of chunks (chunk_frames frames), never the whole movie. Smaller\n"
      "spatial chunks (chunk_rows/chunk_cols 64-128) often compress photon-count data better.\n"
      "\n"
      ".zattrs: every meta entry of the movie's first item (bool, int, number, string, number list;\n"
      "e.g. the photon_* transform parameters, so the data can be inverted later), minus index and\n"
      "file_index, plus \"lumen\": {version, run_id, stage, source_file, frames}.\n"
      "\n"
      "Emits, per store when it is complete, one item without arrays: meta zarr_path (relative to outputs/),\n"
      "zarr_frames, zarr_bytes_in (raw frame bytes), zarr_bytes_stored (bytes on disk), zarr_ratio (in /\n"
      "stored), file_index. Two movies of one run whose `value` expands alike fail (the second would replace\n"
      "the first): use e.g. value: \"{stem}_{file_index}\". A movie whose last items failed upstream is\n"
      "stored without them (the stage cannot know a movie's length). Never skipped on resume (an\n"
      "aggregator).\n"
      "\n"
      "Example:\n"
      "  - id: store\n"
      "    use: zarr.write\n"
      "    with: {table: calcium, value: \"{stem}\", chunk_frames: 100, chunk_rows: 128, chunk_cols: 128,\n"
      "           cname: zstd, clevel: 5, shuffle: bit}\n";
  static constexpr bool concurrent = false;   // one store open at a time
  static constexpr bool ordered_input = true; // frames in source order

  Param<std::string> root{this, "root", std::string{},
                          "directory holding the schema: empty = the run's outputs/; relative = inside outputs/; "
                          "absolute as given"};
  Param<std::string> schema{this, "schema", std::string("lumen"), "first path level under root"};
  Param<std::string> table{this, "table", std::string("movies"), "second path level (one table of movies)"};
  Param<std::string> key{this, "key", std::string("movie"), "partition key: the directory <key>=<value>"};
  Param<std::string> value{this, "value", std::string("{stem}"),
                           "partition value, a name template expanded with the movie's first item ({stem}, "
                           "{file_index}, any meta key); no '/'"};
  Param<std::string> field{this, "field", std::string("data"), "store name: <field>.zarr"};
  Param<int> chunk_frames{this, "chunk_frames", 100, "frames per chunk (axis 0)", Min{1}};
  Param<int> chunk_rows{this, "chunk_rows", 0, "rows per chunk; 0 = the whole frame height", Min{0}};
  Param<int> chunk_cols{this, "chunk_cols", 0, "columns per chunk; 0 = the whole frame width", Min{0}};
  Param<std::string> compressor{this, "compressor", std::string("blosc"),
                                "blosc, or none for raw chunks (\"compressor\": null)", OneOf{{"blosc", "none"}}};
  Param<std::string> cname{this, "cname", std::string("zstd"), "Blosc codec",
                           OneOf{{"zstd", "lz4", "lz4hc", "blosclz", "zlib"}}};
  Param<int> clevel{this, "clevel", 5, "Blosc compression level, 0 (store) to 9", Min{0}, Max{9}};
  Param<std::string> shuffle{this, "shuffle", std::string("bit"),
                             "Blosc shuffle filter: bit (bit-shuffle), byte or none", OneOf{{"bit", "byte", "none"}}};
  Param<std::int64_t> blocksize{this,   "blocksize",    std::int64_t{0}, "Blosc block size in bytes; 0 = automatic",
                                Min{0}, Max{2147483647}};
  Param<int> threads{this, "threads", 0, "compression threads; 0 = the run's --threads", Min{0}, Max{256}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"zarr_path", "zarr_frames", "zarr_ratio"}, .units = ""}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;
  void finish(Emit& emit) override;

  /// <root>/<schema>/<table> for this run.
  [[nodiscard]] std::filesystem::path table_dir() const;

private:
  struct Movie {
    std::int64_t file_index = 0;
    std::string first_id, source_file, value;
    std::filesystem::path target;
    DType dtype = DType::u8;
    std::int64_t height = 0, width = 0, frames = 0;
    nlohmann::ordered_json attrs;
    std::unique_ptr<StoreWriter> writer;
    std::string broken; // why the movie was abandoned ("" while it is fine)
    std::int64_t broken_at = 0;
    std::vector<std::shared_ptr<detail::UnitToken>> units; // done only once the store is
  };
  void add(Movie& m, Item& item);
  void finalize(Emit& emit);
  [[nodiscard]] WriteOptions options() const;

  std::unique_ptr<ThreadPool> pool_; // before movie_: outlives the writer's jobs
  std::optional<Movie> movie_;
  std::map<std::filesystem::path, std::string> written_; // stores of this run -> the movie that made them
};

class ZarrRead final : public Reader {
public:
  static constexpr const char* summary =
      "Reads Zarr v2 stores lazily in blocks of frames (only the chunks a block overlaps)";
  static constexpr const char* doc =
      "Reads every store `path` names: a store directory (data.zarr/), a directory holding stores (searched\n"
      "recursively, e.g. outputs/lumen/movies) or a glob of store directories (movies/*.zarr). Axis 0 is\n"
      "the frame axis: one work unit and item per block of frames, read in parallel and resumed per block.\n"
      "frames_per_item 0 (default) cuts blocks at the store's chunk boundaries (chunk_frames frames);\n"
      "n > 0 gives blocks of n frames, and n = 1 single frames without axis 0 ((H, W) for a movie).\n"
      "frames: [begin, end) reads only those frames, checked against each store's shape when the run is\n"
      "planned. A block reads and decodes only the chunks it overlaps, in parallel (`threads`).\n"
      "Stores from zarr-python: compressor blosc (any cname), zstd (numcodecs) or null; filters null;\n"
      "order C; dimension_separator \".\" or \"/\"; dtypes |u1 <u2 <i2 <u4 <i4 <f4 <f8 and their big-endian\n"
      "forms (byte-swapped); 1 to 4 dims; a missing chunk file reads as fill_value. Anything else fails the\n"
      "store's items with a message naming the .zarray key; a corrupt or truncated chunk fails the item with\n"
      "a message naming the chunk file (Blosc and zstd headers are checked before decoding).\n"
      "Items: id <name>/<first frame:04d>, where <name> is the partition value for a store written by\n"
      "zarr.write (<key>=<value>/<field>.zarr) and the store's name without .zarr otherwise. Meta: every\n"
      ".zattrs key (numbers, strings, bools, number lists; other JSON as JSON text, e.g. \"lumen\"), then\n"
      "index (first frame), file_index (the store's position in the list), zarr_path and zarr_shape.\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: zarr.read\n"
      "    with: {path: \"runs/r1/outputs/lumen/movies\", frames: [0, 200], frames_per_item: 1}\n";
  static constexpr bool concurrent = true; // one open store per read

  Param<std::string> path{this, "path", Required{},
                          "a .zarr store directory, a directory holding stores (recursive), or a glob of stores"};
  Param<std::vector<std::int64_t>> frames{this,
                                          "frames",
                                          std::vector<std::int64_t>{},
                                          "[begin, end): read only these frames of axis 0 (empty = all)",
                                          Length{0, 2},
                                          Min{0}};
  Param<int> frames_per_item{this, "frames_per_item", 0,
                             "0: blocks of the store's chunk_frames; n > 0: n frames per item (1 gives single "
                             "frames without axis 0)",
                             Min{0}};
  Param<int> threads{this, "threads", 0, "chunk decoding threads per block; 0 = the run's --threads", Min{0}, Max{256}};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"zarr_path", "zarr_shape"}, .units = ""}};

  void validate() const override;
  void start() override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;

  /// The name items of `store` carry in their ids (see doc).
  [[nodiscard]] static std::string store_name(const std::filesystem::path& store);

private:
  std::unique_ptr<ThreadPool> pool_;
  int threads_ = 1;
};

/// .zattrs text -> Meta: numbers (ints stay ints), strings, bools, number lists; any other JSON
/// value as its JSON text. Throws InputError (naming `what`) when it is not a JSON object.
[[nodiscard]] Meta attrs_to_meta(const std::string& json_text, const std::string& what);
/// Meta -> a flat JSON object (values only; comments and units are not kept).
[[nodiscard]] nlohmann::ordered_json meta_to_attrs(const Meta& meta);

} // namespace lumen::zarr
