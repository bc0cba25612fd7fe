// Ptychography data-quality scores: the computation behind ptycho.qc_score (qc_stage.hpp), as plain
// functions over a source of frame blocks, so tests feed synthetic scans without a file.
//
// One streaming pass over the frames, in blocks (a 9000 x 1024 x 1024 scan never needs more than
// two blocks in memory), frames of a block spread over a lumen::ThreadPool while the next block is
// read. Memory: two blocks + N x E^2 x 4 bytes of embeddings + min(N, pca_fit) x E^2 x 4 (the PCA
// fit matrix) + a few doubles per frame. Per frame, on the ROI
// [y0, x0, h, w] of the detector frame, summed over bin x bin pixels (h / bin x w / bin binned
// pixels, a remainder dropped) and clamped at 0 (v = max(v, 0); NaN, inf and the bad pixels of
// QcInput::bad_pixels count as 0):
//   total_intensity   sum of v
//   com_x, com_y      centre of mass sum(x v) / sum(v), in ROI pixels (0 = first ROI column/row,
//                     binned pixel centres at (i + 0.5) bin - 0.5); the ROI centre for a frame
//                     whose sum is 0
//   ring_0 .. ring_R-1  fraction of the sum in R rings around the ROI centre, ring r covering radii
//                     [r, r + 1) * rmax / R with rmax = min(h, w) / 2 (corners beyond rmax in none)
//   speckle_contrast  std(v) / mean(v) over the binned pixels (0 when the mean is 0)
//   similarity        Pearson correlation of the frame's embedding with the median embedding
//                     (the per-cell median over the evaluated frames: the "median frame" at
//                     embed_side resolution, so the reference costs no second read); 0 when
//                     either is constant
// and an embedding: the binned frame averaged into embed_side x embed_side cells (cell i takes
// binned rows [i hb / E, (i + 1) hb / E)), each cell log1p(mean), a vector of E^2 floats kept for
// every frame (N x E^2 x 4 bytes: 37 MB for 9000 frames at E = 32).
//
// After the pass (everything below uses the evaluated frames only: masked frames, outside the
// region, are scored with the same statistics but never shape them and are never rejected):
//   PCA: fitted on at most pca_fit evenly spaced evaluated frames, in two steps so that outliers
//     cannot claim a component of their own: (1) leave out the fit frames whose distance to the
//     median embedding deviates by more than 3.5 (robust z below), fit around the median; (2) leave
//     out the fit frames whose error under that model deviates by more than 3.5, refit around the
//     mean of the rest. The top pca_k eigenvectors of the scatter matrix come from subspace
//     iteration (8 rounds of X^T X Q on pca_k + 8 vectors, re-orthonormalised, then Rayleigh-Ritz;
//     Eigen, products in single precision): O(M E^2 k), no E^2 x E^2 matrix. Error e = RMS of a
//     frame's residual after projecting on the components.
//   Robust deviation of a value x of feature j: z = |x - median_j| / (1.4826 MAD_j) (MAD = median
//     absolute deviation; when MAD_j = 0, 1.2533 x the mean absolute deviation; when that is 0
//     too, z = 0). One-sided for similarity (only below the median counts) and for the PCA error
//     (only above).
//   feature_dev = max_j z_j over the features; pca_dev = z of the PCA error;
//   raw = w_feat * feature_dev + (1 - w_feat) * pca_dev;
//   score = raw / (raw + 3.5), in [0, 1): 0.5 means a robust deviation of 3.5, Iglewicz and
//     Hoaglin's usual outlier cut; monotone, so ranks follow raw.
//   stxm = ln(1 + total_intensity); dpcx, dpcy = com - the median com (ROI pixels).
// Reject modes (at most one): topk K = the K highest scores; topp p = the ceil(p n) highest of n
// evaluated frames; thresh T = score >= T. Ties at the cut are broken by the lower index.
#pragma once

#include "lumen/array.hpp"
#include "lumen/thread_pool.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lumen::ptycho::qc {

