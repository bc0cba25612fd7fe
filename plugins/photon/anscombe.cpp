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

// ---- hot loops, compiled twice (AVX2 and baseline x86-64) and chosen at load time ----------------
// The loops are plain element maps; inlined into a target_clones function, the compiler turns them
// into 8-wide packed code on AVX2 machines (4x the baseline SSE2 speed for the sqrt).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LUMEN_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LUMEN_SIMD_CLONES
#endif

template <typename T>
[[gnu::always_inline]] inline void forward_map(const T* x, float* y, std::size_t n, float a, float b) {
  for (std::size_t i = 0; i < n; ++i) y[i] = 2.0f * std::sqrt(std::max(static_cast<float>(x[i]) * a + b, 0.0f));
}
LUMEN_SIMD_CLONES void forward_u16(const std::uint16_t* x, float* y, std::size_t n, float a, float b) {
  forward_map(x, y, n, a, b);
}
LUMEN_SIMD_CLONES void forward_u8(const std::uint8_t* x, float* y, std::size_t n, float a, float b) {
  forward_map(x, y, n, a, b);
}

LUMEN_SIMD_CLONES std::uint16_t min_u16(const std::uint16_t* x, std::size_t n) {
  std::uint16_t lo = 0xffff;
  for (std::size_t i = 0; i < n; ++i) lo = std::min(lo, x[i]);
  return lo;
}

// Returns nonzero when a value fell outside [0, top + 1) (or was NaN).
template <typename Q>
[[gnu::always_inline]] inline int quantize_map(const float* y, Q* q, std::size_t n, float inv, float top) {
  const float limit = top + 1.0f;
  int out_of_range = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = y[i] * inv + 0.5f;
    out_of_range |= static_cast<int>(!(v >= 0.0f)) | static_cast<int>(!(v < limit));
    q[i] = static_cast<Q>(std::min(top, std::max(0.0f, v))); // NaN -> 0 (flagged above): never an undefined cast
  }
  return out_of_range;
}
LUMEN_SIMD_CLONES int quantize_u8(const float* y, std::uint8_t* q, std::size_t n, float inv) {
  return quantize_map(y, q, n, inv, 255.0f);
}
LUMEN_SIMD_CLONES int quantize_u16(const float* y, std::uint16_t* q, std::size_t n, float inv) {
  return quantize_map(y, q, n, inv, 65535.0f);
}

template <typename T>
[[gnu::always_inline]] inline void square_map(const T* q, float* x, std::size_t n, float c2, float c0) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(q[i]);
    x[i] = c2 * v * v + c0;
  }
}
LUMEN_SIMD_CLONES void square_f32(const float* q, float* x, std::size_t n, float c2, float c0) {
  square_map(q, x, n, c2, c0);
}

} // namespace

std::string format_number(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

void NoiseModel::check(const std::string& who) const {
  if (!std::isfinite(gain) || !(gain > 0))
    throw InputError(who + ": gain must be > 0 ADU per photon, got " + format_number(gain) +
                     " (estimate it with photon.estimate or give it explicitly)");
  if (!std::isfinite(zero_level))
    throw InputError(who + ": zero_level must be finite, got " + format_number(zero_level));
  if (!std::isfinite(read_noise) || read_noise < 0)
    throw InputError(who + ": read_noise must be >= 0 ADU, got " + format_number(read_noise));
}

Inverse parse_inverse(const std::string& name) {
  if (name == "algebraic") return Inverse::algebraic;
  if (name == "unbiased") return Inverse::unbiased;
  throw Error("unknown inverse '" + name + "' (algebraic or unbiased)");
}

double negative_limit_photons(const NoiseModel& model) noexcept {
  return -(3.0 + 4.0 * model.read_noise_photons());
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
    // Check first (a reduction the compiler vectorises for integers), then transform in a
    // branch-free loop that becomes packed multiply, max and sqrt.
    double lowest = 0;
    if constexpr (std::is_floating_point_v<T>) {
      T lo = std::numeric_limits<T>::infinity();
      for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i]))
          throw InputError(who + ": value " + format_number(static_cast<double>(x[i])) + " at " +
                           position(src.shape(), static_cast<std::int64_t>(i)) +
                           " is not a finite number; photon counts must be finite");
        lo = std::min(lo, x[i]);
      }
      lowest = static_cast<double>(lo);
    } else {
      T lo = std::numeric_limits<T>::max();
      if constexpr (std::is_same_v<T, std::uint16_t>)
        lo = min_u16(x, n);
      else
        for (std::size_t i = 0; i < n; ++i) lo = std::min(lo, x[i]);
      lowest = static_cast<double>(lo);
    }
    if (negatives == NegativePolicy::error && n > 0 && (lowest - model.zero_level) * a < limit) {
      std::size_t first = n, bad = 0;
      for (std::size_t i = 0; i < n; ++i)
        if ((static_cast<double>(x[i]) - model.zero_level) * a < limit) {
          first = std::min(first, i);
          ++bad;
        }
      const double v = static_cast<double>(x[first]);
      throw InputError(who + ": value " + format_number(v) + " ADU at " +
                       position(src.shape(), static_cast<std::int64_t>(first)) + " is " +
                       format_number((v - model.zero_level) * a) + " photons (zero_level " +
                       format_number(model.zero_level) + ", gain " + format_number(model.gain) + "), below the " +
                       format_number(limit) + " that noise explains; " + std::to_string(bad) +
                       " such values. Photon counts cannot be negative: check zero_level and gain, or set "
                       "negatives: clip to treat them as zero");
    }
    if constexpr (std::is_same_v<T, std::uint16_t>)
      forward_u16(x, dst, n, af, bf);
    else if constexpr (std::is_same_v<T, std::uint8_t>)
      forward_u8(x, dst, n, af, bf);
    else
      forward_map(x, dst, n, af, bf);
  });
  return out;
}

