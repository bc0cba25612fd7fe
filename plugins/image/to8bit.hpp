// Display stretch to 8 bits: the pixel math behind `image.to8bit`.
//
// A range [low, high] is chosen from the data (minimum and maximum, or two percentiles) and
// mapped linearly onto 0..255 with rounding and clipping: low -> 0, high -> 255. NaN becomes 0,
// +inf 255, -inf 0; non-finite values never take part in choosing the range. A constant image
// (low == high) becomes all 0 (values above the constant would be 255), never a division by zero.
//
// Percentiles use linear interpolation between order statistics (numpy's default method),
// found with std::nth_element, or for ranks in the lowest or highest 1/32 (0.5 %, 99.9 %) with a
// bounded heap in one read-only pass (the same order statistics, several times faster). They are exact whenever a
// channel has at most kMaxPercentileSamples values. Larger inputs are sampled at a fixed stride (every s-th value, s =
// ceil(n / kMaxPercentileSamples), raised until it shares no factor with 2, 3 or the channel count, so a Bayer mosaic
// or interleaved RGB is never sampled on one site or channel only). The sample depends only on the array's shape, so
// results are reproducible. Minimum and maximum always use every value.
//
// Example pipeline, through the stage that wraps this:
//   - id: stretch
//     use: image.to8bit
//     with: {mode: percentile, low_percentile: 1, high_percentile: 99.9}
#pragma once

#include "lumen/array.hpp"
#include "lumen/thread_pool.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lumen::image {

inline constexpr std::size_t kMaxPercentileSamples = std::size_t{1} << 20; // 1,048,576

enum class StretchMode { minmax, percentile };

struct StretchOptions {
  StretchMode mode = StretchMode::percentile;
  double low_percentile = 0.5;   // 0..100
  double high_percentile = 99.5; // 0..100
  bool per_channel = false;      // one range per channel of an (H, W, C) array
};

/// The input values mapped to 0 and 255.
struct Range {
  double low = 0, high = 0;
};

/// Percentile `p` (0..100) of `values`, interpolating linearly between order statistics.
/// Reorders `values`; NaN when it is empty.
[[nodiscard]] double percentile(std::vector<double>& values, double p);

/// The sampling stride used for `count` values of an array with `channels` interleaved
/// channels: 1 when count <= kMaxPercentileSamples.
[[nodiscard]] std::size_t sample_stride(std::size_t count, std::size_t channels);

/// Number of ranges find_ranges() returns: the channel count of an (H, W, C) array when
/// per_channel is set, else 1.
[[nodiscard]] std::size_t range_count(const Array& image, bool per_channel);

/// One range per channel (per_channel on an (H, W, C) array) or one for the whole array.
/// A channel without finite values gets {0, 0}. With a `pool`, the sample is gathered and the
/// two percentiles are selected in parallel (the same values).
[[nodiscard]] std::vector<Range> find_ranges(const Array& image, const StretchOptions& options,
                                             ThreadPool* pool = nullptr);

/// Maps `image` (any dtype, any shape) to u8 of the same shape with the given ranges
/// (one per channel of the last axis, or one for all values). Elements are shared out over
/// `pool` (may be null).
[[nodiscard]] Array apply_ranges(const Array& image, const std::vector<Range>& ranges, ThreadPool* pool = nullptr);

/// The mapping apply_ranges() gives one channel, over a run of `n` contiguous f32 values: the
/// very same code, so image.scale's u8 output (which calls it with {0, 1} on each chunk of
/// scaled values) equals image.scale followed by image.to8bit {mode: fixed, low: 0, high: 1}.
void map_range(const float* src, std::uint8_t* dst, std::size_t n, const Range& range) noexcept;

/// find_ranges + apply_ranges; `used` receives the ranges when not null.
[[nodiscard]] Array to8bit(const Array& image, const StretchOptions& options, std::vector<Range>* used = nullptr,
                           ThreadPool* pool = nullptr);

} // namespace lumen::image
