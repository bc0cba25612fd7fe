// Ptychography data-quality scores (see qc_score.hpp).
#include "qc_score.hpp"

#include "lumen/error.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <future>
#include <limits>
#include <numeric>

namespace lumen::ptycho::qc {

namespace {

constexpr double kOutlierZ = 3.5; // Iglewicz and Hoaglin's cut for robust z

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Everything per frame that does not depend on the pixels: coordinates, cells, ring runs.
struct Prepared {
  Geometry g;
  std::int64_t nx = 0;                // detector row length
  std::vector<float> xs, ys;          // binned pixel centres in ROI pixels
  std::vector<std::int64_t> cell_col; // E + 1 column boundaries (binned columns)
  std::vector<int> cell_row;          // binned row -> cell row
  std::vector<float> inv_count;       // 1 / binned pixels per cell (E * E)
  struct Run {
    std::int64_t begin, end;
    int ring;
  };
  std::vector<Run> runs;               // ring runs of every binned row, row after row
  std::vector<std::size_t> run_offset; // hb + 1
  std::vector<float> keep;             // h x w over the ROI: 0 = bad detector pixel, 1 = good; empty = all good
  [[nodiscard]] std::size_t features() const { return 3 + static_cast<std::size_t>(g.rings) + 2; }
  [[nodiscard]] std::size_t cells() const { return static_cast<std::size_t>(g.embed) * g.embed; }
};

Prepared prepare(const Geometry& g, std::int64_t nx, const std::vector<std::uint8_t>& bad) {
  Prepared p;
  p.g = g;
  p.nx = nx;
  if (!bad.empty()) {
    bool any = false;
    p.keep.assign(static_cast<std::size_t>(g.h * g.w), 1.0f);
    for (std::int64_t y = 0; y < g.h; ++y)
      for (std::int64_t x = 0; x < g.w; ++x)
        if (bad[static_cast<std::size_t>((g.y0 + y) * nx + g.x0 + x)]) {
          p.keep[static_cast<std::size_t>(y * g.w + x)] = 0.0f;
          any = true;
        }
    if (!any) p.keep.clear();
  }
  const double b = g.bin;
  p.xs.resize(static_cast<std::size_t>(g.wb));
  p.ys.resize(static_cast<std::size_t>(g.hb));
  for (std::int64_t i = 0; i < g.wb; ++i) p.xs[static_cast<std::size_t>(i)] = static_cast<float>((i + 0.5) * b - 0.5);
  for (std::int64_t i = 0; i < g.hb; ++i) p.ys[static_cast<std::size_t>(i)] = static_cast<float>((i + 0.5) * b - 0.5);
  const std::int64_t E = g.embed;
  p.cell_col.resize(static_cast<std::size_t>(E + 1));
  for (std::int64_t c = 0; c <= E; ++c) p.cell_col[static_cast<std::size_t>(c)] = c * g.wb / E;
  p.cell_row.resize(static_cast<std::size_t>(g.hb));
  std::vector<std::int64_t> rows_in(static_cast<std::size_t>(E), 0);
  for (std::int64_t r = 0; r < E; ++r)
    for (std::int64_t y = r * g.hb / E; y < (r + 1) * g.hb / E; ++y) {
      p.cell_row[static_cast<std::size_t>(y)] = static_cast<int>(r);
      ++rows_in[static_cast<std::size_t>(r)];
    }
  p.inv_count.resize(p.cells());
  for (std::int64_t r = 0; r < E; ++r)
    for (std::int64_t c = 0; c < E; ++c) {
      const auto n = rows_in[static_cast<std::size_t>(r)] *
                     (p.cell_col[static_cast<std::size_t>(c + 1)] - p.cell_col[static_cast<std::size_t>(c)]);
      p.inv_count[static_cast<std::size_t>(r * E + c)] = n > 0 ? 1.0f / static_cast<float>(n) : 0.0f;
    }
  // Rings around the ROI centre.
  const double cy = (static_cast<double>(g.h) - 1) / 2, cx = (static_cast<double>(g.w) - 1) / 2;
  const double rmax = static_cast<double>(std::min(g.h, g.w)) / 2, width = rmax / g.rings;
  p.run_offset.push_back(0);
  for (std::int64_t y = 0; y < g.hb; ++y) {
    int current = -2;
    for (std::int64_t x = 0; x < g.wb; ++x) {
      const double dy = p.ys[static_cast<std::size_t>(y)] - cy, dx = p.xs[static_cast<std::size_t>(x)] - cx;
      const double r = std::sqrt(dx * dx + dy * dy);
      const int ring = r < rmax ? std::min(g.rings - 1, static_cast<int>(r / width)) : -1;
      if (ring != current) {
        if (ring >= 0) p.runs.push_back({x, x + 1, ring});
        current = ring;
      } else if (ring >= 0) {
        p.runs.back().end = x + 1;
      }
    }
    p.run_offset.push_back(p.runs.size());
  }
  return p;
}

// Per-thread scratch.
struct Scratch {
  std::vector<float> row;        // the binned, clamped row
  std::vector<float> sums;       // bin > 1: the bin x bin sums of a row, before clamping
  std::vector<float> ca, c2, cy; // per column over the rows of one cell row: sum v, sum v^2, sum v y
  std::vector<double> cells;
  std::vector<double> rings;
  explicit Scratch(const Prepared& p)
      : row(static_cast<std::size_t>(p.g.wb)), sums(row.size()), ca(row.size()), c2(row.size()), cy(row.size()),
        cells(p.cells()), rings(static_cast<std::size_t>(p.g.rings)) {}
};

inline float range_sum(const float* v, std::int64_t n) {
  float lanes[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += v[i + l];
  float s = 0;
  for (; i < n; ++i) s += v[i];
  for (const float l : lanes) s += l;
  return s;
}

// One binned, clamped row into `row` and the column sums (restrict: the compiler vectorises it).
template <typename T>
inline void accumulate_row(const T* __restrict src, float* __restrict row, float* __restrict ca, float* __restrict c2,
                           float* __restrict cy, float yy, std::int64_t n) {
  for (std::int64_t x = 0; x < n; ++x) {
    const auto s = static_cast<float>(src[x]);
    const float v = s > 0.0f && s <= std::numeric_limits<float>::max() ? s : 0.0f; // NaN, inf -> 0 too
    row[x] = v;
    ca[x] += v;
    c2[x] += v * v;
    cy[x] += v * yy;
  }
}

// The same with a bad-pixel row: bad pixels count as 0.
template <typename T>
inline void accumulate_row_masked(const T* __restrict src, const float* __restrict keep, float* __restrict row,
                                  float* __restrict ca, float* __restrict c2, float* __restrict cy, float yy,
                                  std::int64_t n) {
  for (std::int64_t x = 0; x < n; ++x) {
    const auto s = static_cast<float>(src[x]);
    const float v = (s > 0.0f && s <= std::numeric_limits<float>::max() ? s : 0.0f) * keep[x];
    row[x] = v;
    ca[x] += v;
    c2[x] += v * v;
    cy[x] += v * yy;
  }
}

// The features (all but similarity) and the embedding of one frame. Each binned row is written
// once into `row` while its values are added column-wise into ca, c2 and cy (vertical adds, no
// reductions per row); the columns are reduced into the cells, S, SX, S2 and SY once per cell row.
// Only the rings read the row a second time (their runs of pixels cross the cells).
template <typename T> void frame_features(const T* frame, const Prepared& p, Scratch& s, double* feat, float* embed) {
  const Geometry& g = p.g;
  std::fill(s.cells.begin(), s.cells.end(), 0.0);
  std::fill(s.rings.begin(), s.rings.end(), 0.0);
  double S = 0, S2 = 0, SX = 0, SY = 0;
  float* row = s.row.data();
  float* sums = s.sums.data();
  float *ca = s.ca.data(), *c2 = s.c2.data(), *cy = s.cy.data();
  const float* xs = p.xs.data();
  const std::int64_t wb = g.wb, E = g.embed;
  std::fill(ca, ca + wb, 0.0f);
  std::fill(c2, c2 + wb, 0.0f);
  std::fill(cy, cy + wb, 0.0f);
  for (std::int64_t by = 0; by < g.hb; ++by) {
    const T* src = frame + (g.y0 + by * g.bin) * p.nx + g.x0;
    const float yy = p.ys[static_cast<std::size_t>(by)];
    const float* keep = p.keep.empty() ? nullptr : p.keep.data() + by * g.bin * g.w;
    if (g.bin == 1) {
      if (keep)
        accumulate_row_masked(src, keep, row, ca, c2, cy, yy, wb);
      else
        accumulate_row(src, row, ca, c2, cy, yy, wb);
    } else {
      // bin x bin sums of the finite pixels (bad pixels and NaN / inf count as 0), then clamped.
      constexpr float big = std::numeric_limits<float>::max();
      std::fill(sums, sums + wb, 0.0f);
      for (int dy = 0; dy < g.bin; ++dy, src += p.nx) {
        const float* k = keep ? keep + dy * g.w : nullptr;
        for (std::int64_t x = 0; x < wb; ++x) {
          float a = 0;
          for (int dx = 0; dx < g.bin; ++dx) {
            const auto t = static_cast<float>(src[x * g.bin + dx]);
            const float w = k ? k[x * g.bin + dx] : 1.0f;
            a += (t >= -big && t <= big) ? t * w : 0.0f;
          }
          sums[x] += a;
        }
      }
      accumulate_row(sums, row, ca, c2, cy, yy, wb);
    }
    for (std::size_t k = p.run_offset[static_cast<std::size_t>(by)]; k < p.run_offset[static_cast<std::size_t>(by) + 1];
         ++k) {
      const auto& r = p.runs[k];
      s.rings[static_cast<std::size_t>(r.ring)] += range_sum(row + r.begin, r.end - r.begin);
    }
    const int cr = p.cell_row[static_cast<std::size_t>(by)];
    if (by + 1 < g.hb && p.cell_row[static_cast<std::size_t>(by + 1)] == cr) continue;
    // The last row of a cell row: reduce the columns.
    double* cells = s.cells.data() + static_cast<std::size_t>(cr) * E;
    for (std::int64_t c = 0; c < E; ++c) {
      const std::int64_t a = p.cell_col[static_cast<std::size_t>(c)], b = p.cell_col[static_cast<std::size_t>(c + 1)];
      const double v = range_sum(ca + a, b - a);
      cells[c] += v;
      S += v;
    }
    float l2[8] = {}, lx[8] = {}, ly[8] = {};
    std::int64_t x = 0;
    for (; x + 8 <= wb; x += 8)
      for (int l = 0; l < 8; ++l) {
        l2[l] += c2[x + l];
        lx[l] += ca[x + l] * xs[x + l];
        ly[l] += cy[x + l];
      }
    for (; x < wb; ++x) {
      S2 += c2[x];
      SX += static_cast<double>(ca[x]) * xs[x];
      SY += cy[x];
    }
    for (int l = 0; l < 8; ++l) {
      S2 += l2[l];
      SX += lx[l];
      SY += ly[l];
    }
    std::fill(ca, ca + wb, 0.0f);
    std::fill(c2, c2 + wb, 0.0f);
    std::fill(cy, cy + wb, 0.0f);
  }
  const double n = static_cast<double>(g.hb * g.wb);
  std::size_t j = 0;
  feat[j++] = S;
  feat[j++] = S > 0 ? SX / S : (static_cast<double>(g.w) - 1) / 2;
  feat[j++] = S > 0 ? SY / S : (static_cast<double>(g.h) - 1) / 2;
  for (const double r : s.rings) feat[j++] = S > 0 ? r / S : 0.0;
  const double mean = S / n;
  feat[j++] = mean > 0 ? std::sqrt(std::max(S2 / n - mean * mean, 0.0)) / mean : 0.0;
  feat[j++] = 0; // similarity: after the pass
  for (std::size_t c = 0; c < s.cells.size(); ++c)
    embed[c] = static_cast<float>(std::log1p(s.cells[c] * static_cast<double>(p.inv_count[c])));
}

double median_of(std::vector<double>& v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  double m = *mid;
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), mid)) / 2;
  return m;
}

