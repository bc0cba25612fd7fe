// IEEE 754 half precision (float16), as stored by MRC mode 12 and NumPy's '<f2': every value,
// subnormals, infinities and NaN payloads included, converts to float exactly.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace lumen {

[[nodiscard]] inline float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0) { // zero or subnormal: mant * 2^-24, exact in float
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13)); // inf, NaN (payload kept)
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

} // namespace lumen
