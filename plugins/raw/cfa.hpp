// Colour filter array patterns: the 2x2 Bayer layouts and Fujifilm's 6x6 X-Trans.
//
// In meta a pattern is `cfa` (RGGB | BGGR | GRBG | GBRG | XTRANS) plus `cfa_pattern`, the
// colours of one repeat row by row as letters R, G, B ("RGGB" for Bayer, 36 letters for
// X-Trans, e.g. "GGRGGBGGBGGRBRGRBGGGBGGRGGRGGBRBGBRG"), always for the top-left pixel of the
// array that carries it. Colour indices follow LibRaw/DNG: 0 R, 1 G, 2 B.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lumen::raw {

struct CfaPattern {
  std::string name;        // RGGB, BGGR, GRBG, GBRG or XTRANS
  int rows = 2, cols = 2;  // repeat size
  std::vector<int> colors; // rows * cols colour indices, row-major

  [[nodiscard]] int color(std::int64_t y, std::int64_t x) const noexcept {
    return colors[static_cast<std::size_t>((y % rows) * cols + (x % cols))];
  }
  /// The letters row by row ("RGGB", or 36 letters).
  [[nodiscard]] std::string letters() const;
};

/// The pattern named `cfa`; for XTRANS, `xtrans_letters` gives the 36 colours (empty: the
/// standard X-Trans layout of the X-Pro1/X-T cameras, starting "GGRGGB"). Throws lumen::Error
/// saying what is accepted.
[[nodiscard]] CfaPattern parse_cfa(const std::string& cfa, const std::string& xtrans_letters = {});

/// The X-Trans layout LibRaw reports for Fujifilm X-Trans sensors (top-left of the visible area).
inline constexpr const char* kStandardXTrans = "GGRGGBGGBGGRBRGRBGGGBGGRGGRGGBRBGBRG";

} // namespace lumen::raw