double pearson(const float* a, const float* b, std::size_t n) {
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(n);
  mb /= static_cast<double>(n);
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double da = a[i] - ma, db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

// PCA model over embeddings: centre and orthonormal components (D x k).
struct Pca {
  Eigen::VectorXd centre;
  Eigen::MatrixXd comps;
};

Pca fit_pca(const std::vector<float>& emb, std::size_t D, const std::vector<std::int64_t>& rows,
            const Eigen::VectorXd& centre, int k) {
  const auto M = static_cast<Eigen::Index>(rows.size());
  const auto d = static_cast<Eigen::Index>(D);
  // Single precision for the products (the embeddings are floats; the half-size matrices halve the
  // time), double for the small Rayleigh-Ritz problem.
  Eigen::MatrixXf X(M, d);
  for (Eigen::Index i = 0; i < M; ++i)
    for (Eigen::Index c = 0; c < d; ++c)
      X(i, c) = static_cast<float>(
          emb[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)]) * D + static_cast<std::size_t>(c)] -
          centre(c));
  Pca m;
  m.centre = centre;
  const int kk = static_cast<int>(std::min<Eigen::Index>({static_cast<Eigen::Index>(k), M, d}));
  if (kk < 1) {
    m.comps = Eigen::MatrixXd(d, 0);
    return m;
  }
  // The top kk eigenvectors of X^T X by subspace iteration (block power method with p = kk + 8
  // vectors, re-orthonormalised each round, then Rayleigh-Ritz): O(M D p) per round instead of a
  // full M x M or D x D eigendecomposition. The start is a fixed pseudo-random basis, so results
  // are reproducible.
  const Eigen::Index p = std::min<Eigen::Index>(kk + 8, std::min(M, d));
  Eigen::MatrixXf Q(d, p);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  for (Eigen::Index j = 0; j < p; ++j)
    for (Eigen::Index i = 0; i < d; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      Q(i, j) = static_cast<float>(static_cast<double>(state >> 11) * (1.0 / 9007199254740992.0) - 0.5);
    }
  auto orthonormalise = [&](const Eigen::MatrixXf& Z) {
    Eigen::HouseholderQR<Eigen::MatrixXf> qr(Z);
    return Eigen::MatrixXf(qr.householderQ() * Eigen::MatrixXf::Identity(d, p));
  };
  Q = orthonormalise(Q);
  for (int round = 0; round < 8; ++round) Q = orthonormalise(X.transpose() * (X * Q));
  const Eigen::MatrixXd Qd = Q.cast<double>();
  const Eigen::MatrixXd Y = (X * Q).cast<double>();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Y.transpose() * Y);
  const Eigen::VectorXd& ev = es.eigenvalues(); // ascending
  const double top = std::max(ev(p - 1), 0.0);
  std::vector<Eigen::VectorXd> cols;
  for (int j = 0; j < kk; ++j) {
    const Eigen::Index i = p - 1 - j;
    if (ev(i) <= 1e-12 * top || ev(i) <= 0) break;
    Eigen::VectorXd v = Qd * es.eigenvectors().col(i);
    cols.push_back(v / v.norm()); // orthonormal to float precision; renormalised
  }
  m.comps = Eigen::MatrixXd(d, static_cast<Eigen::Index>(cols.size()));
  for (std::size_t j = 0; j < cols.size(); ++j) m.comps.col(static_cast<Eigen::Index>(j)) = cols[j];
  return m;
}

