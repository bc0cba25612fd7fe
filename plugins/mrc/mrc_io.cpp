// MRC2014 reading and writing without a library (see mrc_io.hpp for what is supported).
//
// Every size the header claims is checked against the size of the source, in overflow-checked
// 64-bit arithmetic, before a byte of pixel memory is allocated: a corrupt header can make the
// reader refuse the file but never allocate more than the file could hold (times two for the
// widening modes 0 and 12).
//
// Example pipeline:
//   - id: in
//     use: mrc.read
//     with: {path: maps/}
#include "mrc_io.hpp"

#include "lumen/error.hpp"
#include "lumen/float16.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace lumen::mrc {

namespace {

constexpr bool kNativeBig = std::endian::native == std::endian::big;

// Header byte offsets (MRC2014, words are 4 bytes, numbered from 1 in the specification).
enum Offset : std::size_t {
  kNx = 0,
  kNy = 4,
  kNz = 8,
  kMode = 12,
  kNxStart = 16,
  kNyStart = 20,
  kNzStart = 24,
  kMx = 28,
  kMy = 32,
  kMz = 36,
  kCellA = 40,
  kCellB = 52,
  kMapC = 64,
  kMapR = 68,
  kMapS = 72,
  kDMin = 76,
  kDMax = 80,
  kDMean = 84,
  kIspg = 88,
  kNsymbt = 92,
  kExtra = 96,
  kExtType = 104,
  kNVersion = 108,
  kImodStampAt = 152, // word 39
  kImodFlagsAt = 156, // word 40
  kOrigin = 196,
  kMap = 208,
  kMachst = 212,
  kRms = 216,
  kNLabl = 220,
  kLabels = 224,
};
constexpr std::size_t kLabelBytes = 80;
constexpr int kMaxLabels = 10;

std::uint32_t load_u32(const std::uint8_t* p, bool big) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return big != kNativeBig ? __builtin_bswap32(v) : v;
}
std::int32_t load_i32(const std::uint8_t* p, bool big) noexcept {
  return static_cast<std::int32_t>(load_u32(p, big));
}
float load_f32(const std::uint8_t* p, bool big) noexcept {
  return std::bit_cast<float>(load_u32(p, big));
}
void store_u32(std::uint8_t* p, std::uint32_t v) noexcept { // always little-endian
  if constexpr (kNativeBig) v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
void store_i32(std::uint8_t* p, std::int64_t v) noexcept {
  store_u32(p, static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
}
void store_f32(std::uint8_t* p, double v) noexcept {
  store_u32(p, std::bit_cast<std::uint32_t>(static_cast<float>(v)));
}

bool is_supported_mode(std::int32_t mode) noexcept {
  return mode == 0 || mode == 1 || mode == 2 || mode == 6 || mode == 12;
}
std::size_t mode_bytes(std::int32_t mode) noexcept {
  switch (mode) {
  case 0:
    return 1;
  case 1:
  case 6:
  case 12:
    return 2;
  default:
    return 4;
  }
}

// a * b, or false on overflow.
bool mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
  return !__builtin_mul_overflow(a, b, &out);
}
bool add(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
  return !__builtin_add_overflow(a, b, &out);
}

// Bytes of pixel data nx*ny*nz*sample, or false when it overflows 64 bits.
bool data_bytes(std::int64_t nx, std::int64_t ny, std::int64_t nz, std::size_t sample, std::uint64_t& out) noexcept {
  std::uint64_t v = 0;
  return mul(static_cast<std::uint64_t>(nx), static_cast<std::uint64_t>(ny), v) &&
         mul(v, static_cast<std::uint64_t>(nz), v) && mul(v, sample, out);
}

// Would the header make sense in this byte order? (The fallback when MACHST is unknown.)
bool plausible(std::span<const std::uint8_t> b, std::uint64_t file_size, bool big) noexcept {
  const std::int64_t nx = load_i32(&b[kNx], big), ny = load_i32(&b[kNy], big), nz = load_i32(&b[kNz], big);
  const std::int32_t mode = load_i32(&b[kMode], big), nsymbt = load_i32(&b[kNsymbt], big);
  if (!is_supported_mode(mode) || nsymbt < 0) return false;
  for (const auto n : {nx, ny, nz})
    if (n <= 0 || n > kMaxDim) return false;
  std::uint64_t data = 0, total = 0;
  return data_bytes(nx, ny, nz, mode_bytes(mode), data) && add(data, kHeaderBytes + std::uint64_t(nsymbt), total) &&
         total <= file_size;
}

// Printable text of a fixed-size header field: NULs and trailing blanks dropped, other
// control or non-ASCII bytes shown as '?', so meta stays valid UTF-8.
std::string field_text(const std::uint8_t* p, std::size_t n) {
  std::string s;
  s.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = p[i];
    if (c == 0) break;
    s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string hex4(const std::array<std::uint8_t, 4>& b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i) s.push_back(' ');
    s += "0x";
    s.push_back(digits[b[i] >> 4]);
    s.push_back(digits[b[i] & 15]);
  }
  return s;
}

