// BioSR file layout; see biosr_naming.hpp for the table of names.
#include "biosr_naming.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace lumen::biosr {

namespace {
bool digits(std::string_view s) {
  return !s.empty() && s.size() <= 4 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
// "<prefix>NN" -> NN, else -1
int level_after(std::string_view stem, std::string_view prefix) {
  if (!starts_with(stem, prefix)) return -1;
  const auto rest = stem.substr(prefix.size());
  return digits(rest) ? std::atoi(std::string(rest).c_str()) : -1;
}
} // namespace

std::optional<BiosrName> parse_biosr_path(const std::filesystem::path& file) {
  if (file.extension() != ".mrc") return std::nullopt;
  const std::string stem = file.stem().string();
  const std::string cell = file.parent_path().filename().string();
  const std::string structure = file.parent_path().parent_path().filename().string();
  if (!starts_with(cell, "Cell_") || !digits(std::string_view(cell).substr(5)) || structure.empty() ||
      structure == "." || structure == "/")
    return std::nullopt;
  BiosrName n{structure, cell, "", -1};
  if (int l = level_after(stem, "RawSIMData_level_"); l >= 0) {
    n.data_type = "noisy";
    n.level = l;
  } else if (int g = level_after(stem, "RawGTSIMData_level_"); g >= 0) {
    n.data_type = "noisy";
    n.level = g;
  } else if (int t = level_after(stem, "GTSIM_level_"); t >= 0) {
    n.data_type = "clean";
    n.level = t;
  } else if (stem == "RawSIMData_gt" || starts_with(stem, "SIM_gt")) {
    n.data_type = "clean";
  } else {
    return std::nullopt;
  }
  return n;
}

} // namespace lumen::biosr
