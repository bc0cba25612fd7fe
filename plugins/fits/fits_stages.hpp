// The `fits` plugin set: FITS images in and out with CFITSIO.
//
//   fits.read   reader  FITS files (a file, a directory or a glob) -> "image" arrays, every
//                       header card in meta; primary HDU, every SCI extension, or a chosen HDU
//   fits.write  writer  "image" arrays -> FITS files (primary HDU) with the meta as header cards
//
// Example pipeline (split a multi-extension file into one FITS file per SCI extension):
//   stages:
//     - id: in
//       use: fits.read
//       with: {path: "raw/*.fits"}
//     - id: out
//       use: fits.write
//       with: {dir: sci, name: "{stem}_sci{EXTVER}.fits", checksum: true}
#pragma once

#include "fits_io.hpp"
#include "lumen/lumen.hpp"

#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace lumen::fits {

class FitsRead final : public FileReader {
public:
  static constexpr const char* summary =
      "Reads FITS images (primary, SCI extensions or a chosen HDU) with every header card in meta";
  static constexpr const char* doc =
      "One work unit per file. Which HDUs become items (`hdu`):\n"
      "  \"\" or auto  the primary HDU when it holds data; else every extension named SCI, one item\n"
      "              each (index 0, 1, ... in file order, id <stem>/NNNN); else the first\n"
      "              extension holding an image\n"
      "  3           HDU number 3 (0 = primary)\n"
      "  SCI         every extension with EXTNAME SCI (one item each, as above)\n"
      "  SCI,2       the extension with EXTNAME SCI and EXTVER 2\n"
      "A missing HDU, or a chosen HDU without data, fails the file with a message listing the\n"
      "HDUs it has. Pixels (array \"image\"): BZERO/BSCALE applied; BITPIX 16 with BZERO 32768\n"
      "gives u16 exactly (32 with 2^31 gives u32), unscaled 8/16/32-bit data u8/i16/i32, float\n"
      "data f32/f64, other scaled 8/16-bit data f32 and 32/64-bit data f64 (BLANK pixels NaN).\n"
      "Shapes: (H, W) = (NAXIS2, NAXIS1); 3-D HDUs (N, H, W); 1-D (1, W). Tile-compressed images\n"
      "(RICE, GZIP, HCOMPRESS, PLIO) read as the image they hold, with the image's header (the\n"
      "Z cards under their image names, the table's cards dropped) and meta fits_compression.\n"
      "Meta: every header card with its comment, under its own keyword (numbers as numbers,\n"
      "strings as strings, T/F as bool, long strings joined from CONTINUE cards); HISTORY and\n"
      "COMMENT as one string each, lines joined by newlines. For an extension the primary header\n"
      "is merged first and the extension's cards win. Lumen keys: units from BUNIT (ELECTRONS ->\n"
      "electrons, e-/s -> electrons/s, COUNTS -> counts, none -> adu, others verbatim), domain\n"
      "astronomy, gain_e_per_adu from GAIN, CCDGAIN or EGAIN, read_noise_e from RDNOISE,\n"
      "READNOIS or RON, else the mean of READNSEA..D over the amplifiers in CCDAMP (HST), and\n"
      "fits_hdu (the HDU number). Truncated, corrupt and non-FITS files fail their item with a\n"
      "message naming the file; sizes are checked against the file before memory is allocated.\n"
      "Uncompressed images that need only a byte swap (unscaled integers, u16/u32 by their BZERO,\n"
      "float data) are read straight into the array on the run's threads; the rest through CFITSIO\n"
      "(the same values either way).\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: fits.read\n"
      "    with: {path: \"night1/*.fits\", hdu: SCI}\n";
  static constexpr bool concurrent = true; // CFITSIO is built reentrant; one fitsfile per read

  FitsRead() : FileReader({".fits", ".fit", ".fts"}, "FITS") {}

  Param<std::string> hdu{this, "hdu", std::string(),
                         "which HDUs to read: empty/auto (primary with data, else every SCI extension, else the "
                         "first image extension), an HDU number (0 = primary), an EXTNAME (every version) or "
                         "EXTNAME,EXTVER such as SCI,2"};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"units", "domain", "fits_hdu"}, .units = ""}};

  void validate() const override;
  void start() override;
  void read(const WorkUnit& unit, Emit& emit) override;

private:
  std::unique_ptr<ThreadPool> pool_; // threads - 1 workers for big data units; null for one thread
};

class FitsWrite final : public FileWriter {
public:
  static constexpr const char* summary =
      "Writes \"image\" arrays as FITS files (primary HDU, atomically) with the meta as header cards";
  static constexpr const char* doc =
      "Writes the \"image\" array of each item as the primary HDU of a new FITS file and passes\n"
      "the item on with meta fits_path. Any dtype: u8 -> BITPIX 8, i16 -> 16, u16 -> 16 with\n"
      "BZERO 32768, i32 -> 32, u32 -> 32 with BZERO 2147483648, f32 -> -32, f64 -> -64. Axes are\n"
      "reversed: (H, W) gives NAXIS1 = W, NAXIS2 = H; (N, H, W) stacks give NAXIS3 = N.\n"
      "Header: every meta entry whose key is a FITS keyword is written with its comment (bool,\n"
      "integer, real with the shortest exact text, string; long strings with CONTINUE);\n"
      "HISTORY/COMMENT strings give one card per line; upper-case keys longer than 8 characters\n"
      "become HIERARCH cards. Skipped: the structural keywords CFITSIO writes itself (SIMPLE,\n"
      "BITPIX, NAXISn, EXTEND, BZERO, BSCALE, XTENSION, PCOUNT, GCOUNT, CHECKSUM, DATASUM,\n"
      "LONGSTRN, INHERIT; BLANK for float data), lists, non-finite numbers, non-ASCII strings, and\n"
      "Lumen's lower-case keys, except: units -> BUNIT (ADU, ELECTRONS, ...), gain_e_per_adu ->\n"
      "GAIN, read_noise_e -> RDNOISE, exposure_time -> EXPTIME, each only when the header has no\n"
      "card of its own. A key that looks like a FITS keyword but cannot be written is logged once\n"
      "as a warning. checksum: true adds CHECKSUM and DATASUM. Output passes fitsverify. Files\n"
      "appear atomically (temporary name, then rename).\n"
      "\n"
      "Example:\n"
      "  - id: save\n"
      "    use: fits.write\n"
      "    with: {dir: calibrated, name: \"{stem}_{index:03d}.fits\", checksum: true}\n";
  static constexpr bool concurrent = true;

  FitsWrite() : FileWriter("{id}.fits") {}

  Param<bool> checksum{this, "checksum", false, "write CHECKSUM and DATASUM cards (FITS checksum convention)"};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"fits_path"}, .units = ""}};

  void process(Item& item, Emit& emit) override;

private:
  std::mutex warned_mutex_;
  std::set<std::string> warned_; // keys already reported as skipped
};

} // namespace lumen::fits
