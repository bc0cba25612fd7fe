// The `image` plugin set: generic image conversions.
//
//   image.to8bit      transform  any-dtype "image" -> u8 display stretch (min/max, percentiles or fixed)
//   image.downsample  transform  anti-aliased (Lanczos-3) downsampling by an integer factor
//   image.scale       transform  domain scaling to f32 [0, 1] (or u8): minmax, percentile clip or asinh stretch
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

#include "downsample.hpp"
#include "lumen/lumen.hpp"
#include "parallel.hpp"
#include "scale.hpp"
#include "to8bit.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lumen::image {

class To8Bit final : public Transform {
public:
  static constexpr const char* summary =
      "Stretches the image (any dtype) to u8 for display: min/max, percentile or fixed range, NaN -> 0";
  static constexpr const char* doc =
      "Maps the \"image\" array linearly to u8: the value `low` goes to 0, `high` to 255,\n"
      "with rounding and clipping. mode minmax takes low/high as the smallest and largest\n"
      "finite values; mode percentile (default) takes the low_percentile and high_percentile\n"
      "of the finite values (linear interpolation between order statistics; exact up to\n"
      "1,048,576 values per channel, above that a fixed-stride sample of about that size);\n"
      "mode fixed takes the parameters low and high as given (default 0 and 1: the [0, 1]\n"
      "output of image.scale becomes round(255 x), the same mapping for every image).\n"
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

  Param<std::string> mode{
      this, "mode", std::string("percentile"),
      "how the range is chosen: minmax (smallest/largest finite value), percentile, or fixed (low/high as given)",
      OneOf{{"minmax", "percentile", "fixed"}}};
  Param<double> low{this, "low", 0.0, "mode fixed: the value mapped to 0"};
  Param<double> high{this, "high", 1.0, "mode fixed: the value mapped to 255"};
  Param<double> low_percentile{this, "low_percentile", 0.5, "percentile mapped to 0", Min{0}, Max{100}, Unit{"%"}};
  Param<double> high_percentile{this, "high_percentile", 99.5, "percentile mapped to 255", Min{0}, Max{100}, Unit{"%"}};
  Param<bool> per_channel{this, "per_channel", false,
                          "one range per channel of an (H, W, C) image instead of one for all values"};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"to8bit_low", "to8bit_high"}, .units = "normalized"}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;

  [[nodiscard]] StretchOptions options() const;

private:
  std::unique_ptr<ThreadPool> pool_;
};

class Downsample final : public Transform {
public:
  static constexpr const char* summary =
      "Anti-aliased downsampling by an integer factor (separable Lanczos-3 low-pass, cutoff at the new Nyquist)";
  static constexpr const char* doc =
      "Shrinks an (H, W) or (H, W, C) image (any dtype; output f32) by an integer factor: each\n"
      "output pixel is the Lanczos-3 windowed-sinc weighted sum, w(t) = sinc(t/f) sinc(t/(3f)) for\n"
      "|t| < 3f (normalised), of the input pixels around the centre of the f x f block it replaces,\n"
      "rows then columns, edges mirrored. The cutoff is the new Nyquist frequency: the response is\n"
      "above 0.98 up to 0.6 x the new Nyquist, 0.5 at it and below 0.01 from 1.5 x it, so fine\n"
      "texture does not alias. Plain pixel skipping passes everything; a box (block mean) still\n"
      "passes 64% at the new Nyquist and 50% at 1.2 x it, so it aliases too. Output floor(H/f) x\n"
      "floor(W/f): Sony A7S II 2848x4256 / 2 -> 1424x2128, Fuji X-T30 4032x6032 / 4 -> 1008x1508.\n"
      "factor 0 takes the meta key downsample_factor (set by the camera facility sets); factor 1\n"
      "passes images through unchanged. A CFA mosaic (meta cfa other than none) is refused: its\n"
      "colours would mix; run calib.demosaic first (demosaicing and the calibration before it are\n"
      "linear per neighbourhood, so downsampling after them is the same as before them). Rows are\n"
      "shared out over the run's threads. Sets meta downsample_applied and downsample_filter.\n"
      "\n"
      "Example:\n"
      "  - id: down\n"
      "    use: image.downsample\n"
      "    with: {factor: 4}\n";
  static constexpr bool concurrent = true;

  Param<int> factor{this, "factor", 0, "integer shrink factor per axis; 0 = meta downsample_factor", Min{0}, Max{64}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"downsample_applied"}, .units = ""}};

  void start() override;
  void process(Item& item, Emit& emit) override;

private:
  std::unique_ptr<ThreadPool> pool_;
};

