#include "raw_io.hpp"

#include "cfa.hpp"
#include "lumen/error.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <ctime>
#include <libraw/libraw.h>
#include <memory>
#include <string>
#include <vector>

namespace lumen::raw {

namespace fs = std::filesystem;

namespace {

// LibRaw keeps the data offset and sample size it parsed in protected members; a subclass
// exposes them for the size check.
class Decoder final : public LibRaw {
public:
  Decoder() : LibRaw(LIBRAW_OPTIONS_NONE) { set_dataerror_handler(&Decoder::on_data_error, this); }
  [[nodiscard]] long long data_offset() const { return libraw_internal_data.unpacker_data.data_offset; }
  [[nodiscard]] unsigned bits_per_sample() const { return libraw_internal_data.unpacker_data.tiff_bps; }
  [[nodiscard]] unsigned tiff_compression() const { return libraw_internal_data.unpacker_data.tiff_compress; }
  [[nodiscard]] bool fuji_rotated() const { return libraw_internal_data.internal_output_params.fuji_width != 0; }
  std::string data_error; // first data error reported while decoding

private:
  static void on_data_error(void* self, const char* /*file*/, const int offset) {
    auto* d = static_cast<Decoder*>(self);
    if (d->data_error.empty())
      d->data_error = offset >= 0 ? "data corrupted at byte " + std::to_string(offset) : "unexpected end of file";
  }
};

std::string warning_names(unsigned w) {
  static constexpr std::pair<unsigned, const char*> names[] = {
      {LIBRAW_WARN_BAD_CAMERA_WB, "bad camera white balance"},
      {LIBRAW_WARN_NO_METADATA, "no metadata"},
      {LIBRAW_WARN_NO_JPEGLIB, "needs libjpeg"},
      {LIBRAW_WARN_NO_EMBEDDED_PROFILE, "no embedded profile"},
      {LIBRAW_WARN_NO_INPUT_PROFILE, "no input profile"},
      {LIBRAW_WARN_PARSEFUJI_PROCESSED, "Fuji parse problem"},
      {LIBRAW_WARN_DNG_IMAGES_REORDERED, "DNG images reordered"},
      {LIBRAW_WARN_DNG_STAGE2_APPLIED, "DNG stage 2 applied"},
      {LIBRAW_WARN_DNG_STAGE3_APPLIED, "DNG stage 3 applied"}};
  std::string out;
  for (const auto& [bit, name] : names)
    if (w & bit) out += (out.empty() ? "" : ", ") + std::string(name);
  return out.empty() ? "warning flags 0x" + std::to_string(w) : out;
}

} // namespace

RawFrame read_raw(const fs::path& file, const ReadOptions& options) {
  const std::string name = file.string();
  std::error_code ec;
  const auto file_size = fs::file_size(file, ec);
  if (ec) throw InputError(name + ": cannot open: " + ec.message());
  if (file_size == 0) throw InputError(name + ": empty file (0 bytes), not a raw image");

  auto d = std::make_unique<Decoder>(); // LibRaw is large: keep it off the stack
  if (const int rc = d->open_file(file.c_str()); rc != LIBRAW_SUCCESS)
    throw InputError(name + ": not a readable camera raw file (LibRaw: " + LibRaw::strerror(rc) + ")");
  const auto& S = d->imgdata.sizes;
  const auto& I = d->imgdata.idata;
  const std::string camera = std::string(I.make) + " " + I.model;
  const std::string frame = std::to_string(S.raw_width) + "x" + std::to_string(S.raw_height);
  if (S.raw_width == 0 || S.raw_height == 0 || S.width == 0 || S.height == 0)
    throw InputError(name + ": " + camera + " declares an empty frame (" + frame + ")");

  // The size check (see raw_io.hpp), before LibRaw allocates or decodes anything.
  libraw_decoder_info_t info{};
  d->get_decoder_info(&info);
  const bool flat = (info.decoder_flags & LIBRAW_DECODER_FLATDATA) != 0 || d->tiff_compression() == 1;
  const unsigned bps = std::max(8u, d->bits_per_sample());
  const long long pixels = static_cast<long long>(S.raw_width) * S.raw_height;
  const long long payload = flat ? (pixels * bps + 7) / 8 : (pixels + 7) / 8;
  const long long needed = std::max(0LL, d->data_offset()) + payload;
  if (static_cast<long long>(file_size) < needed)
    throw InputError(name + ": truncated or metadata-only raw file: " + camera + " declares a " + frame + " frame (" +
                     (flat ? std::to_string(bps) + "-bit uncompressed" : std::string("compressed")) + ", at least " +
                     std::to_string(needed) + " bytes from data offset " + std::to_string(d->data_offset()) +
                     ") but the file has " + std::to_string(file_size) + " bytes");

  // 2x2 Bayer mosaics and 6x6 X-Trans (LibRaw filters == 9); nothing else is a 3-colour mosaic.
  if (I.filters == 0 || I.colors != 3)
    throw InputError(name + ": " + camera + " is not a 3-colour CFA mosaic (" +
                     (I.filters == 0 ? std::string("no colour filter array: linear or Foveon data") : "4-colour CFA") +
                     "); raw.read returns Bayer and X-Trans mosaics only");
  const bool xtrans = I.filters == 9;
  if (!xtrans && I.filters < 1000)
    throw InputError(name + ": " + camera + " has a non-Bayer, non-X-Trans colour filter array (LibRaw filters " +
                     std::to_string(I.filters) + "); raw.read returns Bayer and X-Trans mosaics only");
  if (d->fuji_rotated())
    throw InputError(name + ": " + camera + " has a Fuji SuperCCD (45-degree) layout, which raw.read does not support");
  const int period = xtrans ? 6 : 2;
  for (int r = 0; r < 12; ++r)
    for (int c = 0; c < 12; ++c)
      if (d->COLOR(r, c) != d->COLOR(r % period, c % period))
        throw InputError(name + ": " + camera + " has a CFA pattern that does not repeat every " +
                         std::to_string(period) + "x" + std::to_string(period) + " pixels");

  if (const int rc = d->unpack(); rc != LIBRAW_SUCCESS)
    throw InputError(name + ": cannot decode the raw data (LibRaw: " + LibRaw::strerror(rc) + ")");
  if (!d->data_error.empty()) throw InputError(name + ": corrupt raw data: " + d->data_error);
  if (d->imgdata.process_warnings != 0)
    throw InputError(name + ": LibRaw reported a problem: " + warning_names(d->imgdata.process_warnings));
  const auto& R = d->imgdata.rawdata;
  if (!R.raw_image) throw InputError(name + ": " + camera + " decoded to a colour image, not a CFA mosaic");

  // The area returned, and the pixel at its top-left in LibRaw's visible coordinates.
  const int top = options.visible_only ? S.top_margin : 0, left = options.visible_only ? S.left_margin : 0;
  const int h = options.visible_only ? S.height : S.raw_height, w = options.visible_only ? S.width : S.raw_width;
  if (top + h > S.raw_height || left + w > S.raw_width || S.raw_pitch < S.raw_width * 2)
    throw InputError(name + ": inconsistent frame geometry (visible area outside the raw frame)");
  const int oy = top - S.top_margin, ox = left - S.left_margin; // <= 0
  // LibRaw's COLOR() takes visible-area coordinates; 48 is a multiple of every CFA period
  // (Bayer 2, LibRaw's 16-row filter word, X-Trans 6), so the shift keeps the phase.
  const auto color_at = [&](int r, int c) { return d->COLOR(((r + oy) % 48 + 48) % 48, ((c + ox) % 48 + 48) % 48); };

  RawFrame out;
  out.image = Array::uninitialized(DType::u16, Shape{h, w});
  auto v = out.image.writable<std::uint16_t>();
  const std::size_t pitch = S.raw_pitch / 2;
  for (int y = 0; y < h; ++y)
    std::memcpy(v.row(y), R.raw_image + static_cast<std::size_t>(y + top) * pitch + left,
                static_cast<std::size_t>(w) * 2);

  // Meta.
  Meta& m = out.meta;
  const auto& C = d->imgdata.color;
  const auto& O = d->imgdata.other;
  CfaPattern cfa;
  cfa.rows = cfa.cols = period;
  for (int r = 0; r < period; ++r)
    for (int c = 0; c < period; ++c) cfa.colors.push_back(color_at(r, c));
  cfa.name = xtrans ? "XTRANS" : cfa.letters();
  if (!xtrans && !(cfa.name == "RGGB" || cfa.name == "BGGR" || cfa.name == "GRBG" || cfa.name == "GBRG"))
    throw InputError(name + ": " + camera + " has an unusual 2x2 CFA (" + cfa.name + ")");
  m.set(keys::units, "adu");
  m.set(keys::domain, "photography");
  m.set(keys::cfa, cfa.name, "CFA layout at the top-left of the returned area (RGGB, BGGR, GRBG, GBRG or XTRANS)");
  m.set("cfa_pattern", cfa.letters(), "CFA colours of one repeat, row by row (2x2 Bayer or 6x6 X-Trans)");
  // Black per CFA position: the global level, the per-colour level and LibRaw's black
  // pattern (DNG BlackLevelRepeatDim), whose origin is the visible area.
  std::vector<double> blacks;
  for (int i = 0; i < period * period; ++i) {
    const int r = i / period, c = i % period;
    double b = C.black + C.cblack[cfa.colors[static_cast<std::size_t>(i)]];
    if (C.cblack[4] > 0 && C.cblack[5] > 0 && C.cblack[4] * C.cblack[5] <= LIBRAW_CBLACK_SIZE - 6) {
      const int pr =
          ((r + oy) % static_cast<int>(C.cblack[4]) + static_cast<int>(C.cblack[4])) % static_cast<int>(C.cblack[4]);
      const int pc =
          ((c + ox) % static_cast<int>(C.cblack[5]) + static_cast<int>(C.cblack[5])) % static_cast<int>(C.cblack[5]);
      b += C.cblack[6 + pr * C.cblack[5] + pc];
    }
    blacks.push_back(b);
  }
  const bool uniform = std::all_of(blacks.begin(), blacks.end(), [&](double b) { return b == blacks.front(); });
  double mean_black = 0;
  for (const double b : blacks) mean_black += b / static_cast<double>(blacks.size());
  m.set("black_level", uniform ? blacks.front() : mean_black,
        uniform ? "black level" : "mean of the per-position black levels", "ADU");
  m.set("black_level_per_channel", blacks,
        "black level at each CFA position of one repeat, row by row (4 for Bayer, 36 for X-Trans)", "ADU");
  m.set("white_level", static_cast<std::int64_t>(C.maximum), "saturation level", "ADU");
  m.set("make", std::string(I.make), "camera maker");
  m.set("model", std::string(I.model), "camera model");
  if (O.iso_speed > 0) m.set("iso", static_cast<double>(O.iso_speed), "ISO speed");
  if (O.shutter > 0) m.set("exposure_time", static_cast<double>(O.shutter), "exposure time", "s");
  if (O.aperture > 0) m.set("aperture", static_cast<double>(O.aperture), "f-number");
  if (O.focal_len > 0) m.set("focal_length", static_cast<double>(O.focal_len), "focal length", "mm");
  if (O.timestamp > 0) {
    // EXIF times are local camera times; LibRaw turned them into time_t with mktime.
    std::tm tm{};
    localtime_r(&O.timestamp, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    m.set("timestamp", std::string(text), "capture time (camera clock, no time zone)");
  }
  m.set("wb_as_shot", std::vector<double>{C.cam_mul[0], C.cam_mul[1], C.cam_mul[2], C.cam_mul[3]},
        "as-shot white-balance multipliers R G B G2 (LibRaw cam_mul; G2 0 = same as G)");
  m.set("wb_daylight", std::vector<double>{C.pre_mul[0], C.pre_mul[1], C.pre_mul[2], C.pre_mul[3]},
        "daylight multipliers R G B G2 (LibRaw pre_mul)");
  m.set("raw_width", static_cast<std::int64_t>(S.raw_width), "full sensor width", "px");
  m.set("raw_height", static_cast<std::int64_t>(S.raw_height), "full sensor height", "px");
  m.set("visible_width", static_cast<std::int64_t>(S.width), "visible area width", "px");
  m.set("visible_height", static_cast<std::int64_t>(S.height), "visible area height", "px");
  m.set("left_margin", static_cast<std::int64_t>(S.left_margin), "visible area x offset in the sensor", "px");
  m.set("top_margin", static_cast<std::int64_t>(S.top_margin), "visible area y offset in the sensor", "px");
  m.set("visible_only", options.visible_only, "true: the visible area is returned; false: the full sensor");
  m.set("flip", static_cast<std::int64_t>(S.flip), "LibRaw orientation code (not applied to the mosaic)");
  if (I.dng_version) m.set("dng_version", static_cast<std::int64_t>(I.dng_version), "DNG version, packed bytes");
  return out;
}

} // namespace lumen::raw
