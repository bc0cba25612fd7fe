// NumPy .npy reading and writing without a library (see npy_io.hpp for what is supported).
//
// The header dict is parsed by a small strict parser of the Python literal numpy writes, not
// by a general evaluator: it accepts strings, True/False and tuples of integers and nothing
// else. The data size the header implies must equal the bytes after the header exactly, and
// is checked before a byte of pixel memory is allocated.
//
// Example pipeline:
//   - id: in
//     use: npy.read
//     with: {path: arrays/}
#include "npy_io.hpp"

#include "lumen/error.hpp"
#include "lumen/float16.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace lumen::npy {

namespace {

constexpr bool kNativeBig = std::endian::native == std::endian::big;
constexpr unsigned char kMagic[kMagicBytes] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr std::int64_t kMaxDimValue = std::int64_t{1} << 40;

template <typename T> T byteswap(T v) noexcept {
  if constexpr (sizeof(T) == 2) return std::bit_cast<T>(__builtin_bswap16(std::bit_cast<std::uint16_t>(v)));
  if constexpr (sizeof(T) == 4) return std::bit_cast<T>(__builtin_bswap32(std::bit_cast<std::uint32_t>(v)));
  if constexpr (sizeof(T) == 8) return std::bit_cast<T>(__builtin_bswap64(std::bit_cast<std::uint64_t>(v)));
  return v;
}
template <typename T> void swap_in_place(T* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) p[i] = byteswap(p[i]);
}

// The header text as a short, printable excerpt for error messages.
std::string excerpt(std::string_view text) {
  std::string s;
  for (const char c : text.substr(0, 160)) s.push_back(c >= 0x20 && c < 0x7f ? c : (c == '\n' ? ' ' : '?'));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s + (text.size() > 160 ? "..." : "");
}

// A strict parser of the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class DictParser {
public:
  DictParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  void parse(Header& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    expect('{', "the header must be a dict starting with '{'");
    skip_ws();
    while (!peek('}')) {
      const std::string key = string_literal("a key");
      skip_ws();
      expect(':', "':' after the key '" + key + "'");
      skip_ws();
      if (key == "descr") {
        if (have_descr) fail("the key 'descr' appears twice");
        if (peek('[')) fail("structured dtypes (a list as 'descr') are not supported");
        h.descr = string_literal("the 'descr' string");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) fail("the key 'fortran_order' appears twice");
        h.fortran_order = bool_literal();
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) fail("the key 'shape' appears twice");
        h.shape = tuple_literal();
        have_shape = true;
      } else {
        fail("unknown key '" + key + "' (expected only 'descr', 'fortran_order' and 'shape')");
      }
      skip_ws();
      if (peek(',')) {
        ++i_;
        skip_ws();
      } else if (!peek('}')) {
        fail("',' or '}' expected after the value of '" + key + "'");
      }
    }
    ++i_; // '}'
    skip_ws();
    if (i_ != s_.size()) fail("unexpected text after the closing '}'");
    if (!have_descr || !have_order || !have_shape)
      fail(std::string("missing key '") + (!have_descr ? "descr" : !have_order ? "fortran_order" : "shape") + "'");
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(name_ + ": invalid .npy header: " + what + " (at character " + std::to_string(i_) + " of \"" +
                     excerpt(s_) + "\")");
  }
  [[nodiscard]] bool peek(char c) const noexcept { return i_ < s_.size() && s_[i_] == c; }
  void expect(char c, const std::string& what) {
    if (!peek(c)) fail(what);
    ++i_;
  }
  void skip_ws() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  std::string string_literal(const std::string& what) {
    if (!peek('\'') && !peek('"')) fail(what + " must be a quoted string");
    const char quote = s_[i_++];
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] == '\\' || s_[i_] == '\n') fail("escapes and line breaks are not allowed in " + what);
      ++i_;
    }
    if (i_ == s_.size()) fail("unterminated string in " + what);
    return std::string(s_.substr(start, i_++ - start));
  }
  bool bool_literal() {
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    fail("'fortran_order' must be True or False");
  }
  std::int64_t int_literal() {
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') fail("a shape entry must be a non-negative integer");
    std::int64_t v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      v = v * 10 + (s_[i_++] - '0');
      if (v > kMaxDimValue) fail("a shape entry is absurdly large (more than 2^40)");
    }
    if (peek('L')) ++i_; // Python 2 long literal, as old numpy wrote them
    return v;
  }
  std::vector<std::int64_t> tuple_literal() {
    expect('(', "'shape' must be a tuple such as (2, 3)");
    std::vector<std::int64_t> dims;
    bool trailing_comma = false;
    skip_ws();
    while (!peek(')')) {
      if (dims.size() > 32) fail("'shape' has too many entries");
      dims.push_back(int_literal());
      skip_ws();
      trailing_comma = peek(',');
      if (trailing_comma) {
        ++i_;
        skip_ws();
      } else if (!peek(')')) {
        fail("',' or ')' expected in 'shape'");
      }
    }
    ++i_;
    if (dims.size() == 1 && !trailing_comma) fail("'shape' (n) is not a tuple: a one-entry shape is written (n,)");
    return dims;
  }

  std::string_view s_;
  const std::string& name_;
  std::size_t i_ = 0;
};

