#include "dng_writer.hpp"

#include "lumen/error.hpp"

#include <cstdint>
#include <memory>
#include <tiffio.h>
#include <vector>

namespace lumen::raw {

namespace {
struct TiffCloser {
  void operator()(TIFF* t) const noexcept { TIFFClose(t); }
};
// libtiff reports through global handlers; the writer checks return codes instead, so the
// handlers stay quiet (no stderr noise from a library inside a pipeline).
void quiet(const char*, const char*, va_list) {}
} // namespace

void write_dng(const std::filesystem::path& file, const Array& image_in, const DngInfo& info) {
  if (image_in.dtype() != DType::u16 || image_in.ndim() != 2)
    throw InputError(file.string() + ": a DNG mosaic must be a u16 (H, W) array, got " +
                     std::string(dtype_name(image_in.dtype())) + " " + image_in.shape().str());
  const std::int64_t h = image_in.dim(0), w = image_in.dim(1);
  const CfaPattern& cfa = info.cfa;
  if (h < cfa.rows || w < cfa.cols || h % cfa.rows || w % cfa.cols || h > 65535 * 4 || w > 65535 * 4)
    throw InputError(file.string() + ": a " + cfa.name + " DNG mosaic needs dimensions that are multiples of " +
                     std::to_string(cfa.rows) + ", got " + image_in.shape().str());
  const Array image = image_in.contiguous_copy();

  TIFFSetErrorHandler(quiet);
  TIFFSetWarningHandler(quiet);
  std::unique_ptr<TIFF, TiffCloser> tif(TIFFOpen(file.c_str(), "w"));
  if (!tif) throw Error(file.string() + ": cannot create the DNG file");
  TIFF* t = tif.get();
  const auto fail = [&](const char* what) { throw Error(file.string() + ": writing the DNG failed: " + what); };

  // The EXIF IFD first (not linked into the IFD chain), then IFD 0 pointing to it.
  toff_t exif_offset = 0;
  const bool exif =
      info.iso > 0 || info.exposure_time > 0 || info.f_number > 0 || info.focal_length > 0 || !info.datetime.empty();
  if (exif) {
    if (TIFFCreateEXIFDirectory(t) != 0) fail("creating the EXIF directory");
    if (info.iso > 0) {
      const std::uint16_t iso = static_cast<std::uint16_t>(std::min(info.iso, 65535.0));
      TIFFSetField(t, EXIFTAG_ISOSPEEDRATINGS, 1, &iso);
    }
    if (info.exposure_time > 0) TIFFSetField(t, EXIFTAG_EXPOSURETIME, info.exposure_time);
    if (info.f_number > 0) TIFFSetField(t, EXIFTAG_FNUMBER, info.f_number);
    if (info.focal_length > 0) TIFFSetField(t, EXIFTAG_FOCALLENGTH, info.focal_length);
    if (!info.datetime.empty()) TIFFSetField(t, EXIFTAG_DATETIMEORIGINAL, info.datetime.c_str());
    if (!TIFFWriteCustomDirectory(t, &exif_offset)) fail("writing the EXIF directory");
    // libtiff 4.5 does not free the custom directory's values when a new directory starts.
    TIFFFreeDirectory(t);
    if (TIFFCreateDirectory(t) != 0) fail("starting IFD 0");
  }

  TIFFSetField(t, TIFFTAG_SUBFILETYPE, 0);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(w));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(h));
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 16);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_CFA);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(std::max<std::int64_t>(1, (256 * 1024) / (2 * w))));
  TIFFSetField(t, TIFFTAG_MAKE, info.make.c_str());
  TIFFSetField(t, TIFFTAG_MODEL, info.model.c_str());
  TIFFSetField(t, TIFFTAG_SOFTWARE, "Lumen raw.write_dng");
  const std::uint8_t version[4] = {1, 4, 0, 0}, backward[4] = {1, 1, 0, 0};
  TIFFSetField(t, TIFFTAG_DNGVERSION, version);
  TIFFSetField(t, TIFFTAG_DNGBACKWARDVERSION, backward);
  const std::string unique = info.make + " " + info.model;
  TIFFSetField(t, TIFFTAG_UNIQUECAMERAMODEL, unique.c_str());
  const std::uint16_t dim[2] = {static_cast<std::uint16_t>(cfa.rows), static_cast<std::uint16_t>(cfa.cols)};
  TIFFSetField(t, TIFFTAG_CFAREPEATPATTERNDIM, dim);
  std::vector<std::uint8_t> pattern;
  for (const int c : cfa.colors) pattern.push_back(static_cast<std::uint8_t>(c));
  TIFFSetField(t, TIFFTAG_CFAPATTERN, static_cast<int>(pattern.size()), pattern.data());
  // Bayer: one black level per CFA position; X-Trans: one level (DNG allows a 6x6 repeat, but
  // LibRaw 0.20 reads BlackLevel repeats only up to 4x4).
  const bool bayer = cfa.rows == 2;
  const std::uint16_t black_dim[2] = {static_cast<std::uint16_t>(bayer ? 2 : 1),
                                      static_cast<std::uint16_t>(bayer ? 2 : 1)};
  TIFFSetField(t, TIFFTAG_BLACKLEVELREPEATDIM, black_dim);
  const float black[4] = {static_cast<float>(info.black[0]), static_cast<float>(info.black[1]),
                          static_cast<float>(info.black[2]), static_cast<float>(info.black[3])};
  TIFFSetField(t, TIFFTAG_BLACKLEVEL, bayer ? 4 : 1, black);
  const std::uint32_t white = static_cast<std::uint32_t>(info.white);
  TIFFSetField(t, TIFFTAG_WHITELEVEL, 1, &white);
  const float neutral[3] = {static_cast<float>(info.as_shot_neutral[0]), static_cast<float>(info.as_shot_neutral[1]),
                            static_cast<float>(info.as_shot_neutral[2])};
  TIFFSetField(t, TIFFTAG_ASSHOTNEUTRAL, 3, neutral);
  const float matrix[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  TIFFSetField(t, TIFFTAG_COLORMATRIX1, 9, matrix);
  TIFFSetField(t, TIFFTAG_CALIBRATIONILLUMINANT1, 21); // D65
  if (exif) TIFFSetField(t, TIFFTAG_EXIFIFD, exif_offset);

  const auto view = image.view<std::uint16_t>();
  for (std::int64_t y = 0; y < h; ++y)
    if (TIFFWriteScanline(t, const_cast<std::uint16_t*>(view.row(y)), static_cast<std::uint32_t>(y), 0) < 0)
      fail("writing the pixels");
  if (!TIFFWriteDirectory(t)) fail("writing IFD 0");
}

} // namespace lumen::raw
