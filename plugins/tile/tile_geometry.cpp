// Tile geometry and per-tile statistics (see tile_geometry.hpp for the definitions).
//
// Example pipeline:
//   - id: tiles
//     use: tile.grid
//     with: {tile_size: 256, mode: stride, remainder: pad}
#include "tile_geometry.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <type_traits>

namespace lumen::tile {

namespace {

std::string num(std::int64_t v) {
  return std::to_string(v);
}

// round(i * span / (n - 1)), half up, in exact integer arithmetic.
std::int64_t even_position(std::int64_t i, std::int64_t span, std::int64_t n) {
  const std::int64_t d = n - 1;
  return (2 * i * span + d) / (2 * d);
}

std::vector<std::int64_t> evenly_spaced(std::int64_t length, std::int64_t tile, std::int64_t n) {
  std::vector<std::int64_t> starts;
  starts.reserve(static_cast<std::size_t>(n));
  if (n == 1) {
    starts.push_back((length - tile) / 2);
    return starts;
  }
  for (std::int64_t i = 0; i < n; ++i) starts.push_back(even_position(i, length - tile, n));
  return starts;
}

} // namespace

std::vector<std::int64_t> axis_starts(GridMode mode, std::int64_t length, std::int64_t tile, std::int64_t step,
                                      Remainder remainder, ShortAxis short_axis, std::int64_t n,
                                      const std::string& axis) {
  if (length <= 0 || tile <= 0) throw InputError("tile.grid: image " + axis + " and tile size must be positive");
  std::vector<std::int64_t> starts;
  switch (mode) {
  case GridMode::stride: {
    if (step <= 0) throw InputError("tile.grid: the stride must be positive");
    if (length < tile) {
      if (remainder == Remainder::drop)
        throw InputError("tile.grid: the image " + axis + " (" + num(length) + " px) is smaller than the tile (" +
                         num(tile) +
                         " px), so stride mode with remainder: drop makes no tile: use remainder: pad, "
                         "mode: cover or a smaller tile_size");
      starts.push_back(0);
      return starts;
    }
    for (std::int64_t p = 0; p + tile <= length; p += step) starts.push_back(p);
    const std::int64_t next = starts.back() + step;
    if (remainder == Remainder::pad && starts.back() + tile < length && next < length) starts.push_back(next);
    return starts;
  }
  case GridMode::cover: {
    if (length < tile) {
      if (short_axis == ShortAxis::error)
        throw InputError("tile.grid: the image " + axis + " (" + num(length) + " px) is smaller than the tile (" +
                         num(tile) + " px) and short_axis is error: use short_axis: pad or a smaller tile_size");
      starts.push_back(0);
      return starts;
    }
    const std::int64_t count = (length + tile - 1) / tile;
    if (count == 1) {
      starts.push_back(0);
      return starts;
    }
    return evenly_spaced(length, tile, count);
  }
  case GridMode::count: {
    if (n <= 0) throw InputError("tile.grid: count mode needs at least one tile per axis");
    if (length < tile) {
      if (short_axis == ShortAxis::error || n > 1)
        throw InputError("tile.grid: the image " + axis + " (" + num(length) + " px) is smaller than the tile (" +
                         num(tile) + " px): count mode can place only one padded tile there (short_axis: pad), but " +
                         num(n) + " were asked for");
      starts.push_back(0);
      return starts;
    }
    if (n > length - tile + 1)
      throw InputError("tile.grid: count mode asks for " + num(n) + " tiles along the " + axis + " of " + num(length) +
                       " px, but a " + num(tile) + " px tile has only " + num(length - tile + 1) +
                       " distinct positions there: ask for fewer tiles or use a smaller tile_size");
    return evenly_spaced(length, tile, n);
  }
  }
  return starts;
}

std::vector<std::int64_t> axis_shared(const std::vector<std::int64_t>& starts, std::int64_t length, std::int64_t tile) {
  const std::size_t n = starts.size();
  std::vector<std::int64_t> shared(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t s = starts[i], e = std::min(starts[i] + tile, length);
    if (e <= s) continue;
    // Covered by the tile before: [s, a); by the tile after: [b, e).
    const std::int64_t a = i > 0 ? std::clamp(std::min(starts[i - 1] + tile, length), s, e) : s;
    const std::int64_t b = i + 1 < n ? std::clamp(starts[i + 1], s, e) : e;
    shared[i] = a >= b ? e - s : (a - s) + (e - b);
  }
  return shared;
}

TileRect Grid::tile(std::int64_t gy, std::int64_t gx) const {
  TileRect r;
  r.gy = gy;
  r.gx = gx;
  r.y = ys[static_cast<std::size_t>(gy)];
  r.x = xs[static_cast<std::size_t>(gx)];
  r.valid_h = std::clamp<std::int64_t>(height - r.y, 0, tile_height);
  r.valid_w = std::clamp<std::int64_t>(width - r.x, 0, tile_width);
  const double area = static_cast<double>(tile_height) * static_cast<double>(tile_width);
  r.valid_ratio = static_cast<double>(r.valid_h * r.valid_w) / area;
  const std::int64_t sy = shared_y[static_cast<std::size_t>(gy)], sx = shared_x[static_cast<std::size_t>(gx)];
  r.overlap_ratio = static_cast<double>(r.valid_h * r.valid_w - (r.valid_h - sy) * (r.valid_w - sx)) / area;
  r.is_edge = gy == 0 || gx == 0 || gy == rows() - 1 || gx == cols() - 1;
  return r;
}

Grid plan_grid(std::int64_t height, std::int64_t width, const GridOptions& o) {
  Grid g;
  g.height = height;
  g.width = width;
  g.tile_height = o.tile_height;
  g.tile_width = o.tile_width;
  g.ys = axis_starts(o.mode, height, o.tile_height, o.stride_y, o.remainder, o.short_axis, o.rows, "height");
  g.xs = axis_starts(o.mode, width, o.tile_width, o.stride_x, o.remainder, o.short_axis, o.cols, "width");
  g.shared_y = axis_shared(g.ys, height, o.tile_height);
  g.shared_x = axis_shared(g.xs, width, o.tile_width);
  return g;
}

namespace {

inline int level(std::uint8_t v) noexcept {
  return v;
}
// f32 samples count as 0..1 values: clipped to [0, 1] (NaN -> 0), then scaled to 8-bit levels.
inline float level(float v) noexcept {
  return (v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f) * 255.0f;
}

} // namespace

template <typename T>
TileStats tile_stats(const T* tile, std::int64_t width, std::int64_t channels, std::int64_t valid_h,
                     std::int64_t valid_w) {
  TileStats s;
  if (valid_h <= 0 || valid_w <= 0) return s;
  using Acc = std::conditional_t<std::is_same_v<T, std::uint8_t>, std::int64_t, double>;
  const std::int64_t row_len = width * channels, n = valid_w * channels;
  Acc sum = 0, grad = 0;
  std::int64_t unclipped = 0;
  for (std::int64_t y = 0; y < valid_h; ++y) {
    const T* row = tile + y * row_len;
    // Per-row accumulators in 32 bits for u8 (at most 65535 x 255 per row), so the loops vectorise.
    using RowAcc = std::conditional_t<std::is_same_v<T, std::uint8_t>, std::int32_t, double>;
    RowAcc rs = 0, rg = 0;
    std::int32_t ru = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto v = level(row[i]);
      rs += v;
      ru += (v > 0) & (v < 255);
    }
    for (std::int64_t i = channels; i < n; ++i) rg += std::abs(level(row[i]) - level(row[i - channels]));
    if (y > 0) {
      const T* up = row - row_len;
      for (std::int64_t i = 0; i < n; ++i) rg += std::abs(level(row[i]) - level(up[i]));
    }
    sum += rs;
    grad += rg;
    unclipped += ru;
  }
  const double samples = static_cast<double>(valid_h * n);
  const double pairs =
      static_cast<double>(valid_h * (valid_w - 1) + (valid_h - 1) * valid_w) * static_cast<double>(channels);
  s.mean_intensity = static_cast<double>(sum) / samples / 255.0;
  s.unclipped_ratio = static_cast<double>(unclipped) / samples;
  s.gradient = pairs > 0 ? static_cast<double>(grad) / pairs : 0.0;
  return s;
}

template TileStats tile_stats<std::uint8_t>(const std::uint8_t*, std::int64_t, std::int64_t, std::int64_t,
                                            std::int64_t);
template TileStats tile_stats<float>(const float*, std::int64_t, std::int64_t, std::int64_t, std::int64_t);

double quality_score(double valid_ratio, const TileStats& stats) noexcept {
  return valid_ratio * stats.unclipped_ratio * stats.gradient / (stats.gradient + 2.0);
}

} // namespace lumen::tile
