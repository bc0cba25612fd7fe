// FITS I/O with CFITSIO (rules in fits_io.hpp).
#include "fits_io.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <fitsio.h>
#include <future>
#include <limits>
#include <optional>
#include <set>
#include <unistd.h>
#include <utility>
#include <vector>

namespace lumen::fits {

namespace fs = std::filesystem;

namespace {

fitsfile* handle(void* p) {
  return static_cast<fitsfile*>(p);
}

std::string status_text(int status) {
  char text[FLEN_STATUS] = {};
  fits_get_errstatus(status, text);
  return text;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(' ');
  return std::string(s.substr(b, e - b + 1));
}

// A quoted FITS string starting at s[0] == '\'': returns the text ('' unescaped, trailing
// blanks removed, as the standard says they are not significant) and sets `rest` to what
// follows the closing quote.
std::string unquote(std::string_view s, std::string_view& rest) {
  std::string out;
  std::size_t i = 1;
  for (; i < s.size(); ++i) {
    if (s[i] == '\'') {
      if (i + 1 < s.size() && s[i + 1] == '\'') {
        out += '\'';
        ++i;
        continue;
      }
      break;
    }
    out += s[i];
  }
  rest = i < s.size() ? s.substr(i + 1) : std::string_view{};
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The comment after the value: text after the first '/' of `rest`.
std::string comment_of(std::string_view rest) {
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  return trim(rest.substr(slash + 1));
}

// A card's value text (as CFITSIO's parser returns it) converted to a Meta value.
MetaValue parse_value(const std::string& value) {
  if (value.empty()) return std::string();
  if (value.front() == '\'') {
    std::string_view rest;
    return unquote(value, rest);
  }
  if (value == "T") return true;
  if (value == "F") return false;
  const char* begin = value.c_str();
  char* end = nullptr;
  const bool real = value.find_first_of(".EeDd") != std::string::npos;
  if (!real) {
    errno = 0;
    const long long v = std::strtoll(begin, &end, 10);
    if (end && *end == '\0' && errno == 0) return static_cast<std::int64_t>(v);
  }
  std::string text = value;
  std::replace(text.begin(), text.end(), 'D', 'E');
  std::replace(text.begin(), text.end(), 'd', 'e');
  const double d = std::strtod(text.c_str(), &end);
  if (end && *end == '\0') return d;
  return value; // complex "(1.0, 2.0)" or anything odd: kept as text
}

void append_line(Meta& meta, const std::string& key, const std::string& line) {
  const auto* e = meta.find(key);
  if (e && std::holds_alternative<std::string>(e->value)) {
    meta.set(key, std::get<std::string>(e->value) + "\n" + line, e->comment, e->unit);
  } else {
    meta.set(key, line);
  }
}

DType dtype_for(int equiv_bitpix) {
  switch (equiv_bitpix) {
  case BYTE_IMG:
    return DType::u8;
  case SBYTE_IMG:
  case SHORT_IMG:
    return DType::i16;
  case USHORT_IMG:
    return DType::u16;
  case LONG_IMG:
    return DType::i32;
  case ULONG_IMG:
    return DType::u32;
  case FLOAT_IMG:
    return DType::f32;
  default:
    return DType::f64; // DOUBLE_IMG, LONGLONG_IMG, ULONGLONG_IMG
  }
}

int cfitsio_type(DType t) {
  switch (t) {
  case DType::u8:
    return TBYTE;
  case DType::i16:
    return TSHORT;
  case DType::u16:
    return TUSHORT;
  case DType::i32:
    return TINT;
  case DType::u32:
    return TUINT;
  case DType::f32:
    return TFLOAT;
  case DType::f64:
    return TDOUBLE;
  }
  return TDOUBLE;
}

int bitpix_for(DType t) {
  switch (t) {
  case DType::u8:
    return BYTE_IMG;
  case DType::i16:
    return SHORT_IMG;
  case DType::u16:
    return USHORT_IMG;
  case DType::i32:
    return LONG_IMG;
  case DType::u32:
    return ULONG_IMG;
  case DType::f32:
    return FLOAT_IMG;
  case DType::f64:
    return DOUBLE_IMG;
  }
  return DOUBLE_IMG;
}

} // namespace

// ---- selection --------------------------------------------------------------------------------

HduSelector parse_hdu_selector(std::string_view text) {
  const std::string t = trim(text);
  HduSelector s;
  if (t.empty() || upper(t) == "AUTO") return s;
  if (std::all_of(t.begin(), t.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    int n = 0;
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (ec != std::errc() || p != t.data() + t.size()) throw Error("hdu '" + t + "': HDU number out of range");
    s.kind = HduSelector::Kind::number;
    s.number = n;
    return s;
  }
  std::string name = t;
  if (const auto comma = t.find(','); comma != std::string::npos) {
    name = trim(t.substr(0, comma));
    const std::string ver = trim(t.substr(comma + 1));
    int v = 0;
    const auto [p, ec] = std::from_chars(ver.data(), ver.data() + ver.size(), v);
    if (ver.empty() || ec != std::errc() || p != ver.data() + ver.size() || v < 1)
      throw Error("hdu '" + t + "': EXTVER after the comma must be a positive integer, as in SCI,2");
    s.extver = v;
  }
  const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ' ';
  });
  if (!ok)
    throw Error("hdu '" + t +
                "': expected empty or auto, an HDU number (0 = primary), an EXTNAME (SCI) or EXTNAME,EXTVER (SCI,2)");
  s.kind = HduSelector::Kind::name;
  s.extname = upper(name);
  return s;
}

bool HduInfo::has_data() const noexcept {
  return image && !naxes.empty() && std::all_of(naxes.begin(), naxes.end(), [](long long n) { return n > 0; });
}

std::string HduInfo::describe() const {
  std::string d = std::to_string(number) + " ";
  if (!extname.empty())
    d += extname + "," + std::to_string(extver);
  else
    d += number == 0 ? "PRIMARY" : "(no EXTNAME)";
  if (!image) return d + " (not an image)";
  if (!has_data()) return d + " (no data)";
  d += " image ";
  for (std::size_t i = naxes.size(); i-- > 0;) d += std::to_string(naxes[i]) + (i ? "x" : "");
  return d + " BITPIX " + std::to_string(bitpix);
}

// ---- FitsFile ------------------------------------------------------------------------------------

FitsFile::FitsFile(const fs::path& path) : path_(path) {
  std::error_code ec;
  file_size_ = fs::file_size(path, ec);
  if (ec) throw InputError(path.string() + ": cannot open: " + ec.message());
  if (file_size_ < 2880)
    throw InputError(path.string() + ": not a FITS file or truncated: " + std::to_string(file_size_) +
                     " bytes, a FITS file holds at least one 2880-byte header block");
  int status = 0;
  fitsfile* f = nullptr;
  // fits_open_diskfile: the name is taken literally (no extended filename syntax).
  if (fits_open_diskfile(&f, path.c_str(), READONLY, &status)) {
    if (f) {
      int ignore = 0;
      fits_close_file(f, &ignore);
    }
    throw InputError(path.string() + ": not a readable FITS file (CFITSIO: " + status_text(status) + ")");
  }
  fptr_ = f;
  // A constructor that throws runs no destructor: close the file on the way out.
  try {
    list_hdus();
  } catch (...) {
    int ignore = 0;
    fits_close_file(f, &ignore);
    fptr_ = nullptr;
    throw;
  }
}

void FitsFile::list_hdus() {
  fitsfile* f = handle(fptr_);
  int status = 0;
  // List every HDU; a header that cannot be parsed fails the whole file.
  for (int n = 0;; ++n) {
    int type = 0;
    if (fits_movabs_hdu(f, n + 1, &type, &status)) {
      if (status == END_OF_FILE && n > 0) break;
      const int s = status;
      fail(s, "reading the header of HDU " + std::to_string(n));
    }
    HduInfo info;
    info.number = n;
    info.image = type == IMAGE_HDU;
    char value[FLEN_VALUE] = {};
    int ks = 0;
    if (fits_read_key(f, TSTRING, "EXTNAME", value, nullptr, &ks) == 0) info.extname = upper(trim(value));
    ks = 0;
    int extver = 1;
    if (fits_read_key(f, TINT, "EXTVER", &extver, nullptr, &ks) == 0) info.extver = extver;
    if (info.image) {
      int naxis = 0;
      if (fits_get_img_dim(f, &naxis, &status)) fail(status, "reading NAXIS of HDU " + std::to_string(n));
      if (naxis < 0 || naxis > 999) fail(BAD_NAXIS, "HDU " + std::to_string(n));
      info.naxes.resize(static_cast<std::size_t>(naxis));
      int bitpix = 0, got = 0;
      if (naxis > 0 && fits_get_img_paramll(f, naxis, &bitpix, &got, info.naxes.data(), &status))
        fail(status, "reading the image size of HDU " + std::to_string(n));
      if (naxis == 0 && fits_get_img_type(f, &bitpix, &status))
        fail(status, "reading BITPIX of HDU " + std::to_string(n));
      info.bitpix = bitpix;
      for (long long a : info.naxes)
        if (a < 0) fail(BAD_NAXES, "HDU " + std::to_string(n));
    }
    hdus_.push_back(std::move(info));
  }
}

FitsFile::~FitsFile() {
  if (fptr_) {
    int status = 0;
    fits_close_file(handle(fptr_), &status);
  }
}

void FitsFile::fail(int status, std::string_view doing) const {
  throw InputError(path_.string() + ": corrupt or truncated FITS file: " + std::string(doing) +
                   " failed (CFITSIO: " + status_text(status) + ")");
}

void FitsFile::move_to(int number) {
  int status = 0, type = 0;
  if (fits_movabs_hdu(handle(fptr_), number + 1, &type, &status))
    fail(status, "moving to HDU " + std::to_string(number));
}

std::string FitsFile::hdu_list() const {
  std::string s = "HDUs in the file: ";
  for (std::size_t i = 0; i < hdus_.size(); ++i) s += (i ? ", " : "") + hdus_[i].describe();
  return s;
}

std::vector<int> FitsFile::select(const HduSelector& sel, bool& multiple) const {
  multiple = false;
  const auto no_data = [&](const HduInfo& h) {
    return InputError(path_.string() + ": HDU " + h.describe() + " holds no image data (" + hdu_list() + ")");
  };
  switch (sel.kind) {
  case HduSelector::Kind::automatic: {
    if (hdus_.front().has_data()) return {0};
    std::vector<int> sci;
    for (const auto& h : hdus_)
      if (h.number > 0 && h.extname == "SCI" && h.has_data()) sci.push_back(h.number);
    if (!sci.empty()) {
      multiple = true;
      return sci;
    }
    for (const auto& h : hdus_)
      if (h.number > 0 && h.has_data()) return {h.number};
    throw InputError(path_.string() + ": no HDU holds image data (" + hdu_list() + ")");
  }
  case HduSelector::Kind::number: {
    if (sel.number >= static_cast<int>(hdus_.size()))
      throw InputError(path_.string() + ": HDU " + std::to_string(sel.number) + " does not exist (" + hdu_list() + ")");
    const auto& h = hdus_[static_cast<std::size_t>(sel.number)];
    if (!h.has_data()) throw no_data(h);
    return {h.number};
  }
  case HduSelector::Kind::name: {
    std::vector<int> found;
    for (const auto& h : hdus_) {
      if (h.extname != sel.extname || (sel.extver > 0 && h.extver != sel.extver)) continue;
      if (!h.has_data()) throw no_data(h);
      found.push_back(h.number);
    }
    if (found.empty())
      throw InputError(path_.string() + ": no HDU with EXTNAME " + sel.extname +
                       (sel.extver > 0 ? " and EXTVER " + std::to_string(sel.extver) : std::string()) + " (" +
                       hdu_list() + ")");
    multiple = sel.extver == 0;
    return found;
  }
  }
  return {};
}

namespace {

// A tile-compressed image (the FITS tiled-image convention) is stored as a binary table whose
// header describes the table; the image's own structural cards are kept under Z names. The meta
// of the image is that header seen as the image: Z cards back under their image names, the
// table's own cards dropped, the codec recorded as fits_compression.
void compressed_to_image_header(Meta& meta) {
  static constexpr std::pair<const char*, const char*> renames[] = {
      {"ZTENSION", "XTENSION"}, {"ZBITPIX", "BITPIX"}, {"ZNAXIS", "NAXIS"},  {"ZPCOUNT", "PCOUNT"},
      {"ZGCOUNT", "GCOUNT"},    {"ZSIMPLE", "SIMPLE"}, {"ZEXTEND", "EXTEND"}};
  if (const auto type = meta.get_string("ZCMPTYPE"))
    meta.set("fits_compression", trim(*type), "tile compression of the HDU in the source file");
  // The image was an IMAGE extension unless ZSIMPLE says it was the primary array; CFITSIO
  // omits ZTENSION for the usual case.
  const bool was_primary = meta.has("ZSIMPLE");
  Meta out;
  for (const auto& e : meta.entries()) {
    std::string key = e.key;
    if (key == "XTENSION") {
      if (!was_primary) out.set(key, std::string("IMAGE"), "compressed image extension, shown as the image");
      continue;
    }
    for (const auto& [from, to] : renames)
      if (key == from) key = to;
    if (key.rfind("ZNAXIS", 0) == 0 && key.size() > 6) key = "NAXIS" + key.substr(6);
    const bool table_card = key == "TFIELDS" || key == "THEAP" || key == "ZIMAGE" || key == "ZCMPTYPE" ||
                            key == "ZQUANTIZ" || key == "ZDITHER0" || key == "ZMASKCMP" || key == "ZBLOCKED" ||
                            key == "ZHECKSUM" || key == "ZDATASUM" ||
                            (key == "EXTNAME" && std::holds_alternative<std::string>(e.value) &&
                             trim(std::get<std::string>(e.value)) == "COMPRESSED_IMAGE");
    const auto numbered = [&](std::string_view prefix) {
      return key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
             std::isdigit(static_cast<unsigned char>(key[prefix.size()]));
    };
    if (table_card || numbered("TTYPE") || numbered("TFORM") || numbered("TUNIT") || numbered("TDIM") ||
        numbered("TNULL") || numbered("TSCAL") || numbered("TZERO") || numbered("ZTILE") || numbered("ZNAME") ||
        numbered("ZVAL"))
      continue;
    // The table's NAXISn/BITPIX/... come before their Z twins: the twins overwrite them in place.
    out.set(key, e.value, e.comment, e.unit);
  }
  meta = std::move(out);
}

} // namespace

void FitsFile::read_cards(Meta& meta) {
  fitsfile* f = handle(fptr_);
  int status = 0, nkeys = 0, more = 0;
  if (fits_get_hdrspace(f, &nkeys, &more, &status)) fail(status, "reading the header size");
  std::string last_key; // the key a CONTINUE card extends
  for (int i = 1; i <= nkeys; ++i) {
    char card[FLEN_CARD] = {};
    if (fits_read_record(f, i, card, &status)) fail(status, "reading header card " + std::to_string(i));
    const std::string_view c(card);
    const std::string name = trim(c.substr(0, std::min<std::size_t>(8, c.size())));
    const bool has_value = c.size() >= 10 && c.substr(8, 2) == "= ";
    if (name == "HISTORY" || name == "COMMENT" || (name.empty() && !has_value)) {
      const std::string text = c.size() > 8 ? std::string(c.substr(8)) : std::string();
      std::string line = text;
      while (!line.empty() && line.back() == ' ') line.pop_back();
      if (name.empty() && trim(line).empty()) continue; // a blank separator card
      append_line(meta, name.empty() ? "COMMENT" : name, line);
      continue;
    }
    if (name == "CONTINUE") {
      // Long-string convention: the previous string ended with '&'; this card holds the rest.
      const auto* prev = last_key.empty() ? nullptr : meta.find(last_key);
      const std::string body = c.size() > 8 ? trim(c.substr(8)) : std::string();
      if (prev && std::holds_alternative<std::string>(prev->value) && !body.empty() && body.front() == '\'') {
        std::string s = std::get<std::string>(prev->value);
        if (!s.empty() && s.back() == '&') s.pop_back();
        std::string_view rest;
        s += unquote(body, rest);
        const std::string extra = comment_of(rest);
        const std::string comment = extra.empty()           ? prev->comment
                                    : prev->comment.empty() ? extra
                                                            : prev->comment + " " + extra;
        meta.set(last_key, s, comment, prev->unit);
      }
      continue;
    }
    char keyname[FLEN_KEYWORD] = {}, value[FLEN_VALUE] = {}, comment[FLEN_COMMENT] = {};
    int len = 0;
    if (fits_get_keyname(card, keyname, &len, &status)) fail(status, "parsing header card " + std::to_string(i));
    if (fits_parse_value(card, value, comment, &status)) fail(status, "parsing the value of " + std::string(keyname));
    std::string key = keyname;
    // CFITSIO returns HIERARCH keys without the prefix; keep it so that the writer knows.
    if (c.substr(0, 9) == "HIERARCH " && key.rfind("HIERARCH", 0) != 0) key = "HIERARCH " + key;
    meta.set(key, parse_value(value), trim(comment));
    last_key = key;
  }
  if (fits_is_compressed_image(f, &status)) compressed_to_image_header(meta);
}

Meta FitsFile::header(int number) {
  Meta meta;
  if (number > 0) {
    if (!primary_header_) {
      primary_header_ = std::make_unique<Meta>();
      move_to(0);
      read_cards(*primary_header_);
    }
    for (const auto& e : primary_header_->entries()) meta.set(e.key, e.value, e.comment, e.unit);
    // Commentary accumulates across the two headers; every other extension card wins.
    Meta ext;
    move_to(number);
    read_cards(ext);
    for (const auto& e : ext.entries()) {
      if ((e.key == "HISTORY" || e.key == "COMMENT") && meta.has(e.key))
        append_line(meta, e.key, std::get<std::string>(e.value));
      else
        meta.set(e.key, e.value, e.comment, e.unit);
    }
    return meta;
  }
  move_to(0);
  read_cards(meta);
  return meta;
}

namespace {

// ---- direct reads of uncompressed data units ----------------------------------------------------
//
// CFITSIO reads an image through its 2880-byte block buffers and converts on one thread. For an
// uncompressed image whose conversion is a plain byte swap (plus the exact unsigned offsets and
// the float BSCALE/BZERO that CFITSIO applies as (T)(x * scale + zero)), the data unit is read
// here with pread straight into the array, in 1 MiB pieces converted right after they arrive
// (while they are in cache), the array's contiguous parts shared over the pool. The values are
// the ones fits_read_img gives, bit for bit (tests compare the two paths).

enum class Convert { copy, swap16, swap16_u16, swap32, swap32_u32, swap32_f32_scaled, swap64, swap64_f64_scaled };

struct RawPlan {
  Convert convert = Convert::copy;
  int bytes = 1; // per element
  double scale = 1, zero = 0;
};

// The direct plan for an uncompressed HDU, or nothing when CFITSIO must convert (scaled
// integers, BITPIX 64, signed bytes, ...).
std::optional<RawPlan> raw_plan(int bitpix, DType dtype, double scale, double zero) {
  if constexpr (std::endian::native != std::endian::little) return std::nullopt; // the swaps assume it
  RawPlan p;
  p.bytes = std::abs(bitpix) / 8;
  p.scale = scale;
  p.zero = zero;
  const bool unscaled = scale == 1.0 && zero == 0.0;
  switch (bitpix) {
  case BYTE_IMG:
    if (unscaled && dtype == DType::u8) return p;
    break;
  case SHORT_IMG:
    if (scale == 1.0 && zero == 0.0 && dtype == DType::i16) return p.convert = Convert::swap16, p;
    if (scale == 1.0 && zero == 32768.0 && dtype == DType::u16) return p.convert = Convert::swap16_u16, p;
    break;
  case LONG_IMG:
    if (scale == 1.0 && zero == 0.0 && dtype == DType::i32) return p.convert = Convert::swap32, p;
    if (scale == 1.0 && zero == 2147483648.0 && dtype == DType::u32) return p.convert = Convert::swap32_u32, p;
    break;
  case FLOAT_IMG:
    if (dtype == DType::f32) return p.convert = unscaled ? Convert::swap32 : Convert::swap32_f32_scaled, p;
    break;
  case DOUBLE_IMG:
    if (dtype == DType::f64) return p.convert = unscaled ? Convert::swap64 : Convert::swap64_f64_scaled, p;
    break;
  default:
    break;
  }
  return std::nullopt;
}

// Big-endian FITS values of `n` elements at `data` to native ones, in place (the same results as
// CFITSIO's ffswap* followed by its fffi2u2/fffi4u4/fffr4r4/fffr8r8 conversions).
void convert_in_place(void* data, std::size_t n, const RawPlan& p) noexcept {
  switch (p.convert) {
  case Convert::copy:
    return;
  case Convert::swap16:
  case Convert::swap16_u16: {
    auto* v = static_cast<std::uint16_t*>(data);
    const std::uint16_t flip = p.convert == Convert::swap16_u16 ? 0x8000 : 0;
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint16_t>(__builtin_bswap16(v[i]) ^ flip);
    return;
  }
  case Convert::swap32:
  case Convert::swap32_u32: {
    auto* v = static_cast<std::uint32_t*>(data);
    const std::uint32_t flip = p.convert == Convert::swap32_u32 ? 0x80000000u : 0;
    for (std::size_t i = 0; i < n; ++i) v[i] = __builtin_bswap32(v[i]) ^ flip;
    return;
  }
  case Convert::swap32_f32_scaled: {
    auto* v = static_cast<std::uint32_t*>(data);
    auto* f = static_cast<float*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t bits = __builtin_bswap32(v[i]);
      float x = 0;
      std::memcpy(&x, &bits, sizeof x);
      f[i] = static_cast<float>(static_cast<double>(x) * p.scale + p.zero);
    }
    return;
  }
  case Convert::swap64:
  case Convert::swap64_f64_scaled: {
    auto* v = static_cast<std::uint64_t*>(data);
    for (std::size_t i = 0; i < n; ++i) v[i] = __builtin_bswap64(v[i]);
    if (p.convert == Convert::swap64_f64_scaled) {
      auto* d = static_cast<double*>(data);
      for (std::size_t i = 0; i < n; ++i) d[i] = d[i] * p.scale + p.zero;
    }
    return;
  }
  }
}

struct Fd {
  int fd = -1;
  explicit Fd(const fs::path& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// Reads elements [first, last) of the data unit at `offset` into dst and converts them.
void read_part(int fd, const fs::path& path, long long offset, char* dst, std::size_t first, std::size_t last,
               const RawPlan& p) {
  constexpr std::size_t kPiece = std::size_t{1} << 20; // bytes per pread: converted while in cache
  const std::size_t per_piece = std::max<std::size_t>(1, kPiece / static_cast<std::size_t>(p.bytes));
  for (std::size_t e0 = first; e0 < last; e0 += per_piece) {
    const std::size_t e1 = std::min(last, e0 + per_piece);
    char* out = dst + e0 * static_cast<std::size_t>(p.bytes);
    std::size_t want = (e1 - e0) * static_cast<std::size_t>(p.bytes), got = 0;
    auto at = static_cast<off_t>(offset + static_cast<long long>(e0) * p.bytes);
    while (got < want) {
      const ssize_t r = ::pread(fd, out + got, want - got, at + static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw InputError(path.string() + ": reading the pixels failed: " + std::strerror(errno));
      if (r == 0)
        throw InputError(path.string() + ": truncated FITS file: the data ended " +
                         std::to_string(static_cast<long long>(at) + static_cast<long long>(got)) +
                         " bytes into the file while reading the pixels");
      got += static_cast<std::size_t>(r);
    }
    convert_in_place(out, e1 - e0, p);
  }
}

// The whole data unit of `count` elements, its contiguous parts shared over `pool` and the
// calling thread (one part when small or without a pool). Returns when every part is done;
// rethrows the first error.
void read_raw(const fs::path& path, long long offset, void* dst, std::size_t count, const RawPlan& p,
              ThreadPool* pool) {
  const Fd file(path);
  if (file.fd < 0) throw InputError(path.string() + ": cannot open for reading: " + std::strerror(errno));
  auto* base = static_cast<char*>(dst);
  constexpr std::size_t kMinPartBytes = std::size_t{4} << 20; // below this one thread reads it all
  const auto min_part =
      static_cast<std::int64_t>(std::max<std::size_t>(1, kMinPartBytes / static_cast<std::size_t>(p.bytes)));
  parallel_ranges(
      pool, static_cast<std::int64_t>(count),
      [&](std::int64_t a, std::int64_t b) {
        read_part(file.fd, path, offset, base, static_cast<std::size_t>(a), static_cast<std::size_t>(b), p);
      },
      min_part);
}

// BSCALE / BZERO of the current HDU (1 and 0 when absent); nothing when a card cannot be read
// as a number (CFITSIO then decides).
std::optional<std::pair<double, double>> scaling(fitsfile* f) {
  double v[2] = {1.0, 0.0};
  const char* keys[2] = {"BSCALE", "BZERO"};
  for (int i = 0; i < 2; ++i) {
    int status = 0;
    double x = 0;
    if (fits_read_key_dbl(f, keys[i], &x, nullptr, &status) == 0)
      v[i] = x;
    else if (status != KEY_NO_EXIST)
      return std::nullopt;
  }
  return std::make_pair(v[0], v[1]);
}

} // namespace

Array FitsFile::pixels(int number, ThreadPool* pool, bool direct) {
  const HduInfo& info = hdus_.at(static_cast<std::size_t>(number));
  if (!info.has_data()) throw InputError(path_.string() + ": HDU " + info.describe() + " holds no image data");
  move_to(number);
  fitsfile* f = handle(fptr_);
  int status = 0;

  // Shape in C order; refuse what Lumen cannot hold before touching the data.
  std::vector<long long> dims(info.naxes.rbegin(), info.naxes.rend()); // slowest axis first
  while (dims.size() > 2 && dims.front() == 1) dims.erase(dims.begin());
  if (dims.size() == 1) dims.insert(dims.begin(), 1);
  if (dims.size() > static_cast<std::size_t>(kMaxDims))
    throw InputError(path_.string() + ": HDU " + info.describe() + " has " + std::to_string(info.naxes.size()) +
                     " axes; Lumen arrays hold at most 4");
  long long count = 1;
  for (long long d : dims) {
    if (d > std::numeric_limits<long long>::max() / count)
      throw InputError(path_.string() + ": HDU " + info.describe() + ": image size overflows");
    count *= d;
  }
  // The data must lie inside the file: never allocate for a header that lies.
  const long long bytes_per = std::abs(info.bitpix) / 8;
  LONGLONG head = 0, data_start = 0, data_end = 0;
  if (fits_get_hduaddrll(f, &head, &data_start, &data_end, &status)) fail(status, "locating the data");
  const int compressed = fits_is_compressed_image(f, &status);
  if (bytes_per == 0 || count > (std::numeric_limits<long long>::max() - data_start) / bytes_per)
    throw InputError(path_.string() + ": HDU " + info.describe() + ": image size overflows");
  if (!compressed && static_cast<std::uintmax_t>(data_start + count * bytes_per) > file_size_)
    throw InputError(path_.string() + ": truncated FITS file: HDU " + info.describe() + " needs " +
                     std::to_string(count * bytes_per) + " data bytes from offset " + std::to_string(data_start) +
                     " but the file has " + std::to_string(file_size_) + " bytes");
  // A tile-compressed image stores its pixels in a binary table: the table must lie inside
  // the file (checked below), and the image it claims must be plausible for the bytes stored
  // (no codec here packs more than ~1000:1 on real data; flat images up to 256 MiB pass).
  if (compressed && count * bytes_per > std::max<long long>((data_end - data_start) * 1024, 256LL << 20))
    throw InputError(path_.string() + ": corrupt FITS file: tile-compressed HDU " + info.describe() + " claims " +
                     std::to_string(count * bytes_per) + " image bytes but stores only " +
                     std::to_string(data_end - data_start));
  // FITS pads every HDU to whole 2880-byte blocks; a file that ends inside the padding was cut
  // short (the pixels may be complete, but the file is not what was written).
  if (static_cast<std::uintmax_t>(data_end) > file_size_)
    throw InputError(path_.string() + ": truncated FITS file: HDU " + info.describe() + " ends at byte " +
                     std::to_string(data_end) + " (padded to 2880-byte blocks) but the file has " +
                     std::to_string(file_size_) + " bytes");

  int equiv = 0;
  if (fits_get_img_equivtype(f, &equiv, &status)) fail(status, "reading the pixel type");
  const DType dtype = dtype_for(equiv);
  Shape shape;
  shape.ndim = static_cast<int>(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) shape.dims[i] = dims[i];
  Array out = Array::uninitialized(dtype, shape);

  void* data = out.raw();
  if (direct && !compressed)
    if (const auto sc = scaling(f))
      if (const auto plan = raw_plan(info.bitpix, dtype, sc->first, sc->second)) {
        read_raw(path_, data_start, data, static_cast<std::size_t>(count), *plan, pool);
        return out;
      }

  // Straight into the array's buffer: CFITSIO converts (byte order, BZERO/BSCALE) in place.
  int anynul = 0;
  if (dtype == DType::f32 && info.bitpix > 0) {
    float nan = std::numeric_limits<float>::quiet_NaN();
    fits_read_img(f, TFLOAT, 1, count, &nan, data, &anynul, &status);
  } else if (dtype == DType::f64 && info.bitpix > 0) {
    double nan = std::numeric_limits<double>::quiet_NaN();
    fits_read_img(f, TDOUBLE, 1, count, &nan, data, &anynul, &status);
  } else {
    fits_read_img(f, cfitsio_type(dtype), 1, count, nullptr, data, &anynul, &status);
  }
  if (status) fail(status, "reading the pixels of HDU " + info.describe());
  return out;
}

bool FitsFile::reads_directly(int number) {
  const HduInfo& info = hdus_.at(static_cast<std::size_t>(number));
  if (!info.has_data()) return false;
  move_to(number);
  fitsfile* f = handle(fptr_);
  int status = 0, equiv = 0;
  if (fits_is_compressed_image(f, &status) || status) return false;
  if (fits_get_img_equivtype(f, &equiv, &status)) return false;
  const auto sc = scaling(f);
  return sc && raw_plan(info.bitpix, dtype_for(equiv), sc->first, sc->second).has_value();
}

// ---- physics -------------------------------------------------------------------------------------

void physics_from_header(Meta& meta) {
  std::string units = "adu", why = "no BUNIT card: raw counts assumed";
  if (const auto b = meta.get_string("BUNIT")) {
    std::string u = upper(trim(*b));
    std::string rate;
    for (const char* suffix : {"/S", "/SEC", " S-1", " S**-1", "/SECOND"}) {
      const std::string_view sv(suffix);
      if (u.size() > sv.size() && u.compare(u.size() - sv.size(), sv.size(), sv) == 0) {
        u = trim(u.substr(0, u.size() - sv.size()));
        rate = "/s";
        break;
      }
    }
    std::string base;
    if (u == "ADU" || u == "DN" || u == "ADUS")
      base = "adu";
    else if (u == "COUNT" || u == "COUNTS" || u == "CTS")
      base = "counts";
    else if (u == "ELECTRON" || u == "ELECTRONS" || u == "E-" || u == "E")
      base = "electrons";
    else if (u == "PHOTON" || u == "PHOTONS" || u == "PH")
      base = "photons";
    units = base.empty() ? trim(*b) : base + rate;
    why = "from BUNIT '" + trim(*b) + "'";
  }
  meta.set(keys::units, units, why);
  meta.set(keys::domain, "astronomy");

  for (const char* k : {"GAIN", "CCDGAIN", "EGAIN"})
    if (const auto g = meta.positive_number(k)) {
      meta.set(keys::gain, *g, std::string("from ") + k, "e-/ADU");
      break;
    }
  for (const char* k : {"RDNOISE", "READNOIS", "RON"})
    if (const auto r = meta.positive_number(k)) {
      meta.set(keys::read_noise, *r, std::string("from ") + k, "e-");
      return;
    }
  // Per-amplifier read noise (HST ACS/WFC3: READNSEA..D): the mean over the amplifiers used.
  std::string amps = "ABCD", source = "mean of READNSE";
  if (const auto a = meta.get_string("CCDAMP")) {
    const std::string t = upper(trim(*a));
    if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= 'A' && c <= 'D'; })) amps = t;
  }
  double sum = 0;
  int n = 0;
  std::string used;
  for (char amp : amps)
    if (const auto r = meta.positive_number(std::string("READNSE") + amp)) {
      sum += *r;
      ++n;
      used += amp;
    }
  if (n > 0) meta.set(keys::read_noise, sum / n, source + "[" + used + "]", "e-");
}

