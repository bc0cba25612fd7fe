// HDF5 reading and writing: the file I/O behind `hdf5.read` and `hdf5.write`.
//
// Thread safety. Debian's HDF5 1.10 is built thread-safe: every API call takes one global
// lock (H5is_library_threadsafe() says so at run time). When a build is not thread-safe,
// every HDF5 call of this set goes through one process-wide mutex instead (H5Lock below) —
// the only global state here, and the only way to share a non-thread-safe library between
// the host's worker threads. Either way HDF5 work is serial, so compression never runs
// inside HDF5: chunks are compressed in our own threads (libdeflate, zlib format = the
// standard HDF5 deflate filter; byte shuffle = the standard shuffle filter) and written
// pre-filtered with H5Dwrite_chunk. h5py and every HDF5 reader decode them without plugins.
//
// Errors. HDF5's automatic error printing is switched off per thread (H5Eset_auto2) and its
// error stack is walked into the message of a lumen::InputError that names the file and the
// dataset. A missing dataset lists what the deepest existing group holds.
//
// Dtypes read: u8, u16, u32, i16, i32, f32, f64 as stored; i8 -> i16; f16 -> f32; 64-bit
// integers -> f64 when every value read is exactly representable (|v| <= 2^53), otherwise the
// read fails. Strings, compounds, enums (h5py bool) and other classes are refused.
//
// Example pipeline, through the stages that wrap this:
//   - id: in
//     use: hdf5.read
//     with: {path: scan.cxi, dataset: entry_1/instrument_1/detector_1/data, frames_per_item: 10}
//   - id: out
//     use: hdf5.write
//     with: {mode: append, compression: shuffle+deflate}
#pragma once

#include "lumen/array.hpp"
#include "lumen/meta.hpp"
#include "lumen/thread_pool.hpp" // lumen::ThreadPool: the chunk compression pool

#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lumen::hdf5 {

/// No single read may produce more than this (a guard against absurd dataset shapes).
inline constexpr std::uint64_t kMaxReadBytes = std::uint64_t{64} << 30;

/// True when this HDF5 serialises its own API calls (thread-safe build).
[[nodiscard]] bool library_threadsafe();

/// Hold one for the length of any sequence of HDF5 calls: locks the process-wide mutex when
/// the library is not thread-safe, and turns HDF5's error printing off for this thread.
class H5Lock {
public:
  H5Lock();
  H5Lock(const H5Lock&) = delete;
  H5Lock& operator=(const H5Lock&) = delete;

private:
  std::unique_lock<std::mutex> lock_;
};

/// The current HDF5 error stack of this thread as "a: b: c" (innermost last), then cleared.
[[nodiscard]] std::string error_stack_text();

struct DatasetInfo {
  std::string name;                             // as given
  std::vector<std::int64_t> dims;               // outermost first
  DType dtype = DType::u8;                      // what the read produces
  std::string stored;                           // type in the file: "i32", "u64", "f16", ...
  bool wide_int = false;                        // 64-bit integers read via f64
  [[nodiscard]] std::string shape_text() const; // "200x100x100"
};

/// An HDF5 file open for reading. Not for concurrent use; open one per thread.
class H5Reader {
public:
  /// Throws lumen::InputError naming the file when it is missing or not HDF5.
  explicit H5Reader(std::filesystem::path path);
  ~H5Reader();
  H5Reader(const H5Reader&) = delete;
  H5Reader& operator=(const H5Reader&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Shape and dtype of `dataset`; a missing one throws InputError listing nearby objects.
  [[nodiscard]] DatasetInfo info(const std::string& dataset);
  /// Reads `dataset` whole (begin == end == 0) or indices [begin, end) of axis 0 (any rank >= 1:
  /// frames of a stack, rows of an (N, 2) table, elements of an (N,) list). `squeeze` drops axis 0
  /// when the range is one index.
  [[nodiscard]] Array read(const std::string& dataset, std::int64_t begin = 0, std::int64_t end = 0,
                           bool squeeze = false);
  /// True when `path` names a dataset (every link on the way exists).
  [[nodiscard]] bool has_dataset(const std::string& path);
  /// Dimensions of `dataset`, outermost first; empty for a scalar dataset (which info() refuses).
  /// A missing one throws like info().
  [[nodiscard]] std::vector<std::int64_t> dims(const std::string& dataset);
  /// Every value of a small numeric dataset (scalar or any rank, at most 2^20 values) as f64,
  /// e.g. a distance or a pixel size stored as () or (1,).
  [[nodiscard]] std::vector<double> read_numbers(const std::string& dataset);
  /// Paths ("/entry/data/data") of every dataset of rank `rank` in the file, in visit order.
  [[nodiscard]] std::vector<std::string> datasets_of_rank(int rank);
  /// Scalar and 1-D attributes of `dataset` (numbers, strings, numeric lists) into `meta`.
  void read_attributes(const std::string& dataset, Meta& meta);

  [[noreturn]] void fail(const std::string& what) const;

private:
  [[noreturn]] void missing(const std::string& dataset) const;
  /// "name (dims), sub/, ..." for the first 20 links of `group`.
  [[nodiscard]] std::string children(const std::string& group) const;
  std::filesystem::path path_;
  std::int64_t file_ = -1;
};

// ---- writing ----------------------------------------------------------------------------------

enum class Codec { none, deflate, shuffle_deflate };
/// "none", "deflate", "shuffle+deflate"; throws lumen::Error otherwise.
[[nodiscard]] Codec codec_from_name(const std::string& name);

/// Encodes one chunk the way the HDF5 filter pipeline would (shuffle, then zlib stream).
/// Safe to call from any thread; never touches HDF5.
[[nodiscard]] std::vector<unsigned char> encode_chunk(Codec codec, int level, std::size_t element_size,
                                                      const unsigned char* data, std::size_t bytes);
/// The inverse, for tests: undoes deflate and shuffle.
[[nodiscard]] std::vector<unsigned char> decode_chunk(Codec codec, std::size_t element_size,
                                                      const std::vector<unsigned char>& chunk, std::size_t raw_bytes);

struct WriteOptions {
  std::string dataset = "data";
  Codec codec = Codec::none;
  int level = 4;
};

/// One dataset in a new file, written chunk by chunk with H5Dwrite_chunk. The dataset is
/// chunked with one frame (one index of axis 0 for rank >= 3; the whole array for rank <= 2)
/// per chunk, split into row blocks when a frame is over 16 MiB. `extendable` makes axis 0
/// unlimited (append mode): call append() with blocks of frames, then close().
class H5ChunkWriter {
public:
  /// `shape`: the full dataset shape, or for an extendable dataset the shape of one block
  /// whose axis 0 is the frame axis (its length is ignored).
  H5ChunkWriter(const std::filesystem::path& file, DType dtype, const Shape& shape, bool extendable,
                const WriteOptions& options, ThreadPool* pool, std::string what);
  ~H5ChunkWriter();
  H5ChunkWriter(const H5ChunkWriter&) = delete;
  H5ChunkWriter& operator=(const H5ChunkWriter&) = delete;

