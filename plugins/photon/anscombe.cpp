// The pixel loops of the photon codec. Each loop is instantiated per input dtype, runs over a
// contiguous span with no branches the compiler cannot turn into selects, and is checked in one
// extra pass only when its cheap reduction (minimum, NaN flag, maximum) says something is wrong,
// so the error can name the first offending element.
#include "anscombe.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

namespace lumen::photon {

namespace {

std::string number(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

// "(frame 3, y 10, x 7)" for a flat index into an array of `shape`.
std::string position(const Shape& shape, std::int64_t flat) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(shape.ndim));
  for (int a = shape.ndim - 1; a >= 0; --a) {
    idx[static_cast<std::size_t>(a)] = flat % shape[a];
    flat /= shape[a];
  }
  static const char* const names3[] = {"frame", "y", "x"};
  static const char* const names2[] = {"y", "x"};
  std::string out = "(";
  for (int a = 0; a < shape.ndim; ++a) {
    if (a) out += ", ";
    const char* name = shape.ndim == 3 ? names3[a] : shape.ndim == 2 ? names2[a] : "axis";
    out += name;
    if (shape.ndim > 3) out += std::to_string(a);
    out += " " + std::to_string(idx[static_cast<std::size_t>(a)]);
  }
  return out + ")";
}

constexpr double kSqrt32 = 1.2247448713915890491; // sqrt(3/2)

} // namespace

void NoiseModel::check(const std::string& who) const {
  if (!std::isfinite(gain) || !(gain > 0))
    throw InputError(who + ": gain must be > 0 ADU per photon, got " + number(gain) +
                     " (estimate it with photon.estimate or give it explicitly)");
  if (!std::isfinite(zero_level)) throw InputError(who + ": zero_level must be finite, got " + number(zero_level));
  if (!std::isfinite(read_noise) || read_noise < 0)
    throw InputError(who + ": read_noise must be >= 0 ADU, got " + number(read_noise));
}

Inverse parse_inverse(const std::string& name) {
  if (name == "algebraic") return Inverse::algebraic;
  if (name == "unbiased") return Inverse::unbiased;
  throw Error("unknown inverse '" + name + "' (algebraic or unbiased)");
}

double negative_limit_photons(const NoiseModel& model) noexcept {
  return -(0.5 + 4.0 * model.read_noise_photons());
}

double forward_value(double photons, double read_noise_photons) noexcept {
  return 2.0 * std::sqrt(std::max(0.0, photons + 0.375 + read_noise_photons * read_noise_photons));
}

double inverse_value(double y, double read_noise_photons, Inverse kind) noexcept {
  const double s2 = read_noise_photons * read_noise_photons;
  if (kind == Inverse::algebraic) return 0.25 * y * y - 0.375 - s2;
  if (!(y > 0)) return 0.0;
  const double r = 1.0 / y;
  const double z = 0.25 * y * y + 0.25 * kSqrt32 * r - 1.375 * r * r + 0.625 * kSqrt32 * r * r * r - 0.125 - s2;
  return std::max(0.0, z);
}

Array forward(const Array& counts, const NoiseModel& model, NegativePolicy negatives, const std::string& who) {
  model.check(who);
  const Array src = counts.contiguous_copy();
  Array out = Array::uninitialized(DType::f32, src.shape());
  float* dst = static_cast<float*>(out.raw());
  const auto n = static_cast<std::size_t>(src.size());
  // y = 2 sqrt(x * a + b) with a = 1/gain, b = 3/8 + s^2 - zero/gain; in f32 with f64 constants
  // folded, which keeps 24 bits: the y of a 16-bit count is exact to better than 1e-6 relative.
  const double a = 1.0 / model.gain;
  const double s = model.read_noise_photons();
  const double b = 0.375 + s * s - model.zero_level / model.gain;
  const float af = static_cast<float>(a), bf = static_cast<float>(b);
  const double limit = negative_limit_photons(model);

  visit_dtype(src.dtype(), [&]<typename T>(T) {
    const T* x = static_cast<const T*>(src.raw());
    float lowest = std::numeric_limits<float>::infinity();
    bool non_finite = false;
    for (std::size_t i = 0; i < n; ++i) {
      const float arg = static_cast<float>(x[i]) * af + bf;
      lowest = std::min(lowest, arg);
      if constexpr (std::is_floating_point_v<T>) non_finite |= !std::isfinite(x[i]);
      dst[i] = 2.0f * std::sqrt(std::max(arg, 0.0f));
    }
    if (non_finite) {
      std::size_t i = 0;
      while (i < n && std::isfinite(static_cast<double>(x[i]))) ++i;
      throw InputError(who + ": value " + number(static_cast<double>(x[i])) + " at " + position(src.shape(), i) +
                       " is not a finite number; photon counts must be finite");
    }
    // arg = photons + 3/8 + s^2: compare photons with the limit.
    if (negatives == NegativePolicy::error && static_cast<double>(lowest) - 0.375 - s * s < limit - 1e-6) {
      for (std::size_t i = 0; i < n; ++i) {
        const double photons = (static_cast<double>(x[i]) - model.zero_level) * a;
        if (photons < limit) {
          std::size_t bad = 0;
          for (std::size_t j = i; j < n; ++j) bad += (static_cast<double>(x[j]) - model.zero_level) * a < limit;
          throw InputError(who + ": value " + number(static_cast<double>(x[i])) + " ADU at " +
                           position(src.shape(), static_cast<std::int64_t>(i)) + " is " + number(photons) +
                           " photons (zero_level " + number(model.zero_level) + ", gain " + number(model.gain) +
                           "), below the " + number(limit) + " that noise explains; " + std::to_string(bad) +
                           " such values. Photon counts cannot be negative: check zero_level and gain, or set "
                           "negatives: clip to treat them as zero");
        }
      }
    }
  });
  return out;
}

