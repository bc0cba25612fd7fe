// Hubble imagers: gain and read noise by instrument and detector, and which header cards win.
//
// | INSTRUME | DETECTOR | gain (e-/ADU) | read noise (e- RMS) |
// |----------|----------|---------------|---------------------|
// | ACS      | WFC      | 1.0           | 3.5                 |
// | WFC3     | UVIS     | 1.5           | 3.09                |
// | WFC3     | IR       | 2.5           | 15.0                |
// | WFPC2    | (any)    | 7.0           | 6.5                 |
//
// Units: electrons per ADU (DN), electrons RMS. Source: the values (typical values of the
// instrument handbooks at the default gain setting), not the per-amplifier calibration of a
// given date. A file's own header wins over the table (HST headers carry the calibrated values):
//   gain        ATODGAIN, else the mean of ATODGNA..ATODGND over the amplifiers in CCDAMP,
//               else CCDGAIN (the commanded gain setting), else GAIN / EGAIN, else the table
//   read noise  the mean of READNSEA..READNSED over the amplifiers in CCDAMP, else RDNOISE /
//               READNOIS / RON, else the table
// fits.read already derives gain_e_per_adu (GAIN, CCDGAIN, EGAIN) and read_noise_e (RDNOISE,
// READNOIS, RON, READNSE*) generically; telescope-hst.identify recomputes both with the order
// above (ATODGAIN first, which fits.read does not know) and records the card it used in
// calibration_source. The stage's gain_e_per_adu / read_noise_e parameters, when set, win over all.
#pragma once

#include "facility.hpp"
#include "lumen/meta.hpp"

#include <optional>
#include <string>

namespace lumen::hst {

struct DetectorRow {
  const char* instrument;
  const char* detector; // "" = any detector of the instrument
  double gain_e_per_adu;
  double read_noise_e;
};
inline constexpr DetectorRow kTable[] = {
    {"ACS", "WFC", 1.0, 3.5},
    {"WFC3", "UVIS", 1.5, 3.09},
    {"WFC3", "IR", 2.5, 15.0},
    {"WFPC2", "", 7.0, 6.5},
};

/// The table row for INSTRUME/DETECTOR (compared blank-trimmed, case-insensitively), or null.
[[nodiscard]] const DetectorRow* find_row(const std::string& instrument, const std::string& detector);

/// True when the header says Hubble: TELESCOP HST, or an INSTRUME of the table.
[[nodiscard]] bool is_hst(const Meta& header);

/// Gain and read noise with the header precedence above; a value neither the header nor the
/// table gives is left unset (nullopt), with the reason in `missing`.
struct HstCalibration {
  std::optional<double> gain, read_noise;
  std::string gain_source, read_noise_source, missing;
};
[[nodiscard]] HstCalibration calibrate(const Meta& header);

/// The HLA association naming: <obsid>_detection_sci.fits (clean, the direct image) and
/// <obsid>_g800l_sci.fits (noisy, the G800L grism image of the same field).
struct HlaName {
  std::string obsid;
  std::string data_type;
  [[nodiscard]] std::string scene_id() const { return "astro_" + obsid; }
};
[[nodiscard]] std::optional<HlaName> parse_hla_name(const std::string& file_name);

} // namespace lumen::hst
