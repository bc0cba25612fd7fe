// Variance stabilisation of photon counts: the (generalized) Anscombe transform, its inverses
// and the quantiser of the photon codec. The pixel math behind photon.anscombe and photon.quantize.
//
// Noise model. A camera value x (ADU) is x = gain * p + zero_level + n, where p ~ Poisson(lambda)
// is the photon count, gain is in ADU per photon (the camera's "photon sensitivity"; the inverse
// of the e-/ADU conversion gain when one electron is one photon) and n ~ N(0, read_noise^2) in
// ADU. With z = (x - zero_level) / gain (photons) and s = read_noise / gain (photons), the
// generalized Anscombe transform (Murtagh, Starck and Bijaoui 1995)
//     y = 2 * sqrt(z + 3/8 + s^2)
// has a noise of standard deviation close to 1 whatever lambda is (within a few percent for
// lambda >= 3). With s = 0 it is Anscombe's (1948) 2 * sqrt(z + 3/8). An argument below 0
// (possible only through noise) is taken as 0.
//
// Inverses:
//   algebraic  z = (y / 2)^2 - 3/8 - s^2: undoes the forward transform exactly; the codec's
//              inverse (the round trip of a value through forward, quantise, inverse).
//   unbiased   the closed-form approximation of the exact unbiased inverse (Makitalo and Foi
//              2011, IEEE TIP 20(1); generalized form Makitalo and Foi 2013, IEEE TIP 22(1)):
//              z = y^2/4 + sqrt(3/2)/(4 y) - 11/(8 y^2) + 5 sqrt(3/2)/(8 y^3) - 1/8 - s^2,
//              clipped at 0. It maps E[y | lambda] back to lambda: the inverse to use after
//              denoising in the stabilised domain (the algebraic inverse is biased there, by
//              about -1/4 photon for large lambda and more for small).
//
// Quantisation with step beta (in units of the stabilised noise sigma, which is 1) stores
// q = round(y / beta). Dequantising gives y' = q * beta with |y' - y| <= beta / 2, hence after
// the algebraic inverse (dz/dy = y / 2)
//     |z' - z| <= (beta / 2) * sqrt(z + 3/8 + s^2) + beta^2 / 16      photons,
// i.e. at most beta/2 * sqrt(1 + (3/8) / (z + s^2)) + beta^2 / (16 sqrt(z + s^2)) in units of the
// noise sigma sqrt(z + s^2): <= 0.30 sigma for beta = 0.5 and z >= 1. max_error_photons()
// gives the bound; the tests check it.
#pragma once

#include "lumen/array.hpp"

#include <cstdint>
#include <string>

namespace lumen::photon {

struct NoiseModel {
  double gain = 1.0;       // ADU per photon, > 0
  double zero_level = 0.0; // ADU of zero photons
  double read_noise = 0.0; // Gaussian read noise, RMS, ADU (0: plain Anscombe)

  /// read_noise in photons.
  [[nodiscard]] double read_noise_photons() const noexcept { return read_noise / gain; }
  /// Throws lumen::InputError (naming `who`) unless gain > 0 and every value is finite and read_noise >= 0.
  void check(const std::string& who) const;
};

enum class Inverse { algebraic, unbiased };
[[nodiscard]] Inverse parse_inverse(const std::string& name); // "algebraic" | "unbiased"

/// What to do with values below zero photons by more than noise can explain.
enum class NegativePolicy { error, clip };

/// The lowest photon value that counts as noise rather than a wrong zero level: -(3 + 4 s). The
/// margin covers rounding, read noise and the error of an estimated zero level (about a photon).
[[nodiscard]] double negative_limit_photons(const NoiseModel& model) noexcept;

/// Forward transform of any integer or float array into a new f32 array of the same shape.
/// Throws lumen::InputError naming `who` and the first offending element for NaN/inf input
/// and, with NegativePolicy::error, for a value more than negative_limit_photons() below zero.
[[nodiscard]] Array forward(const Array& counts, const NoiseModel& model, NegativePolicy negatives,
                            const std::string& who);

/// Inverse transform. `stabilised` is f32/f64 (y), or u8/u16 quantised values (q) when
/// beta > 0 (y = q * beta). The result is in ADU (x = z * gain + zero_level) as `output`: f32, or
/// an integer type (rounded to nearest, saturated). Quantised input goes through a table of its
/// at most 65536 values, so the cost is one lookup per pixel whichever inverse is chosen.
[[nodiscard]] Array inverse(const Array& stabilised, double beta, const NoiseModel& model, Inverse kind, DType output,
                            const std::string& who);

/// The scalar forms (used by the array forms and by tests).
[[nodiscard]] double forward_value(double photons, double read_noise_photons) noexcept;
[[nodiscard]] double inverse_value(double y, double read_noise_photons, Inverse kind) noexcept;

/// round(y / beta) stored as u8 or u16 (beta > 0). Throws lumen::InputError naming `who`, the
/// largest value and the count that fits, when a value does not fit the type.
[[nodiscard]] Array quantize(const Array& stabilised, double beta, DType type, const std::string& who);

/// A number as error messages show it: 6 significant digits ("2.5", "1.2e+06").
[[nodiscard]] std::string format_number(double v);

/// The guaranteed bound on |z' - z| (photons) after quantising with step beta and inverting
/// algebraically, at z photons (see the header comment).
[[nodiscard]] double max_error_photons(double z, double beta, double read_noise_photons) noexcept;

} // namespace lumen::photon