namespace {

// Rounds and saturates a value into an integer type.
template <typename O> O round_saturate(double v) noexcept {
  constexpr double lo = static_cast<double>(std::numeric_limits<O>::lowest());
  constexpr double hi = static_cast<double>(std::numeric_limits<O>::max());
  if (!(v > lo)) return std::numeric_limits<O>::lowest(); // NaN too
  if (v >= hi) return std::numeric_limits<O>::max();
  return static_cast<O>(std::nearbyint(v));
}

template <typename O> O convert_output(double v) noexcept {
  if constexpr (std::is_floating_point_v<O>)
    return static_cast<O>(v);
  else
    return round_saturate<O>(v);
}

} // namespace

Array inverse(const Array& stabilised, double beta, const NoiseModel& model, Inverse kind, DType output,
              const std::string& who) {
  model.check(who);
  const Array src = stabilised.contiguous_copy();
  const DType t = src.dtype();
  const bool quantised = t == DType::u8 || t == DType::u16;
  if (quantised && !(beta > 0))
    throw InputError(who + ": the values are quantised (" + std::string(dtype_name(t)) +
                     ") but the quantisation step photon_beta is " + format_number(beta) +
                     "; it must be > 0 (is the photon_beta attribute missing from the store?)");
  if (!quantised && t != DType::f32 && t != DType::f64)
    throw InputError(who + ": the inverse takes f32/f64 stabilised values or u8/u16 quantised ones, not " +
                     std::string(dtype_name(t)));
  const auto n = static_cast<std::size_t>(src.size());
  const double s = model.read_noise_photons();
  const double g = model.gain, z0 = model.zero_level;
  const auto value = [&](double y) { return inverse_value(y, s, kind) * g + z0; }; // ADU
  Array out = Array::uninitialized(output, src.shape());

  if (quantised) {
    // At most 65536 distinct inputs: invert each once into a table (in double, then rounded or
    // saturated into the output type), then one lookup per pixel.
    visit_dtype(t, [&]<typename Q>(Q) {
      if constexpr (std::is_same_v<Q, std::uint8_t> || std::is_same_v<Q, std::uint16_t>) {
        const Q* q = static_cast<const Q*>(src.raw());
        visit_dtype(output, [&]<typename O>(O) {
          std::vector<O> table(std::size_t{std::numeric_limits<Q>::max()} + 1);
          for (std::size_t k = 0; k < table.size(); ++k)
            table[k] = convert_output<O>(value(static_cast<double>(k) * beta));
          O* dst = static_cast<O*>(out.raw());
          for (std::size_t i = 0; i < n; ++i) dst[i] = table[q[i]];
        });
      }
    });
    return out;
  }

  visit_dtype(t, [&]<typename T>(T) {
    if constexpr (std::is_floating_point_v<T>) {
      const T* y = static_cast<const T*>(src.raw());
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(y[i]))
          throw InputError(who + ": stabilised value " + format_number(static_cast<double>(y[i])) + " at " +
                           position(src.shape(), static_cast<std::int64_t>(i)) + " is not finite");
      if (kind == Inverse::algebraic && output == DType::f32) {
        // x = ((y/2)^2 - 3/8 - s^2) * gain + zero = c2 * y^2 + c0, vectorised.
        const auto c2 = static_cast<float>(0.25 * g);
        const auto c0 = static_cast<float>((-0.375 - s * s) * g + z0);
        if constexpr (std::is_same_v<T, float>)
          square_f32(y, static_cast<float*>(out.raw()), n, c2, c0);
        else
          square_map(y, static_cast<float*>(out.raw()), n, c2, c0);
        return;
      }
      visit_dtype(output, [&]<typename O>(O) {
        O* dst = static_cast<O*>(out.raw());
        for (std::size_t i = 0; i < n; ++i) dst[i] = convert_output<O>(value(static_cast<double>(y[i])));
      });
    }
  });
  return out;
}

