// Zarr v2 (and v3) directory stores without Lumen's stage machinery: .zarray parsing and writing, chunk
// codecs (Blosc through libblosc's context API, plain zstd frames through libzstd, raw), a
// chunked writer that compresses in a lumen::ThreadPool and appears atomically, and a lazy
// reader of frame ranges that touches only the chunks it needs.
//
// A store is a directory: `.zarray` (JSON: zarr_format 2, shape, chunks, dtype, compressor,
// fill_value, order, filters, dimension_separator), optional `.zattrs` (JSON object of user
// attributes) and one file per chunk named by its grid index ("3.0.0", or "3/0/0" with the
// '/' separator). Edge chunks are stored full-size, padded with fill_value; a missing chunk
// file reads as fill_value (spec rules). Any Zarr v2 reader (zarr-python 2.x, zarr.js,
// tensorstore) opens what StoreWriter writes. With WriteOptions::zarr_format 3 the same chunks are
// written as a Zarr v3 array: one zarr.json (attributes inside), chunk keys "c/3/0/0".
//
// Example (write a movie of (n, H, W) blocks, then read frames 100..199):
//   lumen::ThreadPool pool(4);
//   lumen::zarr::StoreWriter w("out/data.zarr", lumen::DType::u16, 512, 512, {}, &pool, "movie a");
//   for (const auto& block : blocks) w.append(block);
//   w.commit(R"({"photon_gain": 2.0})");
//   lumen::zarr::StoreReader r("out/data.zarr");
//   lumen::Array frames = r.read(100, 200, &pool, 4);
#pragma once

#include "lumen/array.hpp"
#include "lumen/thread_pool.hpp"

#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lumen::zarr {

/// A byte vector whose resize() leaves new bytes uninitialised: chunk buffers are written in full
/// (or padded explicitly), and not touching pages twice keeps both time and resident memory down.
template <typename T> struct DefaultInitAllocator : std::allocator<T> {
  using std::allocator<T>::allocator;
  template <typename U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
  template <typename U, typename... A> void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
};
using Bytes = std::vector<unsigned char, DefaultInitAllocator<unsigned char>>;

enum class Compressor { none, blosc, zstd };

/// Blosc settings as numcodecs names them: shuffle 0 none, 1 byte, 2 bit; blocksize 0 = auto.
struct BloscOptions {
  std::string cname = "zstd";
  int clevel = 5;
  int shuffle = 2;
  std::int64_t blocksize = 0;
};

/// A parsed (or to be written) array: `.zarray` (Zarr v2) or `zarr.json` (Zarr v3).
struct ArrayMeta {
  int zarr_format = 2;
  std::vector<std::int64_t> shape, chunks;
  DType dtype = DType::u8;
  bool big_endian = false; // stored big-endian (">u2"): swapped on reading
  std::string dtype_text;  // as stored ("<u2")
  Compressor compressor = Compressor::blosc;
  BloscOptions blosc;    // when compressor is blosc
  int zstd_level = 0;    // when compressor is zstd (informational)
  double fill_value = 0; // null in the file reads as 0
  char separator = '.';
  std::string key_prefix; // "c/" for v3's default chunk key encoding, "" for v2 keys

  [[nodiscard]] int ndim() const noexcept { return static_cast<int>(shape.size()); }
  /// Elements and bytes of one (full-size) chunk.
  [[nodiscard]] std::int64_t chunk_elements() const noexcept;
  [[nodiscard]] std::size_t chunk_bytes() const noexcept;
  /// Chunks along `axis` (ceil(shape / chunks)).
  [[nodiscard]] std::int64_t grid(int axis) const noexcept;
  /// "3.0.0" (or "3/0/0"; v3: "c/3/0/0") for chunk grid index `idx`.
  [[nodiscard]] std::string chunk_key(const std::vector<std::int64_t>& idx) const;
};

/// "|u1", "<u2", "<i2", "<u4", "<i4", "<f4", "<f8".
[[nodiscard]] std::string dtype_code(DType t);
/// Parses a .zarray document. `what` names it in errors (the .zarray path); every error is a
/// lumen::InputError naming the key at fault.
[[nodiscard]] ArrayMeta parse_zarray(std::string_view json, const std::string& what);
/// The .zarray document for `m` (compressor blosc or null; filters null; order C).
[[nodiscard]] std::string zarray_json(const ArrayMeta& m);
/// Parses a Zarr v3 array's zarr.json: regular chunk grid, "default" or "v2" chunk keys, codecs
/// bytes (either endian) then at most one of blosc or zstd. `attributes` receives the
/// "attributes" object as JSON text ("" when absent). Errors name the key at fault.
[[nodiscard]] ArrayMeta parse_zarr_json(std::string_view json, const std::string& what, std::string* attributes);
/// The zarr.json document of a v3 array for `m` with `attrs_json` ("" or a JSON object) as its
/// attributes: codecs bytes (little-endian) + blosc (or bytes alone), chunk keys "c/t/y/x".
[[nodiscard]] std::string zarr_json(const ArrayMeta& m, const std::string& attrs_json);

