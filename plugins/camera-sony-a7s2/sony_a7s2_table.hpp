// Calibration table of the Sony A7S II (ILCE-7SM2), as the issue specifies it.
//
// | ISO            | gain (e-/ADU) | read noise (e- RMS) | sensor mode                          |
// |----------------|---------------|---------------------|--------------------------------------|
// | below 4000     | 2.1           | 6.0                 | low conversion gain (value at ISO 2000) |
// | 4000 and above | 0.79          | 2.5                 | high conversion gain (unity gain)    |
//
// Units: gain in electrons per 14-bit ADU, read noise in electrons RMS. Source: the issue's
// numbers (gain 2.1 e-/ADU at ISO 2000, 0.79 at ISO 4000 and above; read noise 6.0 e- below
// ISO 4000, 2.5 e- above), not a photon-transfer curve measured here. The step at ISO 4000 is
// the sensor's dual-gain switch: at that ISO the pixel switches to its high conversion gain,
// which lowers both the gain in e-/ADU and the read noise at once. Below ISO 2000 and between
// 2000 and 4000 the table has no other point, so the low-gain value measured at ISO 2000 is
// used as is (calibration_source says so); a camera's gain in e-/ADU falls as 1/ISO within one
// mode, so frames far below ISO 2000 are under-calibrated by this table — override
// gain_e_per_adu for them.
#pragma once

#include "facility.hpp"

namespace lumen::sony_a7s2 {

inline constexpr double kDualGainIso = 4000;      // switch to high conversion gain
inline constexpr double kLowGainRefIso = 2000;    // ISO of the low-gain table value
inline constexpr double kLowGain = 2.1;           // e-/ADU, ISO < 4000
inline constexpr double kLowGainReadNoise = 6.0;  // e-
inline constexpr double kHighGain = 0.79;         // e-/ADU, ISO >= 4000 (unity gain)
inline constexpr double kHighGainReadNoise = 2.5; // e-

/// Gain and read noise at `iso` (> 0), with how they were chosen.
[[nodiscard]] facility::Calibration calibration(double iso);

} // namespace lumen::sony_a7s2
