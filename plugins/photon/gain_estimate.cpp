// Pair histograms and the robust line fit of photon.estimate (see gain_estimate.hpp).
#include "gain_estimate.hpp"

#include "anscombe.hpp" // format_number
#include "lumen/error.hpp"

#include <algorithm>
#include <cmath>

namespace lumen::photon {

namespace {

struct Bin {
  double mean = 0;     // pair mean m
  double variance = 0; // mean of D^2 / 2
  double n = 0;        // samples
};

struct Line {
  double slope = 0, intercept = 0;
};

// Weighted least squares of v = slope * m + intercept.
Line weighted_line(const std::vector<Bin>& bins, const std::vector<double>& w) {
  double sw = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < bins.size(); ++i) {
    sw += w[i];
    sx += w[i] * bins[i].mean;
    sy += w[i] * bins[i].variance;
  }
  const double mx = sx / sw, my = sy / sw;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < bins.size(); ++i) {
    const double dx = bins[i].mean - mx;
    sxx += w[i] * dx * dx;
    sxy += w[i] * dx * (bins[i].variance - my);
  }
  Line l;
  l.slope = sxx > 0 ? sxy / sxx : 0.0;
  l.intercept = my - l.slope * mx;
  return l;
}

// Theil-Sen: the median of the pairwise slopes (of at most 1000 evenly spaced bins), then the
// median intercept. Breaks down only when over 29 % of the bins are outliers.
Line theil_sen(const std::vector<Bin>& bins) {
  const std::size_t step = std::max<std::size_t>(1, bins.size() / 1000);
  std::vector<const Bin*> pick;
  for (std::size_t i = 0; i < bins.size(); i += step) pick.push_back(&bins[i]);
  std::vector<double> slopes;
  slopes.reserve(pick.size() * (pick.size() - 1) / 2);
  for (std::size_t i = 0; i < pick.size(); ++i)
    for (std::size_t j = i + 1; j < pick.size(); ++j) {
      const double dm = pick[j]->mean - pick[i]->mean;
      if (dm > 0) slopes.push_back((pick[j]->variance - pick[i]->variance) / dm);
    }
  Line l;
  if (slopes.empty()) return l;
  auto mid = slopes.begin() + static_cast<std::ptrdiff_t>(slopes.size() / 2);
  std::nth_element(slopes.begin(), mid, slopes.end());
  l.slope = *mid;
  std::vector<double> intercepts;
  for (const Bin* b : pick) intercepts.push_back(b->variance - l.slope * b->mean);
  mid = intercepts.begin() + static_cast<std::ptrdiff_t>(intercepts.size() / 2);
  std::nth_element(intercepts.begin(), mid, intercepts.end());
  l.intercept = *mid;
  return l;
}

// Huber IRLS from a Theil-Sen start. Each bin's weight is its inverse sampling variance
// (n / v^2 up to a constant); residuals are standardised by it and by a robust scale (MAD),
// so bins inflated by activity are down-weighted however many samples they hold. `huber`
// receives the final Huber weights.
Line robust_line(const std::vector<Bin>& bins, std::vector<double>& huber) {
  const std::size_t nb = bins.size();
  Line line = theil_sen(bins);
  std::vector<double> w(nb), base(nb), t(nb);
  huber.assign(nb, 1.0);
  constexpr double k = 1.345;
  for (int iter = 0; iter < 100; ++iter) {
    for (std::size_t i = 0; i < nb; ++i) {
      const double predicted = std::max(1e-3, line.slope * bins[i].mean + line.intercept);
      base[i] = bins[i].n / (predicted * predicted);
      t[i] = (bins[i].variance - predicted) * std::sqrt(base[i]);
    }
    std::vector<double> abs_t(nb);
    for (std::size_t i = 0; i < nb; ++i) abs_t[i] = std::abs(t[i]);
    std::nth_element(abs_t.begin(), abs_t.begin() + static_cast<std::ptrdiff_t>(nb / 2), abs_t.end());
    const double scale = std::max(1.4826 * abs_t[nb / 2], 1e-12);
    for (std::size_t i = 0; i < nb; ++i) {
      const double r = std::abs(t[i]) / scale;
      huber[i] = r <= k ? 1.0 : k / r;
      w[i] = base[i] * huber[i];
    }
    const Line next = weighted_line(bins, w);
    const bool converged = std::abs(next.slope - line.slope) <= 1e-9 * std::abs(line.slope) + 1e-14 &&
                           std::abs(next.intercept - line.intercept) <= 1e-9 * (std::abs(line.intercept) + 1.0);
    line = next;
    if (converged) break;
  }
  return line;
}

} // namespace