// ---- writing -------------------------------------------------------------------------------------

bool is_structural_key(std::string_view key) {
  static const std::set<std::string, std::less<>> exact = {
      "SIMPLE", "BITPIX",   "NAXIS",   "EXTEND",   "BZERO",   "BSCALE", "XTENSION", "PCOUNT",
      "GCOUNT", "CHECKSUM", "DATASUM", "LONGSTRN", "INHERIT", "END",    "ZHECKSUM", "ZDATASUM"};
  if (exact.count(key)) return true;
  if (key.size() > 5 && key.substr(0, 5) == "NAXIS" &&
      std::all_of(key.begin() + 5, key.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return true;
  return false;
}

namespace {

bool valid_keyword(std::string_view k) {
  return !k.empty() && k.size() <= 8 && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}
bool hierarch_keyword(std::string_view k) {
  if (k.rfind("HIERARCH ", 0) == 0) k.remove_prefix(9);
  return !k.empty() && k.size() <= 60 && k.front() != ' ' && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ' ' || c == '.';
  });
}
bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}
std::string printable_only(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c < 0x20 || c > 0x7e) c = ' ';
  return out;
}

std::string bunit_for(std::string_view units) {
  std::string u(units), rate;
  if (u.size() > 2 && u.compare(u.size() - 2, 2, "/s") == 0) {
    u.resize(u.size() - 2);
    rate = "/S";
  }
  return upper(u) + rate;
}

