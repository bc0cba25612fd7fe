// Ptychography preprocessing: the pixel operations behind ptycho.dark_flat, ptycho.group,
// ptycho.roi and ptycho.orient, as plain functions on arrays (no items, no parameters).
//
// Frames. A scan block is an array (n, ny, nx) of any dtype; a 2-D array (ny, nx) is one frame
// and keeps its rank. Calibration arrays ("dark", "flat", "mask") are (ny, nx). Every geometric
// function here works on the last two axes, so the same call serves a block and a calibration
// frame: that is how the stages apply one operation identically to data, dark, flat and mask.
//
// Coordinates. Axis -2 is rows (y), axis -1 columns (x); row 0 is the top row as an image
// display shows it.
#pragma once

#include "lumen/array.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace lumen::ptycho {

/// Frames of an array: n = 1 for a 2-D array. Throws lumen::InputError naming `who` and the
/// shape for any other rank or an empty frame.
struct FrameShape {
  std::int64_t n = 0, ny = 0, nx = 0;
};
[[nodiscard]] FrameShape frame_shape(const Array& a, const std::string& who);

/// Any mask as u8 0/1 (non-zero = bad); the same array when it already is u8 holding only 0 and 1.
[[nodiscard]] Array mask_u8(const Array& mask);

// ---- dark / flat / saturation --------------------------------------------------------------------

/// What happens to the values of saturated pixels (their mask bit is set either way):
///   mask  they become 0 in every frame of the block (the data carry no clipped value)
///   keep  they are corrected like every other pixel (clipped values stay, the mask flags them)
enum class SatMode { mask, keep };
[[nodiscard]] SatMode parse_sat_mode(const std::string& name); // "mask" | "keep"

struct DarkFlatInput {
  const Array* dark = nullptr; // (ny, nx), any dtype; subtracted when given
  const Array* flat = nullptr; // (ny, nx), any dtype; divided when given
  const Array* mask = nullptr; // (ny, nx), any dtype, non-zero = bad; OR-ed into the result
  double sat = 0;              // raw level; pixels >= sat in any frame are saturated (0 = off)
  SatMode sat_mode = SatMode::mask;
};

struct DarkFlatResult {
  Array image;                       // f32, the shape of the raw block
  Array mask;                        // u8 (ny, nx), 1 = bad: input mask | flagged below
  std::int64_t saturated_pixels = 0; // pixels >= sat in at least one frame
  std::int64_t bad_flat_pixels = 0;  // flat <= 0 or non-finite
  std::int64_t bad_dark_pixels = 0;  // dark non-finite
  std::int64_t nonfinite_pixels = 0; // pixels with a NaN/inf raw value in at least one frame
  std::int64_t masked_pixels = 0;    // ones in `mask`
};

/// image = (raw - dark) / flat per pixel, computed in f32, each term only when given. Pixels
/// whose flat is <= 0 or not finite, whose dark is not finite, or whose raw value is not finite
/// become masked and 0 (never inf or NaN). Saturation (sat > 0): a pixel whose RAW value is >= sat
/// in any frame of the block is masked; its values follow `sat_mode`. Throws lumen::InputError
/// naming `who` when a calibration array's shape is not the frame shape.
[[nodiscard]] DarkFlatResult dark_flat(const Array& raw, const DarkFlatInput& in, const std::string& who);

// ---- grouping of exposures per position ----------------------------------------------------------

///   sum    frames summed (f32 output, accumulated in f64)
///   mean   frames averaged (f32 output, accumulated in f64)
///   first  the first frame of each group (dtype kept)
///   best   the frame with the highest clipped median, see best_frame_score (dtype kept)
///   none   no reduction: every frame passes (dtype kept)
enum class Grouping { sum, mean, first, best, none };
[[nodiscard]] Grouping parse_grouping(const std::string& name);
[[nodiscard]] const char* grouping_name(Grouping g) noexcept;

/// The score `best` ranks a frame by: the lower median (the element of rank floor((m - 1) / 2)
/// in ascending order) of the m values v' = min(v, sat) of the frame's pixels that are not
/// flagged in `mask` and are finite; sat <= 0 means no clipping. -inf when no pixel is left.
/// `frame` is a 2-D array (ny, nx); `mask` is null or a u8 (ny, nx) array.
[[nodiscard]] double best_frame_score(const Array& frame, const Array* mask, double sat);

