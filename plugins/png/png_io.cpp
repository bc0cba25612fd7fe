// PNG decoding with libpng, encoding with libdeflate or libpng (see png_io.hpp for what is
// supported).
//
// The only code that runs between setjmp and a libpng longjmp is in read_header(),
// read_pixels() and encode(): plain functions whose locals have no destructors. Everything
// that owns memory (libpng handles, the FILE*, the pixel array, the row pointers) lives in
// the calling C++ frames, which longjmp never skips. The libdeflate encoder (encode_libdeflate)
// has no longjmp at all: it filters the rows, compresses them in one call and writes the chunks.
//
// Example pipeline:
//   - id: in
//     use: png.read
//     with: {path: scans/}
#include "png_io.hpp"

#include "lumen/error.hpp"

#include <array>
#include <bit>
#include <cerrno>
#include <csetjmp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <libdeflate.h>
#include <memory>
#include <png.h>
#include <system_error>
#include <vector>
#include <zlib.h>

namespace lumen::png {

namespace {

// Filled by the error callback; read after setjmp returns non-zero.
struct ErrorText {
  char text[256] = {};
};

void on_png_error(png_structp png, png_const_charp message) {
  if (auto* e = static_cast<ErrorText*>(png_get_error_ptr(png)))
    std::snprintf(e->text, sizeof e->text, "%s", message ? message : "unknown libpng error");
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {} // warnings (e.g. sRGB profile notes) are not errors

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// ---- reading ----------------------------------------------------------------------------------

struct ReadHandles {
  ErrorText error;
  png_structp png = nullptr;
  png_infop info = nullptr;
  ReadHandles() {
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &error, on_png_error, on_png_warning);
    if (png) info = png_create_info_struct(png);
  }
  ReadHandles(const ReadHandles&) = delete;
  ReadHandles& operator=(const ReadHandles&) = delete;
  ~ReadHandles() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

struct Header {
  png_uint_32 width = 0, height = 0;
  int file_bit_depth = 0;
  int channels = 0;              // after the transforms
  int bit_depth = 0;             // after the transforms
  std::size_t rowbytes = 0;      // after the transforms
  std::size_t file_rowbytes = 0; // as stored (before palette / bit-depth expansion)
};

// Reads the header and sets up the transforms. Returns false after a libpng error.
bool read_header(ReadHandles* h, std::FILE* fp, Header* out) {
  if (setjmp(png_jmpbuf(h->png))) return false;
  png_init_io(h->png, fp);
  png_set_sig_bytes(h->png, 8);
  png_read_info(h->png, h->info);
  const int color_type = png_get_color_type(h->png, h->info);
  const int depth = png_get_bit_depth(h->png, h->info);
  out->file_rowbytes = png_get_rowbytes(h->png, h->info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(h->png); // RGBA when tRNS is present
  if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(h->png);
  if (depth == 16 && std::endian::native == std::endian::little) png_set_swap(h->png);
  png_set_interlace_handling(h->png);
  png_read_update_info(h->png, h->info);
  out->width = png_get_image_width(h->png, h->info);
  out->height = png_get_image_height(h->png, h->info);
  out->file_bit_depth = depth;
  out->channels = png_get_channels(h->png, h->info);
  out->bit_depth = png_get_bit_depth(h->png, h->info);
  out->rowbytes = png_get_rowbytes(h->png, h->info);
  return true;
}

// Decodes every row into `rows` and reads to the end of the file. Returns false after a libpng error.
bool read_pixels(ReadHandles* h, png_bytep* rows) {
  if (setjmp(png_jmpbuf(h->png))) return false;
  png_read_image(h->png, rows);
  png_read_end(h->png, nullptr);
  return true;
}

// ---- writing ----------------------------------------------------------------------------------

struct WriteHandles {
  ErrorText error;
  png_structp png = nullptr;
  png_infop info = nullptr;
  WriteHandles() {
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &error, on_png_error, on_png_warning);
    if (png) info = png_create_info_struct(png);
  }
  WriteHandles(const WriteHandles&) = delete;
  WriteHandles& operator=(const WriteHandles&) = delete;
  ~WriteHandles() {
    if (png) png_destroy_write_struct(&png, info ? &info : nullptr);
  }
};

struct EncodeJob {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
  const unsigned char* pixels = nullptr;
  std::size_t row_bytes = 0;
  int level = 1;
  int filters = PNG_FILTER_NONE; // libpng's mask
  Filter filter = Filter::none;  // the same, for the libdeflate encoder
  int strategy = Z_DEFAULT_STRATEGY;
  bool swap = false; // 16-bit samples are little-endian in memory
};

// Writes the whole file. Returns false after a libpng error (including a failed fwrite).
bool encode(WriteHandles* h, std::FILE* fp, const EncodeJob* job) {
  if (setjmp(png_jmpbuf(h->png))) return false;
  png_init_io(h->png, fp);
  png_set_IHDR(h->png, h->info, job->width, job->height, job->bit_depth, job->color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(h->png, job->level);
  png_set_compression_strategy(h->png, job->strategy);
  png_set_filter(h->png, PNG_FILTER_TYPE_BASE, job->filters);
  png_write_info(h->png, h->info);
  if (job->swap) png_set_swap(h->png);
  for (png_uint_32 y = 0; y < job->height; ++y) png_write_row(h->png, job->pixels + y * job->row_bytes);
  png_write_end(h->png, nullptr);
  return true;
}

int filter_mask(Filter f) {
  switch (f) {
  case Filter::none:
    return PNG_FILTER_NONE;
  case Filter::sub:
    return PNG_FILTER_SUB;
  case Filter::up:
    return PNG_FILTER_UP;
  case Filter::avg:
    return PNG_FILTER_AVG;
  case Filter::paeth:
    return PNG_FILTER_PAETH;
  case Filter::all:
    return PNG_ALL_FILTERS;
  }
  return PNG_FILTER_NONE;
}

int zlib_strategy(Strategy s) {
  switch (s) {
  case Strategy::standard:
    return Z_DEFAULT_STRATEGY;
  case Strategy::filtered:
    return Z_FILTERED;
  case Strategy::huffman:
    return Z_HUFFMAN_ONLY;
  case Strategy::rle:
    return Z_RLE;
  }
  return Z_DEFAULT_STRATEGY;
}

int color_type_for(std::int64_t channels) {
  switch (channels) {
  case 1:
    return PNG_COLOR_TYPE_GRAY;
  case 2:
    return PNG_COLOR_TYPE_GRAY_ALPHA;
  case 3:
    return PNG_COLOR_TYPE_RGB;
  default:
    return PNG_COLOR_TYPE_RGB_ALPHA;
  }
}

// ---- writing with libdeflate ---------------------------------------------------------------------

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const noexcept { libdeflate_free_compressor(c); }
};
using Compressor = std::unique_ptr<libdeflate_compressor, CompressorDeleter>;

// Per-thread state of the libdeflate encoder: one compressor per level (made on first use, kept
// for the thread's life: a level-1 compressor is a few hundred KB of tables that would otherwise be
// allocated and cleared per tile) and the filter / output buffers, kept while they stay small so a
// stream of tiles allocates nothing; a large image's buffers are released after it.
struct EncoderScratch {
  std::array<Compressor, 10> compressors; // levels 0-9
  std::vector<unsigned char> filtered;    // filter byte + filtered row, per row
  std::vector<unsigned char> compressed;  // the zlib stream
  std::vector<unsigned char> rows;        // big-endian copies of two 16-bit rows, and "all"'s candidates
};
constexpr std::size_t kKeepScratch = std::size_t{8} << 20; // bytes per buffer kept between calls

EncoderScratch& scratch() {
  thread_local EncoderScratch s;
  return s;
}

libdeflate_compressor* compressor_for(EncoderScratch& s, int level) {
  Compressor& c = s.compressors[static_cast<std::size_t>(level)];
  if (!c) {
    c.reset(libdeflate_alloc_compressor(level));
    if (!c) throw Error("libdeflate: cannot create a compressor at level " + std::to_string(level));
  }
  return c.get();
}

// Releases the scratch buffers of a large image when the encoder returns or throws.
struct ReleaseLarge {
  EncoderScratch& s;
  explicit ReleaseLarge(EncoderScratch& scratch) : s(scratch) {}
  ReleaseLarge(const ReleaseLarge&) = delete;
  ReleaseLarge& operator=(const ReleaseLarge&) = delete;
  ~ReleaseLarge() {
    for (auto* v : {&s.filtered, &s.compressed, &s.rows})
      if (v->capacity() > kKeepScratch) std::vector<unsigned char>().swap(*v);
  }
};

// The five PNG filter types on one row of `n` bytes with `bpp` bytes per pixel; `prev` is the
// previous unfiltered row (zeros for the first). out[0] is the filter type byte.
void filter_none(const unsigned char* row, std::size_t n, unsigned char* out) {
  out[0] = 0;
  std::memcpy(out + 1, row, n);
}

void filter_sub(const unsigned char* row, std::size_t n, std::size_t bpp, unsigned char* out) {
  out[0] = 1;
  for (std::size_t i = 0; i < n; ++i) out[1 + i] = static_cast<unsigned char>(row[i] - (i >= bpp ? row[i - bpp] : 0));
}

void filter_up(const unsigned char* row, const unsigned char* prev, std::size_t n, unsigned char* out) {
  out[0] = 2;
  for (std::size_t i = 0; i < n; ++i) out[1 + i] = static_cast<unsigned char>(row[i] - prev[i]);
}

void filter_avg(const unsigned char* row, const unsigned char* prev, std::size_t n, std::size_t bpp,
                unsigned char* out) {
  out[0] = 3;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned left = i >= bpp ? row[i - bpp] : 0u;
    out[1 + i] = static_cast<unsigned char>(row[i] - ((left + prev[i]) >> 1));
  }
}

void filter_paeth(const unsigned char* row, const unsigned char* prev, std::size_t n, std::size_t bpp,
                  unsigned char* out) {
  out[0] = 4;
  for (std::size_t i = 0; i < n; ++i) {
    const int a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
    const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    const int pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    out[1 + i] = static_cast<unsigned char>(row[i] - pred);
  }
}

// libpng's heuristic for "all filters": the candidate with the smallest sum of |filtered byte|,
// bytes read as signed.
std::uint64_t signed_abs_sum(const unsigned char* f, std::size_t n) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i)
    sum += static_cast<std::uint64_t>(std::abs(static_cast<int>(static_cast<signed char>(f[i]))));
  return sum;
}

