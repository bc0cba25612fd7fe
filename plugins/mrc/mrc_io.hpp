// MRC2014 reading and writing without a library: the file I/O behind `mrc.read` and `mrc.write`.
//
// Reading. parse_header() decodes the 1024-byte main header and validates EVERY field it
// relies on against the file size before anything is allocated: nx, ny, nz > 0, a known mode,
// nsymbt >= 0, and 1024 + nsymbt + nx*ny*nz*bytes <= file size in checked 64-bit arithmetic.
// Byte order comes from MACHST (0x44 0x44 or 0x44 0x41: little-endian, 0x11 0x11: big-endian);
// when MACHST is neither, the byte order under which mode and dimensions are plausible (known
// mode, dims in 1..2^24 whose data fits the file) wins, little-endian on a tie.
// read_sections() reads sections [z0, z1) and converts to the Array dtypes:
//   mode 0  int8    -> i16 (the Array has no i8; widening is lossless), or u8 when the file
//                      follows the IMOD convention for unsigned bytes: imodStamp 1146047817 at
//                      word 39 and bit 1 ("bytes are signed") of imodFlags (word 40) clear
//   mode 1  int16   -> i16        mode 2  float32 -> f32       mode 6  uint16 -> u16
//   mode 12 float16 -> f32 (exact: every half value, subnormals, inf and NaN, is a float)
// Modes 3 and 4 (complex), 101 (4-bit) and anything else are refused with the mode named.
// Shapes: one section gives (ny, nx), several give (n, ny, nx). Data come out in file order
// (columns fastest); MAPC/MAPR/MAPS are recorded in meta, not applied. Extended headers of any
// kind (FEI1, FEI2, CCP4, MRCO, SERI, AGAR, ...) are skipped by NSYMBT; EXTTYP is recorded.
//
// Writing. write_mrc() writes modes 0 (u8 with the IMOD unsigned stamp, on request), 1 (i16),
// 2 (f32), 6 (u16, also u8 widened) with a complete MRC2014 header: "MAP ", MACHST 0x44 0x44,
// NVERSION 20140, DMIN/DMAX/DMEAN/RMS computed from the data, CELLA = voxel size x sampling.
//
// Example pipeline, through the stages that wrap this:
//   - id: in
//     use: mrc.read
//     with: {path: "tomograms/*.mrc", frames_per_item: 16}
//   - id: out
//     use: mrc.write
//     with: {dir: copies}
#pragma once

#include "lumen/array.hpp"
#include "lumen/byte_source.hpp"
#include "lumen/meta.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lumen::mrc {

inline constexpr std::uint64_t kHeaderBytes = 1024;
inline constexpr std::int32_t kImodStamp = 1146047817;
/// The largest dimension accepted on any axis (a sanity bound; sizes are checked against the
/// file size as well).
inline constexpr std::int64_t kMaxDim = std::int64_t{1} << 24;

/// The decoded main header. Field names follow the MRC2014 specification.
struct Header {
  std::int32_t nx = 0, ny = 0, nz = 0, mode = 0;
  std::int32_t nxstart = 0, nystart = 0, nzstart = 0;
  std::int32_t mx = 0, my = 0, mz = 0;
  std::array<float, 3> cella{}, cellb{};
  std::int32_t mapc = 1, mapr = 2, maps = 3;
  float dmin = 0, dmax = 0, dmean = 0, rms = 0;
  std::int32_t ispg = 0, nsymbt = 0;
  std::string exttyp; // 4 characters, trailing spaces and NULs removed
  std::int32_t nversion = 0;
  std::int32_t imod_stamp = 0, imod_flags = 0;
  std::array<float, 3> origin{};
  bool has_map_id = false; // "MAP " at byte 208
  std::array<std::uint8_t, 4> machst{};
  std::int32_t nlabl = 0;
  std::vector<std::string> labels; // min(nlabl, 10) labels, trailing blanks removed

  // Derived.
  bool big_endian = false;
  bool machst_recognised = false; // false: byte order chosen by the plausibility heuristic
  bool unsigned_bytes = false;    // mode 0 stored as unsigned (IMOD convention)
  DType dtype = DType::f32;       // of the decoded array
  std::size_t file_sample_bytes = 4;
  std::uint64_t data_offset = 0;   // 1024 + nsymbt
  std::uint64_t section_bytes = 0; // nx * ny * file_sample_bytes

  /// Voxel size in Å (cella / mx etc.; 0 when the sampling is 0).
  [[nodiscard]] std::array<double, 3> voxel_size() const noexcept;
  /// "image", "image_stack", "volume" or "volume_stack" (from ispg and nz / mz).
  [[nodiscard]] std::string kind() const;
};

/// The mode's name ("float32", "complex float32", ...).
[[nodiscard]] std::string mode_name(std::int32_t mode);

/// Decodes and validates the main header. `bytes` holds at least the first
/// min(1024, file_size) bytes of the source; `file_size` is the size of the whole source.
/// Throws lumen::InputError("<name>: ...") naming the field that is wrong.
[[nodiscard]] Header parse_header(std::span<const std::uint8_t> bytes, std::uint64_t file_size,
                                  const std::string& name);
/// Reads the first 1024 bytes of `src` and parses them.
[[nodiscard]] Header read_header(const ByteSource& src);

/// Reads sections [z0, z1) (0 <= z0 < z1 <= nz): (ny, nx) for one section, else
/// (z1 - z0, ny, nx), in native byte order. Only those sections' bytes are read.
[[nodiscard]] Array read_sections(const ByteSource& src, const Header& header, std::int64_t z0, std::int64_t z1);

/// Meta of a header: mrc_* fields, voxel_size_x/y/z and origin_x/y/z (Å), domain microscopy,
/// units counts for integer modes (floating-point maps have no count units: left unset).
void header_to_meta(const Header& header, Meta& meta);

/// What write_mrc() needs besides the pixels.
struct WriteSpec {
  std::int32_t ispg = 0;                           // 0 image / image stack, 1 volume
  std::array<double, 3> voxel_size{1.0, 1.0, 1.0}; // Å, x y z
  std::array<double, 3> origin{};                  // Å
  std::vector<std::string> labels;                 // at most 10, each cut to 80 characters
  bool u8_as_mode0 = false;                        // u8 -> mode 0 with the IMOD unsigned stamp; else u8 -> mode 6
  bool f64_to_f32 = false;                         // allow the lossy f64 -> f32 (mode 2) conversion
};

/// Throws lumen::InputError("<what>: ...") unless `image` can be written with `spec`: dtype
/// u8, i16, u16 or f32 (f64 only with f64_to_f32), shape (H, W) or (N, H, W), each dim
/// within int32.
void check_writable(const Array& image, const WriteSpec& spec, std::string_view what);

/// The 1024-byte header for `image` (see check_writable), statistics included.
[[nodiscard]] std::array<std::uint8_t, kHeaderBytes> make_header(const Array& image, const WriteSpec& spec);

/// Writes header and data (little-endian) to `sink`. Throws like check_writable.
void write_mrc(const ByteSink& sink, const Array& image, const WriteSpec& spec, std::string_view what);

} // namespace lumen::mrc
