// Synthetic ptychography scans (see ptycho_scan.hpp). FFTs by FFTW (single precision).
#include "ptycho_scan.hpp"

#include "lumen/error.hpp"
#include "photon_movie.hpp" // PoissonSampler
#include "starfield.hpp"    // stream_seed

#include <algorithm>
#include <cmath>
#include <fftw3.h>
#include <memory>
#include <mutex>
#include <numbers>

namespace lumen::synth {

namespace {

constexpr std::uint64_t kStreamObject = 21;
constexpr std::uint64_t kStreamFrames = 22;

// FFTW's planner is not thread-safe (execution is): plans are made and destroyed under this
// lock. It guards FFTW's own global planner state, which is process-wide whatever we do.
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

struct FftwFree {
  void operator()(void* p) const noexcept { fftwf_free(p); }
};
using FftwBuffer = std::unique_ptr<fftwf_complex[], FftwFree>;

} // namespace

PtychoScene::PtychoScene(const PtychoScanSpec& spec) : spec_(spec) {
  if (spec.size < 8 || spec.positions < 1 || spec.frames_per_pos < 1)
    throw Error("synth.ptycho_scan: the scan needs a frame of 8 px or more and at least one position");
  const int n = spec.size;
  const double dx = spec.object_pixel_m();

  // Positions, metres, centred on 0.
  pos_.resize(static_cast<std::size_t>(spec.positions) * 2);
  const double step = spec.step();
  const auto side = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(spec.positions))));
  for (std::int64_t k = 0; k < spec.positions; ++k) {
    double x, y;
    if (spec.spiral) {
      const double r = step * std::sqrt(static_cast<double>(k));
      const double a = static_cast<double>(k) * 137.508 * std::numbers::pi / 180.0;
      x = r * std::cos(a);
      y = r * std::sin(a);
    } else {
      x = (static_cast<double>(k % side) - 0.5 * static_cast<double>(side - 1)) * step;
      y = (static_cast<double>(k / side) - 0.5 * static_cast<double>(side - 1)) * step;
    }
    pos_[2 * static_cast<std::size_t>(k)] = x;
    pos_[2 * static_cast<std::size_t>(k) + 1] = y;
  }
  double reach = 0;
  for (const double v : pos_) reach = std::max(reach, std::abs(v));
  object_w_ = n + 2 * static_cast<int>(std::ceil(reach / dx)) + 4;

  // Probe: a circular aperture with a soft (raised-cosine) edge of 2 px.
  probe_.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(n));
  const double rp = spec.probe_radius();
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const double r = std::hypot(x - n / 2.0 + 0.5, y - n / 2.0 + 0.5);
      const double a = r <= rp - 1   ? 1.0
                       : r >= rp + 1 ? 0.0
                                     : 0.5 * (1 + std::cos((r - rp + 1) * std::numbers::pi / 2));
      probe_[static_cast<std::size_t>(y) * static_cast<std::size_t>(n) + static_cast<std::size_t>(x)] =
          std::complex<float>(static_cast<float>(a), 0.0f);
    }

  // Object: phase and absorption from random Gaussian blobs.
  PoissonSampler rng(stream_seed(spec.seed, kStreamObject, 0));
  const auto w = static_cast<std::size_t>(object_w_);
  std::vector<float> phase(w * w, 0.0f), absorb(w * w, 0.0f);
  const int blobs = std::max(8, object_w_ * object_w_ / 200);
  for (int b = 0; b < blobs; ++b) {
    const double cx = rng.uniform() * object_w_, cy = rng.uniform() * object_w_;
    const double s = 1.5 + 4.0 * rng.uniform(), ph = 0.8 * (rng.uniform() - 0.3), ab = 0.2 * rng.uniform();
    const int reach_px = static_cast<int>(3 * s) + 1;
    for (int y = std::max(0, static_cast<int>(cy) - reach_px); y < std::min(object_w_, static_cast<int>(cy) + reach_px);
         ++y)
      for (int x = std::max(0, static_cast<int>(cx) - reach_px);
           x < std::min(object_w_, static_cast<int>(cx) + reach_px); ++x) {
        const double g = std::exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * s * s));
        phase[static_cast<std::size_t>(y) * w + static_cast<std::size_t>(x)] += static_cast<float>(ph * g);
        absorb[static_cast<std::size_t>(y) * w + static_cast<std::size_t>(x)] += static_cast<float>(ab * g);
      }
  }
  object_.resize(w * w);
  for (std::size_t i = 0; i < w * w; ++i) object_[i] = std::polar(std::exp(-absorb[i]), phase[i]);

  // Dark: a level with a gentle gradient; flat: 1 +- flat_variation, smooth.
  dark_ = Array::uninitialized(DType::f32, Shape{n, n});
  flat_ = Array::uninitialized(DType::f32, Shape{n, n});
  float* d = static_cast<float*>(dark_.raw());
  float* f = static_cast<float*>(flat_.raw());
  const double fx = rng.uniform() * 6.28, fy = rng.uniform() * 6.28;
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const auto i = static_cast<std::size_t>(y) * static_cast<std::size_t>(n) + static_cast<std::size_t>(x);
      d[i] = static_cast<float>(spec.dark_adu * (1.0 + 0.1 * x / n + 0.05 * y / n));
      f[i] = static_cast<float>(1.0 + spec.flat_variation * std::sin(3.0 * x / n + fx) * std::cos(2.0 * y / n + fy));
    }
}