// Filters one row into `out` (n + 1 bytes); `candidates` holds 5 x (n + 1) bytes for Filter::all.
void filter_row(Filter filter, const unsigned char* row, const unsigned char* prev, std::size_t n, std::size_t bpp,
                unsigned char* out, unsigned char* candidates) {
  switch (filter) {
  case Filter::none:
    filter_none(row, n, out);
    return;
  case Filter::sub:
    filter_sub(row, n, bpp, out);
    return;
  case Filter::up:
    filter_up(row, prev, n, out);
    return;
  case Filter::avg:
    filter_avg(row, prev, n, bpp, out);
    return;
  case Filter::paeth:
    filter_paeth(row, prev, n, bpp, out);
    return;
  case Filter::all:
    break;
  }
  const std::size_t stride = n + 1;
  filter_none(row, n, candidates);
  filter_sub(row, n, bpp, candidates + stride);
  filter_up(row, prev, n, candidates + 2 * stride);
  filter_avg(row, prev, n, bpp, candidates + 3 * stride);
  filter_paeth(row, prev, n, bpp, candidates + 4 * stride);
  std::size_t best = 0;
  std::uint64_t best_sum = signed_abs_sum(candidates + 1, n);
  for (std::size_t k = 1; k < 5; ++k) {
    const std::uint64_t sum = signed_abs_sum(candidates + k * stride + 1, n);
    if (sum < best_sum) best = k, best_sum = sum;
  }
  std::memcpy(out, candidates + best * stride, stride);
}

