#include "cfa.hpp"

#include "lumen/error.hpp"

namespace lumen::raw {

namespace {
int color_of(char letter) {
  return letter == 'R' ? 0 : letter == 'G' ? 1 : letter == 'B' ? 2 : -1;
}
} // namespace

std::string CfaPattern::letters() const {
  std::string out;
  for (const int c : colors) out += c == 0 ? 'R' : c == 2 ? 'B' : 'G';
  return out;
}

CfaPattern parse_cfa(const std::string& cfa, const std::string& xtrans_letters) {
  CfaPattern p;
  p.name = cfa;
  std::string letters;
  if (cfa == "RGGB" || cfa == "BGGR" || cfa == "GRBG" || cfa == "GBRG") {
    letters = cfa;
  } else if (cfa == "XTRANS") {
    p.rows = p.cols = 6;
    letters = xtrans_letters.empty() ? kStandardXTrans : xtrans_letters;
    if (letters.size() != 36)
      throw Error("an X-Trans cfa_pattern has 36 letters (6 rows of 6), got " + std::to_string(letters.size()));
  } else {
    throw Error("unknown CFA pattern '" + cfa + "': expected RGGB, BGGR, GRBG, GBRG or XTRANS");
  }
  for (const char ch : letters) {
    const int c = color_of(ch);
    if (c < 0) throw Error("CFA pattern '" + letters + "' has a letter other than R, G, B");
    p.colors.push_back(c);
  }
  return p;
}

} // namespace lumen::raw
