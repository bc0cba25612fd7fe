// FITS reading and writing with CFITSIO: the file I/O behind `fits.read` and `fits.write`.
//
// Reading
//   select_hdus() picks the image HDUs a read returns (see HduSelector); read_hdu() reads one
//   into an Array and a Meta. Pixel types follow CFITSIO's "equivalent type" of the HDU, i.e.
//   BZERO/BSCALE are applied:
//     BITPIX 8                          -> u8       BITPIX 8,  BZERO -128 (signed bytes) -> i16
//     BITPIX 16                         -> i16      BITPIX 16, BZERO 32768               -> u16 (exact)
//     BITPIX 32                         -> i32      BITPIX 32, BZERO 2147483648          -> u32 (exact)
//     BITPIX 64 (any scaling)           -> f64 (Lumen has no 64-bit integers; exact up to 2^53)
//     BITPIX -32 / -64                  -> f32 / f64 (BSCALE/BZERO applied in the same type)
//     any other BSCALE/BZERO on 8/16-bit data -> f32, on 32-bit data -> f64 (integer BZERO
//     offsets that keep the values integral give the next wider integer type, as CFITSIO says)
//   Scaled integer data read as floats turn BLANK pixels into NaN; unscaled integer data keeps
//   the stored BLANK value (the BLANK card stays in meta). Axes are reversed into C order:
//   NAXIS1 is the last (fastest) axis, so (NAXIS2, NAXIS1) = (H, W) and a 3-D HDU is (N, H, W);
//   1-D data becomes (1, W); trailing length-1 axes beyond the second are dropped; more than
//   four axes are refused. Sizes are checked against the file size before any allocation.
//
//   Header cards -> Meta, in file order, with their comments: integers as int64 (float if they
//   overflow), reals as double, logicals as bool, strings as strings (long strings joined from
//   CONTINUE cards), undefined values as "" and complex values as their text. HISTORY and
//   COMMENT cards are kept as one string each, their lines joined with '\n' (text under a blank
//   keyword is added to COMMENT; blank separator cards are dropped). Structural cards (SIMPLE,
//   BITPIX, NAXISn, BZERO, ...) are kept too: they describe the file, not the array, and the
//   writer recomputes them. Reading an extension merges the primary header first, then the
//   extension header (extension cards win; HISTORY/COMMENT lines accumulate).
//   physics_from_header() adds Lumen's keys (units, domain, gain_e_per_adu, read_noise_e).
//
// Writing
//   write_fits() writes one image as the primary HDU of a new file (see the rules there).
//
// Errors: a missing, truncated or corrupt file, a missing HDU (the message lists the HDUs the
// file has) or an unusable image throw lumen::InputError naming the file and the problem.
#pragma once

#include "lumen/array.hpp"
#include "lumen/meta.hpp"
#include "lumen/thread_pool.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lumen::fits {

/// Which HDUs a read returns (the `hdu` parameter of fits.read).
struct HduSelector {
  enum class Kind { automatic, number, name };
  Kind kind = Kind::automatic;
  int number = 0;      // Kind::number: 0 = primary, 1 = first extension, ...
  std::string extname; // Kind::name, compared case-insensitively
  int extver = 0;      // Kind::name: 0 = every version
};
/// "" / "auto" -> automatic; "0", "3" -> number; "SCI", "SCI,2" -> name (and version).
/// Throws lumen::Error describing the accepted forms on anything else.
[[nodiscard]] HduSelector parse_hdu_selector(std::string_view text);

/// One HDU as listed in error messages and used for selection.
struct HduInfo {
  int number = 0; // 0-based
  bool image = false;
  std::string extname; // "" when absent ("PRIMARY" is shown for HDU 0 in descriptions)
  int extver = 1;
  int bitpix = 0;
  std::vector<long long> naxes; // NAXIS1, NAXIS2, ... as in the header
  [[nodiscard]] bool has_data() const noexcept;
  [[nodiscard]] std::string describe() const; // "1 SCI,1 image 132x288 BITPIX 16"
};

/// An open FITS file (read only). Opens by plain file name: no CFITSIO extended syntax, so a
/// '[' in a file name is just a character.
class FitsFile {
public:
  explicit FitsFile(const std::filesystem::path& path);
  ~FitsFile();
  FitsFile(const FitsFile&) = delete;
  FitsFile& operator=(const FitsFile&) = delete;