void put_be32(unsigned char* p, std::uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}

// Chunk CRC: over the type and the data (libdeflate's crc32 is the PNG / zlib CRC-32).
std::uint32_t chunk_crc(const char* type, const unsigned char* data, std::size_t n) {
  const std::uint32_t crc = libdeflate_crc32(0, type, 4);
  return n == 0 ? crc : libdeflate_crc32(crc, data, n); // a null buffer would restart the CRC
}

void put_bytes(std::FILE* out, const void* data, std::size_t n, std::string_view what) {
  if (n > 0 && std::fwrite(data, 1, n, out) != n)
    throw Error(std::string(what) + ": writing the PNG failed: " + std::strerror(errno));
}

// IDAT chunks of at most 1 MiB (PNG chunks hold up to 2^31 - 1 bytes; smaller ones keep huge images
// valid and cost 12 bytes per MiB).
constexpr std::size_t kIdatMax = std::size_t{1} << 20;

void encode_libdeflate(std::FILE* out, const EncodeJob& job, std::string_view what) {
  EncoderScratch& s = scratch();
  const ReleaseLarge release{s};
  const std::size_t height = job.height, n = job.row_bytes;
  const std::size_t bpp = n / job.width; // bytes per pixel: channels x (1 or 2)
  const std::size_t stride = n + 1;

  // Filter every row (16-bit samples byte-swapped to big-endian first, into a two-row ring).
  s.filtered.resize(height * stride);
  const Filter filter = job.filter;
  const bool need_rows = job.swap || filter != Filter::none;
  // rows: [zero row][swapped row A][swapped row B][5 candidates]
  if (need_rows) s.rows.assign(3 * n + (filter == Filter::all ? 5 * stride : 0), 0);
  const unsigned char* zeros = need_rows ? s.rows.data() : nullptr;
  unsigned char* ring[2] = {need_rows ? s.rows.data() + n : nullptr, need_rows ? s.rows.data() + 2 * n : nullptr};
  unsigned char* candidates = filter == Filter::all ? s.rows.data() + 3 * n : nullptr;
  const unsigned char* prev = zeros;
  for (std::size_t y = 0; y < height; ++y) {
    const unsigned char* src = job.pixels + y * n;
    if (job.swap) {
      unsigned char* be = ring[y % 2];
      for (std::size_t i = 0; i + 1 < n; i += 2) {
        be[i] = src[i + 1];
        be[i + 1] = src[i];
      }
      src = be;
    }
    filter_row(filter, src, prev, n, bpp, s.filtered.data() + y * stride, candidates);
    prev = src;
  }

  // One zlib stream for the whole image.
  libdeflate_compressor* c = compressor_for(s, job.level);
  s.compressed.resize(libdeflate_zlib_compress_bound(c, s.filtered.size()));
  const std::size_t zbytes =
      libdeflate_zlib_compress(c, s.filtered.data(), s.filtered.size(), s.compressed.data(), s.compressed.size());
  if (zbytes == 0) throw Error(std::string(what) + ": libdeflate could not compress the image");

  // Signature + IHDR.
  unsigned char head[8 + 25] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  unsigned char* ihdr = head + 8;
  put_be32(ihdr, 13);
  std::memcpy(ihdr + 4, "IHDR", 4);
  put_be32(ihdr + 8, job.width);
  put_be32(ihdr + 12, job.height);
  ihdr[16] = static_cast<unsigned char>(job.bit_depth);
  ihdr[17] = static_cast<unsigned char>(job.color_type);
  ihdr[18] = ihdr[19] = ihdr[20] = 0; // deflate, adaptive filtering, no interlace
  put_be32(ihdr + 21, chunk_crc("IHDR", ihdr + 8, 13));
  put_bytes(out, head, sizeof head, what);

  for (std::size_t at = 0; at < zbytes; at += kIdatMax) {
    const std::size_t len = std::min(kIdatMax, zbytes - at);
    unsigned char chunk_head[8], crc[4];
    put_be32(chunk_head, static_cast<std::uint32_t>(len));
    std::memcpy(chunk_head + 4, "IDAT", 4);
    put_be32(crc, chunk_crc("IDAT", s.compressed.data() + at, len));
    put_bytes(out, chunk_head, sizeof chunk_head, what);
    put_bytes(out, s.compressed.data() + at, len, what);
    put_bytes(out, crc, sizeof crc, what);
  }
  unsigned char iend[12];
  put_be32(iend, 0);
  std::memcpy(iend + 4, "IEND", 4);
  put_be32(iend + 8, chunk_crc("IEND", nullptr, 0));
  put_bytes(out, iend, sizeof iend, what);
}

} // namespace