Array quantize(const Array& stabilised, double beta, DType type, const std::string& who) {
  if (!(beta > 0)) throw InputError(who + ": the quantisation step must be > 0, got " + format_number(beta));
  if (type != DType::u8 && type != DType::u16) throw Error("photon::quantize: the type must be u8 or u16");
  if (stabilised.dtype() != DType::f32 && stabilised.dtype() != DType::f64)
    throw InputError(who + ": photon.quantize takes the f32 output of photon.anscombe, not " +
                     std::string(dtype_name(stabilised.dtype())));
  const Array src = stabilised.contiguous_copy();
  const auto n = static_cast<std::size_t>(src.size());
  const double top = type == DType::u8 ? 255.0 : 65535.0;
  Array out = Array::uninitialized(type, src.shape());

  visit_dtype(src.dtype(), [&]<typename In>(In) {
    if constexpr (std::is_floating_point_v<In>) {
      const In* y = static_cast<const In*>(src.raw());
      // y >= 0 by construction, so round(y/beta) = trunc(y/beta + 1/2). One branch-free pass
      // quantises and ORs a flag for anything out of range (NaN fails both comparisons); only
      // a flagged array is scanned again, for the message.
      int out_of_range = 0;
      const auto inv = static_cast<float>(1.0 / beta);
      if constexpr (std::is_same_v<In, float>) {
        if (type == DType::u8)
          out_of_range = quantize_u8(y, static_cast<std::uint8_t*>(out.raw()), n, inv);
        else
          out_of_range = quantize_u16(y, static_cast<std::uint16_t*>(out.raw()), n, inv);
      } else {
        const Array narrowed = src.as(DType::f32); // f64 input: quantise in f32 like the rest
        const float* yf = static_cast<const float*>(narrowed.raw());
        if (type == DType::u8)
          out_of_range = quantize_map(yf, static_cast<std::uint8_t*>(out.raw()), n, inv, 255.0f);
        else
          out_of_range = quantize_map(yf, static_cast<std::uint16_t*>(out.raw()), n, inv, 65535.0f);
      }
      if (!out_of_range) return;
      for (std::size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(y[i]);
        if (!std::isfinite(v))
          throw InputError(who + ": the stabilised values contain NaN or infinity (at " +
                           position(src.shape(), static_cast<std::int64_t>(i)) + ")");
        if (v < 0)
          throw InputError(who + ": negative stabilised value " + format_number(v) + " at " +
                           position(src.shape(), static_cast<std::int64_t>(i)) +
                           "; the input is not photon.anscombe output");
      }
      double ymax = 0;
      for (std::size_t i = 0; i < n; ++i) ymax = std::max(ymax, static_cast<double>(y[i]));
      const double fit = top * beta; // largest y that fits
      throw InputError(who + ": stabilised value " + format_number(ymax) + " (about " +
                       format_number(0.25 * ymax * ymax) + " photons) does not fit " + std::string(dtype_name(type)) +
                       " with beta " + format_number(beta) + ": it holds y up to " + format_number(fit) + " (about " +
                       format_number(0.25 * fit * fit) + " photons). Set dtype: u16 or a larger beta");
    }
  });
  return out;
}

double max_error_photons(double z, double beta, double read_noise_photons) noexcept {
  return 0.5 * beta * std::sqrt(std::max(0.0, z + 0.375 + read_noise_photons * read_noise_photons)) +
         beta * beta / 16.0;
}

} // namespace lumen::photon
