// Shared helpers of the facility sets; see facility.hpp.
#include "facility.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace lumen::facility {

namespace {
bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string upper_trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<SidName> parse_sid_name(const std::filesystem::path& file) {
  const std::string stem = file.stem().string();
  const auto a = stem.find('_');
  if (a == std::string::npos) return std::nullopt;
  const auto b = stem.find('_', a + 1);
  if (b == std::string::npos) return std::nullopt;
  const std::string_view scene(stem.data(), a), shot(stem.data() + a + 1, b - a - 1);
  std::string_view exposure(stem.data() + b + 1, stem.size() - b - 1);
  if (!all_digits(scene) || !all_digits(shot) || shot.size() > 6) return std::nullopt;
  if (exposure.size() < 2 || exposure.back() != 's') return std::nullopt;
  exposure.remove_suffix(1);
  // Digits with at most one '.', nothing else (strtod would also take "1e3", "inf", "0x1p3").
  if (std::count(exposure.begin(), exposure.end(), '.') > 1 ||
      !std::all_of(exposure.begin(), exposure.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) ||
      exposure.front() == '.' || exposure.back() == '.')
    return std::nullopt;
  const std::string text(exposure);
  const double t = std::strtod(text.c_str(), nullptr);
  if (!(t > 0) || !std::isfinite(t)) return std::nullopt;
  return SidName{std::string(scene), std::atoi(std::string(shot).c_str()), t};
}

Calibration interpolate_log_iso(std::span<const IsoPoint> table, double iso) {
  if (table.empty()) throw Error("calibration table is empty");
  const std::string at = "ISO " + number_text(iso);
  if (iso <= table.front().iso) {
    const auto& p = table.front();
    return {p.gain_e_per_adu, p.read_noise_e,
            iso == p.iso ? "table " + at
                         : "table " + at + " (clamped to the table's lowest ISO " + number_text(p.iso) + ")"};
  }
  if (iso >= table.back().iso) {
    const auto& p = table.back();
    return {p.gain_e_per_adu, p.read_noise_e,
            iso == p.iso ? "table " + at
                         : "table " + at + " (clamped to the table's highest ISO " + number_text(p.iso) + ")"};
  }
  std::size_t i = 1;
  while (table[i].iso < iso) ++i;
  const auto& lo = table[i - 1];
  const auto& hi = table[i];
  if (iso == hi.iso) return {hi.gain_e_per_adu, hi.read_noise_e, "table " + at};
  const double f = std::log(iso / lo.iso) / std::log(hi.iso / lo.iso);
  return {lo.gain_e_per_adu + f * (hi.gain_e_per_adu - lo.gain_e_per_adu),
          lo.read_noise_e + f * (hi.read_noise_e - lo.read_noise_e),
          "table " + at + " (interpolated in log ISO between ISO " + number_text(lo.iso) + " and " +
              number_text(hi.iso) + ")"};
}

void apply(Item& item, const Identity& id) {
  item.meta.set("facility", MetaValue{id.facility}, "facility plugin set that identified the item");
  item.meta.set(keys::domain, MetaValue{id.domain});
  if (id.calibration) {
    item.meta.set(keys::gain, MetaValue{id.calibration->gain_e_per_adu}, "conversion gain (" + id.facility + ")",
                  "e-/ADU");
    item.meta.set(keys::read_noise, MetaValue{id.calibration->read_noise_e},
                  "read noise RMS (" + id.facility + "; recorded, not subtracted)", "e-");
    item.meta.set("calibration_source", MetaValue{id.calibration->source}, "where gain and read noise came from");
  }
  if (id.downsample_factor)
    item.meta.set("downsample_factor", MetaValue{*id.downsample_factor},
                  "anti-aliased downsampling factor of this camera (image.downsample)");
  if (id.scene_id) item.meta.set("scene_id", MetaValue{*id.scene_id}, "scene, from the facility's naming rule");
  if (id.data_type)
    item.meta.set("data_type", MetaValue{*id.data_type}, "clean | noisy, from the facility's naming rule");
}

std::filesystem::path source_path(const Item& item) {
  if (item.provenance.source_file.empty())
    if (const auto tree = item.meta.get_string("tree_path")) return std::filesystem::path(*tree);
  return std::filesystem::path(item.provenance.source_file);
}

std::string describe(const Item& item) {
  std::string s = "item '" + item.id() + "'";
  if (const auto file = source_path(item); !file.empty()) s += " (file " + file.string() + ")";
  return s;
}

} // namespace lumen::facility