std::string dims_text(std::int64_t nx, std::int64_t ny, std::int64_t nz) {
  return std::to_string(nx) + "x" + std::to_string(ny) + "x" + std::to_string(nz);
}

template <typename T> void swap_in_place(T* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if constexpr (sizeof(T) == 2)
      p[i] = std::bit_cast<T>(__builtin_bswap16(std::bit_cast<std::uint16_t>(p[i])));
    else
      p[i] = std::bit_cast<T>(__builtin_bswap32(std::bit_cast<std::uint32_t>(p[i])));
  }
}

} // namespace

// ---- byte sources ------------------------------------------------------------------------------

// ---- header ------------------------------------------------------------------------------------

std::array<double, 3> Header::voxel_size() const noexcept {
  const std::array<std::int32_t, 3> m{mx, my, mz};
  std::array<double, 3> v{};
  for (std::size_t i = 0; i < 3; ++i) v[i] = m[i] > 0 ? static_cast<double>(cella[i]) / m[i] : 0.0;
  return v;
}

std::string Header::kind() const {
  if (ispg == 0) return nz == 1 ? "image" : "image_stack";
  if (ispg >= 401 && ispg <= 630) return "volume_stack";
  return "volume";
}

std::string mode_name(std::int32_t mode) {
  switch (mode) {
  case 0:
    return "int8";
  case 1:
    return "int16";
  case 2:
    return "float32";
  case 3:
    return "complex int16";
  case 4:
    return "complex float32";
  case 6:
    return "uint16";
  case 12:
    return "float16";
  case 101:
    return "4-bit packed";
  default:
    return "unknown";
  }
}

