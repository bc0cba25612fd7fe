// The Sony A7S II calibration table; see sony_a7s2_table.hpp for values, units and source.
#include "sony_a7s2_table.hpp"

#include <cstdio>

namespace lumen::sony_a7s2 {

facility::Calibration calibration(double iso) {
  char at[64];
  std::snprintf(at, sizeof at, "table ISO %g", iso);
  if (iso >= kDualGainIso)
    return {kHighGain, kHighGainReadNoise,
            std::string(at) + " (high conversion gain, ISO >= 4000: the sensor's dual-gain switch)"};
  std::string how = std::string(at) + " (low conversion gain, ISO < 4000";
  if (iso != kLowGainRefIso) how += "; the table's ISO 2000 value, not scaled";
  return {kLowGain, kLowGainReadNoise, how + ")"};
}

} // namespace lumen::sony_a7s2