struct QcOptions {
  std::vector<std::int64_t> roi;     // [y0, x0, h, w] detector pixels; empty = whole frame
  int bin = 1;                       // bin x bin pixels summed
  int embed_side = 32;               // E
  int pca_k = 8;                     // components
  std::int64_t pca_fit = 2048;       // frames the PCA is fitted on (evenly spaced), at most
  int rings = 4;                     // R
  double w_feat = 0.5;               // weight of the feature part
  std::int64_t frames_per_block = 0; // frames read at once; 0 = about 4 MiB, >= 2 per thread
};

enum class RejectMode { none, topk, topp, thresh };
struct RejectRule {
  RejectMode mode = RejectMode::none;
  double value = 0; // K, p or T
};

/// Frames [begin, end) as (n, ny, nx) (any dtype); called from one thread, in order. The array may
/// share memory that the call after next overwrites (score_frames never holds more than two blocks).
using BlockReader = std::function<Array(std::int64_t begin, std::int64_t end)>;

struct QcInput {
  std::int64_t frames = 0, ny = 0, nx = 0;
  BlockReader read;
  std::vector<std::uint8_t> masked;     // per frame, 1 = outside the region (not evaluated); empty = none
  std::vector<std::uint8_t> bad_pixels; // ny x nx, 1 = bad detector pixel (counts as 0); empty = none
};

/// The ROI window and binned size for a frame of ny x nx; throws lumen::InputError saying what
/// does not fit (ROI outside the frame, binned ROI smaller than embed_side).
struct Geometry {
  std::int64_t y0 = 0, x0 = 0, h = 0, w = 0; // ROI
  std::int64_t hb = 0, wb = 0;               // binned
  int bin = 1, embed = 32, rings = 4;
};
[[nodiscard]] Geometry make_geometry(const QcOptions& o, std::int64_t ny, std::int64_t nx);

struct QcResult {
  std::vector<std::string> feature_names; // total_intensity, com_x, com_y, ring_0.., speckle_contrast, similarity
  std::vector<double> features;           // N x F, row-major
  std::vector<double> pca_error, feature_dev, pca_dev, score, stxm, dpcx, dpcy;
  std::vector<std::uint8_t> masked, rejected;
  /// What drove each score: the index of the feature with the largest deviation, or
  /// feature_count() when the weighted PCA part outweighed the weighted feature part.
  std::vector<int> main_feature;
  int pca_k_used = 0;
  std::int64_t pca_fit_frames = 0, pca_refit_dropped = 0;
  double seconds_pass = 0, seconds_pca = 0; // timings
  [[nodiscard]] std::int64_t frames() const noexcept { return static_cast<std::int64_t>(score.size()); }
  [[nodiscard]] std::size_t feature_count() const noexcept { return feature_names.size(); }
  [[nodiscard]] double feature(std::int64_t frame, std::size_t j) const {
    return features[static_cast<std::size_t>(frame) * feature_names.size() + j];
  }
};

/// Scores every frame (see the top of this file). `pool` may be null (then one thread).
/// Throws lumen::InputError when no frame is evaluated or the geometry does not fit.
[[nodiscard]] QcResult score_frames(const QcInput& in, const QcOptions& o, ThreadPool* pool);

/// The rejected flags for `rule` over the evaluated (not masked) frames.
[[nodiscard]] std::vector<std::uint8_t> select_rejects(const std::vector<double>& score,
                                                       const std::vector<std::uint8_t>& masked, const RejectRule& rule);

/// Frames outside a region of the scan plane (1 = masked). rect = [cx, cy, w, h] (a frame is inside
/// when |x - cx| <= w / 2 and |y - cy| <= h / 2), circ = [cx, cy, r] (inside when the distance <= r);
/// positions and region in the same unit. Both empty: nothing masked.
[[nodiscard]] std::vector<std::uint8_t> region_mask(const std::vector<double>& x, const std::vector<double>& y,
                                                    const std::vector<double>& rect, const std::vector<double>& circ);

/// Robust location and scale: median and 1.4826 MAD (fallback 1.2533 x mean absolute deviation).
struct Robust {
  double median = 0, scale = 0;
};
[[nodiscard]] Robust robust_stats(std::vector<double> values);

/// Indices of the frames in descending score order (ties: lower index first), evaluated frames only.
[[nodiscard]] std::vector<std::int64_t> ranking(const std::vector<double>& score,
                                                const std::vector<std::uint8_t>& masked);

} // namespace lumen::ptycho::qc
