// NumPy .npy reading and writing without a library: the file I/O behind `npy.read` and
// `npy.write`.
//
// Reading. parse_header() takes the magic "\x93NUMPY", the version (1.0: 2-byte header length;
// 2.0 and 3.0: 4-byte length; 3.0 headers are UTF-8) and the header dict, parsed strictly as
// the Python literal numpy writes: exactly the keys 'descr', 'fortran_order' and 'shape', each
// once, in any order; a trailing comma and trailing spaces/newline allowed; anything else
// (unknown keys, structured dtypes, expressions) refused with the reason. Then it checks that
// product(shape) * itemsize equals the bytes after the header EXACTLY, in overflow-checked
// arithmetic, before anything is allocated.
// dtypes (either byte order; '|' or any order for one-byte types):
//   u1 -> u8   u2 -> u16   i2 -> i16   u4 -> u32   i4 -> i32   f4 -> f32   f8 -> f64
//   i1 -> i16 and f2 -> f32 (lossless widening: the Array has no i8 / f16)
//   b1 -> u8 (False 0, True 1)
//   i8 -> i32 and u8 -> u32 only when every value fits (NumPy's default integer is int64, so
//      small integer arrays are common); otherwise refused with the first value that does not
// Anything else (complex, strings, objects, datetimes, f16 long double) is refused with the descr.
// Shapes: 1 to 4 dims kept as they are; a 0-d array (shape ()) becomes shape (1); more than
// 4 dims and empty arrays (a zero dimension) are refused. fortran_order True is transposed
// into C order (the same logical array NumPy returns).
//
// Writing. write_npy() writes any Array (u8 u16 i16 u32 i32 f32 f64, 1-4 dims) as version 1.0,
// little-endian, C order, with the header padded with spaces and a newline so that the data
// start at a multiple of 64 bytes, as numpy does.
//
// Example pipeline, through the stages that wrap this:
//   - id: in
//     use: npy.read
//     with: {path: "masks/*.npy"}
//   - id: out
//     use: npy.write
//     with: {array: image, name: "{stem}.npy"}
#pragma once

#include "lumen/array.hpp"
#include "lumen/byte_source.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lumen::npy {

/// Bytes before the header text: magic (6), version (2), header length (2 or 4).
inline constexpr std::size_t kMagicBytes = 6;
/// The longest header text accepted (numpy itself refuses headers over 10000 bytes by default).
inline constexpr std::uint64_t kMaxHeaderText = 1 << 20;

struct Header {
  int major = 1, minor = 0;
  std::string descr;        // as written: "<f4"
  bool big_endian = false;  // of the stored samples
  char kind = 'f';          // 'b' bool, 'i' signed, 'u' unsigned, 'f' float
  std::size_t itemsize = 4; // bytes per stored sample
  bool fortran_order = false;
  std::vector<std::int64_t> shape; // as written (0 to 4 dims)
  std::uint64_t data_offset = 0;   // where the samples start
  DType dtype = DType::f32;        // of the decoded array

  /// The shape as NumPy prints it: "()", "(5,)", "(2, 3)".
  [[nodiscard]] std::string shape_text() const;
};

/// The bytes before the data: magic, version, length field and header text. Needs the first
/// 12 bytes (or fewer when the source is shorter: then it throws). Throws lumen::InputError
/// for a wrong magic, an unknown version, or a header longer than the file.
[[nodiscard]] std::uint64_t header_size(std::span<const std::uint8_t> prefix, std::uint64_t file_size,
                                        const std::string& name);

/// Parses and validates the header. `bytes` holds at least the first header_size() bytes.
/// Throws lumen::InputError("<name>: ...") saying what is wrong.
[[nodiscard]] Header parse_header(std::span<const std::uint8_t> bytes, std::uint64_t file_size,
                                  const std::string& name);
/// Reads the header of `src` (two bounded reads) and parses it.
[[nodiscard]] Header read_header(const ByteSource& src);

/// Reads and converts the samples: shape as the header says (shape () gives (1)), C order.
[[nodiscard]] Array read_data(const ByteSource& src, const Header& header);

/// Reads indices [begin, end) of axis 0 of a C-order array of 2 or more dims (a block of
/// frames of a stack) without reading the rest. Throws lumen::InputError for Fortran order
/// (axis 0 is not contiguous there) or a range outside the array.
[[nodiscard]] Array read_frames(const ByteSource& src, const Header& header, std::int64_t begin, std::int64_t end);

/// The descr numpy uses for an Array dtype, little-endian ("|u1", "<f4", ...).
[[nodiscard]] std::string descr_of(DType dtype);
/// The complete version-1.0 header (magic to newline) for `array`; its size is a multiple of 64.
[[nodiscard]] std::string make_header(const Array& array);
/// The header for an array of `dtype` and `shape`, padded to at least `min_size` bytes (a
/// multiple of 64), so a streaming writer can reserve room and rewrite it with the final shape.
[[nodiscard]] std::string make_header(DType dtype, const Shape& shape, std::size_t min_size = 0);
/// Writes header and samples (little-endian, C order) to `sink`. Throws lumen::InputError
/// ("<what>: ...") for an empty array.
void write_npy(const ByteSink& sink, const Array& array, std::string_view what);
/// Writes only the samples of `array` (little-endian, C order): what follows a header.
void write_npy_data(const ByteSink& sink, const Array& array);

} // namespace lumen::npy