Header parse_header(std::span<const std::uint8_t> b, std::uint64_t file_size, const std::string& name) {
  if (file_size < kHeaderBytes || b.size() < kHeaderBytes)
    throw InputError(name + ": not an MRC file: it has " +
                     std::to_string(std::min<std::uint64_t>(file_size, b.size())) +
                     " bytes, fewer than the 1024-byte MRC header");
  Header h;
  std::copy_n(&b[kMachst], 4, h.machst.begin());
  // The first nibble of MACHST byte 0 says how floats are stored: 4 little-endian IEEE, 1 big.
  if (h.machst[0] == 0x44) {
    h.big_endian = false;
    h.machst_recognised = true;
  } else if (h.machst[0] == 0x11) {
    h.big_endian = true;
    h.machst_recognised = true;
  } else {
    // Some writers leave MACHST zero or write garbage: take the byte order under which the
    // header makes sense.
    h.big_endian = !plausible(b, file_size, false) && plausible(b, file_size, true);
  }
  const bool be = h.big_endian;
  h.nx = load_i32(&b[kNx], be);
  h.ny = load_i32(&b[kNy], be);
  h.nz = load_i32(&b[kNz], be);
  h.mode = load_i32(&b[kMode], be);
  h.nxstart = load_i32(&b[kNxStart], be);
  h.nystart = load_i32(&b[kNyStart], be);
  h.nzstart = load_i32(&b[kNzStart], be);
  h.mx = load_i32(&b[kMx], be);
  h.my = load_i32(&b[kMy], be);
  h.mz = load_i32(&b[kMz], be);
  for (std::size_t i = 0; i < 3; ++i) {
    h.cella[i] = load_f32(&b[kCellA + 4 * i], be);
    h.cellb[i] = load_f32(&b[kCellB + 4 * i], be);
    h.origin[i] = load_f32(&b[kOrigin + 4 * i], be);
  }
  h.mapc = load_i32(&b[kMapC], be);
  h.mapr = load_i32(&b[kMapR], be);
  h.maps = load_i32(&b[kMapS], be);
  h.dmin = load_f32(&b[kDMin], be);
  h.dmax = load_f32(&b[kDMax], be);
  h.dmean = load_f32(&b[kDMean], be);
  h.ispg = load_i32(&b[kIspg], be);
  h.nsymbt = load_i32(&b[kNsymbt], be);
  h.exttyp = field_text(&b[kExtType], 4);
  h.nversion = load_i32(&b[kNVersion], be);
  h.imod_stamp = load_i32(&b[kImodStampAt], be);
  h.imod_flags = load_i32(&b[kImodFlagsAt], be);
  h.has_map_id = std::memcmp(&b[kMap], "MAP ", 4) == 0;
  h.rms = load_f32(&b[kRms], be);
  h.nlabl = load_i32(&b[kNLabl], be);
  const int labels = std::clamp(h.nlabl, 0, kMaxLabels);
  for (int i = 0; i < labels; ++i)
    h.labels.push_back(field_text(&b[kLabels + kLabelBytes * std::size_t(i)], kLabelBytes));

  // Validation, in the order a reader needs the fields: dimensions, mode, extended header, size.
  const auto bad = [&](const std::string& what) { return InputError(name + ": invalid MRC header: " + what); };
  const std::string order = h.machst_recognised ? "" : " (MACHST " + hex4(h.machst) + " is not a known byte order)";
  for (const auto& [field, value] : {std::pair{"nx", h.nx}, std::pair{"ny", h.ny}, std::pair{"nz", h.nz}}) {
    if (value <= 0) throw bad(std::string(field) + " = " + std::to_string(value) + " (must be > 0)" + order);
    if (value > kMaxDim)
      throw bad(std::string(field) + " = " + std::to_string(value) + " is absurd (more than " +
                std::to_string(kMaxDim) + " on one axis)" + order);
  }
  if (!is_supported_mode(h.mode)) {
    if (h.mode == 3 || h.mode == 4 || h.mode == 101)
      throw InputError(name + ": MRC mode " + std::to_string(h.mode) + " (" + mode_name(h.mode) +
                       ") is not supported: mrc.read reads modes 0 (int8), 1 (int16), 2 (float32), 6 (uint16) and "
                       "12 (float16)");
    throw bad("mode " + std::to_string(h.mode) + " is not an MRC2014 mode (known: 0, 1, 2, 3, 4, 6, 12, 101)" + order);
  }
  if (h.nsymbt < 0) throw bad("nsymbt = " + std::to_string(h.nsymbt) + " (the extended header size must be >= 0)");
  h.data_offset = kHeaderBytes + static_cast<std::uint64_t>(h.nsymbt);
  if (h.data_offset > file_size)
    throw InputError(name + ": truncated or corrupt MRC file: the extended header (nsymbt = " +
                     std::to_string(h.nsymbt) + " bytes) ends at byte " + std::to_string(h.data_offset) +
                     " but the file has only " + std::to_string(file_size) + " bytes");
  h.file_sample_bytes = mode_bytes(h.mode);
  std::uint64_t data = 0, total = 0;
  const bool representable = data_bytes(h.nx, h.ny, h.nz, h.file_sample_bytes, data) && add(data, h.data_offset, total);
  if (!representable || total > file_size)
    throw InputError(name + ": truncated or corrupt MRC file: the header says " + dims_text(h.nx, h.ny, h.nz) +
                     " samples of mode " + std::to_string(h.mode) + " (" + mode_name(h.mode) + ") after " +
                     std::to_string(h.data_offset) + " header bytes, " +
                     (representable ? std::to_string(total) + " bytes in all" : std::string("more than 2^64 bytes")) +
                     ", but the file has only " + std::to_string(file_size) + " bytes" + order);
  h.section_bytes = static_cast<std::uint64_t>(h.nx) * static_cast<std::uint64_t>(h.ny) * h.file_sample_bytes;

  h.unsigned_bytes = h.mode == 0 && h.imod_stamp == kImodStamp && (h.imod_flags & 1) == 0;
  switch (h.mode) {
  case 0:
    h.dtype = h.unsigned_bytes ? DType::u8 : DType::i16;
    break;
  case 1:
    h.dtype = DType::i16;
    break;
  case 6:
    h.dtype = DType::u16;
    break;
  default: // 2 and 12
    h.dtype = DType::f32;
    break;
  }
  return h;
}

Header read_header(const ByteSource& src) {
  std::array<std::uint8_t, kHeaderBytes> bytes{};
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(src.size(), kHeaderBytes));
  src.read(0, bytes.data(), n);
  return parse_header(std::span<const std::uint8_t>(bytes.data(), n), src.size(), src.name());
}

