// Display stretch to 8 bits: range finding (min/max or sampled percentiles) and the linear
// mapping to u8 (see to8bit.hpp for the exact rules).
//
// Example pipeline:
//   - id: stretch
//     use: image.to8bit
//     with: {mode: minmax}
#include "to8bit.hpp"

#include "lumen/error.hpp"
#include "parallel.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <type_traits>

namespace lumen::image {

namespace {

template <typename T> bool finite(T v) noexcept {
  if constexpr (std::is_floating_point_v<T>)
    return std::isfinite(v);
  else
    return true;
}

// The channel period of the last axis of an (H, W, C) array, else 1.
std::size_t interleave(const Array& a) {
  return a.ndim() == 3 ? static_cast<std::size_t>(std::max<std::int64_t>(1, a.dim(2))) : 1;
}

struct Mapping {
  double low = 0, width = 0;
  bool flat = false; // low == high: values above low -> 255, the rest -> 0
};

Mapping mapping_for(const Range& r) {
  Mapping m;
  m.low = r.low;
  m.flat = !(r.high > r.low);
  m.width = m.flat ? 1.0 : r.high - r.low;
  return m;
}

template <typename T> std::uint8_t map_value(T value, const Mapping& m) noexcept {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(value)) return 0;
  }
  const auto v = static_cast<double>(value);
  if (m.flat) return v > m.low ? 255 : 0;
  // Divide rather than multiply by 255 / width: exact at the half-way points, so rounding is
  // the same on every machine.
  const double t = (v - m.low) * 255.0 / m.width;
  if (t <= 0.0) return 0;
  if (t >= 255.0) return 255;
  return static_cast<std::uint8_t>(t + 0.5);
}

// map_value over a run of values of one channel, without branches (the same results: NaN and
// t <= 0 -> 0, t >= 255 -> 255, else t rounded half up), so the compiler vectorises it.
template <typename T> void map_run(const T* src, std::uint8_t* dst, std::size_t n, const Mapping& m) noexcept {
  if (m.flat) {
    for (std::size_t i = 0; i < n; ++i) dst[i] = map_value(src[i], m);
    return;
  }
  const double low = m.low, width = m.width;
  int exponent = 0;
  if (std::frexp(width, &exponent) == 0.5) {
    // A power-of-two width (the [0, 1] of image.scale): dividing by it is multiplying by its
    // exact reciprocal, so this is the same arithmetic without a division per value.
    const double inv = 1.0 / width;
    prefetched_chunks(src, static_cast<std::int64_t>(n), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) {
        double t = ((static_cast<double>(src[i]) - low) * 255.0) * inv;
        t = t > 0.0 ? t : 0.0; // also NaN -> 0
        t = t < 255.0 ? t : 255.0;
        dst[i] = static_cast<std::uint8_t>(static_cast<int>(t + 0.5));
      }
    });
    return;
  }
  prefetched_chunks(src, static_cast<std::int64_t>(n), [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      double t = (static_cast<double>(src[i]) - low) * 255.0 / width;
      t = t > 0.0 ? t : 0.0; // also NaN -> 0
      t = t < 255.0 ? t : 255.0;
      dst[i] = static_cast<std::uint8_t>(static_cast<int>(t + 0.5));
    }
  });
}

} // namespace

namespace {

// Where percentile p of n values lies: the k-th smallest (0-based), and the fraction towards the
// next one.
struct Rank {
  std::size_t k = 0;
  double frac = 0;
};
Rank rank_of(std::size_t n, double p) {
  const double q = std::clamp(p, 0.0, 100.0) / 100.0;
  const double pos = q * static_cast<double>(n - 1);
  Rank r;
  r.k = static_cast<std::size_t>(std::floor(pos));
  r.frac = pos - static_cast<double>(r.k);
  return r;
}

// An extreme rank (the lowest or highest 1/32 of the values, as for 0.5 % and 99.9 %) is found
// with a bounded heap in one read-only pass (std::partial_sort_copy) instead of nth_element's
// several passes: the same order statistics, so the same result.
constexpr std::size_t kExtremeShare = 32;
bool extreme(std::size_t n, const Rank& r) {
  return r.k + 2 <= n / kExtremeShare || n - r.k <= n / kExtremeShare;
}

double interpolate(double lo, double hi, double frac) {
  return frac == 0.0 ? lo : lo + frac * (hi - lo);
}

double extreme_percentile(const std::vector<double>& values, const Rank& r) {
  const std::size_t n = values.size();
  const bool need_next = r.frac != 0.0 && r.k + 1 < n;
  if (r.k + 2 <= n / kExtremeShare) { // the k + 2 smallest, ascending
    std::vector<double> low(r.k + 2);
    std::partial_sort_copy(values.begin(), values.end(), low.begin(), low.end());
    return need_next ? interpolate(low[r.k], low[r.k + 1], r.frac) : low[r.k];
  }
  // The n - k largest, descending: the k-th smallest is the last, the next one before it.
  std::vector<double> high(n - r.k);
  std::partial_sort_copy(values.begin(), values.end(), high.begin(), high.end(), std::greater<>());
  const double lo = high.back();
  return need_next ? interpolate(lo, high[high.size() - 2], r.frac) : lo;
}

} // namespace

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  const Rank r = rank_of(values.size(), p);
  if (extreme(values.size(), r)) return extreme_percentile(values, r);
  const auto kth = values.begin() + static_cast<std::ptrdiff_t>(r.k);
  std::nth_element(values.begin(), kth, values.end());
  const double lo = *kth;
  if (r.frac == 0.0 || r.k + 1 >= values.size()) return lo;
  const double hi = *std::min_element(kth + 1, values.end()); // everything after kth is >= lo
  return lo + r.frac * (hi - lo);
}