// RMS residual of every frame after projecting on the model.
std::vector<double> pca_errors(const std::vector<float>& emb, std::size_t D, std::int64_t N, const Pca& m) {
  std::vector<double> err(static_cast<std::size_t>(N));
  Eigen::VectorXd x(static_cast<Eigen::Index>(D));
  for (std::int64_t f = 0; f < N; ++f) {
    const float* e = emb.data() + static_cast<std::size_t>(f) * D;
    for (std::size_t c = 0; c < D; ++c) x(static_cast<Eigen::Index>(c)) = e[c] - m.centre(static_cast<Eigen::Index>(c));
    const double total = x.squaredNorm();
    const double kept = m.comps.cols() > 0 ? (m.comps.transpose() * x).squaredNorm() : 0.0;
    err[static_cast<std::size_t>(f)] = std::sqrt(std::max(total - kept, 0.0) / static_cast<double>(D));
  }
  return err;
}

double robust_z(double x, const Robust& r, int side) { // side: 0 both, +1 above only, -1 below only
  if (r.scale <= 0) return 0;
  const double d = (x - r.median) / r.scale;
  if (side > 0) return std::max(d, 0.0);
  if (side < 0) return std::max(-d, 0.0);
  return std::abs(d);
}

} // namespace

Geometry make_geometry(const QcOptions& o, std::int64_t ny, std::int64_t nx) {
  Geometry g;
  g.bin = o.bin;
  g.embed = o.embed_side;
  g.rings = o.rings;
  if (o.roi.empty()) {
    g.h = ny;
    g.w = nx;
  } else {
    g.y0 = o.roi[0];
    g.x0 = o.roi[1];
    g.h = o.roi[2];
    g.w = o.roi[3];
    if (g.y0 < 0 || g.x0 < 0 || g.h < 1 || g.w < 1 || g.y0 + g.h > ny || g.x0 + g.w > nx)
      throw InputError("roi [y0, x0, h, w] = [" + std::to_string(g.y0) + ", " + std::to_string(g.x0) + ", " +
                       std::to_string(g.h) + ", " + std::to_string(g.w) + "] does not fit in the frames of " +
                       std::to_string(ny) + " x " + std::to_string(nx) + " pixels (rows " + std::to_string(g.y0) +
                       ".." + std::to_string(g.y0 + g.h - 1) + ", columns " + std::to_string(g.x0) + ".." +
                       std::to_string(g.x0 + g.w - 1) + " needed)");
  }
  g.hb = g.h / g.bin;
  g.wb = g.w / g.bin;
  if (g.hb < g.embed || g.wb < g.embed)
    throw InputError("the ROI of " + std::to_string(g.h) + " x " + std::to_string(g.w) + " pixels binned by " +
                     std::to_string(g.bin) + " is " + std::to_string(g.hb) + " x " + std::to_string(g.wb) +
                     " pixels, smaller than embed_side = " + std::to_string(g.embed) +
                     ": lower bin or embed_side (each embedding cell needs at least one binned pixel)");
  return g;
}