// ---- pixels ------------------------------------------------------------------------------------

Array read_sections(const ByteSource& src, const Header& h, std::int64_t z0, std::int64_t z1) {
  if (z0 < 0 || z1 > h.nz || z0 >= z1)
    throw InputError(src.name() + ": sections [" + std::to_string(z0) + ", " + std::to_string(z1) +
                     ") are outside the file's 0.." + std::to_string(h.nz));
  const std::int64_t n = z1 - z0;
  const Shape shape = n == 1 ? Shape{h.ny, h.nx} : Shape{n, h.ny, h.nx};
  Array out = Array::uninitialized(h.dtype, shape);
  const std::uint64_t offset = h.data_offset + static_cast<std::uint64_t>(z0) * h.section_bytes;
  const auto count = static_cast<std::size_t>(out.size());
  const bool swap = h.big_endian != kNativeBig;

  if (h.mode == 0 && !h.unsigned_bytes) { // int8 -> int16 through a bounded buffer
    auto* dst = static_cast<std::int16_t*>(out.raw());
    std::vector<std::int8_t> buf(std::min<std::size_t>(count, std::size_t{1} << 20));
    for (std::size_t done = 0; done < count;) {
      const std::size_t k = std::min(buf.size(), count - done);
      src.read(offset + done, buf.data(), k);
      for (std::size_t i = 0; i < k; ++i) dst[done + i] = buf[i];
      done += k;
    }
  } else if (h.mode == 12) { // float16 -> float32 through a bounded buffer
    auto* dst = static_cast<float*>(out.raw());
    std::vector<std::uint16_t> buf(std::min<std::size_t>(count, std::size_t{1} << 19));
    for (std::size_t done = 0; done < count;) {
      const std::size_t k = std::min(buf.size(), count - done);
      src.read(offset + 2 * done, buf.data(), 2 * k);
      if (swap) swap_in_place(buf.data(), k);
      for (std::size_t i = 0; i < k; ++i) dst[done + i] = half_to_float(buf[i]);
      done += k;
    }
  } else { // stored as the array holds it: read straight into the array, swap in place
    src.read(offset, out.raw(), out.nbytes());
    if (swap && h.file_sample_bytes == 2) swap_in_place(static_cast<std::uint16_t*>(out.raw()), count);
    if (swap && h.file_sample_bytes == 4) swap_in_place(static_cast<std::uint32_t*>(out.raw()), count);
  }
  return out;
}

// ---- meta --------------------------------------------------------------------------------------

void header_to_meta(const Header& h, Meta& m) {
  m.set("mrc_nx", h.nx, "NX: columns (fastest axis)");
  m.set("mrc_ny", h.ny, "NY: rows");
  m.set("mrc_nz", h.nz, "NZ: sections");
  m.set("mrc_mode", h.mode, "MODE: " + mode_name(h.mode) + (h.unsigned_bytes ? " stored unsigned (IMOD flag)" : ""));
  m.set("mrc_nxstart", h.nxstart, "NXSTART: first column index");
  m.set("mrc_nystart", h.nystart, "NYSTART: first row index");
  m.set("mrc_nzstart", h.nzstart, "NZSTART: first section index");
  m.set("mrc_mx", h.mx, "MX: sampling along x");
  m.set("mrc_my", h.my, "MY: sampling along y");
  m.set("mrc_mz", h.mz, "MZ: sampling along z");
  m.set("mrc_cella", std::vector<double>{h.cella[0], h.cella[1], h.cella[2]}, "CELLA: cell dimensions", "Å");
  m.set("mrc_cellb", std::vector<double>{h.cellb[0], h.cellb[1], h.cellb[2]}, "CELLB: cell angles", "deg");
  m.set("mrc_mapc", h.mapc, "MAPC: axis along columns (not applied: data are in file order)");
  m.set("mrc_mapr", h.mapr, "MAPR: axis along rows");
  m.set("mrc_maps", h.maps, "MAPS: axis along sections");
  m.set("mrc_dmin", MetaValue{double(h.dmin)}, "DMIN: minimum density (header value)");
  m.set("mrc_dmax", MetaValue{double(h.dmax)}, "DMAX: maximum density (header value)");
  m.set("mrc_dmean", MetaValue{double(h.dmean)}, "DMEAN: mean density (header value)");
  m.set("mrc_rms", MetaValue{double(h.rms)}, "RMS: deviation from the mean density (header value)");
  m.set("mrc_ispg", h.ispg, "ISPG: space group (0 image stack, 1 volume, 401+ volume stack)");
  m.set("mrc_kind", h.kind(), "image, image_stack, volume or volume_stack (from ISPG and NZ)");
  m.set("mrc_nsymbt", h.nsymbt, "NSYMBT: extended header bytes (skipped)", "bytes");
  m.set("mrc_exttyp", h.exttyp, "EXTTYP: extended header type");
  m.set("mrc_nversion", h.nversion, "NVERSION: format version (20140 for MRC2014)");
  m.set("mrc_byte_order", h.big_endian ? "big" : "little",
        h.machst_recognised ? "from MACHST" : "guessed: MACHST was not a known byte order");
  m.set("mrc_machst", hex4(h.machst), "MACHST: machine stamp");
  m.set("mrc_nlabl", h.nlabl, "NLABL: labels in use");
  for (std::size_t i = 0; i < h.labels.size(); ++i)
    m.set("mrc_label_" + std::to_string(i), h.labels[i], "LABEL " + std::to_string(i + 1));
  const auto voxel = h.voxel_size();
  static constexpr const char* axes[] = {"x", "y", "z"};
  for (std::size_t i = 0; i < 3; ++i)
    m.set(std::string("voxel_size_") + axes[i], MetaValue{voxel[i]},
          std::string("voxel size along ") + axes[i] + " (CELLA / M" + static_cast<char>('X' + i) + "; 0 when unknown)",
          "Å");
  for (std::size_t i = 0; i < 3; ++i)
    m.set(std::string("origin_") + axes[i], MetaValue{double(h.origin[i])}, std::string("ORIGIN ") + axes[i], "Å");
  if (h.mode == 0 || h.mode == 1 || h.mode == 6) m.set(keys::units, "counts", "integer detector data");
  m.set(keys::domain, "microscopy");
}