std::size_t sample_stride(std::size_t count, std::size_t channels) {
  if (count <= kMaxPercentileSamples) return 1;
  std::size_t s = (count + kMaxPercentileSamples - 1) / kMaxPercentileSamples;
  while (std::gcd(s, 6 * std::max<std::size_t>(1, channels)) != 1) ++s;
  return s;
}

std::size_t range_count(const Array& image, bool per_channel) {
  return per_channel && image.ndim() == 3 && image.dim(2) > 0 ? static_cast<std::size_t>(image.dim(2)) : 1;
}

std::vector<Range> find_ranges(const Array& image, const StretchOptions& options, ThreadPool* pool) {
  const std::size_t nch = range_count(image, options.per_channel);
  std::vector<Range> ranges(nch);
  if (image.empty() || image.size() == 0) return ranges;
  const Array a = image.contiguous_copy(); // no copy when already contiguous
  const auto per_channel_count = static_cast<std::size_t>(a.size()) / nch;

  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* data = static_cast<const T*>(a.raw());
    for (std::size_t c = 0; c < nch; ++c) {
      Range& r = ranges[c];
      if (options.mode == StretchMode::minmax) {
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (std::size_t i = 0; i < per_channel_count; ++i) {
          const T v = data[i * nch + c];
          if (!finite(v)) continue;
          lo = std::min(lo, static_cast<double>(v));
          hi = std::max(hi, static_cast<double>(v));
        }
        if (lo <= hi) r = {lo, hi};
        continue;
      }
      const std::size_t stride = sample_stride(per_channel_count, interleave(a));
      // Every stride-th value (gathered in parallel blocks when there is a pool: touching
      // every cache line of a big frame is the slow part), then the non-finite ones dropped.
      std::vector<double> sample((per_channel_count + stride - 1) / stride);
      constexpr std::int64_t kGather = 1 << 16;
      parallel_rows(
          pool, static_cast<std::int64_t>((sample.size() + kGather - 1) / kGather),
          [&](std::int64_t b0, std::int64_t b1) {
            const std::size_t j1 = std::min(sample.size(), static_cast<std::size_t>(b1 * kGather));
            for (auto j = static_cast<std::size_t>(b0 * kGather); j < j1; ++j)
              sample[j] = static_cast<double>(data[j * stride * nch + c]);
          },
          1);
      if constexpr (std::is_floating_point_v<T>)
        sample.erase(std::remove_if(sample.begin(), sample.end(), [](double v) { return !std::isfinite(v); }),
                     sample.end());
      if (sample.empty()) continue;
      if (pool && sample.size() > 4096) { // the two selections at once, one on a copy
        // (when both ranks are extreme both selections only read the sample: no copy then)
        const bool reads_only = extreme(sample.size(), rank_of(sample.size(), options.low_percentile)) &&
                                extreme(sample.size(), rank_of(sample.size(), options.high_percentile));
        std::vector<double> copy = reads_only ? std::vector<double>() : sample;
        std::vector<double>& low_values = reads_only ? sample : copy;
        parallel_rows(
            pool, 2,
            [&](std::int64_t b0, std::int64_t b1) {
              for (std::int64_t b = b0; b < b1; ++b)
                (b == 0 ? r.low : r.high) = b == 0 ? percentile(low_values, options.low_percentile)
                                                   : percentile(sample, options.high_percentile);
            },
            1);
        continue;
      }
      r.low = percentile(sample, options.low_percentile);
      r.high = percentile(sample, options.high_percentile);
    }
  });
  return ranges;
}

Array apply_ranges(const Array& image, const std::vector<Range>& ranges, ThreadPool* pool) {
  const std::size_t nch = ranges.size();
  if (nch == 0 || (nch > 1 && !(image.ndim() == 3 && static_cast<std::size_t>(image.dim(2)) == nch)))
    throw Error("image.to8bit: " + std::to_string(nch) + " ranges do not fit an array of shape " + image.shape().str());
  if (image.empty()) return {};
  Array out = Array::uninitialized(DType::u8, image.shape());
  if (image.size() == 0) return out;
  const Array a = image.contiguous_copy();
  std::uint8_t* dst = out.writable<std::uint8_t>().data();
  std::vector<Mapping> maps;
  for (const Range& r : ranges) maps.push_back(mapping_for(r));

  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = static_cast<const T*>(a.raw());
    const auto n = static_cast<std::size_t>(a.size());
    if (nch == 1) {
      constexpr std::size_t block = 1 << 16;
      parallel_rows(
          pool, static_cast<std::int64_t>((n + block - 1) / block),
          [&](std::int64_t b0, std::int64_t b1) {
            const std::size_t e0 = static_cast<std::size_t>(b0) * block;
            const std::size_t e1 = std::min(n, static_cast<std::size_t>(b1) * block);
            map_run(src + e0, dst + e0, e1 - e0, maps[0]);
          },
          1);
      return;
    }
    for (std::size_t p = 0; p < n; p += nch)
      for (std::size_t c = 0; c < nch; ++c) dst[p + c] = map_value(src[p + c], maps[c]);
  });
  return out;
}

void map_range(const float* src, std::uint8_t* dst, std::size_t n, const Range& range) noexcept {
  map_run(src, dst, n, mapping_for(range));
}

Array to8bit(const Array& image, const StretchOptions& options, std::vector<Range>* used, ThreadPool* pool) {
  std::vector<Range> ranges = find_ranges(image, options, pool);
  Array out = apply_ranges(image, ranges, pool);
  if (used) *used = std::move(ranges);
  return out;
}

} // namespace lumen::image