class Scale final : public Transform {
public:
  static constexpr const char* summary =
      "Domain scaling to f32 [0, 1] (or u8): linear min/max, percentile clip, or asinh stretch with percentile "
      "fallback";
  static constexpr const char* doc =
      "Maps the \"image\" (any dtype and shape) to f32 in [0, 1], clipping, NaN kept:\n"
      "  minmax      (x - min) / (max - min) over the finite values (photography)\n"
      "  percentile  (x - p_lo) / (p_hi - p_lo), p = low/high_percentile (microscopy: 1, 99)\n"
      "  asinh       asinh((x - p_lo) / s) / asinh((p_hi - p_lo) / s) (astronomy), with\n"
      "              s = softening x (p_hi - p_lo) (softening_mode relative, the default; 0.1 equals\n"
      "              astropy's AsinhStretch(a=0.1) on a percentile interval) or s = softening in\n"
      "              data units (softening_mode absolute). Small s: strong stretch of faint signal.\n"
      "              When p_hi <= p_lo (a degenerate range) the channel falls back to a linear\n"
      "              percentile clip over fallback_low/high_percentile (meta scale_fallback says so).\n"
      "Percentiles interpolate between order statistics (numpy's default), exact up to 2^20 values\n"
      "per channel and from a fixed-stride sample above (the same machinery as image.to8bit).\n"
      "asinh goes through an interpolated table whose error is measured and kept in meta\n"
      "(scale_table_error, below 1e-6 of the output range), or is evaluated per pixel (error 0)\n"
      "when the image has fewer pixels than the table would cost. per_channel gives an (H, W, C) image one\n"
      "range per channel (else one range keeps the colour balance). Sets meta scale_method,\n"
      "scale_low, scale_high (numbers, or lists with per_channel), scale_softening (asinh, data\n"
      "units) and units normalized. output u8 gives round(255 x) (NaN -> 0) in the same pass:\n"
      "exactly image.to8bit {mode: fixed, low: 0, high: 1} after the f32 output, without the\n"
      "full-size f32 array in between (meta scale_output says which).\n"
      "\n"
      "Example:\n"
      "  - id: scale\n"
      "    use: image.scale\n"
      "    with: {mode: asinh, low_percentile: 1, high_percentile: 99.5, softening: 0.1, output: u8}\n";
  static constexpr bool concurrent = true;

  Param<std::string> mode{this, "mode", std::string("minmax"), "minmax, percentile or asinh",
                          OneOf{{"minmax", "percentile", "asinh"}}};
  Param<double> low_percentile{this,   "low_percentile", 1.0,      "percentile mapped to 0 (percentile, asinh)",
                               Min{0}, Max{100},         Unit{"%"}};
  Param<double> high_percentile{this,   "high_percentile", 99.0,     "percentile mapped to 1 (percentile, asinh)",
                                Min{0}, Max{100},          Unit{"%"}};
  Param<double> softening{this, "softening", 0.1,
                          "asinh softening: a fraction of the clip range (relative) or data units (absolute); > 0",
                          Min{0}};
  Param<std::string> softening_mode{this, "softening_mode", std::string("relative"),
                                    "relative: softening x (p_hi - p_lo); absolute: softening in data units",
                                    OneOf{{"relative", "absolute"}}};
  Param<double> fallback_low_percentile{this,     "fallback_low_percentile",
                                        0.0,      "asinh fallback (degenerate range): percentile mapped to 0",
                                        Min{0},   Max{100},
                                        Unit{"%"}};
  Param<double> fallback_high_percentile{this,     "fallback_high_percentile",
                                         100.0,    "asinh fallback (degenerate range): percentile mapped to 1",
                                         Min{0},   Max{100},
                                         Unit{"%"}};
  Param<bool> per_channel{this, "per_channel", false, "one range per channel of an (H, W, C) image"};
  Param<std::string> output{this, "output", std::string("f32"),
                            "f32: values in [0, 1]; u8: round(255 x) in the same pass (= image.to8bit {mode: fixed, "
                            "low: 0, high: 1} after f32)",
                            OneOf{{"f32", "u8"}}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this,
                {.arrays = {"image"}, .meta_keys = {"scale_method", "scale_low", "scale_high"}, .units = "normalized"}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;

  [[nodiscard]] ScaleOptions options() const;

private:
  std::unique_ptr<ThreadPool> pool_;
  std::mutex scratch_mutex_;
  std::vector<std::unique_ptr<ScaleScratch>> idle_scratch_; // asinh table buffers, one per concurrent item
};

} // namespace lumen::image