void PtychoScene::intensity(std::int64_t position, std::vector<float>& out) const {
  const int n = spec_.size;
  const auto nn = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
  FftwBuffer in(fftwf_alloc_complex(nn)), freq(fftwf_alloc_complex(nn));
  if (!in || !freq) throw Error("synth.ptycho_scan: out of memory for the FFT buffers");
  fftwf_plan plan;
  {
    const std::lock_guard lock(planner_mutex());
    plan = fftwf_plan_dft_2d(n, n, in.get(), freq.get(), FFTW_FORWARD, FFTW_ESTIMATE);
  }
  const double dx = spec_.object_pixel_m();
  const int ox =
      static_cast<int>(std::lround(object_w_ / 2.0 + pos_[2 * static_cast<std::size_t>(position)] / dx)) - n / 2;
  const int oy =
      static_cast<int>(std::lround(object_w_ / 2.0 + pos_[2 * static_cast<std::size_t>(position) + 1] / dx)) - n / 2;
  const auto w = static_cast<std::size_t>(object_w_);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const auto i = static_cast<std::size_t>(y) * static_cast<std::size_t>(n) + static_cast<std::size_t>(x);
      const std::complex<float> v =
          probe_[i] * object_[static_cast<std::size_t>(oy + y) * w + static_cast<std::size_t>(ox + x)];
      in[i][0] = v.real();
      in[i][1] = v.imag();
    }
  fftwf_execute(plan);
  {
    const std::lock_guard lock(planner_mutex());
    fftwf_destroy_plan(plan);
  }
  out.assign(nn, 0.0f);
  double total = 0;
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const auto i = static_cast<std::size_t>(y) * static_cast<std::size_t>(n) + static_cast<std::size_t>(x);
      const float p = freq[i][0] * freq[i][0] + freq[i][1] * freq[i][1];
      const auto sy = static_cast<std::size_t>((y + n / 2) % n), sx = static_cast<std::size_t>((x + n / 2) % n);
      out[sy * static_cast<std::size_t>(n) + sx] = p;
      total += p;
    }
  const auto scale = static_cast<float>(total > 0 ? spec_.photons / total : 0.0);
  for (float& v : out) v *= scale;
}

PtychoBlock render_ptycho_frames(const PtychoScene& scene, std::int64_t begin, std::int64_t end) {
  const PtychoScanSpec& spec = scene.spec();
  if (begin < 0 || end > spec.frames() || begin >= end) throw Error("synth.ptycho_scan: frame range outside the scan");
  const int n = spec.size;
  const auto nn = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
  PtychoBlock block;
  block.frames = Array::uninitialized(DType::u16, Shape{end - begin, n, n});
  block.pos = Array::uninitialized(DType::f64, Shape{end - begin, 2});
  auto* dst = static_cast<std::uint16_t*>(block.frames.raw());
  auto* pos = static_cast<double*>(block.pos.raw());
  const float* dark = static_cast<const float*>(scene.dark().raw());
  const float* flat = static_cast<const float*>(scene.flat().raw());
  std::vector<float> expected;
  std::int64_t cached = -1;
  for (std::int64_t f = begin; f < end; ++f) {
    const std::int64_t p = f / spec.frames_per_pos;
    if (p != cached) {
      scene.intensity(p, expected);
      cached = p;
    }
    PoissonSampler rng(stream_seed(spec.seed, kStreamFrames, f));
    std::uint16_t* frame = dst + static_cast<std::size_t>(f - begin) * nn;
    for (std::size_t i = 0; i < nn; ++i) {
      double v = static_cast<double>(rng(expected[i])) * flat[i] + dark[i];
      if (spec.read_noise_adu > 0) v += spec.read_noise_adu * rng.normal();
      frame[i] = static_cast<std::uint16_t>(std::clamp(std::round(v), 0.0, std::min(65535.0, spec.sat_adu)));
    }
    pos[2 * static_cast<std::size_t>(f - begin)] = scene.positions()[2 * static_cast<std::size_t>(p)];
    pos[2 * static_cast<std::size_t>(f - begin) + 1] = scene.positions()[2 * static_cast<std::size_t>(p) + 1];
  }
  return block;
}

} // namespace lumen::synth
