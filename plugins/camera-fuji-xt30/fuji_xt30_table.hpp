// Calibration table of the Fujifilm X-T30 (X-Trans CMOS 4, 26 MP).
//
// | ISO   | gain (e-/ADU) | read noise (e- RMS) |
// |-------|---------------|---------------------|
// | 160   | 1.80          | 3.75                |
// | 12800 | 0.75          | 2.50                |
//
// Between the rows, both values are linear in log(ISO) (each ISO doubling changes them by the
// same amount): at ISO 1431 (the geometric mean of 160 and 12800) the gain is 1.275 e-/ADU and
// the read noise 3.125 e-. Outside 160..12800 (the native range; 80 and 25600-51200 are the
// extended settings) the end row is used and calibration_source says "clamped".
// Units: gain in electrons per ADU of the 14-bit raw data, read noise in electrons RMS.
// Source: the ranges (gain 0.75 to 1.8 e-/ADU, read noise 2.5 to 3.75 e- across ISO),
// assigned to the ends of the native ISO range with the gain and read noise falling as ISO
// rises, as they do on CMOS sensors. They are the range, not a photon-transfer curve
// measured on an X-T30; put measured rows here (sorted by ISO) when one is available.
#pragma once

#include "facility.hpp"

#include <array>

namespace lumen::fuji_xt30 {

inline constexpr std::array<facility::IsoPoint, 2> kTable{{
    {160, 1.80, 3.75},
    {12800, 0.75, 2.50},
}};

/// Gain and read noise at `iso` (> 0), interpolated in log(ISO), with how they were obtained.
[[nodiscard]] facility::Calibration calibration(double iso);

} // namespace lumen::fuji_xt30
