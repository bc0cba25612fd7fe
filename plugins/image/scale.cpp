// Domain scaling to [0, 1] (see scale.hpp for the mappings and the asinh table).
//
// Example: Array x = lumen::image::scale01(electrons, {.mode = ScaleMode::asinh}, &plan, pool.get());
#include "scale.hpp"

#include "lumen/error.hpp"
#include "parallel.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <type_traits>

namespace lumen::image {

namespace {

constexpr std::int64_t kBlock = 1 << 14; // elements per parallel block

// One channel's mapping, ready for the pixel loop.
struct Mapper {
  double low = 0, inv_width = 0; // linear: (x - low) * inv_width
  bool flat = false;             // degenerate range: x > low -> 1, else 0
  bool asinh = false;
  bool direct = false;           // asinh evaluated per pixel (image smaller than its table): no table
  double width = 0;              // asinh direct: x - low >= width -> 1
  double softening = 0;          // asinh direct: asinh((x - low) / softening) / total
  double total = 0;              // asinh direct: asinh(width / softening)
  const double* nodes = nullptr; // asinh table: pairs (table[i], table[i + 1] - table[i]), one load per pixel
  double table_scale = 0;        // asinh table: (x - low) * table_scale = position in the table
  double n = 0;                  // asinh table: intervals

  [[nodiscard]] float operator()(double x) const noexcept {
    if (std::isnan(x)) return std::numeric_limits<float>::quiet_NaN();
    if (flat) return x > low ? 1.0f : 0.0f;
    if (!asinh) {
      const double t = (x - low) * inv_width;
      return static_cast<float>(t <= 0 ? 0.0 : t >= 1 ? 1.0 : t);
    }
    if (direct) {
      const double d = x - low;
      if (!(d > 0)) return 0.0f;
      if (d >= width) return 1.0f;
      return static_cast<float>(std::asinh(d / softening) / total);
    }
    const double t = (x - low) * table_scale;
    if (!(t > 0)) return 0.0f;
    if (t >= n) return 1.0f;
    const auto i = static_cast<std::size_t>(t);
    const double frac = t - static_cast<double>(i);
    return static_cast<float>(nodes[2 * i] + frac * nodes[2 * i + 1]);
  }

  // The same mapping over a run of pixels, asinh without branches: each chunk of up to 256
  // results is handed to put(first, values, count) while it is in cache (the values are all
  // computed from the source before put runs, so dst may alias src).
  template <typename T, typename Put> void map_chunks(const T* src, std::int64_t count, Put&& put) const noexcept {
    alignas(64) std::array<float, 256> out{};
    if (!asinh || flat || direct) {
      prefetched_chunks(src, count, [&](std::int64_t i0, std::int64_t i1) {
        for (std::int64_t i = i0; i < i1; ++i)
          out[static_cast<std::size_t>(i - i0)] = (*this)(static_cast<double>(src[i]));
        put(i0, out.data(), i1 - i0);
      });
      return;
    }
    const double* node = nodes;
    const double l = low, scale = table_scale, top = n;
    const auto last = static_cast<std::int64_t>(n) - 1;
    // Per chunk: positions and fractions in a vectorised pass, then the table reads (a gather
    // the compiler cannot vectorise) in a short scalar loop, then NaN restored by a select.
    alignas(64) std::array<std::int32_t, 256> idx{};
    alignas(64) std::array<double, 256> frac{};
    prefetched_chunks(src, count, [&](std::int64_t i0, std::int64_t i1) {
      const std::int64_t m = i1 - i0;
      for (std::int64_t j = 0; j < m; ++j) {
        double t = (static_cast<double>(src[i0 + j]) - l) * scale;
        t = t > 0 ? t : 0; // also NaN -> 0
        t = t < top ? t : top;
        std::int32_t k = static_cast<std::int32_t>(t);
        k = k < static_cast<std::int32_t>(last) ? k : static_cast<std::int32_t>(last); // t == n: frac 1
        idx[static_cast<std::size_t>(j)] = k;
        frac[static_cast<std::size_t>(j)] = t - static_cast<double>(k);
      }
      for (std::int64_t j = 0; j < m; ++j) {
        const std::size_t k = 2 * static_cast<std::size_t>(idx[static_cast<std::size_t>(j)]);
        out[static_cast<std::size_t>(j)] =
            static_cast<float>(node[k] + frac[static_cast<std::size_t>(j)] * node[k + 1]);
      }
      for (std::int64_t j = 0; j < m; ++j) {
        const float x = static_cast<float>(src[i0 + j]);
        out[static_cast<std::size_t>(j)] =
            x == x ? out[static_cast<std::size_t>(j)] : std::numeric_limits<float>::quiet_NaN();
      }
      put(i0, out.data(), m);
    });
  }