// Maps the descr to the stored sample and the decoded dtype.
void decode_descr(Header& h, const std::string& name) {
  const std::string& d = h.descr;
  const auto unsupported = [&](const std::string& why) {
    return InputError(name + ": .npy dtype '" + d + "' is not supported" + why +
                      " (npy.read reads bool, int8/16/32/64, uint8/16/32/64, float16/32/64)");
  };
  if (d.size() < 3 || d.size() > 4 || std::string_view("<>|=").find(d[0]) == std::string_view::npos)
    throw unsupported("");
  h.kind = d[1];
  std::size_t size = 0;
  for (std::size_t i = 2; i < d.size(); ++i) {
    if (d[i] < '0' || d[i] > '9') throw unsupported("");
    size = size * 10 + static_cast<std::size_t>(d[i] - '0');
  }
  h.itemsize = size;
  const std::string code = std::string(1, h.kind) + std::to_string(size);
  if (code == "b1" || code == "u1")
    h.dtype = DType::u8;
  else if (code == "i1" || code == "i2")
    h.dtype = DType::i16;
  else if (code == "u2")
    h.dtype = DType::u16;
  else if (code == "i4" || code == "i8")
    h.dtype = DType::i32;
  else if (code == "u4" || code == "u8")
    h.dtype = DType::u32;
  else if (code == "f2" || code == "f4")
    h.dtype = DType::f32;
  else if (code == "f8")
    h.dtype = DType::f64;
  else
    throw unsupported("");
  if (d[0] == '|' && size > 1) throw unsupported(": '|' (no byte order) is only valid for one-byte types");
  h.big_endian = d[0] == '>' || (d[0] == '=' && kNativeBig);
}

// ---- conversions -------------------------------------------------------------------------------

// Reads `count` stored samples of type S starting at `offset` through a bounded buffer and
// stores convert(sample) into dst (a D array). convert may throw (range checks).
template <typename S, typename D, typename F>
void read_converted(const ByteSource& src, std::uint64_t offset, std::size_t count, bool swap, D* dst, F convert) {
  std::vector<S> buf(std::min<std::size_t>(count, (std::size_t{1} << 20) / sizeof(S)));
  for (std::size_t done = 0; done < count;) {
    const std::size_t k = std::min(buf.size(), count - done);
    src.read(offset + done * sizeof(S), buf.data(), k * sizeof(S));
    if (swap) swap_in_place(buf.data(), k);
    for (std::size_t i = 0; i < k; ++i) dst[done + i] = convert(buf[i], done + i);
    done += k;
  }
}