/// Compresses one chunk (`nbytes` bytes of `typesize`-byte elements). Throws lumen::Error when
/// Blosc refuses (unknown cname, too large).
[[nodiscard]] Bytes encode_chunk(const void* data, std::size_t nbytes, std::size_t typesize, Compressor compressor,
                                 const BloscOptions& blosc);
/// Decodes one stored chunk into `dst` (exactly `expected` bytes). Blosc headers are checked
/// (blosc_cbuffer_sizes, blosc_cbuffer_validate) and zstd frame sizes read before anything is
/// decompressed; any mismatch throws lumen::InputError starting with `what` (the chunk file).
void decode_chunk(const unsigned char* src, std::size_t size, void* dst, std::size_t expected, Compressor compressor,
                  int threads, const std::string& what);

struct WriteOptions {
  int zarr_format = 2; // 2: .zarray + .zattrs; 3: zarr.json
  std::int64_t chunk_frames = 100;
  std::int64_t chunk_rows = 0, chunk_cols = 0; // 0 = the whole frame
  Compressor compressor = Compressor::blosc;   // blosc or none
  BloscOptions blosc;
};

struct WriteStats {
  std::int64_t frames = 0;
  std::uint64_t bytes_in = 0;     // raw frame bytes appended
  std::uint64_t bytes_stored = 0; // chunk files + metadata on disk
};

/// The directory a store is built in before it is renamed into place:
/// `<parent>/.<name>.<pid>-<n>.lumen-tmp` (the host's temporary-name suffix).
[[nodiscard]] std::filesystem::path temp_store_path(const std::filesystem::path& target);
/// Removes temporary store directories in `dir` left by processes that no longer run (a run
/// killed while writing); returns how many.
std::size_t remove_stale_temp_stores(const std::filesystem::path& dir);

/// Writes one (T, H, W) array as a store, frames appended in order. Chunks of chunk_frames x
/// chunk_rows x chunk_cols are compressed and written by `pool` (inline when null), at most
/// 2 x pool size in flight; only the current chunk row of frames is buffered. Everything goes
/// into temp_store_path(target); commit() writes .zarray and .zattrs (v3: zarr.json) last and renames the
/// directory onto `target` (replacing a previous store). Destroyed without commit(), the
/// temporary directory is removed.
class StoreWriter {
public:
  StoreWriter(std::filesystem::path target, DType dtype, std::int64_t height, std::int64_t width,
              const WriteOptions& options, ThreadPool* pool, std::string what);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  /// Appends `block`, (n, H, W) of the writer's dtype.
  void append(const Array& block);
  /// Finishes the chunks, writes the metadata (`attrs_json`: a JSON object, "" for none) and
  /// renames the store into place.
  WriteStats commit(const std::string& attrs_json);

  [[nodiscard]] std::int64_t frames() const noexcept { return frames_; }
  [[nodiscard]] const std::filesystem::path& target() const noexcept { return target_; }
  [[nodiscard]] const std::filesystem::path& temp_dir() const noexcept { return temp_; }

private:
  void flush_slab();
  void submit(std::string key, Bytes chunk);
  void drain(std::size_t keep);

  std::filesystem::path target_, temp_;
  std::string what_;
  ArrayMeta meta_;
  WriteOptions options_;
  ThreadPool* pool_;
  std::int64_t height_, width_, frame_bytes_;
  Bytes slab_; // chunk_frames whole frames: the chunk row being filled
  std::int64_t slab_frames_ = 0, frames_ = 0;
  std::uint64_t stored_ = 0;
  std::deque<std::future<std::uint64_t>> pending_;
  bool committed_ = false;
};

/// Opens a store (parses .zarray) and reads ranges of axis 0 lazily.
class StoreReader {
public:
  /// Throws lumen::InputError when `store` has no readable .zarray.
  explicit StoreReader(std::filesystem::path store);
  [[nodiscard]] const ArrayMeta& meta() const noexcept { return meta_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return store_; }
  /// Elements [begin, end) of axis 0, every other axis whole: only the chunks that overlap are
  /// read. With `pool` the chunks decode in parallel; `threads` is Blosc's internal threads when
  /// fewer chunks than threads are needed.
  [[nodiscard]] Array read(std::int64_t begin, std::int64_t end, ThreadPool* pool, int threads) const;
  /// The user attributes as JSON text: .zattrs (v2) or zarr.json's "attributes" (v3); "" when none.
  [[nodiscard]] std::string attrs_json() const;
  /// The metadata file read (".zarray" or "zarr.json").
  [[nodiscard]] std::filesystem::path metadata_file() const;

private:
  std::filesystem::path store_;
  ArrayMeta meta_;
  std::string v3_attrs_;
};

/// True when `dir` holds a `.zarray` or a `zarr.json`.
[[nodiscard]] bool is_store(const std::filesystem::path& dir);
/// The stores `spec` names: a store directory, a directory holding stores (searched
/// recursively, hidden entries skipped, a store not descended into), or a glob whose matches
/// are stores. Natural order. Throws lumen::InputError saying what `spec` is instead.
[[nodiscard]] std::vector<std::filesystem::path> find_stores(std::string_view spec);

} // namespace lumen::zarr