Robust robust_stats(std::vector<double> v) {
  Robust r;
  if (v.empty()) return r;
  r.median = median_of(v);
  double mean_abs = 0;
  for (double& x : v) {
    x = std::abs(x - r.median);
    mean_abs += x;
  }
  mean_abs /= static_cast<double>(v.size());
  const double mad = median_of(v);
  r.scale = mad > 0 ? 1.4826 * mad : 1.2533 * mean_abs;
  return r;
}

std::vector<std::uint8_t> region_mask(const std::vector<double>& x, const std::vector<double>& y,
                                      const std::vector<double>& rect, const std::vector<double>& circ) {
  std::vector<std::uint8_t> m(x.size(), 0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    bool inside = true;
    if (rect.size() == 4)
      inside = inside && std::abs(x[i] - rect[0]) <= rect[2] / 2 && std::abs(y[i] - rect[1]) <= rect[3] / 2;
    if (circ.size() == 3) inside = inside && std::hypot(x[i] - circ[0], y[i] - circ[1]) <= circ[2];
    m[i] = inside ? 0 : 1;
  }
  return m;
}

std::vector<std::int64_t> ranking(const std::vector<double>& score, const std::vector<std::uint8_t>& masked) {
  std::vector<std::int64_t> order;
  for (std::size_t i = 0; i < score.size(); ++i)
    if (masked.empty() || !masked[i]) order.push_back(static_cast<std::int64_t>(i));
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return score[static_cast<std::size_t>(a)] > score[static_cast<std::size_t>(b)];
  });
  return order;
}