// C-order copy of a Fortran-order array: `src` holds the data as a C array of the reversed
// shape; dst gets shape `shape`. T is an unsigned type of the element size.
template <typename T> void transpose_from_fortran(const T* src, T* dst, const std::vector<std::int64_t>& shape) {
  std::array<std::int64_t, 4> dims{1, 1, 1, 1}, strides{0, 0, 0, 0};
  const std::size_t k = shape.size(), pad = 4 - k;
  // Axis a of the logical array is axis k-1-a of the stored C array, whose stride is the
  // product of the stored dims after it = the product of the logical dims before a.
  std::int64_t acc = 1;
  for (std::size_t a = 0; a < k; ++a) {
    dims[pad + a] = shape[a];
    strides[pad + a] = acc;
    acc *= shape[a];
  }
  for (std::int64_t i0 = 0; i0 < dims[0]; ++i0)
    for (std::int64_t i1 = 0; i1 < dims[1]; ++i1)
      for (std::int64_t i2 = 0; i2 < dims[2]; ++i2) {
        const T* s = src + i0 * strides[0] + i1 * strides[1] + i2 * strides[2];
        for (std::int64_t i3 = 0; i3 < dims[3]; ++i3) *dst++ = s[i3 * strides[3]];
      }
}

} // namespace

// ---- byte sources ------------------------------------------------------------------------------

// ---- header ------------------------------------------------------------------------------------

std::string Header::shape_text() const {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::uint64_t header_size(std::span<const std::uint8_t> p, std::uint64_t file_size, const std::string& name) {
  if (p.size() < kMagicBytes || std::memcmp(p.data(), kMagic, kMagicBytes) != 0)
    throw InputError(name + ": not a .npy file (it does not start with the magic \\x93NUMPY)");
  if (p.size() < 10) throw InputError(name + ": truncated .npy file: it ends inside the format version");
  const int major = p[6], minor = p[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    throw InputError(name + ": unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                     " (npy.read reads 1.0, 2.0 and 3.0)");
  std::uint64_t prelude = 10, text = static_cast<std::uint64_t>(p[8]) | static_cast<std::uint64_t>(p[9]) << 8;
  if (major >= 2) {
    if (p.size() < 12) throw InputError(name + ": truncated .npy file: it ends inside the header length");
    prelude = 12;
    text |= static_cast<std::uint64_t>(p[10]) << 16 | static_cast<std::uint64_t>(p[11]) << 24;
  }
  if (text > kMaxHeaderText)
    throw InputError(name + ": invalid .npy header: its length " + std::to_string(text) + " bytes is absurd (limit " +
                     std::to_string(kMaxHeaderText) + ")");
  if (prelude + text > file_size)
    throw InputError(name + ": truncated .npy file: the header should end at byte " + std::to_string(prelude + text) +
                     " but the file has only " + std::to_string(file_size) + " bytes");
  return prelude + text;
}

Header parse_header(std::span<const std::uint8_t> bytes, std::uint64_t file_size, const std::string& name) {
  const std::uint64_t end = header_size(bytes, file_size, name);
  if (bytes.size() < end) throw InputError(name + ": truncated .npy file: it ends inside the header");
  Header h;
  h.major = bytes[6];
  h.minor = bytes[7];
  h.data_offset = end;
  const std::size_t prelude = h.major == 1 ? 10 : 12;
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + prelude, end - prelude);
  DictParser(text, name).parse(h);
  decode_descr(h, name);

  if (h.shape.size() > 4)
    throw InputError(name + ": .npy array of shape " + h.shape_text() + " has " + std::to_string(h.shape.size()) +
                     " dimensions; Lumen arrays have at most 4");
  std::uint64_t bytes_needed = h.itemsize;
  for (const auto d : h.shape) {
    if (d == 0) throw InputError(name + ": .npy array of shape " + h.shape_text() + " is empty (a zero dimension)");
    if (__builtin_mul_overflow(bytes_needed, static_cast<std::uint64_t>(d), &bytes_needed))
      throw InputError(name + ": .npy shape " + h.shape_text() + " is absurd (its size overflows 64 bits)");
  }
  const std::uint64_t present = file_size - end;
  if (bytes_needed != present)
    throw InputError(name + ": .npy array of shape " + h.shape_text() + " and dtype " + h.descr + " needs " +
                     std::to_string(bytes_needed) + " data bytes, but the file has " + std::to_string(present) +
                     " after its " + std::to_string(end) + "-byte header" +
                     (present < bytes_needed ? " (truncated)" : " (trailing bytes: corrupt)"));
  return h;
}

Header read_header(const ByteSource& src) {
  std::array<std::uint8_t, 12> prefix{};
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(src.size(), prefix.size()));
  src.read(0, prefix.data(), n);
  const std::uint64_t end = header_size(std::span<const std::uint8_t>(prefix.data(), n), src.size(), src.name());
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(end)); // end <= kMaxHeaderText + 12 and <= file size
  src.read(0, bytes.data(), bytes.size());
  return parse_header(bytes, src.size(), src.name());
}