  /// Every HDU in the file (scans the headers once).
  [[nodiscard]] const std::vector<HduInfo>& hdus() const noexcept { return hdus_; }
  /// The HDUs `selector` picks, in file order. `multiple` is set when the selection is by
  /// name without version or the automatic SCI rule (items then get ordinal indices).
  /// Throws InputError when nothing matches (listing the HDUs) or a chosen HDU has no data.
  [[nodiscard]] std::vector<int> select(const HduSelector& selector, bool& multiple) const;
  /// The header of HDU `number` (merged over the primary header for an extension).
  [[nodiscard]] Meta header(int number);
  /// The pixels of image HDU `number` (see the dtype rules above). An uncompressed HDU whose
  /// conversion is a byte swap (unscaled integers, u16/u32 by their exact BZERO, float data with
  /// any BSCALE/BZERO) is read directly with pread, its parts shared over `pool` (may be null),
  /// the same values as CFITSIO gives; everything else, or `direct` false, goes through CFITSIO.
  [[nodiscard]] Array pixels(int number, ThreadPool* pool = nullptr, bool direct = true);
  /// True when pixels(number) reads the data unit directly (see above), false when CFITSIO does.
  [[nodiscard]] bool reads_directly(int number);
  /// "HDUs in the file: 0 PRIMARY (no data), 1 SCI,1 image 132x288 BITPIX 16, ..."
  [[nodiscard]] std::string hdu_list() const;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
  void move_to(int number);
  [[noreturn]] void fail(int status, std::string_view doing) const;
  void read_cards(Meta& meta);

  std::filesystem::path path_;
  std::uintmax_t file_size_ = 0;
  void list_hdus();      // fills hdus_; throws InputError for a header that cannot be parsed
  void* fptr_ = nullptr; // fitsfile* (kept opaque so that users need not include fitsio.h)
  std::vector<HduInfo> hdus_;
  std::unique_ptr<Meta> primary_header_;
};

/// Adds units, domain, gain_e_per_adu and read_noise_e from the header cards in `meta`:
///   units  from BUNIT: ADU/DN/COUNT(S)/ELECTRON(S)/E-/PHOTON(S), case-insensitive, map to adu,
///          counts, electrons, photons; the same with a "/S" (or "/SEC", " S-1") suffix map to
///          "<unit>/s" (a rate); any other BUNIT is kept verbatim; no BUNIT means adu
///   domain astronomy
///   gain_e_per_adu  first positive of GAIN, CCDGAIN, EGAIN
///   read_noise_e    first positive of RDNOISE, READNOIS, RON; else the mean of READNSEA..D
///                   over the amplifiers named in CCDAMP (e.g. "ABCD"; HST ACS/WFC3), or over
///                   all READNSEx cards present when CCDAMP is absent. The per-amplifier cards
///                   stay in meta.
void physics_from_header(Meta& meta);

struct WriteOptions {
  bool checksum = false; // write CHECKSUM and DATASUM
};
struct WriteReport {
  std::vector<std::string> skipped; // "KEY: reason", for every meta entry not written
};

/// Writes `image` (u8, i16, u16, i32, u32, f32, f64; 1 to 4 axes) as the primary HDU of the
/// new file `file` (which must not exist). u16 is written as BITPIX 16 + BZERO 32768, u32 as
/// BITPIX 32 + BZERO 2147483648, the others natively; the axes are reversed (the last axis is
/// NAXIS1). Meta entries become header cards with their comments:
///   - keys that are valid FITS keywords (A-Z, 0-9, '-', '_', up to 8 characters) are written
///     with their type (bool -> logical, int -> integer, double -> shortest exact real, string
///     -> string; long strings with CONTINUE and the LONGSTRN convention). HISTORY and COMMENT
///     strings give one card per line. Upper-case keys longer than 8 characters (or with
///     spaces) are written as HIERARCH cards.
///   - structural keywords are skipped, CFITSIO writes them itself: SIMPLE, BITPIX, NAXIS*,
///     EXTEND, BZERO, BSCALE, XTENSION, PCOUNT, GCOUNT, CHECKSUM, DATASUM, LONGSTRN, INHERIT,
///     END, and BLANK for float data.
///   - Lumen's own keys (anything with a lower-case letter) are not written, except: `units`
///     sets BUNIT (ADU, ELECTRONS, COUNTS, PHOTONS, "ELECTRONS/S" ...) unless a BUNIT card
///     already says the same; `gain_e_per_adu` -> GAIN and `read_noise_e` -> RDNOISE and
///     `exposure_time` -> EXPTIME when the header has no such card.
///   - lists, non-finite reals and strings with non-ASCII or control characters are skipped
///     (reported in WriteReport::skipped).
/// Throws lumen::InputError for an unsupported image and lumen::Error when writing fails.
WriteReport write_fits(const std::filesystem::path& file, const Array& image, const Meta& meta,
                       const WriteOptions& options = {});

/// True for keys that the writer computes itself (see write_fits).
[[nodiscard]] bool is_structural_key(std::string_view key);

} // namespace lumen::fits
