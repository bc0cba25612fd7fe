// Domain scaling to [0, 1]: the pixel math behind `image.scale`.
//
// Three mappings of an image (any dtype, any shape; (H, W, C) may get one range per channel)
// onto f32 in [0, 1], values outside the range clipped, NaN kept as NaN:
//   minmax      x' = (x - min) / (max - min)                       photography (linear)
//   percentile  x' = (x - p_lo) / (p_hi - p_lo), clipped            microscopy (1st-99th)
//   asinh       x' = asinh((x - p_lo) / s) / asinh((p_hi - p_lo) / s), clipped   astronomy
// The ranges come from image/to8bit's machinery (find_ranges: min/max over every finite value,
// percentiles by linear interpolation between order statistics, exact up to 2^20 values, a
// fixed-stride sample above). The asinh softening s is absolute (data units) or relative to
// the clip range, s = softening * (p_hi - p_lo); relative 0.1 equals astropy's
// AsinhStretch(a=0.1) after a percentile interval: linear for x - p_lo << s, logarithmic above.
// When the asinh range is degenerate (p_hi <= p_lo, e.g. a frame that is mostly one value) the
// channel falls back to a linear percentile clip over fallback_low/high_percentile (default
// 0 and 100: min and max); a range that is still degenerate maps to 0 (values above it to 1).
//
// asinh is evaluated through a table of asinh over [p_lo, p_hi] with linear interpolation
// (4096 to 2^20 intervals: the size the curvature bound h^2/8 max|f''| <= 1e-6 asks for, doubled
// while the largest interpolation error measured at the interval midpoints is above 1e-6; the
// error reached, at most 1e-6 unless 2^20 intervals were not enough, is reported as
// table_error), so a 16-megapixel frame costs a few ns per pixel instead of a logarithm per
// pixel. The table is sized by the work: it costs about two asinh per interval, so a channel
// with fewer than twice that many pixels (small images, small softenings: relative 0.1 needs
// 4096 intervals, 0.001 about 2^17) gets asinh evaluated per pixel instead (double precision,
// table_error 0). A ScaleScratch passed in keeps the table memory (16 bytes per interval, up to
// 16 MiB) from one image to the next, so a stream of images does not map and fault it afresh.
//
// Output f32 (the default) or u8: u8 quantises each chunk of scaled values while it is still in
// cache, with image.to8bit's own code for the fixed range [0, 1] (round(255 x), NaN -> 0), so
// it equals image.scale + image.to8bit {mode: fixed, low: 0, high: 1} value for value without
// the full-size f32 intermediate (64 MB for a 16-megapixel frame) and its second pass.
//
// Example pipeline, through the stage that wraps this:
//   - id: scale
//     use: image.scale
//     with: {mode: asinh, low_percentile: 0.5, high_percentile: 99.9, softening: 0.05}
#pragma once

#include "lumen/array.hpp"
#include "lumen/thread_pool.hpp"
#include "to8bit.hpp"

#include <string>
#include <vector>

namespace lumen::image {

enum class ScaleMode { minmax, percentile, asinh };

struct ScaleOptions {
  ScaleMode mode = ScaleMode::minmax;
  double low_percentile = 1.0, high_percentile = 99.0;                    // percentile and asinh
  double fallback_low_percentile = 0.0, fallback_high_percentile = 100.0; // asinh fallback
  double softening = 0.1;                                                 // asinh
  bool softening_relative = true;                                         // softening * (high - low), else data units
  bool per_channel = false;                                               // one range per channel of an (H, W, C) array
  DType output = DType::f32;                                              // f32 [0, 1] or u8 round(255 x)
};

/// What one channel (or the whole image) was mapped with.
struct ChannelScale {
  std::string method;     // minmax | percentile | asinh
  Range range;            // the input values mapped to 0 and 1
  double softening = 0;   // asinh: absolute softening, data units
  std::string fallback;   // why asinh fell back, "" when it did not
  double table_error = 0; // asinh: largest interpolation error of the table (output units), 0 per pixel
};

/// Buffers for the asinh tables, reused by apply_scale from one image to the next (they keep
/// their capacity). One per worker: not for two calls at once.
struct ScaleScratch {
  std::vector<std::vector<double>> nodes; // per channel: pairs (table[i], table[i + 1] - table[i])
};

/// The per-channel mappings scale01() would use for `image` (ranges found with `pool`, may be null).
[[nodiscard]] std::vector<ChannelScale> plan_scale(const Array& image, const ScaleOptions& options,
                                                   ThreadPool* pool = nullptr);

/// Maps `image` to f32 [0, 1] of the same shape with the given plan (one entry, or one per
/// channel of the last axis), filling in each asinh entry's table_error. An f32 image held by
/// no one else is mapped in place (pass it with std::move; a shared one is copied first).
/// `output` u8 gives round(255 x) instead (see above; any other dtype throws lumen::Error).
/// Elements are shared out over `pool` (may be null); asinh tables are built in `scratch` when
/// given (else in buffers freed on return).
[[nodiscard]] Array apply_scale(Array image, std::vector<ChannelScale>& plan, ThreadPool* pool = nullptr,
                                DType output = DType::f32, ScaleScratch* scratch = nullptr);

/// plan_scale + apply_scale (with options.output); `used` receives the plan when not null.
[[nodiscard]] Array scale01(Array image, const ScaleOptions& options, std::vector<ChannelScale>* used = nullptr,
                            ThreadPool* pool = nullptr, ScaleScratch* scratch = nullptr);

} // namespace lumen::image
