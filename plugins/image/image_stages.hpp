// The `image` plugin set: generic image conversions.
//
//   image.to8bit  transform  any-dtype "image" -> u8 display stretch (min/max or percentiles)
//
// Example pipeline (quick-look PNGs of a synthetic sky):
//   stages:
//     - id: sky
//       use: synth.starfield
//       with: {count: 4}
//     - id: stretch
//       use: image.to8bit
//       with: {low_percentile: 1, high_percentile: 99.8}
//     - id: save
//       use: png.write
#pragma once

#include "lumen/lumen.hpp"
#include "to8bit.hpp"

#include <string>

namespace lumen::image {

class To8Bit final : public Transform {
public:
  static constexpr const char* summary =
      "Stretches the image (any dtype) to u8 for display: min/max or percentile range, NaN -> 0";
  static constexpr const char* doc =
      "Maps the \"image\" array linearly to u8: the value `low` goes to 0, `high` to 255,\n"
      "with rounding and clipping. mode minmax takes low/high as the smallest and largest\n"
      "finite values; mode percentile (default) takes the low_percentile and high_percentile\n"
      "of the finite values (linear interpolation between order statistics; exact up to\n"
      "1,048,576 values per channel, above that a fixed-stride sample of about that size).\n"
      "NaN becomes 0; a constant image becomes 0 without dividing by zero. With per_channel an\n"
      "(H, W, C) array gets one range per channel, otherwise one range for all values. Sets\n"
      "meta to8bit_low and to8bit_high (numbers, or lists with per_channel) and units\n"
      "normalized. Use it before png.write for float or 32-bit data.\n"
      "\n"
      "Example:\n"
      "  - id: stretch\n"
      "    use: image.to8bit\n"
      "    with: {mode: percentile, low_percentile: 0.5, high_percentile: 99.5}\n";
  static constexpr bool concurrent = true;

  Param<std::string> mode{this, "mode", std::string("percentile"),
                          "how the range is chosen: minmax (smallest/largest finite value) or percentile",
                          OneOf{{"minmax", "percentile"}}};
  Param<double> low_percentile{this, "low_percentile", 0.5, "percentile mapped to 0", Min{0}, Max{100}, Unit{"%"}};
  Param<double> high_percentile{this, "high_percentile", 99.5, "percentile mapped to 255", Min{0}, Max{100}, Unit{"%"}};
  Param<bool> per_channel{this, "per_channel", false,
                          "one range per channel of an (H, W, C) image instead of one for all values"};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"to8bit_low", "to8bit_high"}, .units = "normalized"}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;

  [[nodiscard]] StretchOptions options() const;
};

} // namespace lumen::image