// ---- data --------------------------------------------------------------------------------------

namespace {

// The samples in stored order (C order of the stored shape), decoded into `out`.
void decode_into(const ByteSource& src, const Header& h, Array& out) {
  const auto count = static_cast<std::size_t>(out.size());
  const bool swap = h.big_endian != kNativeBig && h.itemsize > 1;
  const std::uint64_t at = h.data_offset;
  const std::string code = std::string(1, h.kind) + std::to_string(h.itemsize);
  if (code == "i1") {
    read_converted<std::int8_t>(src, at, count, false, static_cast<std::int16_t*>(out.raw()),
                                [](std::int8_t v, std::size_t) { return static_cast<std::int16_t>(v); });
  } else if (code == "f2") {
    read_converted<std::uint16_t>(src, at, count, swap, static_cast<float*>(out.raw()),
                                  [](std::uint16_t v, std::size_t) { return half_to_float(v); });
  } else if (code == "i8") {
    read_converted<std::int64_t>(
        src, at, count, swap, static_cast<std::int32_t*>(out.raw()), [&](std::int64_t v, std::size_t i) {
          if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
            throw InputError(src.name() + ": int64 value " + std::to_string(v) + " at flat index " + std::to_string(i) +
                             " does not fit in int32: npy.read reads int64 arrays only when "
                             "every value fits");
          return static_cast<std::int32_t>(v);
        });
  } else if (code == "u8") {
    read_converted<std::uint64_t>(src, at, count, swap, static_cast<std::uint32_t*>(out.raw()),
                                  [&](std::uint64_t v, std::size_t i) {
                                    if (v > std::numeric_limits<std::uint32_t>::max())
                                      throw InputError(src.name() + ": uint64 value " + std::to_string(v) +
                                                       " at flat index " + std::to_string(i) +
                                                       " does not fit in uint32: npy.read reads uint64 arrays only "
                                                       "when every value fits");
                                    return static_cast<std::uint32_t>(v);
                                  });
  } else { // stored as the array holds it: read straight in, then swap or normalise in place
    src.read(at, out.raw(), out.nbytes());
    if (swap && h.itemsize == 2) swap_in_place(static_cast<std::uint16_t*>(out.raw()), count);
    if (swap && h.itemsize == 4) swap_in_place(static_cast<std::uint32_t*>(out.raw()), count);
    if (swap && h.itemsize == 8) swap_in_place(static_cast<std::uint64_t*>(out.raw()), count);
    if (h.kind == 'b')
      for (auto *p = static_cast<std::uint8_t*>(out.raw()), *e = p + count; p != e; ++p) *p = *p != 0;
  }
}

Shape to_shape(const std::vector<std::int64_t>& dims) {
  Shape s;
  s.ndim = static_cast<int>(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) s.dims[i] = dims[i];
  if (dims.empty()) s = Shape{1}; // 0-d array: one value
  return s;
}

} // namespace

Array read_data(const ByteSource& src, const Header& h) {
  if (!h.fortran_order || h.shape.size() < 2) {
    Array out = Array::uninitialized(h.dtype, to_shape(h.shape));
    decode_into(src, h, out);
    return out;
  }
  // Fortran order: the stored bytes are the C-order array of the reversed shape; decode that,
  // then transpose.
  std::vector<std::int64_t> reversed(h.shape.rbegin(), h.shape.rend());
  Array stored = Array::uninitialized(h.dtype, to_shape(reversed));
  decode_into(src, h, stored);
  Array out = Array::uninitialized(h.dtype, to_shape(h.shape));
  switch (dtype_size(h.dtype)) {
  case 1:
    transpose_from_fortran(static_cast<const std::uint8_t*>(stored.raw()), static_cast<std::uint8_t*>(out.raw()),
                           h.shape);
    break;
  case 2:
    transpose_from_fortran(static_cast<const std::uint16_t*>(stored.raw()), static_cast<std::uint16_t*>(out.raw()),
                           h.shape);
    break;
  case 4:
    transpose_from_fortran(static_cast<const std::uint32_t*>(stored.raw()), static_cast<std::uint32_t*>(out.raw()),
                           h.shape);
    break;
  default:
    transpose_from_fortran(static_cast<const std::uint64_t*>(stored.raw()), static_cast<std::uint64_t*>(out.raw()),
                           h.shape);
    break;
  }
  return out;
}

