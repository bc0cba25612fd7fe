// Hubble calibration table and header precedence; see hst_table.hpp.
#include "hst_table.hpp"

#include <cmath>
#include <cstdio>
#include <variant>

namespace lumen::hst {

namespace {

std::string text(const Meta& m, const char* key) {
  const auto* e = m.find(key);
  if (!e) return {};
  if (const auto* s = std::get_if<std::string>(&e->value)) return facility::upper_trim(*s);
  return {};
}

// Mean of <prefix>A..D over the amplifiers named in CCDAMP (all four when CCDAMP is absent).
std::optional<double> per_amp_mean(const Meta& m, const std::string& prefix, std::string& used) {
  std::string amps = text(m, "CCDAMP");
  bool valid = !amps.empty();
  for (char c : amps) valid = valid && c >= 'A' && c <= 'D';
  if (!valid) amps = "ABCD";
  double sum = 0;
  int n = 0;
  used.clear();
  for (char a : amps)
    if (const auto v = m.positive_number(prefix + a)) {
      sum += *v;
      ++n;
      used += a;
    }
  if (n == 0) return std::nullopt;
  return sum / n;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

} // namespace

const DetectorRow* find_row(const std::string& instrument, const std::string& detector) {
  const std::string ins = facility::upper_trim(instrument), det = facility::upper_trim(detector);
  for (const auto& row : kTable)
    if (ins == row.instrument && (row.detector[0] == '\0' || det == row.detector)) return &row;
  return nullptr;
}

bool is_hst(const Meta& header) {
  if (text(header, "TELESCOP") == "HST") return true;
  const std::string ins = text(header, "INSTRUME");
  for (const auto& row : kTable)
    if (ins == row.instrument) return true;
  return false;
}

HstCalibration calibrate(const Meta& m) {
  HstCalibration c;
  const std::string ins = text(m, "INSTRUME"), det = text(m, "DETECTOR");
  const DetectorRow* row = find_row(ins, det);
  const std::string where = ins + (det.empty() ? "" : "/" + det);
  std::string amps;
  if (const auto g = m.positive_number("ATODGAIN")) {
    c.gain = *g;
    c.gain_source = "header ATODGAIN";
  } else if (const auto ga = per_amp_mean(m, "ATODGN", amps)) {
    c.gain = *ga;
    c.gain_source = "header mean of ATODGN[" + amps + "]";
  } else if (const auto cg = m.positive_number("CCDGAIN")) {
    c.gain = *cg;
    c.gain_source = "header CCDGAIN";
  } else if (const auto g2 = m.positive_number("GAIN")) {
    c.gain = *g2;
    c.gain_source = "header GAIN";
  } else if (const auto g3 = m.positive_number("EGAIN")) {
    c.gain = *g3;
    c.gain_source = "header EGAIN";
  } else if (row) {
    c.gain = row->gain_e_per_adu;
    c.gain_source = "table " + where + " gain " + num(row->gain_e_per_adu);
  }
  if (const auto r = per_amp_mean(m, "READNSE", amps)) {
    c.read_noise = *r;
    c.read_noise_source = "header mean of READNSE[" + amps + "]";
  } else if (const auto r1 = m.positive_number("RDNOISE")) {
    c.read_noise = *r1;
    c.read_noise_source = "header RDNOISE";
  } else if (const auto r2 = m.positive_number("READNOIS")) {
    c.read_noise = *r2;
    c.read_noise_source = "header READNOIS";
  } else if (const auto r3 = m.positive_number("RON")) {
    c.read_noise = *r3;
    c.read_noise_source = "header RON";
  } else if (row) {
    c.read_noise = row->read_noise_e;
    c.read_noise_source = "table " + where + " read noise " + num(row->read_noise_e);
  }
  if (!c.gain || !c.read_noise)
    c.missing = std::string(!c.gain ? "gain" : "read noise") + ": INSTRUME/DETECTOR '" + where +
                "' is not in the table (ACS/WFC, WFC3/UVIS, WFC3/IR, WFPC2) and the header has no " +
                (!c.gain ? "ATODGAIN, ATODGN*, CCDGAIN, GAIN or EGAIN" : "READNSE*, RDNOISE, READNOIS or RON") +
                " card";
  return c;
}

std::optional<HlaName> parse_hla_name(const std::string& file_name) {
  const std::filesystem::path p(file_name);
  const std::string ext = p.extension().string();
  if (!facility::iequals(ext, ".fits") && !facility::iequals(ext, ".fit") && !facility::iequals(ext, ".fts"))
    return std::nullopt;
  const std::string stem = p.stem().string();
  for (const auto& [suffix, type] : {std::pair<std::string, std::string>{"_detection_sci", "clean"},
                                     std::pair<std::string, std::string>{"_g800l_sci", "noisy"}}) {
    if (stem.size() > suffix.size() && facility::iequals(stem.substr(stem.size() - suffix.size()), suffix))
      return HlaName{stem.substr(0, stem.size() - suffix.size()), type};
  }
  return std::nullopt;
}

} // namespace lumen::hst