constexpr std::int64_t kOffset = 196608; // bin index = x1 + x2 + x3 + kOffset
constexpr std::int64_t kBins = 786432;
constexpr double kClipSigmas = 3.0;
// E[X^2 1{|X| <= c sigma}] / sigma^2 for a Gaussian X: 2 Phi(c) - 1 - 2 c phi(c).
const double kClipMoment = std::erf(kClipSigmas / std::sqrt(2.0)) -
                           2.0 * kClipSigmas * std::exp(-0.5 * kClipSigmas * kClipSigmas) / std::sqrt(2.0 * M_PI);

struct GainEstimator::Histogram {
  std::vector<std::uint64_t> count = std::vector<std::uint64_t>(kBins, 0);
  std::vector<double> sum_d2 = std::vector<double>(kBins, 0.0); // of the kept D^2
};

void GainEstimator::add(const Array& frames, const std::string& who) {
  if (frames.ndim() != 2 && frames.ndim() != 3)
    throw InputError(who + ": photon.estimate takes frames (H, W) or blocks of frames (n, H, W), not shape " +
                     frames.shape().str());
  const DType t = frames.dtype();
  if (t == DType::f32 || t == DType::f64)
    throw InputError(who + ": photon.estimate needs integer camera counts (u8, u16, i16, u32, i32), not " +
                     std::string(dtype_name(t)) + "; for float data give gain and zero_level explicitly");
  const Shape frame = frames.ndim() == 2 ? frames.shape() : Shape{frames.dim(1), frames.dim(2)};
  if (frames_ == 0) {
    frame_shape_ = frame;
  } else if (!(frame == frame_shape_) || t != blocks_.front().dtype()) {
    throw InputError(who + ": frames of " + frame.str() + " " + std::string(dtype_name(t)) +
                     " differ from the movie's " + frame_shape_.str() + " " +
                     std::string(dtype_name(blocks_.front().dtype())));
  }
  Array block = frames.contiguous_copy();
  if (t == DType::u32 || t == DType::i32) {
    visit_dtype(t, [&]<typename T>(T) {
      if constexpr (std::is_integral_v<T> && sizeof(T) == 4) {
        const auto v = block.view<T>();
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        if (static_cast<std::int64_t>(*lo) < -65536 || static_cast<std::int64_t>(*hi) > 196607)
          throw InputError(who + ": counts from " + std::to_string(static_cast<std::int64_t>(*lo)) + " to " +
                           std::to_string(static_cast<std::int64_t>(*hi)) +
                           " lie outside the -65536..196607 ADU photon.estimate bins; give gain and zero_level "
                           "explicitly");
      }
    });
  }
  frames_ += frames.ndim() == 2 ? 1 : frames.dim(0);
  blocks_.push_back(std::move(block));
}

void GainEstimator::accumulate(Histogram& h, const std::vector<double>* limits) const {
  const auto pixels = static_cast<std::size_t>(frame_shape_.size());
  visit_dtype(blocks_.front().dtype(), [&]<typename T>(T) {
    if constexpr (std::is_integral_v<T>) {
      const T* prev2 = nullptr;
      const T* prev1 = nullptr;
      std::uint64_t* count = h.count.data();
      double* sum = h.sum_d2.data();
      for (const Array& block : blocks_) {
        const T* base = static_cast<const T*>(block.raw());
        const std::int64_t n = block.ndim() == 2 ? 1 : block.dim(0);
        for (std::int64_t f = 0; f < n; ++f) {
          const T* cur = base + static_cast<std::size_t>(f) * pixels;
          if (prev2) {
            for (std::size_t i = 0; i < pixels; ++i) {
              const std::int64_t a = prev2[i], b = prev1[i], c = cur[i];
              const auto bin = static_cast<std::size_t>(a + b + c + kOffset);
              const auto d = static_cast<double>(a - 2 * b + c);
              ++count[bin];
              if (!limits || d * d <= (*limits)[bin]) sum[bin] += d * d;
            }
          }
          prev2 = prev1;
          prev1 = cur;
        }
      }
    }
  });
}