  // map_chunks followed by image.to8bit's fixed [0, 1] mapping (map_range), without the f32
  // array. For asinh the quantisation is folded into the table loop, with the same arithmetic
  // as to8bit's map_run for low 0 and width 1: t = double(v) * 255 (exact: a 24-bit mantissa
  // times 8 bits), clipped to [0, 255], then int(t + 0.5); NaN -> 0. A test checks both paths
  // agree value for value.
  template <typename T>
  [[gnu::always_inline]] inline void map_u8(const T* src, std::uint8_t* dst, std::int64_t count) const noexcept {
    if (!asinh || flat || direct) {
      const Range unit{0.0, 1.0};
      map_chunks(src, count, [&](std::int64_t i0, const float* v, std::int64_t m) {
        map_range(v, dst + i0, static_cast<std::size_t>(m), unit);
      });
      return;
    }
    const double* node = nodes;
    const double l = low, scale = table_scale, top = n;
    const auto last = static_cast<std::int64_t>(n) - 1;
    alignas(64) std::array<std::int32_t, 256> idx{};
    alignas(64) std::array<double, 256> frac{};
    alignas(64) std::array<float, 256> out{};
    prefetched_chunks(src, count, [&](std::int64_t i0, std::int64_t i1) {
      const std::int64_t m = i1 - i0;
      for (std::int64_t j = 0; j < m; ++j) {
        double t = (static_cast<double>(src[i0 + j]) - l) * scale;
        t = t > 0 ? t : 0; // also NaN -> 0
        t = t < top ? t : top;
        std::int32_t k = static_cast<std::int32_t>(t);
        k = k < static_cast<std::int32_t>(last) ? k : static_cast<std::int32_t>(last);
        idx[static_cast<std::size_t>(j)] = k;
        frac[static_cast<std::size_t>(j)] = t - static_cast<double>(k);
      }
      for (std::int64_t j = 0; j < m; ++j) {
        const std::size_t k = 2 * static_cast<std::size_t>(idx[static_cast<std::size_t>(j)]);
        out[static_cast<std::size_t>(j)] =
            static_cast<float>(node[k] + frac[static_cast<std::size_t>(j)] * node[k + 1]);
      }
      // NaN input went to t = 0, i.e. table[0] = 0 -> 0, as to8bit maps NaN: no select needed.
      for (std::int64_t j = 0; j < m; ++j) {
        double t = static_cast<double>(out[static_cast<std::size_t>(j)]) * 255.0;
        t = t > 0.0 ? t : 0.0;
        t = t < 255.0 ? t : 255.0;
        dst[i0 + j] = static_cast<std::uint8_t>(static_cast<int>(t + 0.5));
      }
    });
  }
};

// The f32 -> u8 loop compiled twice (AVX2 and baseline x86-64), chosen at load time: the same
// operations in the same order (AVX2 without FMA, so no contraction), only wider registers.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LUMEN_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LUMEN_SIMD_CLONES
#endif
LUMEN_SIMD_CLONES void map_u8_f32(const Mapper& m, const float* src, std::uint8_t* dst, std::int64_t count) noexcept {
  m.map_u8(src, dst, count);
}

double asinh_norm(double d, double s, double total) {
  return std::asinh(d / s) / total;
}

constexpr std::size_t kMaxIntervals = std::size_t{1} << 20;

// The table size the interpolation error bound asks for (a power of two, 4096 to 2^20 intervals).
// Linear interpolation errs by at most h^2 / 8 max|f''|, and for f(t) = asinh(t / s) / total
// max|f''| = 2 / (3 sqrt(3) s^2 total) (at t = s / sqrt(2)).
std::size_t planned_intervals(double width, double s) {
  const double total = std::asinh(width / s);
  const double curvature = 2.0 / (3.0 * std::sqrt(3.0) * s * s * total);
  const double intervals = width / std::sqrt(8e-6 / curvature);
  std::size_t n = 4096;
  while (static_cast<double>(n) < intervals && n < kMaxIntervals) n *= 2;
  return n;
}

// Builds the asinh table for one channel into `nodes` (pairs table[i], table[i + 1] - table[i];
// the vector keeps its capacity for the next image); returns the largest midpoint error. Starts
// at planned_intervals and doubles while the measured error is still above 1e-6.
double build_table(Mapper& m, std::vector<double>& nodes, double low, double high, double s) {
  const double width = high - low, total = std::asinh(width / s);
  double err = 0;
  for (std::size_t n = planned_intervals(width, s);; n *= 2) {
    nodes.resize(2 * n);
    const double h = width / static_cast<double>(n);
    double prev = 0; // asinh_norm(0)
    err = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double next = i + 1 == n ? 1.0 : asinh_norm(static_cast<double>(i + 1) * h, s, total);
      nodes[2 * i] = prev;
      nodes[2 * i + 1] = next - prev;
      const double exact = asinh_norm((static_cast<double>(i) + 0.5) * h, s, total);
      err = std::max(err, std::abs(exact - 0.5 * (prev + next)));
      prev = next;
    }
    m.n = static_cast<double>(n);
    m.table_scale = static_cast<double>(n) / width;
    if (err <= 1e-6 || n >= kMaxIntervals) break;
  }
  m.nodes = nodes.data();
  return err;
}

Mapper linear_mapper(const Range& r) {
  Mapper m;
  m.low = r.low;
  m.flat = !(r.high > r.low);
  m.inv_width = m.flat ? 0.0 : 1.0 / (r.high - r.low);
  return m;
}

std::string text(const char* format, double a, double b) {
  char buf[200];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

} // namespace

std::vector<ChannelScale> plan_scale(const Array& image, const ScaleOptions& options, ThreadPool* pool) {
  StretchOptions so;
  so.per_channel = options.per_channel;
  so.mode = options.mode == ScaleMode::minmax ? StretchMode::minmax : StretchMode::percentile;
  so.low_percentile = options.low_percentile;
  so.high_percentile = options.high_percentile;
  const std::vector<Range> ranges = find_ranges(image, so, pool);
  std::vector<ChannelScale> plan(ranges.size());
  std::vector<Range> fallback; // found only when some channel needs it
  for (std::size_t c = 0; c < ranges.size(); ++c) {
    ChannelScale& p = plan[c];
    p.range = ranges[c];
    p.method = options.mode == ScaleMode::minmax       ? "minmax"
               : options.mode == ScaleMode::percentile ? "percentile"
                                                       : "asinh";
    if (options.mode != ScaleMode::asinh) continue;
    const double width = p.range.high - p.range.low;
    p.softening = options.softening_relative ? options.softening * width : options.softening;
    if (width > 0 && std::isfinite(width) && p.softening > 0 && std::isfinite(p.softening)) continue;
    if (fallback.empty()) {
      StretchOptions fo = so;
      fo.mode = StretchMode::percentile;
      fo.low_percentile = options.fallback_low_percentile;
      fo.high_percentile = options.fallback_high_percentile;
      fallback = find_ranges(image, fo, pool);
    }
    p.fallback =
        text("asinh range degenerate (low %.9g, high %.9g): linear percentile clip instead", p.range.low, p.range.high);
    p.method = "percentile";
    p.range = fallback[c];
    p.softening = 0;
  }
  return plan;
}

Array apply_scale(Array image, std::vector<ChannelScale>& plan, ThreadPool* pool, DType output, ScaleScratch* scratch) {
  const std::size_t nch = plan.size();
  if (output != DType::f32 && output != DType::u8)
    throw Error("image.scale: output must be f32 or u8, got " + std::string(dtype_name(output)));
  if (nch == 0 || (nch > 1 && !(image.ndim() == 3 && static_cast<std::size_t>(image.dim(2)) == nch)))
    throw Error("image.scale: " + std::to_string(nch) + " ranges do not fit an array of shape " + image.shape().str());
  if (image.empty()) return {};
  if (image.size() == 0) return Array(output, image.shape());
  // A table costs about two asinh per interval (entries and midpoint check) and is worth it
  // only when the channel has more pixels than that; otherwise asinh is evaluated per pixel.
  const std::int64_t channel_pixels = image.size() / static_cast<std::int64_t>(nch);
  ScaleScratch local;
  ScaleScratch& tables = scratch ? *scratch : local;
  if (tables.nodes.size() < nch) tables.nodes.resize(nch);
  std::vector<Mapper> maps;
  for (std::size_t c = 0; c < nch; ++c) {
    ChannelScale& p = plan[c];
    if (p.method == "asinh") {
      Mapper m;
      m.asinh = true;
      m.low = p.range.low;
      const double width = p.range.high - p.range.low;
      if (static_cast<double>(channel_pixels) < 2.0 * static_cast<double>(planned_intervals(width, p.softening))) {
        m.direct = true;
        m.width = width;
        m.softening = p.softening;
        m.total = std::asinh(width / p.softening);
        p.table_error = 0;
      } else {
        p.table_error = build_table(m, tables.nodes[c], p.range.low, p.range.high, p.softening);
      }
      maps.push_back(m);
    } else {
      maps.push_back(linear_mapper(p.range));
    }
  }
  const bool u8 = output == DType::u8;
  // f32 to f32 in place (writable() copies only a shared or strided array); otherwise into a new
  // array of the output type.
  const bool in_place = !u8 && image.dtype() == DType::f32;
  const Array a = in_place ? Array() : image.contiguous_copy();
  Array out = in_place ? std::move(image) : Array::uninitialized(output, image.shape());
  float* dst = u8 ? nullptr : out.writable<float>().data();
  std::uint8_t* dst8 = u8 ? out.writable<std::uint8_t>().data() : nullptr;
  const Range unit{0.0, 1.0}; // image.to8bit {mode: fixed, low: 0, high: 1}
  const std::int64_t n = out.size();
  visit_dtype(in_place ? DType::f32 : a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = in_place ? reinterpret_cast<const T*>(dst) : static_cast<const T*>(a.raw());
    parallel_rows(
        pool, (n + kBlock - 1) / kBlock,
        [&](std::int64_t b0, std::int64_t b1) {
          const std::int64_t e0 = b0 * kBlock, e1 = std::min(n, b1 * kBlock);
          if (nch == 1) {
            if constexpr (std::is_same_v<T, float>) {
              if (u8) {
                map_u8_f32(maps[0], src + e0, dst8 + e0, e1 - e0);
                return;
              }
            }
            if (u8)
              maps[0].map_u8(src + e0, dst8 + e0, e1 - e0);
            else
              maps[0].map_chunks(src + e0, e1 - e0, [&](std::int64_t i0, const float* v, std::int64_t m) {
                std::copy(v, v + m, dst + e0 + i0);
              });
            return;
          }
          std::array<float, 256> v{};
          for (std::int64_t c0 = e0; c0 < e1; c0 += 256) {
            const std::int64_t m = std::min<std::int64_t>(256, e1 - c0);
            for (std::int64_t j = 0; j < m; ++j)
              v[static_cast<std::size_t>(j)] =
                  maps[static_cast<std::size_t>(c0 + j) % nch](static_cast<double>(src[c0 + j]));
            if (u8)
              map_range(v.data(), dst8 + c0, static_cast<std::size_t>(m), unit);
            else
              std::copy(v.begin(), v.begin() + m, dst + c0);
          }
        },
        1);
  });
  return out;
}

Array scale01(Array image, const ScaleOptions& options, std::vector<ChannelScale>* used, ThreadPool* pool,
              ScaleScratch* scratch) {
  std::vector<ChannelScale> plan = plan_scale(image, options, pool);
  Array out = apply_scale(std::move(image), plan, pool, options.output, scratch);
  if (used) *used = std::move(plan);
  return out;
}

} // namespace lumen::image