Array inverse(const Array& stabilised, double beta, const NoiseModel& model, Inverse kind, const std::string& who) {
  model.check(who);
  const Array src = stabilised.contiguous_copy();
  const DType t = src.dtype();
  const bool quantised = t == DType::u8 || t == DType::u16;
  if (quantised && !(beta > 0))
    throw InputError(who + ": the values are quantised (" + std::string(dtype_name(t)) +
                     ") but the quantisation step photon_beta is " + number(beta) +
                     "; it must be > 0 (is the photon_beta attribute missing from the store?)");
  if (!quantised && t != DType::f32 && t != DType::f64)
    throw InputError(who + ": the inverse takes f32/f64 stabilised values or u8/u16 quantised ones, not " +
                     std::string(dtype_name(t)));
  Array out = Array::uninitialized(DType::f32, src.shape());
  float* dst = static_cast<float*>(out.raw());
  const auto n = static_cast<std::size_t>(src.size());
  const double s = model.read_noise_photons();
  const double scale = quantised ? beta : 1.0;
  const double g = model.gain, z0 = model.zero_level;

  visit_dtype(t, [&]<typename T>(T) {
    const T* q = static_cast<const T*>(src.raw());
    if (kind == Inverse::algebraic) {
      // x = ((y/2)^2 - 3/8 - s^2) * gain + zero = c2 * v^2 + c0 with y = v * scale.
      const float c2 = static_cast<float>(0.25 * scale * scale * g);
      const float c0 = static_cast<float>((-0.375 - s * s) * g + z0);
      bool non_finite = false;
      for (std::size_t i = 0; i < n; ++i) {
        const float v = static_cast<float>(q[i]);
        if constexpr (std::is_floating_point_v<T>) non_finite |= !std::isfinite(q[i]);
        dst[i] = c2 * v * v + c0;
      }
      if (non_finite) throw InputError(who + ": the stabilised values contain NaN or infinity");
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const double y = static_cast<double>(q[i]) * scale;
        if (!std::isfinite(y)) throw InputError(who + ": the stabilised values contain NaN or infinity");
        dst[i] = static_cast<float>(inverse_value(y, s, Inverse::unbiased) * g + z0);
      }
    }
  });
  return out;
}

Array quantize(const Array& stabilised, double beta, DType type, const std::string& who) {
  if (!(beta > 0)) throw InputError(who + ": the quantisation step must be > 0, got " + number(beta));
  if (type != DType::u8 && type != DType::u16) throw Error("photon::quantize: the type must be u8 or u16");
  if (stabilised.dtype() != DType::f32 && stabilised.dtype() != DType::f64)
    throw InputError(who + ": photon.quantize takes the f32 output of photon.anscombe, not " +
                     std::string(dtype_name(stabilised.dtype())));
  const Array src = stabilised.contiguous_copy();
  const auto n = static_cast<std::size_t>(src.size());
  const double top = type == DType::u8 ? 255.0 : 65535.0;
  Array out = Array::uninitialized(type, src.shape());

  visit_dtype(src.dtype(), [&]<typename In>(In) {
    const In* y = static_cast<const In*>(src.raw());
    const In inv = static_cast<In>(1.0 / beta);
    // y >= 0 by construction, so round(y/beta) = floor(y/beta + 1/2): a truncation, which
    // vectorises. NaN fails every comparison and is caught by the range check below.
    In highest = 0, lowest = 0;
    bool non_finite = false;
    visit_dtype(type, [&]<typename Q>(Q) {
      if constexpr (std::is_same_v<Q, std::uint8_t> || std::is_same_v<Q, std::uint16_t>) {
        Q* q = static_cast<Q*>(out.raw());
        for (std::size_t i = 0; i < n; ++i) {
          const In v = y[i] * inv + In(0.5);
          highest = std::max(highest, v);
          lowest = std::min(lowest, v);
          non_finite |= !(v == v);
          q[i] = static_cast<Q>(std::clamp(v, In(0), static_cast<In>(top)));
        }
      }
    });
    if (non_finite || !std::isfinite(static_cast<double>(highest)))
      throw InputError(who + ": the stabilised values contain NaN or infinity");
    if (lowest < 0) throw InputError(who + ": negative stabilised values; the input is not photon.anscombe output");
    if (static_cast<double>(highest) >= top + 1) {
      const double ymax = (static_cast<double>(highest) - 0.5) * beta;
      const double fit = top * beta; // largest y that fits
      throw InputError(who + ": stabilised value " + number(ymax) + " (about " + number(0.25 * ymax * ymax) +
                       " photons) does not fit " + std::string(dtype_name(type)) + " with beta " + number(beta) +
                       ": it holds y up to " + number(fit) + " (about " + number(0.25 * fit * fit) +
                       " photons). Set dtype: u16 or a larger beta");
    }
  });
  return out;
}

double max_error_photons(double z, double beta, double read_noise_photons) noexcept {
  return 0.5 * beta * std::sqrt(std::max(0.0, z + 0.375 + read_noise_photons * read_noise_photons)) +
         beta * beta / 16.0;
}

} // namespace lumen::photon
