// TIFF decoding and encoding with libtiff (see tiff_io.hpp for what is supported).
//
// libtiff reports errors through handlers. Each handle here is opened with TIFFOpenExt and
// its own error and warning handlers (TIFFOpenOptions, libtiff >= 4.5), which append to a
// string owned by the handle's C++ object: thread-safe without global state, and nothing is
// printed. The process-wide handlers are also silenced once, for the few messages libtiff
// emits without a handle.
//
// Strips are read in order inside each page (BUILD-NOTES: random access into compressed
// strips returned stale rows with some codecs).
//
// Example pipeline:
//   - id: in
//     use: tiff.read
//     with: {path: "frames/*.tif", series: true}
#include "tiff_io.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <libdeflate.h>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>
#include <tiffio.h>
#include <vector>
#include <zstd.h>

namespace lumen::tiff {

namespace fs = std::filesystem;

namespace {

// ---- libtiff message capture ----------------------------------------------------------------

int capture_error(TIFF*, void* user_data, const char* module, const char* fmt, va_list ap) {
  auto* text = static_cast<std::string*>(user_data);
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  if (text->size() < 2000) { // the first messages say what went wrong; later ones repeat it
    if (!text->empty()) text->append("; ");
    if (module && *module) text->append(module).append(": ");
    text->append(buf);
  }
  return 1; // handled: do not call the global handler
}

int ignore_warning(TIFF*, void*, const char*, const char*, va_list) {
  return 1; // unknown private tags and the like are not errors
}

void silence_global_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    TIFFSetErrorHandler(nullptr);
    TIFFSetWarningHandler(nullptr);
  });
}

struct OptionsDeleter {
  void operator()(TIFFOpenOptions* o) const noexcept { TIFFOpenOptionsFree(o); }
};

TIFF* open_with_capture(const fs::path& path, const char* mode, std::string* errors) {
  silence_global_handlers();
  std::unique_ptr<TIFFOpenOptions, OptionsDeleter> opts(TIFFOpenOptionsAlloc());
  if (!opts) throw Error("libtiff: out of memory");
  TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), capture_error, errors);
  TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), ignore_warning, nullptr);
  // libtiff's own allocations (strip arrays, codec buffers) stay bounded whatever the header says.
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts.get(), tmsize_t{2} << 30);
  return TIFFOpenExt(path.c_str(), mode, opts.get());
}

// ---- decoded sample kinds -------------------------------------------------------------------

enum class Src { bit1, u8, i8, u16, i16, u32, i32, f32, f64 };

Src source_kind(const PageInfo& p) {
  if (p.bits == 1) return Src::bit1;
  const bool is_signed = p.sample_format == SAMPLEFORMAT_INT;
  if (p.sample_format == SAMPLEFORMAT_IEEEFP) return p.bits == 32 ? Src::f32 : Src::f64;
  switch (p.bits) {
  case 8:
    return is_signed ? Src::i8 : Src::u8;
  case 16:
    return is_signed ? Src::i16 : Src::u16;
  default:
    return is_signed ? Src::i32 : Src::u32;
  }
}

// Copies `n` samples from a decoded row to `dst` (elements `stride` apart), converting to the
// destination dtype. One switch per row, a tight typed loop inside.
template <typename S, typename D> void put(const unsigned char* src, std::size_t n, D* dst, std::ptrdiff_t stride) {
  if (stride == 1 && std::is_same_v<S, D>) {
    std::memcpy(dst, src, n * sizeof(D));
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    S v;
    std::memcpy(&v, src + i * sizeof(S), sizeof(S));
    dst[static_cast<std::ptrdiff_t>(i) * stride] = static_cast<D>(v);
  }
}

void put_samples(Src kind, const unsigned char* src, std::size_t n, void* dst, std::ptrdiff_t stride) {
  switch (kind) {
  case Src::bit1: {
    auto* d = static_cast<std::uint8_t*>(dst);
    for (std::size_t i = 0; i < n; ++i)
      d[static_cast<std::ptrdiff_t>(i) * stride] = (src[i >> 3] >> (7 - (i & 7))) & 1 ? 255 : 0;
    return;
  }
  case Src::u8:
    return put<std::uint8_t>(src, n, static_cast<std::uint8_t*>(dst), stride);
  case Src::i8:
    return put<std::int8_t>(src, n, static_cast<std::int16_t*>(dst), stride);
  case Src::u16:
    return put<std::uint16_t>(src, n, static_cast<std::uint16_t*>(dst), stride);
  case Src::i16:
    return put<std::int16_t>(src, n, static_cast<std::int16_t*>(dst), stride);
  case Src::u32:
    return put<std::uint32_t>(src, n, static_cast<std::uint32_t*>(dst), stride);
  case Src::i32:
    return put<std::int32_t>(src, n, static_cast<std::int32_t*>(dst), stride);
  case Src::f32:
    return put<float>(src, n, static_cast<float*>(dst), stride);
  case Src::f64:
    return put<double>(src, n, static_cast<double*>(dst), stride);
  }
}

// Maximum plausible decoded/stored ratio for a codec (see tiff_io.hpp).
std::uint64_t max_ratio(std::uint16_t compression) {
  switch (compression) {
  case COMPRESSION_NONE:
    return 1;
  case COMPRESSION_PACKBITS:
    return 64;
  case COMPRESSION_ADOBE_DEFLATE:
  case COMPRESSION_DEFLATE:
    return 1100;
  case COMPRESSION_LZW:
    return 4096;
  default:
    return 65536;
  }
}

template <typename T> T get_tag(TIFF* tif, ttag_t tag, T fallback) {
  T v{};
  return TIFFGetField(tif, tag, &v) == 1 ? v : fallback;
}

template <typename T> T get_tag_defaulted(TIFF* tif, ttag_t tag) {
  T v{};
  TIFFGetFieldDefaulted(tif, tag, &v);
  return v;
}

} // namespace

// ---- names ----------------------------------------------------------------------------------

