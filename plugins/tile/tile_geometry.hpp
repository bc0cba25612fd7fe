// Tile geometry and per-tile statistics: the plain functions behind `tile.grid`.
//
// A grid is the product of two independent axis layouts (tile start positions along y and along
// x). Three ways to lay out an axis of length L with tiles of size T:
//
//   stride  starts 0, S, 2S, ... while the tile fits (start + T <= L). remainder `drop` leaves the
//           rest of the axis untiled; `pad` adds one more tile at the next step when the rest is
//           not empty, and that tile is padded beyond L. An axis shorter than T gives one padded
//           tile with `pad` and no tile with `drop` (plan_grid then throws).
//   cover   n = ceil(L / T) tiles, the first at 0 and the last ending exactly at L, evenly spaced:
//           start_i = round(i (L - T) / (n - 1)) (half up), i.e. the minimal even overlap that
//           covers the image. Fuji X-T30 after 4x downsampling, 1008 x 1508 with T = 256: 4 x 6 =
//           24 tiles, rows at 0, 251, 501, 752 and columns at 0, 250, 501, 751, 1002, 1252. An axis
//           of exactly T gives one tile; a shorter axis gives one padded tile (or an error with
//           short_axis: error).
//   count   exactly n tiles (`rows` or `cols`), evenly spaced the same way (n = 1: centred,
//           start = floor((L - T) / 2)). Asking for more positions than L - T + 1 is an error (tiles
//           would repeat); an axis shorter than T allows only n = 1 (one padded tile).
//
// Per tile (grid row gy, column gx; image_y, image_x its top-left pixel):
//   valid_ratio    pixels of the tile inside the image / (tile_height x tile_width)
//   overlap_ratio  pixels of the tile inside the image that also lie in at least one other tile
//                  of the grid / (tile_height x tile_width). Exactly: along one axis a tile shares
//                  s of its v valid positions with its neighbours (the union over all other tiles;
//                  for sorted equal-length intervals only the two neighbours matter), and since the
//                  grid is a product, the shared pixels are vy vx - (vy - sy)(vx - sx).
//   is_edge_tile   the tile is in the first or last grid row or column.
//
// Statistics of a tile's pixels (valid region only, every channel; f32 samples count as 0..1
// values: clipped to [0, 1], NaN as 0, and scaled by 255 first):
//   mean_intensity    mean sample value / 255, in [0, 1]
//   unclipped_ratio   share of samples strictly between 0 and 255 (neither clipped black nor
//                     saturated)
//   gradient          mean absolute difference between horizontally and vertically adjacent
//                     samples of the same channel, in 8-bit levels (all pairs inside the valid
//                     region, both directions pooled)
//   quality_score     valid_ratio x unclipped_ratio x gradient / (gradient + 2): 0 for an empty,
//                     flat or fully clipped tile, 1/2 x valid x unclipped at a mean step of
//                     2 levels, approaching valid x unclipped for strongly textured tiles.
//
// Example pipeline, through the stage that wraps this:
//   - id: tiles
//     use: tile.grid
//     with: {tile_size: 256, mode: cover}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lumen::tile {

enum class GridMode { stride, cover, count };
enum class Remainder { drop, pad };
enum class ShortAxis { pad, error };

struct GridOptions {
  GridMode mode = GridMode::stride;
  std::int64_t tile_height = 256, tile_width = 256;
  std::int64_t stride_y = 256, stride_x = 256; // stride mode
  Remainder remainder = Remainder::drop;       // stride mode
  ShortAxis short_axis = ShortAxis::pad;       // cover and count modes
  std::int64_t rows = 1, cols = 1;             // count mode
};

/// Tile start positions along one axis of `length` pixels. `axis` ("height"/"width") names the axis
/// in error messages. Throws lumen::InputError when the layout is impossible (see the header).
[[nodiscard]] std::vector<std::int64_t> axis_starts(GridMode mode, std::int64_t length, std::int64_t tile,
                                                    std::int64_t step, Remainder remainder, ShortAxis short_axis,
                                                    std::int64_t n, const std::string& axis);

/// For each start of an axis layout: how many of the tile's valid positions (inside [0, length))
/// also lie in another tile of that axis.
[[nodiscard]] std::vector<std::int64_t> axis_shared(const std::vector<std::int64_t>& starts, std::int64_t length,
                                                    std::int64_t tile);

struct TileRect {
  std::int64_t gy = 0, gx = 0;           // grid row and column
  std::int64_t y = 0, x = 0;             // top-left pixel in the image
  std::int64_t valid_h = 0, valid_w = 0; // rows and columns of the tile inside the image
  double valid_ratio = 0, overlap_ratio = 0;
  bool is_edge = false;
};

struct Grid {
  std::int64_t height = 0, width = 0, tile_height = 0, tile_width = 0;
  std::vector<std::int64_t> ys, xs;             // start positions per grid row / column
  std::vector<std::int64_t> shared_y, shared_x; // see axis_shared
  [[nodiscard]] std::int64_t rows() const noexcept { return static_cast<std::int64_t>(ys.size()); }
  [[nodiscard]] std::int64_t cols() const noexcept { return static_cast<std::int64_t>(xs.size()); }
  [[nodiscard]] std::int64_t count() const noexcept { return rows() * cols(); }
  [[nodiscard]] TileRect tile(std::int64_t gy, std::int64_t gx) const;
};

/// The grid for an image of height x width pixels. Throws lumen::InputError (naming the image size,
/// the tile size and the fix) when an axis gets no tile or the layout is impossible.
[[nodiscard]] Grid plan_grid(std::int64_t height, std::int64_t width, const GridOptions& options);

struct TileStats {
  double mean_intensity = 0;  // 0..1
  double unclipped_ratio = 0; // 0..1
  double gradient = 0;        // 8-bit levels
};

/// Statistics of the top-left valid_h x valid_w region of a contiguous tile of `width` columns
/// and `channels` interleaved channels. T is std::uint8_t or float (0..1 scale).
template <typename T>
[[nodiscard]] TileStats tile_stats(const T* tile, std::int64_t width, std::int64_t channels, std::int64_t valid_h,
                                   std::int64_t valid_w);

/// valid_ratio x unclipped_ratio x gradient / (gradient + 2) (see the header).
[[nodiscard]] double quality_score(double valid_ratio, const TileStats& stats) noexcept;

} // namespace lumen::tile
