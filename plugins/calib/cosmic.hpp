// L.A.Cosmic cosmic-ray detection and removal (van Dokkum 2001, PASP 113, 1420): the pixel math
// behind `calib.cosmic_rays`, following astroscrappy's formulation (McCully et al.).
//
// On an image in electrons, per iteration (at most niter):
//   L+  = the Laplacian of the image subsampled 2x2, negative values set to 0, rebinned:
//         per pixel the mean of max(0, 2v - a - b) over its 4 corner pairs (a, b) of one vertical
//         and one horizontal neighbour (exactly subsample -> convolve -> clip -> rebin).
//   N   = sqrt(med5(I) + read_noise^2)           the noise expected from the smooth image
//   S   = L+ / (2 N)                             (2: the subsampling factor f_s of the paper)
//   S'  = S - med5(S)                            removes the sampling flux of smooth objects
//   F   = (med3(I) - med7(med3(I))) / N, >= 0.01  the fine-structure image
//   candidates: S' > sigclip and S' / F > objlim   (stars are smooth: large F, small S'/F)
//   grown once to the 8 neighbours with S' > sigclip, then once more with S' > sigfrac * sigclip.
// Flagged pixels join the mask; every masked pixel is replaced by the median of the unmasked
// pixels of its 5x5 neighbourhood (the image median when there are none), and the next
// iteration runs on the cleaned image. It stops early when an iteration adds no pixel.
// Median filters mirror the image at its edges. NaN pixels are never flagged nor used as
// replacements and stay NaN. Defaults as astroscrappy: sigclip 4.5, sigfrac 0.3, objlim 5,
// niter 4. The 5x5 medians are exact (the paper's); separable_median: true uses astroscrappy's
// faster separable approximation (median of row medians) for them. With saturation > 0
// (electrons), saturated stars are masked first as astroscrappy does: pixels at or above the
// level whose 5x5 median exceeds a tenth of it, grown by 2 pixels, are never flagged nor used.
//
// Iterations after the first recompute only the 64 x 64 tiles within 6 pixels of a pixel whose
// value the cleaning changed: everything else depends on unchanged pixels only, so the result
// equals recomputing the whole image. Tiles run in parallel on the pool.
//
// Example pipeline, through the stage that wraps this:
//   - id: cosmics
//     use: calib.cosmic_rays
//     with: {sigclip: 4.5, objlim: 5}
#pragma once

#include "lumen/array.hpp"
#include "lumen/thread_pool.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace lumen::calib {

struct CosmicOptions {
  double sigclip = 4.5;
  double sigfrac = 0.3;
  double objlim = 5.0;
  int niter = 4;
  double read_noise = 0.0;       // electrons
  double saturation = 0.0;       // electrons; > 0: saturated stars are masked (astroscrappy's satlevel)
  bool separable_median = false; // astroscrappy's sepmed: 5x5 medians as rows then columns (faster)
  bool full_recompute = false;   // every tile in every iteration (tests: the tile scheme changes nothing)
};

struct CosmicResult {
  Array cleaned;              // f32 (H, W): masked pixels replaced
  Array mask;                 // u8 (H, W): 1 = cosmic ray
  std::int64_t count = 0;     // masked pixels
  int iterations = 0;         // iterations run
  std::int64_t tiles_run = 0; // tiles computed over all iterations (cost figure)
  std::int64_t saturated = 0; // pixels masked as saturated stars
};

/// Runs L.A.Cosmic on an (H, W) image in electrons (any dtype). Tiles are shared out over
/// `pool` (may be null). Throws lumen::InputError for other shapes.
[[nodiscard]] CosmicResult detect_cosmics(const Array& image, const CosmicOptions& options, ThreadPool* pool = nullptr);

/// A compare-exchange network: pairs of positions (the smaller value goes to the first).
using Network = std::vector<std::pair<std::uint8_t, std::uint8_t>>;

/// A selection network: after `pairs`, position `target` holds the median.
struct MedianNetwork {
  Network pairs;
  int target = 0;
};

/// A sorting network: after `pairs`, position order[k] holds the k-th smallest value.
struct SortNetwork {
  Network pairs;
  std::vector<int> order;
};

/// Median of 25 values at positions dy * 5 + dx whose 5 columns (fixed dx) are each sorted
/// ascending in dy: Batcher's odd-even merges of the columns, pruned to what the median needs.
[[nodiscard]] const MedianNetwork& median25_network();
/// Median of 5 values (Batcher's merge sort, pruned).
[[nodiscard]] const MedianNetwork& median5_network();
/// Sorts 5 values (Batcher's merge sort).
[[nodiscard]] const SortNetwork& sort5_network();

/// 5x5 median of the interior of a w x h rectangle (rows `in_stride` apart):
/// out[y * out_stride + x] = median of in[(y + dy) * in_stride + x + dx], 0 <= dy, dx < 5,
/// for y < h - 4 and x < w - 4. NaN-free input. Columns are sorted once and shared by the 5
/// windows that contain them; the median network runs on up to 128 pixels at once.
void median5_valid(const float* in, std::int64_t in_stride, std::int64_t w, std::int64_t h, float* out,
                   std::int64_t out_stride);

/// The separable approximation (astroscrappy's sepmed): the median of 5 along each row, then the
/// median of 5 of those along each column. Same geometry as median5_valid.
void median5_separable_valid(const float* in, std::int64_t in_stride, std::int64_t w, std::int64_t h, float* out,
                             std::int64_t out_stride);

} // namespace lumen::calib