std::string compression_name(std::uint16_t code) {
  switch (code) {
  case COMPRESSION_NONE:
    return "none";
  case COMPRESSION_CCITTRLE:
    return "ccitt_rle";
  case COMPRESSION_CCITTFAX3:
    return "ccitt_fax3";
  case COMPRESSION_CCITTFAX4:
    return "ccitt_fax4";
  case COMPRESSION_LZW:
    return "lzw";
  case COMPRESSION_OJPEG:
    return "old_jpeg";
  case COMPRESSION_JPEG:
    return "jpeg";
  case COMPRESSION_ADOBE_DEFLATE:
  case COMPRESSION_DEFLATE:
    return "deflate";
  case COMPRESSION_PACKBITS:
    return "packbits";
  case COMPRESSION_LZMA:
    return "lzma";
  case COMPRESSION_ZSTD:
    return "zstd";
  case COMPRESSION_WEBP:
    return "webp";
  case COMPRESSION_JXL:
    return "jxl";
  case COMPRESSION_LERC:
    return "lerc";
  default:
    return "code " + std::to_string(code);
  }
}

std::string photometric_name(std::uint16_t code) {
  switch (code) {
  case PHOTOMETRIC_MINISWHITE:
    return "miniswhite";
  case PHOTOMETRIC_MINISBLACK:
    return "minisblack";
  case PHOTOMETRIC_RGB:
    return "rgb";
  case PHOTOMETRIC_PALETTE:
    return "palette";
  case PHOTOMETRIC_MASK:
    return "mask";
  case PHOTOMETRIC_SEPARATED:
    return "separated";
  case PHOTOMETRIC_YCBCR:
    return "ycbcr";
  case PHOTOMETRIC_CIELAB:
    return "cielab";
  case PHOTOMETRIC_CFA:
    return "cfa";
  default:
    return "code " + std::to_string(code);
  }
}

std::string sample_format_name(std::uint16_t code) {
  switch (code) {
  case SAMPLEFORMAT_UINT:
    return "uint";
  case SAMPLEFORMAT_INT:
    return "int";
  case SAMPLEFORMAT_IEEEFP:
    return "float";
  case SAMPLEFORMAT_VOID:
    return "void";
  case SAMPLEFORMAT_COMPLEXINT:
    return "complex_int";
  case SAMPLEFORMAT_COMPLEXIEEEFP:
    return "complex_float";
  default:
    return "code " + std::to_string(code);
  }
}

Shape PageInfo::shape() const {
  if (samples == 1) return Shape{height, width};
  return Shape{height, width, samples};
}

std::uint64_t PageInfo::nbytes() const {
  return std::uint64_t{width} * height * samples * dtype_size(dtype);
}

std::string PageInfo::describe() const {
  std::string s = std::to_string(width) + "x" + std::to_string(height);
  if (samples > 1) s += "x" + std::to_string(samples);
  return s + " " + std::string(dtype_name(dtype));
}

// ---- TiffFile -------------------------------------------------------------------------------

TiffFile::TiffFile(fs::path path) : path_(std::move(path)) {
  std::error_code ec;
  file_size_ = fs::file_size(path_, ec);
  if (ec) throw InputError(path_.string() + ": cannot open: " + ec.message());
  if (file_size_ < 8) fail("not a TIFF file: only " + std::to_string(file_size_) + " bytes");
  tif_ = open_with_capture(path_, "rm", &errors_); // m: read through stdio, no mmap of a file that may shrink
  if (!tif_) fail("not a readable TIFF file");
}

TiffFile::~TiffFile() {
  if (tif_) TIFFClose(tif_);
}

void TiffFile::fail(const std::string& what) const {
  std::string msg = path_.string() + ": " + what;
  if (!errors_.empty()) msg += " (libtiff: " + errors_ + ")";
  throw InputError(msg);
}

int TiffFile::pages() {
  if (pages_ < 0) {
    const tdir_t n = TIFFNumberOfDirectories(tif_);
    if (n == 0) fail("the file holds no image directory");
    pages_ = static_cast<int>(n);
    current_ = -1; // counting may move libtiff's position
    // libtiff stops counting silently where the chain of directories leaves the file: a file
    // cut after page k looks like a k-page file. The last page read must be the last page.
    if (TIFFSetDirectory(tif_, n - 1) == 1) {
      current_ = pages_ - 1;
      if (!TIFFLastDirectory(tif_))
        fail("the directory of page " + std::to_string(pages_) +
             " lies beyond the end of the file: pages are missing (truncated?)");
    }
  }
  return pages_;
}