namespace {

// Bins of at least min_count triplets from a histogram; D^2 / 6 corrected for clipping.
std::vector<Bin> merge_bins(const std::vector<std::uint64_t>& count, const std::vector<double>& sum_d2,
                            double min_count, double moment_factor) {
  std::vector<Bin> bins;
  double n = 0, sum_m = 0, sum_v = 0;
  for (std::size_t b = 0; b < count.size(); ++b) {
    const auto c = static_cast<double>(count[b]);
    if (c == 0) continue;
    n += c;
    sum_m += c * static_cast<double>(static_cast<std::int64_t>(b) - kOffset) / 3.0;
    sum_v += sum_d2[b] / 6.0;
    if (n >= min_count) {
      bins.push_back(Bin{.mean = sum_m / n, .variance = sum_v / n / moment_factor, .n = n});
      n = sum_m = sum_v = 0;
    }
  }
  return bins;
}

} // namespace

GainFit GainEstimator::fit(const std::string& who) const {
  if (frames_ < 3)
    throw InputError(who + ": estimating the gain needs at least 3 frames, the movie has " + std::to_string(frames_));
  Histogram h;
  accumulate(h, nullptr);
  std::uint64_t total = 0;
  for (const auto c : h.count) total += c;
  // Merge neighbouring levels until each bin holds enough triplets for a variance good to ~3 %.
  const double min_count = std::max(2000.0, static_cast<double>(total) / 4000.0);
  std::vector<Bin> bins = merge_bins(h.count, h.sum_d2, min_count, 1.0);
  if (bins.size() < 3)
    throw InputError(who + ": the movie gives " + std::to_string(bins.size()) + " intensity levels with at least " +
                     format_number(min_count) + " pixel triplets each (" + std::to_string(total) +
                     " in all); the fit needs 3 or more: use more frames or pixels, or give gain and "
                     "zero_level explicitly");
  Line line;
  std::vector<double> huber;
  for (int pass = 0; pass < 3; ++pass) {
    if (pass > 0) { // drop triplets beyond kClipSigmas of the current model, then refit
      std::vector<double> limits(kBins);
      for (std::int64_t b = 0; b < kBins; ++b) {
        const double m = static_cast<double>(b - kOffset) / 3.0;
        const double v = std::max(line.slope * m + line.intercept, 0.25); // D^2/6 at this level
        limits[static_cast<std::size_t>(b)] = kClipSigmas * kClipSigmas * 6.0 * v;
      }
      Histogram clipped;
      accumulate(clipped, &limits);
      bins = merge_bins(clipped.count, clipped.sum_d2, min_count, kClipMoment);
    }
    line = robust_line(bins, huber);
    if (!std::isfinite(line.slope) || !(line.slope > 0)) break;
  }
  if (!std::isfinite(line.slope) || !(line.slope > 0))
    throw InputError(who + ": the frame-to-frame variance does not rise with the mean (fitted slope " +
                     format_number(line.slope) +
                     "): this does not look like raw photon-limited counts; give gain and zero_level explicitly");

  GainFit fit;
  fit.gain = line.slope;
  fit.zero_level = -line.intercept / line.slope;
  const std::size_t nb = bins.size();
  std::vector<double> w(nb);
  for (std::size_t i = 0; i < nb; ++i) {
    const double predicted = std::max(1e-3, line.slope * bins[i].mean + line.intercept);
    w[i] = bins[i].n / (predicted * predicted) * huber[i];
  }
  double sw = 0, sy = 0;
  for (std::size_t i = 0; i < nb; ++i) {
    sw += w[i];
    sy += w[i] * bins[i].variance;
  }
  const double my = sy / sw;
  double ss_res = 0, ss_tot = 0, reduced = 0;
  for (std::size_t i = 0; i < nb; ++i) {
    const double e = bins[i].variance - (line.slope * bins[i].mean + line.intercept);
    ss_res += w[i] * e * e;
    ss_tot += w[i] * (bins[i].variance - my) * (bins[i].variance - my);
    reduced += huber[i] < 1.0;
    fit.samples += static_cast<std::int64_t>(bins[i].n);
    fit.levels.push_back(
        {.mean = bins[i].mean, .variance = bins[i].variance, .samples = bins[i].n, .weight = huber[i]});
  }
  fit.r_squared = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 0.0;
  fit.outlier_fraction = reduced / static_cast<double>(nb);
  fit.bins = static_cast<std::int64_t>(nb);
  fit.frames = frames_;
  return fit;
}

} // namespace lumen::photon