DecodedPng read_png(const std::filesystem::path& path) {
  const std::string name = path.string();
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) throw InputError(name + ": cannot open: " + std::strerror(errno));

  png_byte signature[8] = {};
  const std::size_t got = std::fread(signature, 1, sizeof signature, file.get());
  if (got != sizeof signature || png_sig_cmp(signature, 0, sizeof signature) != 0)
    throw InputError(name + ": not a PNG file (the 8-byte PNG signature is missing)");

  ReadHandles h;
  if (!h.png || !h.info) throw Error(name + ": libpng could not allocate its read structures");
  Header header;
  if (!read_header(&h, file.get(), &header))
    throw InputError(
        name +
        (std::feof(file.get()) ? ": truncated PNG: the file ends inside the header (" : ": corrupt PNG header (") +
        h.error.text + ")");

  const std::int64_t width = header.width, height = header.height, channels = header.channels;
  const std::size_t sample_bytes = header.bit_depth == 16 ? 2 : 1;
  const auto row_bytes = static_cast<std::size_t>(width * channels) * sample_bytes;
  if ((header.bit_depth != 8 && header.bit_depth != 16) || channels < 1 || channels > 4 || row_bytes != header.rowbytes)
    throw InputError(name + ": unsupported PNG layout (" + std::to_string(channels) + " channels of " +
                     std::to_string(header.bit_depth) + " bits after expansion)");
  // A corrupt header can claim a huge image. Deflate compresses at most ~1032:1, so a file
  // too small to hold the claimed (stored, unexpanded) rows is truncated or corrupt: refuse
  // before allocating.
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  const double needed = static_cast<double>(header.file_rowbytes + 1) * static_cast<double>(height);
  if (!ec && needed > 1100.0 * static_cast<double>(file_size) + 65536.0)
    throw InputError(name + ": header claims " + std::to_string(width) + "x" + std::to_string(height) +
                     " pixels but the file has only " + std::to_string(file_size) + " bytes: truncated or corrupt PNG");

  const Shape shape = channels == 1 ? Shape{height, width} : Shape{height, width, channels};
  DecodedPng out;
  out.image = Array::uninitialized(header.bit_depth == 16 ? DType::u16 : DType::u8, shape);
  out.channels = static_cast<int>(channels);
  out.bit_depth = header.bit_depth;
  out.file_bit_depth = header.file_bit_depth;

  auto* base = static_cast<png_bytep>(out.image.raw());
  std::vector<png_bytep> rows(static_cast<std::size_t>(height));
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = base + y * row_bytes;
  if (!read_pixels(&h, rows.data()))
    throw InputError(name +
                     (std::feof(file.get()) ? ": truncated PNG: the file ends before the image is complete ("
                                            : ": corrupt PNG image data (") +
                     h.error.text + ")");
  return out;
}