  /// Writes `data` (a whole array, or for extendable datasets a block of frames whose trailing
  /// dims equal the frame shape) at frame offset `frames_written()`. Compression runs in the
  /// pool; at most 2 x pool size chunks are in flight, so memory stays bounded.
  void append(const Array& data);
  /// Meta as attributes of the dataset (numbers, strings, lists; bools as uint8).
  void write_attributes(const Meta& meta);
  /// Writes pending chunks, sets the final extent and closes the file.
  void close();
  [[nodiscard]] std::int64_t frames_written() const noexcept { return frames_; }
  [[nodiscard]] const Shape& frame_shape() const noexcept { return frame_; }
  [[nodiscard]] DType dtype() const noexcept { return dtype_; }

private:
  struct Pending {
    std::vector<std::uint64_t> offset;
    std::future<std::vector<unsigned char>> encoded;
    std::vector<unsigned char> raw; // when not compressing
  };
  void write_one(Pending& p);
  void drain(std::size_t keep);
  void grow(std::int64_t frames);
  [[noreturn]] void fail(const std::string& what) const;

  std::string what_;
  DType dtype_;
  Shape frame_;                      // shape of one axis-0 slice (or of the whole array)
  bool stack_;                       // axis 0 is a frame axis
  std::vector<std::uint64_t> chunk_; // chunk dims, full rank
  WriteOptions options_;
  ThreadPool* pool_;
  std::int64_t file_ = -1, dset_ = -1;
  std::int64_t frames_ = 0, capacity_ = 0;
  std::deque<Pending> pending_;
  bool closed_ = false;
};

/// An existing HDF5 file opened read-write for the small datasets, attributes and links that go
/// beside a big dataset (e.g. once an H5ChunkWriter has written its frames and closed the file).
/// Missing groups on the way to a path are created. Paths are relative to the root or absolute.
/// Every method throws lumen::Error naming `what`, the path and HDF5's error stack.
class H5Editor {
public:
  H5Editor(const std::filesystem::path& file, std::string what);
  ~H5Editor();
  H5Editor(const H5Editor&) = delete;
  H5Editor& operator=(const H5Editor&) = delete;

  /// A contiguous dataset holding `array` (rank 1-4, its own dtype; strided views are compacted).
  void write_array(const std::string& path, const Array& array);
  /// A scalar dataset, float64 or int64.
  void write_scalar(const std::string& path, double value);
  void write_scalar(const std::string& path, std::int64_t value);
  /// Meta entries as attributes of the object at `path` ("/" for the root); the rules of
  /// H5ChunkWriter::write_attributes (an existing attribute is kept, not replaced).
  void write_attributes(const std::string& path, const Meta& meta);
  /// A 1-D attribute of variable-length UTF-8 strings (e.g. a list of source files).
  void write_string_list_attribute(const std::string& path, const std::string& name,
                                   const std::vector<std::string>& values);
  /// A soft link at `link` to `target` (an absolute path inside the file); it resolves when read.
  void soft_link(const std::string& link, const std::string& target);
  /// Closes the file; errors surface here rather than being lost in the destructor.
  void close();

private:
  [[noreturn]] void fail(const std::string& what) const;
  std::string what_;
  std::int64_t file_ = -1;
};

} // namespace lumen::hdf5