std::vector<std::uint8_t> select_rejects(const std::vector<double>& score, const std::vector<std::uint8_t>& masked,
                                         const RejectRule& rule) {
  std::vector<std::uint8_t> out(score.size(), 0);
  const auto order = ranking(score, masked);
  const auto n = static_cast<double>(order.size());
  std::size_t take = 0;
  switch (rule.mode) {
  case RejectMode::none:
    return out;
  case RejectMode::topk:
    take = static_cast<std::size_t>(std::min(rule.value, n));
    break;
  case RejectMode::topp:
    take = static_cast<std::size_t>(std::min(std::ceil(rule.value * n - 1e-9), n));
    break;
  case RejectMode::thresh:
    for (const auto i : order)
      if (score[static_cast<std::size_t>(i)] >= rule.value) out[static_cast<std::size_t>(i)] = 1;
    return out;
  }
  for (std::size_t k = 0; k < take; ++k) out[static_cast<std::size_t>(order[k])] = 1;
  return out;
}

QcResult score_frames(const QcInput& in, const QcOptions& o, ThreadPool* pool) {
  const Geometry g = make_geometry(o, in.ny, in.nx);
  if (!in.bad_pixels.empty() && static_cast<std::int64_t>(in.bad_pixels.size()) != in.ny * in.nx)
    throw InputError("the bad-pixel mask has " + std::to_string(in.bad_pixels.size()) + " pixels, the frames " +
                     std::to_string(in.ny) + " x " + std::to_string(in.nx));
  const Prepared p = prepare(g, in.nx, in.bad_pixels);
  const std::int64_t N = in.frames;
  const std::size_t F = p.features(), D = p.cells();
  QcResult res;
  res.feature_names = {"total_intensity", "com_x", "com_y"};
  for (int r = 0; r < g.rings; ++r) res.feature_names.push_back("ring_" + std::to_string(r));
  res.feature_names.push_back("speckle_contrast");
  res.feature_names.push_back("similarity");
  res.masked = in.masked.empty() ? std::vector<std::uint8_t>(static_cast<std::size_t>(N), 0) : in.masked;
  std::vector<std::int64_t> evaluated;
  for (std::int64_t i = 0; i < N; ++i)
    if (!res.masked[static_cast<std::size_t>(i)]) evaluated.push_back(i);
  if (evaluated.empty())
    throw InputError("no frame to evaluate: the scan has " + std::to_string(N) +
                     " frames and the region (rect / circ) contains none of their positions");

  // The pass: blocks read in order on this thread, the frames of a block computed on the pool
  // while the next block is read.
  const auto t0 = std::chrono::steady_clock::now();
  res.features.assign(static_cast<std::size_t>(N) * F, 0.0);
  std::vector<float> emb(static_cast<std::size_t>(N) * D, 0.0f);
  const int workers = pool ? pool->size() : 1;
  auto compute = [&](const Array& block, std::int64_t begin, std::int64_t a, std::int64_t b) {
    Scratch s(p);
    visit_dtype(block.dtype(), [&]<typename T>(T) {
      const T* base = block.view<T>().data();
      const std::int64_t frame_px = in.ny * in.nx;
      for (std::int64_t k = a; k < b; ++k) {
        const std::int64_t f = begin + k;
        frame_features<T>(base + k * frame_px, p, s, res.features.data() + static_cast<std::size_t>(f) * F,
                          emb.data() + static_cast<std::size_t>(f) * D);
      }
    });
  };
  auto check_block = [&](const Array& block, std::int64_t begin, std::int64_t end) {
    if (block.ndim() != 3 || block.dim(0) != end - begin || block.dim(1) != in.ny || block.dim(2) != in.nx)
      throw InputError("frames [" + std::to_string(begin) + ", " + std::to_string(end) + ") came as " +
                       block.shape().str() + ", expected (" + std::to_string(end - begin) + ", " +
                       std::to_string(in.ny) + ", " + std::to_string(in.nx) + ")");
  };
  // Blocks of about 4 MiB (at 4 bytes a pixel), at least two frames per worker: small enough that
  // the two blocks in flight stay in cache-friendly, already-touched memory.
  const std::int64_t step =
      o.frames_per_block > 0
          ? o.frames_per_block
          : std::max<std::int64_t>(2 * workers, (std::int64_t{4} << 20) / std::max<std::int64_t>(1, in.ny * in.nx * 4));
  std::int64_t begin = 0;
  Array block;
  if (N > 0) {
    block = in.read(0, std::min(N, step)).contiguous_copy();
    check_block(block, 0, std::min(N, step));
  }
  while (begin < N) {
    const std::int64_t end = std::min(N, begin + step);
    const std::int64_t n = end - begin;
    std::vector<std::future<void>> jobs;
    if (pool && n > 1) {
      const std::int64_t parts = std::min<std::int64_t>(workers, n);
      for (std::int64_t t = 0; t < parts; ++t)
        jobs.push_back(pool->submit(
            [&compute, block, begin, a = n * t / parts, b = n * (t + 1) / parts] { compute(block, begin, a, b); }));
    } else {
      compute(block, begin, 0, n);
    }
    Array next;
    std::exception_ptr read_error;
    if (end < N) {
      try {
        next = in.read(end, std::min(N, end + step)).contiguous_copy();
        check_block(next, end, std::min(N, end + step));
      } catch (...) {
        read_error = std::current_exception();
      }
    }
    // Every job references this frame: wait for all before anything can leave it.
    std::exception_ptr job_error;
    for (auto& j : jobs) {
      try {
        j.get();
      } catch (...) {
        if (!job_error) job_error = std::current_exception();
      }
    }
    if (job_error) std::rethrow_exception(job_error);
    if (read_error) std::rethrow_exception(read_error);
    block = std::move(next);
    begin = end;
  }
  res.seconds_pass = seconds_since(t0);

  // Median embedding over the evaluated frames, the similarity to it.
  const auto t1 = std::chrono::steady_clock::now();
  Eigen::VectorXd median_emb(static_cast<Eigen::Index>(D));
  std::vector<float> med(D);
  {
    std::vector<double> column(evaluated.size());
    for (std::size_t c = 0; c < D; ++c) {
      for (std::size_t i = 0; i < evaluated.size(); ++i)
        column[i] = emb[static_cast<std::size_t>(evaluated[i]) * D + c];
      med[c] = static_cast<float>(median_of(column));
      median_emb(static_cast<Eigen::Index>(c)) = med[c];
    }
  }
  const std::size_t sim = F - 1;
  for (std::int64_t f = 0; f < N; ++f)
    res.features[static_cast<std::size_t>(f) * F + sim] =
        pearson(emb.data() + static_cast<std::size_t>(f) * D, med.data(), D);

  // PCA: fit on evenly spaced evaluated frames, then refit without the fit frames that deviate.
  const std::size_t M = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(evaluated.size()), std::max<std::int64_t>(1, o.pca_fit)));
  std::vector<std::int64_t> fit(M);
  for (std::size_t i = 0; i < M; ++i) fit[i] = evaluated[i * evaluated.size() / M];
  // Frames far from the median embedding would claim components of their own: the first fit
  // leaves out the fit frames whose distance to the median deviates by more than 3.5.
  auto deviating = [&](const std::vector<std::int64_t>& rows, const std::vector<double>& value) {
    std::vector<double> v;
    for (const auto i : rows) v.push_back(value[static_cast<std::size_t>(i)]);
    const Robust r = robust_stats(v);
    std::vector<std::int64_t> kept;
    for (const auto i : rows)
      if (robust_z(value[static_cast<std::size_t>(i)], r, +1) <= kOutlierZ) kept.push_back(i);
    return kept;
  };
  std::vector<double> dist(static_cast<std::size_t>(N), 0.0);
  for (const auto i : fit) {
    double d2 = 0;
    for (std::size_t c = 0; c < D; ++c) {
      const double d = emb[static_cast<std::size_t>(i) * D + c] - med[c];
      d2 += d * d;
    }
    dist[static_cast<std::size_t>(i)] = std::sqrt(d2);
  }
  std::vector<std::int64_t> kept = deviating(fit, dist);
  if (kept.size() < 2) kept = fit;
  Pca model = fit_pca(emb, D, kept, median_emb, o.pca_k);
  res.pca_error = pca_errors(emb, D, N, model);
  // Refit around the mean of the fit frames whose error does not deviate.
  std::vector<std::int64_t> inliers = deviating(kept, res.pca_error);
  if (inliers.size() < 2) inliers = kept;
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(D));
  for (const auto i : inliers)
    for (std::size_t c = 0; c < D; ++c) mean(static_cast<Eigen::Index>(c)) += emb[static_cast<std::size_t>(i) * D + c];
  mean /= static_cast<double>(inliers.size());
  model = fit_pca(emb, D, inliers, mean, o.pca_k);
  res.pca_error = pca_errors(emb, D, N, model);
  res.pca_fit_frames = static_cast<std::int64_t>(inliers.size());
  res.pca_refit_dropped = static_cast<std::int64_t>(fit.size() - inliers.size());
  res.pca_k_used = static_cast<int>(model.comps.cols());
  res.seconds_pca = seconds_since(t1);

  // Robust deviations over the evaluated frames, the combined score.
  auto stats_of = [&](auto&& value) {
    std::vector<double> v;
    v.reserve(evaluated.size());
    for (const auto i : evaluated) v.push_back(value(i));
    return robust_stats(std::move(v));
  };
  std::vector<Robust> fr(F);
  for (std::size_t j = 0; j < F; ++j)
    fr[j] = stats_of([&](std::int64_t i) { return res.features[static_cast<std::size_t>(i) * F + j]; });
  const Robust er = stats_of([&](std::int64_t i) { return res.pca_error[static_cast<std::size_t>(i)]; });
  const auto sz = static_cast<std::size_t>(N);
  res.feature_dev.assign(sz, 0.0);
  res.pca_dev.assign(sz, 0.0);
  res.score.assign(sz, 0.0);
  res.stxm.assign(sz, 0.0);
  res.dpcx.assign(sz, 0.0);
  res.dpcy.assign(sz, 0.0);
  res.main_feature.assign(sz, 0);
  for (std::size_t i = 0; i < sz; ++i) {
    double fd = 0;
    for (std::size_t j = 0; j < F; ++j) {
      const double z = robust_z(res.features[i * F + j], fr[j], j == sim ? -1 : 0);
      if (z > fd) {
        fd = z;
        res.main_feature[i] = static_cast<int>(j);
      }
    }
    res.feature_dev[i] = fd;
    res.pca_dev[i] = robust_z(res.pca_error[i], er, +1);
    if ((1 - o.w_feat) * res.pca_dev[i] > o.w_feat * fd) res.main_feature[i] = static_cast<int>(F);
    const double raw = o.w_feat * fd + (1 - o.w_feat) * res.pca_dev[i];
    res.score[i] = raw / (raw + kOutlierZ);
    res.stxm[i] = std::log1p(std::max(res.features[i * F], 0.0));
    res.dpcx[i] = res.features[i * F + 1] - fr[1].median;
    res.dpcy[i] = res.features[i * F + 2] - fr[2].median;
  }
  res.rejected.assign(sz, 0);
  return res;
}

} // namespace lumen::ptycho::qc
