// TIFF decoding and encoding with libtiff: the file I/O behind `tiff.read` and `tiff.write`.
//
// Reading (TiffFile): classic TIFF and BigTIFF, strips or tiles, planar configuration
// contiguous or separate, every compression this libtiff decodes (none, LZW, deflate, PackBits,
// zstd, LZMA, JPEG, ...), with or without predictor. Samples map to Lumen dtypes:
//   unsigned 8/16/32 bit -> u8/u16/u32    signed 16/32 bit -> i16/i32    signed 8 bit -> i16
//   float 32/64 bit      -> f32/f64       1-bit bilevel    -> u8 0/255 (255 = white, whatever
//                                                                   the file's photometric)
// Other depths (2, 4, 12, 24-bit; 16-bit float; complex) are refused with a clear error.
// One sample per pixel gives (H, W); more give (H, W, C) with the channels as stored
// (gray+alpha 2, RGB 3, RGBA/CMYK 4, ...). Palette images keep their indices (the colormap is
// not applied); JPEG-compressed YCbCr is converted to RGB by libtiff; other YCbCr is refused.
// Samples come out in native byte order, values as stored (MinIsWhite is not inverted).
//
// Safety: before anything is allocated, every strip/tile must lie inside the file, and the
// decoded size must be plausible for the stored size and the compression (at most 1x stored
// for none, 64x for PackBits, 1100x for deflate, 4096x for LZW, 65536x otherwise, and never
// more than kMaxDecodedBytes). libtiff's messages are captured per handle (TIFFOpenExt with
// an error handler; nothing reaches stderr) and become lumen::InputError("<file>: ...").
//
// Writing (write_tiff): u8/u16/i16/u32/i32/f32/f64, (H, W) gray, (H, W, C) with C = 2 (gray +
// alpha), 3 (RGB) or 4 (RGBA), (N, H, W) and (N, H, W, C) as N pages; strips (about 256 KiB
// each) or square tiles; compression none, lzw, deflate, zstd, packbits; predictor none,
// horizontal (integers) or float (f32/f64); BigTIFF when asked or when the data needs it.
// Given a lumen::ThreadPool, deflate and zstd are encoded in parallel outside libtiff: each
// strip or tile is run through the predictor exactly as libtiff's tif_predict.c would, then
// compressed (libdeflate's zlib format = TIFF Adobe Deflate; one zstd frame per strip, as
// libtiff's zstd codec writes) in the pool, and written in order with TIFFWriteRawStrip/Tile.
// At most 2 x pool size strips are in flight. Tags are the same as on libtiff's path; the
// pixels decode identically, only the compressed bytes differ. lzw and packbits, and calls
// without a pool, go through libtiff's own codecs on the calling thread.
//
// Example pipeline, through the stages that wrap this:
//   - id: in
//     use: tiff.read
//     with: {path: "stacks/*.tif", mode: frames}
//   - id: out
//     use: tiff.write
//     with: {compression: zstd, predictor: horizontal}
#pragma once

#include "lumen/array.hpp"
#include "lumen/meta.hpp"
#include "lumen/thread_pool.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct tiff; // libtiff's TIFF