class Writer {
public:
  Writer(fitsfile* f, WriteReport& report) : f_(f), report_(report) {}

  void card(const std::string& key, const MetaValue& value, const std::string& comment_in) {
    const std::string comment = printable_only(comment_in);
    std::string name = key;
    if (name.rfind("HIERARCH ", 0) == 0) name = name.substr(9);
    int status = 0;
    if (const auto* b = std::get_if<bool>(&value)) {
      fits_write_key_log(f_, name.c_str(), *b ? 1 : 0, comment.c_str(), &status);
    } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
      fits_write_key_lng(f_, name.c_str(), static_cast<LONGLONG>(*i), comment.c_str(), &status);
    } else if (const auto* d = std::get_if<double>(&value)) {
      if (!std::isfinite(*d)) return skip(key, "a non-finite number cannot be written to FITS");
      // The shortest text that reads back as the same double, with a '.' or an exponent so
      // that it stays a real.
      char text[40] = {};
      auto [end, ec] = std::to_chars(text, text + sizeof text - 3, *d);
      std::string v(text, end);
      for (char& c : v)
        if (c == 'e') c = 'E';
      if (v.find_first_of(".E") == std::string::npos) v += ".0";
      char rec[FLEN_CARD] = {};
      fits_make_key(const_cast<char*>(name.c_str()), v.data(), const_cast<char*>(comment.c_str()), rec, &status);
      if (!status) fits_write_record(f_, rec, &status);
    } else if (const auto* s = std::get_if<std::string>(&value)) {
      if (!printable(*s)) return skip(key, "the string holds non-ASCII or control characters");
      if (s->size() > 68 && !longwarn_) {
        // The LONGSTRN card alone (fits_write_key_longwarn would add four COMMENT cards).
        fits_write_key_str(f_, "LONGSTRN", "OGIP 1.0", "The HEASARC Long String Convention may be used.", &status);
        longwarn_ = true;
      }
      fits_write_key_longstr(f_, name.c_str(), s->c_str(), comment.c_str(), &status);
    } else {
      return skip(key, "lists have no FITS card form");
    }
    if (status) {
      char err[FLEN_STATUS] = {};
      fits_get_errstatus(status, err);
      skip(key, std::string("CFITSIO refused the card: ") + err);
    }
  }

  void commentary(const std::string& key, const std::string& text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      const auto nl = text.find('\n', start);
      const std::string line =
          printable_only(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
      // One card per line, text in columns 9-80 exactly as read (fits_write_history would
      // re-wrap lines at 70 characters); longer lines continue on further cards.
      std::size_t pos = 0;
      do {
        std::string rec = key;
        rec.resize(8, ' ');
        rec += line.substr(pos, 72);
        int status = 0;
        if (fits_write_record(f_, rec.c_str(), &status)) skip(key, "CFITSIO refused a line");
        pos += 72;
      } while (pos < line.size());
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }

  void skip(const std::string& key, const std::string& why) { report_.skipped.push_back(key + ": " + why); }

private:
  fitsfile* f_;
  WriteReport& report_;
  bool longwarn_ = false;
};

} // namespace