Array read_frames(const ByteSource& src, const Header& h, std::int64_t begin, std::int64_t end) {
  if (h.shape.size() < 2)
    throw InputError(src.name() + ": shape " + h.shape_text() +
                     " has no frames to read in blocks (needs 2 or more dims)");
  if (h.fortran_order)
    throw InputError(src.name() + ": Fortran-order arrays cannot be read in blocks of frames; save it in C order "
                                  "(np.ascontiguousarray) or read it whole");
  if (begin < 0 || end > h.shape[0] || begin >= end)
    throw InputError(src.name() + ": frames [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") lie outside the " + std::to_string(h.shape[0]) + " frames of shape " + h.shape_text());
  std::uint64_t frame_items = 1;
  for (std::size_t a = 1; a < h.shape.size(); ++a) frame_items *= static_cast<std::uint64_t>(h.shape[a]);
  Header block = h;
  block.shape[0] = end - begin;
  block.data_offset = h.data_offset + static_cast<std::uint64_t>(begin) * frame_items * h.itemsize;
  return read_data(src, block);
}

// ---- writing -----------------------------------------------------------------------------------

std::string descr_of(DType dtype) {
  switch (dtype) {
  case DType::u8:
    return "|u1";
  case DType::u16:
    return "<u2";
  case DType::i16:
    return "<i2";
  case DType::u32:
    return "<u4";
  case DType::i32:
    return "<i4";
  case DType::f32:
    return "<f4";
  case DType::f64:
    return "<f8";
  }
  return "|u1";
}

std::string make_header(const Array& array) {
  return make_header(array.dtype(), array.shape());
}

std::string make_header(DType dtype, const Shape& dims, std::size_t min_size) {
  std::string shape = "(";
  for (int a = 0; a < dims.ndim; ++a) shape += (a ? ", " : "") + std::to_string(dims[a]);
  shape += dims.ndim == 1 ? ",)" : ")";
  std::string dict = "{'descr': '" + descr_of(dtype) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // magic (6) + version (2) + length (2) + dict + padding + '\n' is a multiple of 64.
  const std::size_t unpadded = 10 + dict.size() + 1;
  std::size_t total = unpadded + (64 - unpadded % 64) % 64;
  if (total < min_size) total = (min_size + 63) / 64 * 64;
  dict.append(total - unpadded, ' ');
  dict.push_back('\n');
  std::string out(reinterpret_cast<const char*>(kMagic), kMagicBytes);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict;
}

void write_npy(const ByteSink& sink, const Array& array, std::string_view what) {
  if (array.empty() || array.size() == 0) throw InputError(std::string(what) + ": the array is empty");
  const std::string header = make_header(array);
  sink(header.data(), header.size());
  write_npy_data(sink, array);
}

void write_npy_data(const ByteSink& sink, const Array& array) {
  const Array data = array.contiguous_copy(); // no copy when already contiguous
  const std::size_t sample = dtype_size(data.dtype());
  if (kNativeBig && sample > 1) { // big-endian host: swap through a bounded buffer
    const auto* p = static_cast<const std::uint8_t*>(data.raw());
    std::vector<std::uint8_t> buf(std::size_t{1} << 20);
    for (std::size_t done = 0; done < data.nbytes();) {
      const std::size_t k = std::min(buf.size(), data.nbytes() - done);
      std::memcpy(buf.data(), p + done, k);
      if (sample == 2) swap_in_place(reinterpret_cast<std::uint16_t*>(buf.data()), k / 2);
      if (sample == 4) swap_in_place(reinterpret_cast<std::uint32_t*>(buf.data()), k / 4);
      if (sample == 8) swap_in_place(reinterpret_cast<std::uint64_t*>(buf.data()), k / 8);
      sink(buf.data(), k);
      done += k;
    }
    return;
  }
  sink(data.raw(), data.nbytes());
}

} // namespace lumen::npy