Filter filter_from_name(std::string_view name) {
  if (name == "none") return Filter::none;
  if (name == "sub") return Filter::sub;
  if (name == "up") return Filter::up;
  if (name == "avg") return Filter::avg;
  if (name == "paeth") return Filter::paeth;
  if (name == "all") return Filter::all;
  throw Error("unknown PNG filter '" + std::string(name) + "' (expected none, sub, up, avg, paeth or all)");
}

Encoder encoder_from_name(std::string_view name) {
  if (name == "libdeflate") return Encoder::libdeflate;
  if (name == "libpng") return Encoder::libpng;
  throw Error("unknown PNG encoder '" + std::string(name) + "' (expected libdeflate or libpng)");
}

Strategy strategy_from_name(std::string_view name) {
  if (name == "default") return Strategy::standard;
  if (name == "filtered") return Strategy::filtered;
  if (name == "huffman") return Strategy::huffman;
  if (name == "rle") return Strategy::rle;
  throw Error("unknown zlib strategy '" + std::string(name) + "' (expected default, filtered, huffman or rle)");
}

void check_encodable(const Array& image, std::string_view what) {
  const std::string who(what);
  if (image.empty()) throw InputError(who + ": the image array is empty");
  if (image.dtype() != DType::u8 && image.dtype() != DType::u16)
    throw InputError(who + ": PNG stores u8 or u16 samples, but the image is " +
                     std::string(dtype_name(image.dtype())) + ": add an image.to8bit stage before png.write");
  const bool shape_ok = (image.ndim() == 2 || (image.ndim() == 3 && image.dim(2) >= 1 && image.dim(2) <= 4)) &&
                        image.dim(0) > 0 && image.dim(1) > 0 && image.dim(0) <= PNG_UINT_31_MAX &&
                        image.dim(1) <= PNG_UINT_31_MAX;
  if (!shape_ok)
    throw InputError(who + ": PNG needs an image of shape (H, W) or (H, W, C) with C = 1 to 4, got " +
                     image.shape().str());
}