WriteReport write_fits(const fs::path& file, const Array& image_in, const Meta& meta, const WriteOptions& options) {
  if (image_in.empty()) throw InputError(file.string() + ": no image to write");
  if (image_in.ndim() < 1 || image_in.ndim() > 4)
    throw InputError(file.string() + ": cannot write an image of " + std::to_string(image_in.ndim()) + " axes");
  if (image_in.size() == 0) throw InputError(file.string() + ": cannot write an empty image " + image_in.shape().str());
  const Array image = image_in.contiguous_copy(); // a no-op for the usual contiguous array
  const DType dtype = image.dtype();
  const bool float_data = dtype == DType::f32 || dtype == DType::f64;

  WriteReport report;
  int status = 0;
  fitsfile* f = nullptr;
  if (fits_create_diskfile(&f, file.c_str(), &status))
    throw Error(file.string() + ": cannot create FITS file (CFITSIO: " + status_text(status) + ")");
  struct Closer {
    fitsfile* f;
    ~Closer() {
      int s = 0;
      if (f) fits_close_file(f, &s);
    }
  } closer{f};
  const auto check = [&](std::string_view doing) {
    if (status)
      throw Error(file.string() + ": " + std::string(doing) + " failed (CFITSIO: " + status_text(status) + ")");
  };

  std::vector<LONGLONG> naxes;
  for (int a = image.ndim() - 1; a >= 0; --a) naxes.push_back(image.dim(a));
  fits_create_imgll(f, bitpix_for(dtype), static_cast<int>(naxes.size()), naxes.data(), &status);
  check("creating the image HDU");
  // CFITSIO adds two COMMENT cards citing the FITS paper; drop them so that COMMENT holds
  // exactly what the meta says.
  for (int i = 0; i < 2; ++i) {
    int s = 0;
    if (fits_delete_key(f, "COMMENT", &s)) break;
  }

  Writer w(f, report);
  const auto has = [&](std::initializer_list<const char*> keys) {
    return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return meta.has(k); });
  };
  for (const auto& e : meta.entries()) {
    const std::string& k = e.key;
    if (is_structural_key(k) || (k == "BLANK" && float_data)) continue;
    if (k == "HISTORY" || k == "COMMENT") {
      if (const auto* s = std::get_if<std::string>(&e.value)) w.commentary(k, *s);
      continue;
    }
    if (std::any_of(k.begin(), k.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
      if (k == keys::units || k == keys::gain || k == keys::read_noise || k == "exposure_time") continue; // below
      w.skip(k, "a Lumen key, not a FITS keyword");
      continue;
    }
    if (k == "BUNIT" && meta.has(keys::units)) continue; // written from `units` below
    if (valid_keyword(k) || hierarch_keyword(k)) {
      w.card(k, e.value, e.comment);
    } else {
      w.skip(k, "not a valid FITS keyword");
    }
  }
  // Lumen's physical keys, where the header has no card of its own.
  if (const auto u = meta.get_string(keys::units)) {
    const auto* b = meta.find("BUNIT");
    std::string comment = "physical unit of the array values";
    if (b) {
      Meta probe;
      probe.set("BUNIT", b->value);
      physics_from_header(probe);
      if (probe.get_string(keys::units) == u) {
        w.card("BUNIT", b->value, b->comment); // the card as read says the same: keep its text
        comment.clear();
      } else {
        comment = b->comment.empty() ? comment : b->comment;
      }
    }
    if (!comment.empty()) w.card("BUNIT", bunit_for(*u), comment);
  } else if (const auto* b = meta.find("BUNIT")) {
    w.card("BUNIT", b->value, b->comment);
  }
  if (!has({"GAIN", "CCDGAIN", "EGAIN"}))
    if (const auto g = meta.get_number(keys::gain)) w.card("GAIN", *g, "conversion gain [e-/ADU]");
  if (!has({"RDNOISE", "READNOIS", "RON", "READNSEA", "READNSEB", "READNSEC", "READNSED"}))
    if (const auto r = meta.get_number(keys::read_noise)) w.card("RDNOISE", *r, "read noise [e-]");
  if (!has({"EXPTIME"}))
    if (const auto t = meta.get_number("exposure_time")) w.card("EXPTIME", *t, "exposure time [s]");

  fits_write_img(f, cfitsio_type(dtype), 1, static_cast<LONGLONG>(image.size()), const_cast<void*>(image.raw()),
                 &status);
  check("writing the pixels");
  if (options.checksum) {
    fits_write_chksum(f, &status);
    check("writing CHECKSUM/DATASUM");
  }
  closer.f = nullptr;
  fits_close_file(f, &status);
  check("closing the file");
  return report;
}

} // namespace lumen::fits