PageInfo TiffFile::select(int page) {
  if (page < 0 || page >= pages())
    fail("page " + std::to_string(page) + " does not exist (" + std::to_string(pages()) + " pages)");
  errors_.clear();
  // Consecutive pages: read the next directory instead of walking the chain from the start.
  const bool ok = (current_ >= 0 && page == current_ + 1) ? TIFFReadDirectory(tif_) == 1
                                                          : TIFFSetDirectory(tif_, static_cast<tdir_t>(page)) == 1;
  if (!ok) {
    current_ = -1;
    fail("cannot read the directory of page " + std::to_string(page));
  }
  current_ = page;

  PageInfo p;
  const std::string where = pages() > 1 ? "page " + std::to_string(page) + ": " : std::string();
  if (TIFFGetField(tif_, TIFFTAG_IMAGEWIDTH, &p.width) != 1 || TIFFGetField(tif_, TIFFTAG_IMAGELENGTH, &p.height) != 1)
    fail(where + "the ImageWidth or ImageLength tag is missing");
  if (p.width == 0 || p.height == 0)
    fail(where + "zero image size " + std::to_string(p.width) + "x" + std::to_string(p.height));
  p.samples = get_tag_defaulted<std::uint16_t>(tif_, TIFFTAG_SAMPLESPERPIXEL);
  p.bits = get_tag_defaulted<std::uint16_t>(tif_, TIFFTAG_BITSPERSAMPLE);
  p.sample_format = get_tag_defaulted<std::uint16_t>(tif_, TIFFTAG_SAMPLEFORMAT);
  p.compression = get_tag_defaulted<std::uint16_t>(tif_, TIFFTAG_COMPRESSION);
  p.planar = get_tag_defaulted<std::uint16_t>(tif_, TIFFTAG_PLANARCONFIG);
  p.photometric =
      get_tag<std::uint16_t>(tif_, TIFFTAG_PHOTOMETRIC, p.samples >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
  p.tiled = TIFFIsTiled(tif_) != 0;
  if (p.sample_format == SAMPLEFORMAT_VOID) p.sample_format = SAMPLEFORMAT_UINT;

  if (p.samples == 0 || p.samples > 16)
    fail(where + "unsupported SamplesPerPixel " + std::to_string(p.samples) + " (1 to 16 are read)");
  if (p.compression != COMPRESSION_NONE && !TIFFIsCODECConfigured(p.compression))
    fail(where + "compression " + compression_name(p.compression) + " is not supported by this libtiff");
  if (p.photometric == PHOTOMETRIC_YCBCR) {
    if (p.compression != COMPRESSION_JPEG)
      fail(where + "YCbCr images are only read when JPEG-compressed (libtiff converts them to RGB)");
    TIFFSetField(tif_, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
  }
  const auto fmt = sample_format_name(p.sample_format);
  if (p.bits == 1) {
    if (p.samples != 1 || p.sample_format != SAMPLEFORMAT_UINT)
      fail(where + "1-bit images are read only with one unsigned sample per pixel");
    p.dtype = DType::u8;
  } else if (p.sample_format == SAMPLEFORMAT_UINT || p.sample_format == SAMPLEFORMAT_INT) {
    const bool s = p.sample_format == SAMPLEFORMAT_INT;
    switch (p.bits) {
    case 8:
      p.dtype = s ? DType::i16 : DType::u8;
      break;
    case 16:
      p.dtype = s ? DType::i16 : DType::u16;
      break;
    case 32:
      p.dtype = s ? DType::i32 : DType::u32;
      break;
    default:
      fail(where + "unsupported " + std::to_string(p.bits) + "-bit " + fmt +
           " samples (1, 8, 16 and 32-bit integers are read)");
    }
  } else if (p.sample_format == SAMPLEFORMAT_IEEEFP) {
    if (p.bits != 32 && p.bits != 64)
      fail(where + "unsupported " + std::to_string(p.bits) + "-bit float samples (32 and 64-bit are read)");
    p.dtype = p.bits == 32 ? DType::f32 : DType::f64;
  } else {
    fail(where + "unsupported sample format " + fmt);
  }
  if (p.planar != PLANARCONFIG_CONTIG && p.planar != PLANARCONFIG_SEPARATE)
    fail(where + "unknown PlanarConfiguration " + std::to_string(p.planar));
  if (p.nbytes() > kMaxDecodedBytes)
    fail(where + "image of " + p.describe() + " would need " + std::to_string(p.nbytes() >> 20) + " MiB (limit " +
         std::to_string(kMaxDecodedBytes >> 20) + " MiB)");
  check_storage(p);
  return p;
}

// Every strip/tile must lie inside the file and the stored bytes must be able to hold the
// image; this runs before any pixel buffer is allocated.
void TiffFile::check_storage(const PageInfo& p) {
  const std::uint32_t n = p.tiled ? TIFFNumberOfTiles(tif_) : TIFFNumberOfStrips(tif_);
  if (n == 0) fail("the page has no strips or tiles");
  std::uint64_t stored = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    int err = 0;
    const std::uint64_t off = TIFFGetStrileOffsetWithErr(tif_, i, &err);
    const std::uint64_t cnt = err ? 0 : TIFFGetStrileByteCountWithErr(tif_, i, &err);
    if (err) fail(std::string("cannot read the ") + (p.tiled ? "tile" : "strip") + " offsets");
    if (cnt > file_size_ || off > file_size_ - cnt)
      fail(std::string(p.tiled ? "tile " : "strip ") + std::to_string(i) + " (" + std::to_string(cnt) +
           " bytes at offset " + std::to_string(off) + ") lies beyond the end of the file (" +
           std::to_string(file_size_) + " bytes): truncated?");
    stored += cnt;
  }
  const std::uint64_t packed = (std::uint64_t{p.width} * p.samples * p.bits + 7) / 8 * p.height;
  const std::uint64_t ratio = max_ratio(p.compression);
  if (packed > stored * ratio && packed > (std::uint64_t{1} << 20))
    fail("the image needs " + std::to_string(packed) + " bytes but the file stores only " + std::to_string(stored) +
         " bytes of " + compression_name(p.compression) + " data for it: truncated or corrupt");
  if (p.compression == COMPRESSION_NONE && packed > stored)
    fail("the image needs " + std::to_string(packed) + " bytes but its strips hold only " + std::to_string(stored) +
         ": truncated or corrupt");
}

void TiffFile::decode(const PageInfo& p, void* dest) {
  const Src kind = source_kind(p);
  const std::size_t out_size = dtype_size(p.dtype);
  const std::size_t spp = p.samples;
  const bool contig = p.planar == PLANARCONFIG_CONTIG || spp == 1;
  // Samples per decoded row of a strip/tile: all channels when contiguous, one when separate.
  const std::size_t row_samples_per_px = contig ? spp : 1;
  auto* out = static_cast<unsigned char*>(dest);
  const std::size_t out_row_bytes = std::size_t{p.width} * spp * out_size;
  const bool direct = contig && kind != Src::bit1 && kind != Src::i8;

  if (!p.tiled) {
    const std::uint32_t rps = std::min(get_tag_defaulted<std::uint32_t>(tif_, TIFFTAG_ROWSPERSTRIP), p.height);
    const std::uint32_t strips_per_plane = (p.height + rps - 1) / rps;
    const std::size_t in_row_bytes = (std::size_t{p.width} * row_samples_per_px * p.bits + 7) / 8;
    std::vector<unsigned char> buf;
    if (!direct) buf.resize(in_row_bytes * rps);
    const std::size_t planes = contig ? 1 : spp;
    for (std::size_t plane = 0; plane < planes; ++plane)
      for (std::uint32_t s = 0; s < strips_per_plane; ++s) { // in order: see the note at the top
        const std::uint32_t row0 = s * rps, rows = std::min(rps, p.height - row0);
        const auto strip = static_cast<std::uint32_t>(plane * strips_per_plane + s);
        const std::size_t want = in_row_bytes * rows;
        unsigned char* target = direct ? out + std::size_t{row0} * out_row_bytes : buf.data();
        const tmsize_t got = TIFFReadEncodedStrip(tif_, strip, target, static_cast<tmsize_t>(want));
        if (got < 0 || static_cast<std::size_t>(got) < want)
          fail("cannot decode strip " + std::to_string(strip) + " (" + compression_name(p.compression) + ")");
        if (direct) continue;
        for (std::uint32_t r = 0; r < rows; ++r) {
          unsigned char* row_out = out + (std::size_t{row0} + r) * out_row_bytes + plane * out_size;
          put_samples(kind, buf.data() + r * in_row_bytes, std::size_t{p.width} * row_samples_per_px, row_out,
                      contig ? 1 : static_cast<std::ptrdiff_t>(spp));
        }
      }
    return;
  }

  std::uint32_t tw = 0, th = 0;
  TIFFGetField(tif_, TIFFTAG_TILEWIDTH, &tw);
  TIFFGetField(tif_, TIFFTAG_TILELENGTH, &th);
  if (tw == 0 || th == 0 || tw > (1u << 16) || th > (1u << 16))
    fail("unusable tile size " + std::to_string(tw) + "x" + std::to_string(th));
  const std::size_t tile_row_bytes = (std::size_t{tw} * row_samples_per_px * p.bits + 7) / 8;
  const std::size_t tile_bytes = tile_row_bytes * th;
  std::vector<unsigned char> buf(tile_bytes);
  const std::size_t planes = contig ? 1 : spp;
  for (std::size_t plane = 0; plane < planes; ++plane)
    for (std::uint32_t y = 0; y < p.height; y += th)
      for (std::uint32_t x = 0; x < p.width; x += tw) {
        const auto tile = TIFFComputeTile(tif_, x, y, 0, static_cast<std::uint16_t>(plane));
        if (TIFFReadEncodedTile(tif_, tile, buf.data(), static_cast<tmsize_t>(tile_bytes)) < 0)
          fail("cannot decode tile " + std::to_string(tile) + " (" + compression_name(p.compression) + ")");
        const std::uint32_t rows = std::min(th, p.height - y), cols = std::min(tw, p.width - x);
        for (std::uint32_t r = 0; r < rows; ++r) {
          unsigned char* row_out =
              out + (std::size_t{y} + r) * out_row_bytes + (std::size_t{x} * spp + plane) * out_size;
          put_samples(kind, buf.data() + r * tile_row_bytes, std::size_t{cols} * row_samples_per_px, row_out,
                      contig ? 1 : static_cast<std::ptrdiff_t>(spp));
        }
      }
}

Array TiffFile::read_page(int page) {
  const PageInfo info = select(page);
  Array a = Array::uninitialized(info.dtype, info.shape());
  decode(info, a.raw());
  return a;
}

Array TiffFile::read_pages(int begin, int end) {
  if (begin < 0 || end > pages() || end <= begin)
    fail("page range [" + std::to_string(begin) + ", " + std::to_string(end) + ") is outside the file's " +
         std::to_string(pages()) + " pages");
  const PageInfo first = select(begin);
  const auto n = static_cast<std::uint64_t>(end - begin);
  if (first.nbytes() * n > kMaxDecodedBytes)
    fail("a stack of " + std::to_string(n) + " pages of " + first.describe() + " exceeds the " +
         std::to_string(kMaxDecodedBytes >> 30) + " GiB limit; read it with mode: frames or frames_per_item");
  const Shape ps = first.shape();
  Shape shape;
  shape.ndim = ps.ndim + 1;
  shape.dims[0] = static_cast<std::int64_t>(n);
  for (int a = 0; a < ps.ndim; ++a) shape.dims[a + 1] = ps.dims[a];
  Array out = Array::uninitialized(first.dtype, shape);
  auto* dst = static_cast<unsigned char*>(out.raw());
  for (int page = begin; page < end; ++page) {
    const PageInfo info = page == begin ? first : select(page);
    if (!info.same_layout(first))
      fail("page " + std::to_string(page) + " is " + info.describe() + " but page " + std::to_string(begin) + " is " +
           first.describe() + ": a stack needs equal pages (read it with mode: frames)");
    decode(info, dst + static_cast<std::size_t>(page - begin) * first.nbytes());
  }
  return out;
}

// ---- meta -----------------------------------------------------------------------------------

namespace {

void parse_imagej(const std::string& desc, Meta& meta) {
  // ImageJ writes "ImageJ=1.53t\nimages=36\nslices=36\nunit=nm\nspacing=1.052\n...".
  std::size_t pos = 0;
  while (pos < desc.size()) {
    std::size_t eol = desc.find('\n', pos);
    if (eol == std::string::npos) eol = desc.size();
    const std::string line = desc.substr(pos, eol - pos);
    pos = eol + 1;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    const auto as_int = [&](std::string_view k) {
      try {
        meta.set(k, std::stoll(value), "ImageJ " + key);
      } catch (const std::exception&) {
      }
    };
    if (key == "ImageJ")
      meta.set("imagej_version", value, "ImageJ version that wrote the file");
    else if (key == "images")
      as_int("imagej_images");
    else if (key == "channels")
      as_int("imagej_channels");
    else if (key == "slices")
      as_int("imagej_slices");
    else if (key == "frames")
      as_int("imagej_frames");
    else if (key == "unit")
      meta.set("imagej_unit", value == "\\u00B5m" ? std::string("micron") : value, "ImageJ length unit");
    else if (key == "spacing") {
      try {
        meta.set("imagej_spacing", std::stod(value), "ImageJ z spacing", meta.get_string("imagej_unit").value_or(""));
      } catch (const std::exception&) {
      }
    }
  }
}

std::string string_tag(TIFF* tif, ttag_t tag) {
  const char* s = nullptr;
  if (TIFFGetField(tif, tag, &s) != 1 || !s) return {};
  return std::string(s);
}

} // namespace

void TiffFile::read_meta(const PageInfo& p, Meta& meta) {
  meta.set("width", std::int64_t{p.width}, "ImageWidth");
  meta.set("height", std::int64_t{p.height}, "ImageLength");
  meta.set("pages", std::int64_t{pages()}, "pages (image directories) in the file");
  meta.set("samples_per_pixel", std::int64_t{p.samples}, "SamplesPerPixel");
  meta.set("bits_per_sample", std::int64_t{p.bits}, "BitsPerSample as stored");
  meta.set("sample_format", sample_format_name(p.sample_format), "SampleFormat");
  meta.set("photometric", photometric_name(p.photometric), "PhotometricInterpretation");
  meta.set("compression", compression_name(p.compression), "Compression");
  meta.set("planar_config", p.planar == PLANARCONFIG_SEPARATE ? "separate" : "contig", "PlanarConfiguration");
  if (p.tiled) meta.set("tiled", true, "stored in tiles");
  float xres = 0, yres = 0;
  const bool has_res =
      TIFFGetField(tif_, TIFFTAG_XRESOLUTION, &xres) == 1 && TIFFGetField(tif_, TIFFTAG_YRESOLUTION, &yres) == 1;
  const std::uint16_t res_unit = get_tag_defaulted<std::uint16_t>(tif_, TIFFTAG_RESOLUTIONUNIT);
  if (has_res) {
    const char* unit_name = res_unit == RESUNIT_INCH ? "inch" : res_unit == RESUNIT_CENTIMETER ? "centimeter" : "none";
    meta.set("x_resolution", static_cast<double>(xres), "XResolution, pixels per resolution unit");
    meta.set("y_resolution", static_cast<double>(yres), "YResolution, pixels per resolution unit");
    meta.set("resolution_unit", unit_name, "ResolutionUnit");
  }
  const std::string desc = string_tag(tif_, TIFFTAG_IMAGEDESCRIPTION);
  if (!desc.empty()) {
    // tiff.write stores the item's meta here (see description_for): restore it, the tags read
    // above winning and index/file_index staying the reader's, instead of keeping the text.
    if (auto restored = meta_from_description(desc)) {
      for (const auto& e : restored->entries())
        if (!meta.has(e.key) && e.key != "index" && e.key != "file_index") meta.set(e.key, e.value, e.comment, e.unit);
    } else {
      meta.set("description", desc, "ImageDescription");
      if (desc.starts_with("ImageJ=")) parse_imagej(desc, meta);
    }
  }
  // Pixel size where the file says it: from an absolute resolution unit, or ImageJ's unit.
  if (has_res && xres > 0 && yres > 0) {
    if (res_unit == RESUNIT_INCH || res_unit == RESUNIT_CENTIMETER) {
      const double um = res_unit == RESUNIT_INCH ? 25400.0 : 10000.0;
      meta.set("pixel_size_x", um / xres, "pixel width from XResolution", "um");
      meta.set("pixel_size_y", um / yres, "pixel height from YResolution", "um");
    } else if (const auto unit = meta.get_string("imagej_unit")) {
      meta.set("pixel_size_x", 1.0 / xres, "pixel width from XResolution (ImageJ unit)", *unit);
      meta.set("pixel_size_y", 1.0 / yres, "pixel height from YResolution (ImageJ unit)", *unit);
    }
  }
  if (auto s = string_tag(tif_, TIFFTAG_SOFTWARE); !s.empty()) meta.set("software", s, "Software");
  if (auto s = string_tag(tif_, TIFFTAG_DATETIME); !s.empty()) meta.set("datetime", s, "DateTime");
  if (auto s = string_tag(tif_, TIFFTAG_ARTIST); !s.empty()) meta.set("artist", s, "Artist");
  if (auto s = string_tag(tif_, TIFFTAG_MAKE); !s.empty()) meta.set("make", s, "Make");
  if (auto s = string_tag(tif_, TIFFTAG_MODEL); !s.empty()) meta.set("model", s, "Model");
}

// ---- writing --------------------------------------------------------------------------------

namespace {

struct Layout {
  std::int64_t pages = 1, height = 0, width = 0, channels = 1;
};

Layout layout_of(const Array& image, const std::string& layout) {
  Layout l;
  const auto& s = image.shape();
  switch (image.ndim()) {
  case 2:
    l.height = s[0], l.width = s[1];
    break;
  case 3: {
    const bool color = layout == "color" || (layout == "auto" && s[2] >= 2 && s[2] <= 4);
    if (color)
      l.height = s[0], l.width = s[1], l.channels = s[2];
    else
      l.pages = s[0], l.height = s[1], l.width = s[2];
    break;
  }
  case 4:
    l.pages = s[0], l.height = s[1], l.width = s[2], l.channels = s[3];
    break;
  default:
    break;
  }
  return l;
}

std::uint16_t compression_code(std::string_view name) {
  if (name == "lzw") return COMPRESSION_LZW;
  if (name == "deflate") return COMPRESSION_ADOBE_DEFLATE;
  if (name == "zstd") return COMPRESSION_ZSTD;
  if (name == "packbits") return COMPRESSION_PACKBITS;
  return COMPRESSION_NONE;
}

bool is_float(DType t) {
  return t == DType::f32 || t == DType::f64;
}

struct TiffCloser {
  void operator()(TIFF* t) const noexcept { TIFFClose(t); }
};

} // namespace

bool can_encode(std::string_view compression) {
  const auto code = compression_code(compression);
  return code == COMPRESSION_NONE || TIFFIsCODECConfigured(code);
}

void check_writable(const Array& image, const WriteOptions& o, std::string_view what) {
  const std::string w(what);
  if (image.empty()) throw InputError(w + ": no image to write");
  if (image.ndim() < 2)
    throw InputError(w + ": a TIFF needs a 2-D (H, W), 3-D (H, W, C) or (N, H, W), or 4-D (N, H, W, C) array, got " +
                     image.shape().str());
  const Layout l = layout_of(image, o.layout);
  if (l.channels < 1 || l.channels > 4)
    throw InputError(w + ": " + std::to_string(l.channels) + " channels in " + image.shape().str() +
                     "; TIFF output takes 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)");
  if (l.width > std::numeric_limits<std::uint32_t>::max() || l.height > std::numeric_limits<std::uint32_t>::max() ||
      l.pages > 65535)
    throw InputError(w + ": " + image.shape().str() + " is too large for TIFF (at most 65535 pages of 2^32-1 pixels)");
  if (o.predictor == "float" && !is_float(image.dtype()))
    throw InputError(w + ": predictor float needs an f32 or f64 image, this one is " +
                     std::string(dtype_name(image.dtype())) + " (use predictor: horizontal)");
  if (o.predictor == "horizontal" && is_float(image.dtype()))
    throw InputError(w + ": predictor horizontal is for integer images, this one is " +
                     std::string(dtype_name(image.dtype())) + " (use predictor: float)");
}

// ---- parallel encoding ------------------------------------------------------------------------
//
// For deflate and zstd, write_tiff with a pool does libtiff's encoding itself: each strip or
// tile is gathered, run through the predictor and compressed in a pool thread, then written in
// order with TIFFWriteRawStrip/TIFFWriteRawTile. The tags are the same as on the libtiff path,
// so the files differ only in the compressed bytes (libdeflate or one-shot zstd instead of
// zlib or streaming zstd): every reader decodes them the same way.

namespace {

// One compressor per thread: allocating one costs more than compressing a small strip.
struct DeflateDeleter {
  void operator()(libdeflate_compressor* c) const noexcept { libdeflate_free_compressor(c); }
};
struct ZstdDeleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};

// Adobe Deflate (TIFF compression 8) is a zlib stream, which libdeflate's zlib format is.
std::vector<unsigned char> deflate_zlib(const unsigned char* data, std::size_t bytes, int level) {
  thread_local std::unique_ptr<libdeflate_compressor, DeflateDeleter> c;
  thread_local int c_level = -1;
  if (!c || c_level != level) {
    c.reset(libdeflate_alloc_compressor(level));
    c_level = level;
    if (!c) throw Error("libdeflate: cannot create a compressor at level " + std::to_string(level));
  }
  std::vector<unsigned char> out(libdeflate_zlib_compress_bound(c.get(), bytes));
  const std::size_t n = libdeflate_zlib_compress(c.get(), data, bytes, out.data(), out.size());
  if (n == 0) throw Error("libdeflate: compression failed");
  out.resize(n);
  return out;
}

// libtiff's zstd codec stores each strip as one zstd frame. It is made the way libtiff makes it
// (tif_zstd.c: the whole strip with ZSTD_e_continue, then ZSTD_e_end), so the frame size is
// not known up front and zstd picks the same parameters: given the size (ZSTD_compress2), zstd
// switches to its parameters for inputs <= 256 KiB, which at level 9 are 1.7x slower here.
std::vector<unsigned char> zstd_frame(const unsigned char* data, std::size_t bytes, int level) {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdDeleter> c(ZSTD_createCCtx());
  if (!c) throw Error("zstd: cannot create a compression context");
  const auto ok = [](std::size_t r) {
    if (ZSTD_isError(r)) throw Error(std::string("zstd: ") + ZSTD_getErrorName(r));
    return r;
  };
  ok(ZSTD_CCtx_reset(c.get(), ZSTD_reset_session_and_parameters));
  ok(ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, level));
  std::vector<unsigned char> out(ZSTD_compressBound(bytes));
  ZSTD_inBuffer in{data, bytes, 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  const auto room = [&] { // the bound fits a frame; grow anyway rather than trust it blindly
    if (o.pos < o.size) return;
    out.resize(out.size() * 2);
    o.dst = out.data();
    o.size = out.size();
  };
  while (in.pos < in.size) {
    ok(ZSTD_compressStream2(c.get(), &o, &in, ZSTD_e_continue));
    room();
  }
  while (ok(ZSTD_compressStream2(c.get(), &o, &in, ZSTD_e_end)) != 0) room();
  out.resize(o.pos);
  return out;
}

// libtiff's horizontal differencing (tif_predict.c horDiff8/16/32): in each row, every sample
// minus the same channel's sample one pixel to the left, modulo 2^bits. Signed samples give
// the same bits as unsigned ones, so T is the unsigned type of the sample size.
template <typename T> void horizontal_diff(unsigned char* row, std::size_t samples, std::size_t stride) {
  for (std::size_t i = samples; i-- > stride;) {
    T a, b;
    std::memcpy(&a, row + i * sizeof(T), sizeof(T));
    std::memcpy(&b, row + (i - stride) * sizeof(T), sizeof(T));
    a = static_cast<T>(a - b);
    std::memcpy(row + i * sizeof(T), &a, sizeof(T));
  }
}

// libtiff's floating-point predictor (tif_predict.c fpDiff, TIFF Technical Note 3): the bytes
// of the row's `words` samples are regrouped into planes, most significant byte first (on this
// little-endian host: byte k of a sample goes to plane es-1-k), then every byte minus the byte
// `stride` (samples per pixel) before it.
void float_diff(unsigned char* row, std::size_t words, std::size_t es, std::size_t stride, unsigned char* tmp) {
  const std::size_t bytes = words * es;
  std::memcpy(tmp, row, bytes);
  for (std::size_t k = 0; k < es; ++k) {
    unsigned char* plane = row + (es - 1 - k) * words;
    const unsigned char* src = tmp + k;
    for (std::size_t w = 0; w < words; ++w) plane[w] = src[w * es];
  }
  for (std::size_t i = bytes; i-- > stride;) row[i] = static_cast<unsigned char>(row[i] - row[i - stride]);
}

struct BlockCodec {
  std::uint16_t compression = COMPRESSION_ADOBE_DEFLATE, predictor = PREDICTOR_NONE;
  int level = 6;
  std::size_t es = 1, channels = 1, row_bytes = 0; // row_bytes: one row of the strip or tile
};

// Predictor then compression, on a block of whole rows (changed in place).
std::vector<unsigned char> encode_block(const BlockCodec& c, std::vector<unsigned char>& block) {
  if (c.predictor != PREDICTOR_NONE) {
    const std::size_t samples = c.row_bytes / c.es;
    std::vector<unsigned char> tmp(c.predictor == PREDICTOR_FLOATINGPOINT ? c.row_bytes : 0);
    for (std::size_t off = 0; off + c.row_bytes <= block.size(); off += c.row_bytes) {
      unsigned char* row = block.data() + off;
      if (c.predictor == PREDICTOR_FLOATINGPOINT)
        float_diff(row, samples, c.es, c.channels, tmp.data());
      else if (c.es == 1)
        horizontal_diff<std::uint8_t>(row, samples, c.channels);
      else if (c.es == 2)
        horizontal_diff<std::uint16_t>(row, samples, c.channels);
      else
        horizontal_diff<std::uint32_t>(row, samples, c.channels);
    }
  }
  return c.compression == COMPRESSION_ZSTD ? zstd_frame(block.data(), block.size(), c.level)
                                           : deflate_zlib(block.data(), block.size(), c.level);
}

} // namespace

