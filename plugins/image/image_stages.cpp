// The `image` plugin set: stage implementations and the plugin entry point.
// What each stage does, and its parameters, are declared in image_stages.hpp; the pixel math
// is in to8bit.cpp.
//
// Example pipeline:
//   - id: stretch
//     use: image.to8bit
//     with: {mode: minmax, per_channel: true}
#include "image_stages.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace lumen::image {

// ---- image.to8bit ------------------------------------------------------------------------------

StretchOptions To8Bit::options() const {
  StretchOptions o;
  o.mode = *mode == "minmax" ? StretchMode::minmax : StretchMode::percentile;
  o.low_percentile = *low_percentile;
  o.high_percentile = *high_percentile;
  o.per_channel = *per_channel;
  return o;
}

void To8Bit::validate() const {
  if (!(*low_percentile < *high_percentile)) {
    char text[160];
    std::snprintf(text, sizeof text, "high_percentile (%g) must be greater than low_percentile (%g)", *high_percentile,
                  *low_percentile);
    throw ConfigError("high_percentile", std::string(text) + ": swap them or widen the range");
  }
}

void To8Bit::process(Item& item, Emit& emit) {
  std::vector<Range> ranges;
  Array stretched = to8bit(item.array("image"), options(), &ranges);
  item.set("image", std::move(stretched));
  if (ranges.size() == 1) {
    item.meta.set("to8bit_low", MetaValue{ranges[0].low}, "input value mapped to 0");
    item.meta.set("to8bit_high", MetaValue{ranges[0].high}, "input value mapped to 255");
  } else {
    std::vector<double> lows, highs;
    for (const Range& r : ranges) {
      lows.push_back(r.low);
      highs.push_back(r.high);
    }
    item.meta.set("to8bit_low", MetaValue{std::move(lows)}, "input values mapped to 0, per channel");
    item.meta.set("to8bit_high", MetaValue{std::move(highs)}, "input values mapped to 255, per channel");
  }
  item.meta.set(keys::units, "normalized");
  emit(std::move(item));
}

} // namespace lumen::image

LUMEN_PLUGIN("image", "1.0.0", "MIT", lumen::stage<lumen::image::To8Bit>("image.to8bit"));
