// Synthetic ptychography scans: far-field diffraction patterns of a probe scanning an object, the
// pixel physics behind synth.ptycho_scan (ground truth for the ptycho stages, no download needed).
//
// Geometry (small-angle far field): wavelength = hc / energy; a detector pixel of pixel_m at
// det_dist_m samples the object plane at dx = wavelength * det_dist_m / (size * pixel_m).
// Positions follow a Fermat spiral (r = step * sqrt(k), angle k * 137.508 deg) or a square
// raster of pitch `step_m`, in metres, centred on 0. The probe is a circular aperture of
// probe_radius_px object pixels with a soft edge; the object is a complex transmission
// exp(i phase - absorption) built from random smooth blobs (from the seed). For frame k:
//   counts = Poisson(photons * |FFT(probe * object patch at pos)|^2 / sum |.|^2)   (fftshifted)
//   ADU = min(sat_adu, round(counts * flat + dark + N(0, read_noise)))
// with a dark of dark_adu plus a gentle gradient, and a flat of 1 +- flat_variation (smooth).
// Every position is exposed frames_per_pos times with independent noise (a frame f belongs to
// position f / frames_per_pos). The scene depends on `seed` only, the noise of frame f on
// (seed, f): every block of frames is reproducible on its own.
#pragma once

#include "lumen/array.hpp"

#include <complex>
#include <cstdint>
#include <vector>

namespace lumen::synth {

struct PtychoScanSpec {
  int size = 128;              // detector frame: size x size pixels
  std::int64_t positions = 64; // scan positions
  int frames_per_pos = 1;      // exposures per position
  bool spiral = true;          // else raster
  double step_m = 0;           // 0: 0.6 probe radii
  double energy_eV = 700;
  double det_dist_m = 2.0;
  double pixel_m = 75e-6;
  double exposure_s = 0.1;
  double probe_radius_px = 0; // 0: size / 8
  double photons = 1e6;       // per frame
  double dark_adu = 100;
  double read_noise_adu = 2;
  double flat_variation = 0.05;
  double sat_adu = 60000;
  std::uint64_t seed = 1;

  [[nodiscard]] double wavelength_m() const noexcept { return 1.239841984e-6 / energy_eV; }
  [[nodiscard]] double object_pixel_m() const noexcept { return wavelength_m() * det_dist_m / (size * pixel_m); }
  [[nodiscard]] double probe_radius() const noexcept { return probe_radius_px > 0 ? probe_radius_px : size / 8.0; }
  [[nodiscard]] double step() const noexcept { return step_m > 0 ? step_m : 0.6 * probe_radius() * object_pixel_m(); }
  [[nodiscard]] std::int64_t frames() const noexcept { return positions * frames_per_pos; }
};

/// The fixed part of a scan: positions, probe, object, dark and flat.
class PtychoScene {
public:
  explicit PtychoScene(const PtychoScanSpec& spec);
  [[nodiscard]] const PtychoScanSpec& spec() const noexcept { return spec_; }
  /// (positions, 2) metres, columns [x, y].
  [[nodiscard]] const std::vector<double>& positions() const noexcept { return pos_; }
  [[nodiscard]] const Array& dark() const noexcept { return dark_; } // f32 (size, size)
  [[nodiscard]] const Array& flat() const noexcept { return flat_; } // f32 (size, size)
  /// Expected photons of one frame at position p, fftshifted (zero frequency at size/2),
  /// summing to spec.photons.
  void intensity(std::int64_t position, std::vector<float>& out) const;

private:
  PtychoScanSpec spec_;
  std::vector<double> pos_;
  std::vector<std::complex<float>> probe_;  // size x size
  std::vector<std::complex<float>> object_; // object_w_ x object_w_
  int object_w_ = 0;
  Array dark_, flat_;
};

/// Frames [begin, end) (u16, (n, size, size)) and their positions ((n, 2) f64).
struct PtychoBlock {
  Array frames, pos;
};
[[nodiscard]] PtychoBlock render_ptycho_frames(const PtychoScene& scene, std::int64_t begin, std::int64_t end);

} // namespace lumen::synth