bool parallel_codec(std::string_view compression) {
  return compression == "deflate" || compression == "zstd";
}

void write_tiff(const fs::path& path, const Array& input, const WriteOptions& o, std::string_view what,
                ThreadPool* pool) {
  check_writable(input, o, what);
  const Array image = input.contiguous_copy();
  const Layout l = layout_of(image, o.layout);
  const DType dt = image.dtype();
  const std::size_t es = dtype_size(dt);
  const std::uint64_t page_bytes = static_cast<std::uint64_t>(l.height * l.width * l.channels) * es;
  const bool big = o.bigtiff == "always" || (o.bigtiff == "auto" && page_bytes * static_cast<std::uint64_t>(l.pages) >
                                                                        (std::uint64_t{0xF} << 28));
  if (o.bigtiff == "never" && page_bytes * static_cast<std::uint64_t>(l.pages) >= (std::uint64_t{1} << 32))
    throw InputError(std::string(what) + ": " + std::to_string(page_bytes * l.pages >> 20) +
                     " MiB do not fit a classic TIFF; set bigtiff: auto");

  std::string errors;
  std::unique_ptr<TIFF, TiffCloser> tif(open_with_capture(path, big ? "w8" : "w", &errors));
  const auto check = [&](bool ok, const std::string& step) {
    if (!ok) throw Error(std::string(what) + ": libtiff failed to " + step + (errors.empty() ? "" : ": " + errors));
  };
  check(tif != nullptr, "create " + path.string());
  TIFF* t = tif.get();

  const std::uint16_t comp = compression_code(o.compression);
  const std::uint16_t pred = o.predictor == "horizontal" ? PREDICTOR_HORIZONTAL
                             : o.predictor == "float"    ? PREDICTOR_FLOATINGPOINT
                                                         : PREDICTOR_NONE;
  const std::uint16_t fmt = is_float(dt)                             ? SAMPLEFORMAT_IEEEFP
                            : (dt == DType::i16 || dt == DType::i32) ? SAMPLEFORMAT_INT
                                                                     : SAMPLEFORMAT_UINT;
  const std::size_t row_bytes = static_cast<std::size_t>(l.width * l.channels) * es;
  const bool tiled = o.tile > 0;
  const auto tile = static_cast<std::uint32_t>(o.tile);
  const std::size_t tile_row = std::size_t{tile} * static_cast<std::size_t>(l.channels) * es;
  // Strips of about 256 KiB: big enough to compress well and to be worth a pool job, small
  // enough that a reader of a few rows decodes little.
  const auto rps = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
      static_cast<std::int64_t>((256 << 10) / std::max<std::size_t>(row_bytes, 1)), 1, l.height));
  const auto tiles_across = tiled ? static_cast<std::uint32_t>((l.width + tile - 1) / tile) : 0;
  const auto blocks = tiled ? tiles_across * static_cast<std::uint32_t>((l.height + tile - 1) / tile)
                            : static_cast<std::uint32_t>((l.height + rps - 1) / rps);
  const auto* base = static_cast<const unsigned char*>(image.raw());

  const auto set_tags = [&](std::int64_t page) {
    bool ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(l.width)) &&
              TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(l.height)) &&
              TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, static_cast<std::uint16_t>(es * 8)) &&
              TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(l.channels)) &&
              TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, fmt) &&
              TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
              TIFFSetField(t, TIFFTAG_PHOTOMETRIC, l.channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK) &&
              TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
    if (ok && (l.channels == 2 || l.channels == 4)) {
      const std::uint16_t extra[] = {EXTRASAMPLE_UNASSALPHA};
      ok = TIFFSetField(t, TIFFTAG_EXTRASAMPLES, std::uint16_t{1}, extra);
    }
    if (ok && pred != PREDICTOR_NONE) ok = TIFFSetField(t, TIFFTAG_PREDICTOR, pred);
    if (ok && o.level > 0 && comp == COMPRESSION_ADOBE_DEFLATE) ok = TIFFSetField(t, TIFFTAG_ZIPQUALITY, o.level);
    if (ok && o.level > 0 && comp == COMPRESSION_ZSTD) ok = TIFFSetField(t, TIFFTAG_ZSTD_LEVEL, o.level);
    if (ok && !o.software.empty()) ok = TIFFSetField(t, TIFFTAG_SOFTWARE, o.software.c_str());
    if (ok && page == 0 && !o.description.empty())
      ok = TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, o.description.c_str());
    if (ok && l.pages > 1)
      ok = TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE) &&
           TIFFSetField(t, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(page), static_cast<std::uint16_t>(l.pages));
    if (tiled)
      ok = ok && TIFFSetField(t, TIFFTAG_TILEWIDTH, tile) && TIFFSetField(t, TIFFTAG_TILELENGTH, tile);
    else
      ok = ok && TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps);
    check(ok, "set the tags of page " + std::to_string(page));
  };

  // Block `b` of `page` as the codec sees it: whole rows of a strip, or a tile padded with zeros
  // at the right and bottom edges.
  const auto gather = [=](std::int64_t page, std::uint32_t b, std::vector<unsigned char>& out) {
    const unsigned char* src = base + static_cast<std::size_t>(page) * page_bytes;
    if (!tiled) {
      const std::size_t rows = std::min<std::size_t>(rps, static_cast<std::size_t>(l.height) - std::size_t{b} * rps);
      const unsigned char* strip = src + std::size_t{b} * rps * row_bytes;
      out.assign(strip, strip + rows * row_bytes);
      return;
    }
    const std::int64_t y = std::int64_t{b / tiles_across} * tile, x = std::int64_t{b % tiles_across} * tile;
    const std::int64_t rows = std::min<std::int64_t>(tile, l.height - y),
                       cols = std::min<std::int64_t>(tile, l.width - x);
    out.assign(tile_row * tile, 0);
    for (std::int64_t r = 0; r < rows; ++r)
      std::memcpy(out.data() + static_cast<std::size_t>(r) * tile_row,
                  src + static_cast<std::size_t>(y + r) * row_bytes + static_cast<std::size_t>(x * l.channels) * es,
                  static_cast<std::size_t>(cols * l.channels) * es);
  };

  if (pool && pool->size() > 0 && (comp == COMPRESSION_ADOBE_DEFLATE || comp == COMPRESSION_ZSTD)) {
    BlockCodec codec;
    codec.compression = comp;
    codec.predictor = pred;
    codec.level = o.level > 0 ? o.level : comp == COMPRESSION_ZSTD ? 9 : 6; // libtiff's defaults
    codec.es = es;
    codec.channels = static_cast<std::size_t>(l.channels);
    codec.row_bytes = tiled ? tile_row : row_bytes;

    // Blocks of every page form one sequence, so the pool stays busy across page boundaries;
    // the writer sets up a page at its first block and closes it after its last.
    struct Pending {
      std::int64_t page;
      std::uint32_t block;
      std::future<std::vector<unsigned char>> data;
    };
    std::deque<Pending> pending;
    const auto write_oldest = [&] {
      Pending p = std::move(pending.front());
      pending.pop_front();
      if (p.block == 0) set_tags(p.page);
      const std::vector<unsigned char> data = p.data.get(); // rethrows a compression error
      const auto size = static_cast<tmsize_t>(data.size());
      auto* bytes = const_cast<unsigned char*>(data.data()); // libtiff takes void*; raw writes only read it
      const bool ok = tiled ? TIFFWriteRawTile(t, p.block, bytes, size) == size
                            : TIFFWriteRawStrip(t, p.block, bytes, size) == size;
      check(ok, std::string("write ") + (tiled ? "tile " : "strip ") + std::to_string(p.block) + " of page " +
                    std::to_string(p.page));
      if (p.block + 1 == blocks)
        check(TIFFWriteDirectory(t) == 1, "write the directory of page " + std::to_string(p.page));
    };
    // At most 2 blocks per thread in flight (queued, compressing or waiting to be written).
    const std::size_t in_flight = 2 * static_cast<std::size_t>(pool->size());
    for (std::int64_t page = 0; page < l.pages; ++page)
      for (std::uint32_t b = 0; b < blocks; ++b) {
        if (pending.size() >= in_flight) write_oldest();
        // The job holds `image` (shared storage), so it stays valid if this call fails early.
        pending.push_back({page, b, pool->submit([image, gather, codec, page, b] {
                             std::vector<unsigned char> block;
                             gather(page, b, block);
                             return encode_block(codec, block);
                           })});
      }
    while (!pending.empty()) write_oldest();
  } else {
    // libtiff encodes (compression and predictor) on this thread. Codecs and predictors work
    // in place on the buffer they get, so they get a scratch copy.
    const bool scratch = comp != COMPRESSION_NONE || pred != PREDICTOR_NONE;
    std::vector<unsigned char> buf;
    for (std::int64_t page = 0; page < l.pages; ++page) {
      set_tags(page);
      for (std::uint32_t b = 0; b < blocks; ++b) {
        bool ok = false;
        if (tiled) {
          gather(page, b, buf);
          ok = TIFFWriteEncodedTile(t, b, buf.data(), static_cast<tmsize_t>(buf.size())) >= 0;
        } else if (scratch) {
          gather(page, b, buf);
          ok = TIFFWriteEncodedStrip(t, b, buf.data(), static_cast<tmsize_t>(buf.size())) >= 0;
        } else { // no codec: libtiff only reads the rows, straight from the image
          const std::size_t rows =
              std::min<std::size_t>(rps, static_cast<std::size_t>(l.height) - std::size_t{b} * rps);
          auto* strip = const_cast<unsigned char*>(base + static_cast<std::size_t>(page) * page_bytes +
                                                   std::size_t{b} * rps * row_bytes);
          ok = TIFFWriteEncodedStrip(t, b, strip, static_cast<tmsize_t>(rows * row_bytes)) >= 0;
        }
        check(ok, std::string("write ") + (tiled ? "tile " : "strip ") + std::to_string(b) + " of page " +
                      std::to_string(page));
      }
      check(TIFFWriteDirectory(t) == 1, "write the directory of page " + std::to_string(page));
    }
  }
  tif.release();
  TIFFClose(t); // flushes; errors were reported by the writes above
  if (!errors.empty()) throw Error(std::string(what) + ": libtiff: " + errors);
}