void write_png(std::FILE* out, const Array& image, const WriteOptions& options, std::string_view what) {
  check_encodable(image, what);
  const Array pixels = image.contiguous_copy(); // no copy when already contiguous
  const std::int64_t channels = pixels.ndim() == 3 ? pixels.dim(2) : 1;
  const std::size_t sample_bytes = pixels.dtype() == DType::u16 ? 2 : 1;

  EncodeJob job;
  job.width = static_cast<png_uint_32>(pixels.dim(1));
  job.height = static_cast<png_uint_32>(pixels.dim(0));
  job.bit_depth = pixels.dtype() == DType::u16 ? 16 : 8;
  job.color_type = color_type_for(channels);
  job.pixels = static_cast<const unsigned char*>(pixels.raw());
  job.row_bytes = static_cast<std::size_t>(pixels.dim(1) * channels) * sample_bytes;
  job.level = options.compression < 0 ? 0 : options.compression > 9 ? 9 : options.compression;
  job.filters = filter_mask(options.filter);
  job.filter = options.filter;
  job.strategy = zlib_strategy(options.strategy);
  job.swap = job.bit_depth == 16 && std::endian::native == std::endian::little;

  if (options.encoder == Encoder::libdeflate) {
    if (options.strategy != Strategy::standard)
      throw Error(std::string(what) +
                  ": zlib strategies other than default need the libpng encoder (libdeflate has none)");
    encode_libdeflate(out, job, what);
    if (std::fflush(out) != 0 || std::ferror(out))
      throw Error(std::string(what) + ": writing the PNG failed: " + std::strerror(errno));
    return;
  }

  WriteHandles h;
  if (!h.png || !h.info) throw Error(std::string(what) + ": libpng could not allocate its write structures");
  if (!encode(&h, out, &job)) throw Error(std::string(what) + ": writing the PNG failed (" + h.error.text + ")");
  if (std::fflush(out) != 0 || std::ferror(out))
    throw Error(std::string(what) + ": writing the PNG failed: " + std::strerror(errno));
}

} // namespace lumen::png