struct GroupResult {
  Array image;                        // (n / fpp, ny, nx); a 2-D input stays 2-D when fpp == 1
  std::vector<std::int64_t> selected; // per group, the frame (index in the block) whose row
                                      // stands for the group: the chosen frame for best, else
                                      // the group's first frame
};

/// Groups consecutive frames: frames [g * fpp, (g + 1) * fpp) form group g. n must be a multiple
/// of fpp (the caller checks it and words the error). Grouping::none returns the input.
[[nodiscard]] GroupResult group_frames(const Array& frames, std::int64_t fpp, Grouping grouping, const Array* mask,
                                       double sat);

/// How a per-frame array (n) or (n, k) is reduced to one row per group.
enum class RowReduce { sum, mean, selected };
/// Rows reduced per group: sum or mean over the group's rows, or the row of `selected[g]`.
/// The result is f64 (n / fpp) or (n / fpp, k).
[[nodiscard]] Array reduce_rows(const Array& rows, std::int64_t fpp, RowReduce how,
                                const std::vector<std::int64_t>& selected);

/// The largest |row - first row of its group| over all groups and columns (0 when fpp == 1).
[[nodiscard]] double max_group_spread(const Array& rows, std::int64_t fpp);

// ---- region of interest ----------------------------------------------------------------------------

/// A crop window in pixels of the frame.
struct RoiWindow {
  std::int64_t y0 = 0, x0 = 0, ny = 0, nx = 0; // first row and column, size
  double cy = 0, cx = 0;                       // the centre in pixels (after fraction conversion)
  bool fractions = false;                      // the centre was given as fractions
};

/// The window of size roi = [ny, nx] around `center` = [cy, cx] in a frame of frame_ny x frame_nx:
///   - center empty: the frame centre, i.e. the fractions [0.5, 0.5];
///   - both values in [0, 1): fractions, cy = fy * frame_ny and cx = fx * frame_nx;
///   - otherwise pixels (row, column).
///   y0 = floor(cy - ny / 2 + 0.5), x0 = floor(cx - nx / 2 + 0.5)   (round half up)
/// so for a whole-pixel centre the centre pixel lands at index (ny / 2, nx / 2) (integer division)
/// of the crop, the FFT centre, for odd and even sizes alike; a fraction 0.5 gives the crop
/// that is symmetric in the frame when frame - roi is even. Throws lumen::InputError naming
/// `who`, the frame size, roi, centre and the rows/columns the window needs when it leaves the frame.
[[nodiscard]] RoiWindow roi_window(std::int64_t frame_ny, std::int64_t frame_nx, const std::vector<std::int64_t>& roi,
                                   const std::vector<double>& center, const std::string& who);

/// The window of the last two axes as a contiguous array (the input itself when the window is
/// the whole frame).
[[nodiscard]] Array crop_frames(const Array& a, const RoiWindow& w);

// ---- orientation -----------------------------------------------------------------------------------

/// Mirror after the rotation: h mirrors columns (left <-> right), v mirrors rows (top <-> bottom),
/// hv both (= rotate 180).
enum class Flip { none, h, v, hv };
[[nodiscard]] Flip parse_flip(const std::string& name);
[[nodiscard]] const char* flip_name(Flip f) noexcept;

/// Rotates the last two axes by `rotate` degrees (0, 90, 180, 270) counter-clockwise as seen in
/// an image display with row 0 at the top (numpy.rot90(a, rotate / 90, axes=(-2, -1))), THEN
/// applies `flip`. With H x W frames, out(i, j) is:
///   rotate 0    a(i, j)                 H x W
///   rotate 90   a(j, W - 1 - i)         W x H
///   rotate 180  a(H - 1 - i, W - 1 - j) H x W
///   rotate 270  a(H - 1 - j, i)         W x H
/// and then flip h: out(i, j) <- out(i, W' - 1 - j); flip v: out(i, j) <- out(H' - 1 - i, j).
/// Example, a 3 x 2 frame [[1, 2], [3, 4], [5, 6]]:
///   rotate 90            [[2, 4, 6], [1, 3, 5]]
///   rotate 90, flip h    [[6, 4, 2], [5, 3, 1]]
///   flip h (rotate 0)    [[2, 1], [4, 3], [6, 5]]
/// The result is a new contiguous array of the same dtype (the input itself for 0 / none).
/// Throws lumen::Error for a rotate other than 0, 90, 180, 270.
[[nodiscard]] Array orient(const Array& a, int rotate, Flip flip);

} // namespace lumen::ptycho