// ---- writing -----------------------------------------------------------------------------------

void check_writable(const Array& image, const WriteSpec& spec, std::string_view what) {
  const std::string who(what);
  if (image.empty()) throw InputError(who + ": the image array is empty");
  switch (image.dtype()) {
  case DType::u8:
  case DType::i16:
  case DType::u16:
  case DType::f32:
    break;
  case DType::f64:
    if (!spec.f64_to_f32)
      throw InputError(who + ": MRC has no 64-bit float mode and the image is f64: set f64_to_f32: true on "
                             "mrc.write to store it as float32 (mode 2), losing precision");
    break;
  default:
    throw InputError(who + ": MRC stores int8, int16, uint16 or float32 samples, but the image is " +
                     std::string(dtype_name(image.dtype())) + ": convert it first (e.g. to f32)");
  }
  if (image.ndim() != 2 && image.ndim() != 3)
    throw InputError(who + ": MRC needs an image of shape (H, W) or a stack (N, H, W), got " + image.shape().str());
  for (int a = 0; a < image.ndim(); ++a)
    if (image.dim(a) <= 0 || image.dim(a) > std::numeric_limits<std::int32_t>::max())
      throw InputError(who + ": dimension " + std::to_string(image.dim(a)) + " of shape " + image.shape().str() +
                       " does not fit the MRC header");
}

namespace {

// The image as stored in the file: contiguous, in the file's dtype.
Array file_data(const Array& image, const WriteSpec& spec) {
  if (image.dtype() == DType::f64) return image.as(DType::f32).contiguous_copy();
  if (image.dtype() == DType::u8 && !spec.u8_as_mode0) return image.as(DType::u16).contiguous_copy();
  return image.contiguous_copy();
}

std::int32_t mode_for(DType t) {
  switch (t) {
  case DType::u8:
    return 0;
  case DType::i16:
    return 1;
  case DType::u16:
    return 6;
  default:
    return 2;
  }
}

struct Stats {
  double min = 0, max = 0, mean = 0, rms = 0;
};

template <typename T> Stats stats_of(const T* p, std::size_t n) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0, sumsq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(p[i]);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    sum += v;
    sumsq += v * v;
  }
  Stats s;
  s.min = lo;
  s.max = hi;
  s.mean = sum / static_cast<double>(n);
  s.rms = std::sqrt(std::max(0.0, sumsq / static_cast<double>(n) - s.mean * s.mean));
  return s;
}