namespace lumen::tiff {

/// No single page or stack may decode to more than this (a guard against absurd headers).
inline constexpr std::uint64_t kMaxDecodedBytes = std::uint64_t{64} << 30;

/// One page (image file directory), as decoded.
struct PageInfo {
  std::uint32_t width = 0, height = 0;
  std::uint16_t samples = 1, bits = 8, sample_format = 1, photometric = 1, compression = 1, planar = 1;
  bool tiled = false;
  DType dtype = DType::u8;
  /// (H, W) for one sample per pixel, else (H, W, C).
  [[nodiscard]] Shape shape() const;
  [[nodiscard]] std::uint64_t nbytes() const; // decoded, in dtype
  /// Same decoded layout (dims, channels, dtype).
  [[nodiscard]] bool same_layout(const PageInfo& o) const noexcept {
    return width == o.width && height == o.height && samples == o.samples && dtype == o.dtype;
  }
  /// "206x94 u8" or "100x100x3 u16", for messages.
  [[nodiscard]] std::string describe() const;
};

/// Names for tag values, as they appear in meta.
[[nodiscard]] std::string compression_name(std::uint16_t code);
[[nodiscard]] std::string photometric_name(std::uint16_t code);
[[nodiscard]] std::string sample_format_name(std::uint16_t code);

/// An open TIFF file for reading. Not thread-safe; use one per thread.
class TiffFile {
public:
  /// Opens `path`; throws lumen::InputError naming the file when it cannot be opened or is
  /// not a TIFF.
  explicit TiffFile(std::filesystem::path path);
  ~TiffFile();
  TiffFile(const TiffFile&) = delete;
  TiffFile& operator=(const TiffFile&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Number of pages (directories).
  [[nodiscard]] int pages();
  /// Makes `page` current and checks it is decodable; throws InputError otherwise.
  PageInfo select(int page);
  /// Decodes the current page (after select) into `dest`, which holds info.nbytes() bytes.
  void decode(const PageInfo& info, void* dest);
  /// Decodes page `page` into a new array of info.shape().
  [[nodiscard]] Array read_page(int page);
  /// Pages [begin, end) as one (n, H, W[, C]) array; all pages must share dims and dtype.
  [[nodiscard]] Array read_pages(int begin, int end);
  /// Tags of the current page as meta (see tiff_stages.hpp for the keys).
  void read_meta(const PageInfo& info, Meta& meta);

  /// Throws InputError("<file>: <what> (libtiff: <captured messages>)").
  [[noreturn]] void fail(const std::string& what) const;

private:
  void check_storage(const PageInfo& info);
  std::filesystem::path path_;
  std::uintmax_t file_size_ = 0;
  std::string errors_; // libtiff messages for this handle
  ::tiff* tif_ = nullptr;
  int pages_ = -1;
  int current_ = -1;
};

struct WriteOptions {
  std::string compression = "none"; // none | lzw | deflate | zstd | packbits
  std::string predictor = "none";   // none | horizontal | float
  int level = 0;                    // deflate 1-9 / zstd 1-22; 0 = library default
  int tile = 0;                     // tile edge (multiple of 16); 0 = strips
  std::string bigtiff = "auto";     // auto | always | never
  std::string layout = "auto";      // auto | stack | color: how a 3-D array is read
  std::string description;          // ImageDescription of the first page ("" = none)
  std::string software;             // Software tag
};

/// True when this libtiff can encode `compression` ("zstd" may be missing).
[[nodiscard]] bool can_encode(std::string_view compression);

/// Throws lumen::InputError("<what>: ...") when `image` cannot be written with `options`
/// (dtype, rank, channel count, predictor for the dtype).
void check_writable(const Array& image, const WriteOptions& options, std::string_view what);

/// True for the compressions write_tiff encodes in its pool ("deflate", "zstd").
[[nodiscard]] bool parallel_codec(std::string_view compression);

/// Writes `image` to the file `path` (created or truncated). Throws lumen::InputError for an
/// unsuitable image and lumen::Error when libtiff or a codec fails. With a `pool`, deflate and
/// zstd strips/tiles are compressed in its threads (see the top of this file); the pool may be
/// shared by concurrent calls.
void write_tiff(const std::filesystem::path& path, const Array& image, const WriteOptions& options,
                std::string_view what, ThreadPool* pool = nullptr);

/// What tiff.write puts in ImageDescription: tifffile's "shaped" JSON (so tifffile reads the
/// array back with its shape) carrying the item's meta: {"shape": [...], "lumen_meta": {...}}.
[[nodiscard]] std::string description_for(const Array& image, const Meta& meta);
/// The meta of a description written by description_for, or nullopt for any other text.
[[nodiscard]] std::optional<Meta> meta_from_description(std::string_view text);

/// The name of a numbered series from its first file: "slice_000.tif" -> "slice"; a stem made only
/// of digits falls back to the folder's name, then to "series".
[[nodiscard]] std::string series_name(const std::filesystem::path& first);
/// "/0042": the id suffix of frame 42 of a stack or series.
[[nodiscard]] std::string frame_suffix(std::int64_t frame);

} // namespace lumen::tiff
