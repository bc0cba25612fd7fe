// The `zarr` plugin set: movies as Zarr directory stores (v2, or v3 on request), out and in.
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
      "Writes each movie (items sharing file_index) as a chunked, Blosc-compressed Zarr v2 (or v3) store";
  static constexpr const char* doc =
      "Gathers the frames of each movie, in order, into one Zarr directory store that zarr-python and any\n"
      "Zarr reader open without Lumen. An item's \"image\" is one frame (H, W) or a block (n, H, W), any\n"
      "dtype; items of one movie share meta file_index and arrive in source order (this stage asks for\n"
      "ordered input), meta index = the item's first frame. A new file_index finishes the previous movie.\n"
      "Each item must continue its movie: same dtype and frame shape as the first item, index equal to the\n"
      "frames received so far (the first item is frame 0). Otherwise the item fails with the expected\n"
      "frame, and that movie's store is abandoned (no partial store; later items of the movie fail too).\n"
      "\n"
      "Where: <root>/<schema>/<table>/<key>=<value>/<field>.zarr, e.g. outputs/lumen/movies/movie=cells/\n"
      "data.zarr; `value` is a name template expanded with the movie's first item ({stem}, {file_index},\n"
      "any meta key). Two movies of one run whose `value` expands alike fail (the second would replace the\n"
      "first): use e.g. value: \"{stem}_{file_index}\". The store is built in a hidden sibling\n"
      ".<field>.zarr.<pid>-<n>.lumen-tmp, its metadata written last, then renamed into place (replacing a\n"
      "store of the same name in one step): no reader ever sees a half-written store, a failing or\n"
      "interrupted run leaves none, and leftovers of killed runs are removed when the stage starts again.\n"
      "\n"
      "Layout: shape (T, H, W); chunks (chunk_frames, chunk_rows, chunk_cols), 0 = the whole frame; edge\n"
      "chunks full-size, zero-padded; fill_value 0. zarr_format 2 (default): .zarray (dimension_separator\n"
      "\".\", order C, filters null) + .zattrs, what zarr-python 2 reads. zarr_format 3: a Zarr v3 array,\n"
      "one zarr.json (regular grid, chunk keys c/t/y/x, codecs bytes little-endian + blosc, attributes\n"
      "inside), read by zarr-python 3, zarrita and tensorstore (not by zarr-python 2).\n"
      "Compressor blosc (cname zstd|lz4|lz4hc|blosclz|zlib, clevel 0-9, shuffle bit|byte|none, blocksize\n"
      "0 = auto) or none (raw chunks). Chunks are compressed and written by `threads` workers, at most\n"
      "2 x threads chunks in flight; frames are copied into the current row of chunks as they arrive, so\n"
      "memory holds about 2 x threads + 1 chunks, never the whole movie. For 8-bit quantised photon\n"
      "movies {shuffle: none, clevel: 1, blocksize: 262144} stored 6% less than the defaults at about\n"
      "twice their speed in bench_zarr.\n"
      "\n"
      "Attributes (.zattrs, or zarr.json's attributes): every meta entry of the movie's first item (bool,\n"
      "int, number, string, number list; e.g. the photon_* transform parameters, so the data can be\n"
      "inverted later), minus index and file_index, plus \"lumen\": {version, run_id, stage, source_file,\n"
      "frames}.\n"
      "\n"
      "Emits, per store when it is complete, one item without arrays: meta zarr_path (relative to\n"
      "outputs/), zarr_frames, zarr_bytes_in (raw frame bytes), zarr_bytes_stored (bytes on disk),\n"
      "zarr_ratio (in / stored), file_index. A movie whose last items failed upstream is stored without\n"
      "them (the stage cannot know a movie's length). Never skipped on resume (an aggregator).\n"
      "\n"
      "Example:\n"
      "  - id: store\n"
      "    use: zarr.write\n"
      "    with: {table: calcium, value: \"{stem}\", chunk_frames: 100, cname: zstd, clevel: 5, shuffle: bit}\n";
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
  Param<int> zarr_format{this,
                         "zarr_format",
                         2,
                         "2: Zarr v2 (.zarray + .zattrs, what zarr-python 2 reads); 3: Zarr v3 (zarr.json, chunk "
                         "keys c/t/y/x)",
                         Min{2},
                         Max{3}};
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
    HeldUnits units; // done only once the store is
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
      "Reads Zarr v2 and v3 stores lazily in blocks of frames (only the chunks a block overlaps)";
  static constexpr const char* doc =
      "Reads every store `path` names: a store directory (data.zarr/), a directory holding stores\n"
      "(searched recursively, e.g. outputs/lumen/movies) or a glob of store directories (movies/*.zarr).\n"
      "Axis 0 is the frame axis: one work unit and item per block of frames, read in parallel and resumed\n"
      "per block. frames_per_item 0 (default) cuts blocks at the store's chunk boundaries; n > 0 gives\n"
      "blocks of n frames, and n = 1 single frames without axis 0 ((H, W) for a movie). frames: [begin,\n"
      "end) reads only those frames, checked against each store's shape when the run is planned. A block\n"
      "reads and decodes only the chunks it overlaps, in parallel (`threads`).\n"
      "\n"
      "Zarr v2 stores (.zarray), e.g. from zarr-python 2: compressor blosc (any cname), zstd (numcodecs)\n"
      "or null; filters null; order C; dimension_separator \".\" or \"/\"; dtypes |u1 <u2 <i2 <u4 <i4 <f4 <f8\n"
      "and their big-endian forms (byte-swapped). Zarr v3 arrays (zarr.json): regular chunk grid, default\n"
      "or v2 chunk keys, codecs bytes (either endian) then at most one of blosc or zstd; data types uint8\n"
      "uint16 int16 uint32 int32 float32 float64 (v3 groups are searched, not read). Both: 1 to 4 dims; a\n"
      "missing chunk file reads as fill_value. Anything else (sharding, transpose, gzip, filters, 64-bit\n"
      "ints, order F) fails the store's items with a message naming the metadata key; a corrupt or\n"
      "truncated chunk fails its item with a message naming the chunk file (Blosc and zstd headers are\n"
      "checked before anything is decompressed).\n"
      "\n"
      "Items: id <name>/<first frame:04d>, where <name> is the partition value for a store written by\n"
      "zarr.write (<key>=<value>/<field>.zarr) and the store's name without .zarr otherwise; write files\n"
      "with name: \"{id}.npy\" ({stem} is the store directory's name, e.g. data). Meta: every attribute\n"
      "(.zattrs or zarr.json's attributes: numbers, strings, bools, number lists; other JSON as JSON text,\n"
      "e.g. \"lumen\"), then index (first frame), file_index (the store's position in the list), zarr_path\n"
      "and zarr_shape.\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: zarr.read\n"
      "    with: {path: \"runs/r1/outputs/lumen/movies\", frames: [0, 200], frames_per_item: 1}\n";
  static constexpr bool concurrent = true; // one open store per read

  Param<std::string> path{this, "path", Required{},
                          "a store directory (.zarray or zarr.json), a directory holding stores (recursive), or a "
                          "glob of stores"};
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