// ---- the ImageDescription tiff.write writes ---------------------------------------------------

std::string description_for(const Array& image, const Meta& meta) {
  nlohmann::json shape = nlohmann::json::array();
  for (int a = 0; a < image.ndim(); ++a) shape.push_back(image.dim(a));
  return R"({"shape": )" + shape.dump() + R"(, "lumen_meta": )" + meta.to_json() + "}";
}

std::optional<Meta> meta_from_description(std::string_view text) {
  if (!text.starts_with("{")) return std::nullopt;
  const auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("lumen_meta") || !doc["lumen_meta"].is_object()) return std::nullopt;
  try {
    return Meta::from_json(doc["lumen_meta"].dump());
  } catch (const std::exception&) {
    return std::nullopt; // not the meta tiff.write writes: keep the text as it is
  }
}

std::string series_name(const std::filesystem::path& first) {
  std::string s = first.stem().string();
  while (!s.empty() && (std::isdigit(static_cast<unsigned char>(s.back())) || s.back() == '_' || s.back() == '-' ||
                        s.back() == '.' || s.back() == ' '))
    s.pop_back();
  if (s.empty()) s = first.parent_path().filename().string();
  return s.empty() ? std::string("series") : s;
}

std::string frame_suffix(std::int64_t frame) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/%04lld", static_cast<long long>(frame));
  return buf;
}

} // namespace lumen::tiff
