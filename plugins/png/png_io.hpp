// PNG decoding with libpng and encoding with libdeflate or libpng: the file I/O behind `png.read`
// and `png.write` (and tile.write's tiles).
//
// read_png() decodes 1/2/4/8/16-bit gray, gray+alpha, RGB, RGBA and palette files into a u8
// or u16 array: (H, W) for one channel, else (H, W, C), channels kept as stored (gray+alpha
// stays 2 channels); palettes expand to RGB, or RGBA when the palette has transparency;
// gray below 8 bits is scaled to 0-255; 16-bit samples come out in native byte order.
// write_png() encodes u8/u16 arrays of shape (H, W) or (H, W, C), C in 1..4, with 16-bit
// samples written big-endian as the format requires, with one of two encoders:
//   libdeflate (default): the rows are filtered here, the whole filtered image is compressed by
//     one call to libdeflate's zlib compressor (one compressor per thread and level, reused, as
//     are the filter and output buffers of small images) and the file is IHDR + IDAT + IEND
//     written here, every CRC from libdeflate_crc32. On the noisy 8-bit tiles of
//     bench/tiles at level 1 it compresses ~2.5x faster than zlib and the files are ~1% smaller.
//     It holds the filtered image and its compressed form in memory while encoding (about twice
//     the image), and has no zlib strategies.
//   libpng: libpng + zlib, rows streamed through zlib (strategy applies).
// The `compression` level is the same number for both: zlib's level for libpng, libdeflate's
// level (same 0-9 scale: 0 stored, 1 fastest, 9 smallest) for libdeflate.
//
// libpng reports errors with longjmp. Here every setjmp lives in a small function whose
// locals are all trivially destructible; libpng handles are owned by RAII objects in the
// caller's frame, and the error text is stored by the error callback and turned into a C++
// exception after setjmp returns. Corrupt or truncated files throw lumen::InputError naming
// the file; nothing leaks and nothing is printed to stderr.
//
// Example pipeline, through the stages that wrap this:
//   - id: in
//     use: png.read
//     with: {path: "frames/*.png"}
//   - id: out
//     use: png.write
//     with: {dir: converted, compression: 6, filter: paeth}
#pragma once

#include "lumen/array.hpp"

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace lumen::png {

struct DecodedPng {
  Array image;            // u8 or u16; (H, W) or (H, W, C)
  int channels = 0;       // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  int bit_depth = 0;      // of the decoded samples: 8 or 16
  int file_bit_depth = 0; // as stored in the file: 1, 2, 4, 8 or 16 (palette: index bits)
};

/// Decodes a PNG file. Throws lumen::InputError("<path>: ...") when the file cannot be
/// opened, is not a PNG, or is corrupt or truncated.
[[nodiscard]] DecodedPng read_png(const std::filesystem::path& path);

/// Row filters, as the `filter` parameter of png.write names them.
enum class Filter { none, sub, up, avg, paeth, all };
/// "none", "sub", "up", "avg", "paeth", "all"; throws lumen::Error for anything else.
[[nodiscard]] Filter filter_from_name(std::string_view name);

/// zlib strategies, as tile.write's `strategy` parameter names them: standard ("default": LZ77
/// matching + Huffman), filtered, huffman (Huffman coding only, no matching) and rle (matches at
/// distance 1 only). rle and huffman encode noisy 8-bit images about twice as fast as the default
/// at a similar size; smooth images compress worse with them.
enum class Strategy { standard, filtered, huffman, rle };
/// "default", "filtered", "huffman", "rle"; throws lumen::Error for anything else.
[[nodiscard]] Strategy strategy_from_name(std::string_view name);

/// PNG encoders, as the `encoder` parameter of png.write and tile.write names them.
enum class Encoder { libdeflate, libpng };
/// "libdeflate", "libpng"; throws lumen::Error for anything else.
[[nodiscard]] Encoder encoder_from_name(std::string_view name);

struct WriteOptions {
  int compression = 1; // deflate level 0-9 (zlib's for libpng, libdeflate's for libdeflate)
  Filter filter = Filter::none;
  Strategy strategy = Strategy::standard; // libpng only: anything else with libdeflate throws
  Encoder encoder = Encoder::libdeflate;
};

/// Throws lumen::InputError("<what>: ...") unless `image` is u8 or u16 with shape (H, W) or
/// (H, W, C), C in 1..4. The message tells the user what to add to the pipeline.
void check_encodable(const Array& image, std::string_view what);

/// Encodes `image` (see check_encodable) into the open binary stream `out`. `what` names the
/// destination in error messages. Throws lumen::InputError for an unsuitable image and
/// lumen::Error when writing fails or when a zlib strategy other than the default is asked of
/// the libdeflate encoder. Safe to call from several threads at once (different streams).
void write_png(std::FILE* out, const Array& image, const WriteOptions& options, std::string_view what);

} // namespace lumen::png