Stats stats_of(const Array& a) {
  const auto n = static_cast<std::size_t>(a.size());
  switch (a.dtype()) {
  case DType::u8:
    return stats_of(static_cast<const std::uint8_t*>(a.raw()), n);
  case DType::i16:
    return stats_of(static_cast<const std::int16_t*>(a.raw()), n);
  case DType::u16:
    return stats_of(static_cast<const std::uint16_t*>(a.raw()), n);
  default:
    return stats_of(static_cast<const float*>(a.raw()), n);
  }
}

std::array<std::uint8_t, kHeaderBytes> header_for(const Array& data, const WriteSpec& spec) {
  std::array<std::uint8_t, kHeaderBytes> b{};
  const bool stack = data.ndim() == 3;
  const std::int64_t nx = data.dim(data.ndim() - 1), ny = data.dim(data.ndim() - 2), nz = stack ? data.dim(0) : 1;
  const std::int32_t ispg = stack ? spec.ispg : 0;
  const std::int64_t mz = ispg == 0 ? 1 : nz; // MRC2014: image stacks have MZ = 1
  store_i32(&b[kNx], nx);
  store_i32(&b[kNy], ny);
  store_i32(&b[kNz], nz);
  store_i32(&b[kMode], mode_for(data.dtype()));
  store_i32(&b[kMx], nx);
  store_i32(&b[kMy], ny);
  store_i32(&b[kMz], mz);
  const std::array<std::int64_t, 3> m{nx, ny, mz};
  for (std::size_t i = 0; i < 3; ++i) {
    store_f32(&b[kCellA + 4 * i], spec.voxel_size[i] * static_cast<double>(m[i]));
    store_f32(&b[kCellB + 4 * i], 90.0);
    store_f32(&b[kOrigin + 4 * i], spec.origin[i]);
  }
  store_i32(&b[kMapC], 1);
  store_i32(&b[kMapR], 2);
  store_i32(&b[kMapS], 3);
  const Stats s = stats_of(data);
  store_f32(&b[kDMin], s.min);
  store_f32(&b[kDMax], s.max);
  store_f32(&b[kDMean], s.mean);
  store_f32(&b[kRms], s.rms);
  store_i32(&b[kIspg], ispg);
  store_i32(&b[kNVersion], 20140);
  if (data.dtype() == DType::u8) { // IMOD convention: stamp present, "bytes are signed" flag clear
    store_i32(&b[kImodStampAt], kImodStamp);
    store_i32(&b[kImodFlagsAt], 0);
  }
  std::memcpy(&b[kMap], "MAP ", 4);
  b[kMachst] = 0x44;
  b[kMachst + 1] = 0x44;
  const int labels = static_cast<int>(std::min<std::size_t>(spec.labels.size(), kMaxLabels));
  store_i32(&b[kNLabl], labels);
  for (int i = 0; i < labels; ++i) {
    auto* dst = &b[kLabels + kLabelBytes * std::size_t(i)];
    std::memset(dst, ' ', kLabelBytes);
    const auto& text = spec.labels[std::size_t(i)];
    std::memcpy(dst, text.data(), std::min(text.size(), kLabelBytes));
  }
  return b;
}

} // namespace

std::array<std::uint8_t, kHeaderBytes> make_header(const Array& image, const WriteSpec& spec) {
  check_writable(image, spec, "image");
  return header_for(file_data(image, spec), spec);
}

void write_mrc(const ByteSink& sink, const Array& image, const WriteSpec& spec, std::string_view what) {
  check_writable(image, spec, what);
  const Array data = file_data(image, spec); // no copy for i16/u16/f32 contiguous images
  const auto header = header_for(data, spec);
  sink(header.data(), header.size());
  if constexpr (!kNativeBig) {
    sink(data.raw(), data.nbytes());
  } else { // big-endian host: swap through a bounded buffer
    const std::size_t sample = dtype_size(data.dtype());
    const auto* p = static_cast<const std::uint8_t*>(data.raw());
    std::vector<std::uint8_t> buf(std::size_t{1} << 20);
    for (std::size_t done = 0; done < data.nbytes();) {
      const std::size_t k = std::min(buf.size(), data.nbytes() - done);
      std::memcpy(buf.data(), p + done, k);
      if (sample == 2) swap_in_place(reinterpret_cast<std::uint16_t*>(buf.data()), k / 2);
      if (sample == 4) swap_in_place(reinterpret_cast<std::uint32_t*>(buf.data()), k / 4);
      sink(buf.data(), k);
      done += k;
    }
  }
}

} // namespace lumen::mrc
