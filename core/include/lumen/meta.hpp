// Meta: ordered key -> typed value, each with an optional comment and unit.
//
// FITS cards, HDF5 attributes, EXIF and areaDetector attributes all land here, in file
// order. Physical state uses the fixed keys in `lumen::keys` so every stage agrees on them.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lumen {

/// The fixed physical-state keys (values documented in README, "Item and Meta").
namespace keys {
inline constexpr std::string_view units = "units";   // adu | electrons | photons | normalized | counts
inline constexpr std::string_view cfa = "cfa";       // none | RGGB | BGGR | GRBG | GBRG | XTRANS (+ cfa_pattern)
inline constexpr std::string_view domain = "domain"; // photography | microscopy | astronomy | ...
inline constexpr std::string_view gain = "gain_e_per_adu";
inline constexpr std::string_view read_noise = "read_noise_e";
} // namespace keys

using MetaValue = std::variant<bool, std::int64_t, double, std::string, std::vector<double>>;

struct MetaEntry {
  std::string key;
  MetaValue value;
  std::string comment;
  std::string unit;
};

class Meta {
public:
  /// Sets (or replaces, keeping its position) a value.
  void set(std::string_view key, MetaValue value, std::string comment = {}, std::string unit = {});
  void set(std::string_view key, const char* value, std::string comment = {}, std::string unit = {}) {
    set(key, MetaValue{std::string(value)}, std::move(comment), std::move(unit));
  }
  /// Any integer type is stored as int64; bool stays bool.
  template <std::integral T> void set(std::string_view key, T value, std::string comment = {}, std::string unit = {}) {
    if constexpr (std::is_same_v<T, bool>)
      set(key, MetaValue{value}, std::move(comment), std::move(unit));
    else
      set(key, MetaValue{static_cast<std::int64_t>(value)}, std::move(comment), std::move(unit));
  }
  [[nodiscard]] bool has(std::string_view key) const noexcept { return find(key) != nullptr; }
  bool erase(std::string_view key);
  [[nodiscard]] const MetaEntry* find(std::string_view key) const noexcept;

  /// Typed getters: return nullopt when absent; throw lumen::Error naming the key when
  /// the stored type cannot be converted (ints convert to double, not the reverse).
  [[nodiscard]] std::optional<std::string> get_string(std::string_view key) const;
  [[nodiscard]] std::optional<double> get_number(std::string_view key) const;
  [[nodiscard]] std::optional<std::int64_t> get_int(std::string_view key) const;
  [[nodiscard]] std::optional<bool> get_bool(std::string_view key) const;
  /// A finite number above zero (int or double), or nullopt when the key is absent, holds
  /// another type or a value <= 0 or non-finite: for header cards that may hold anything
  /// (a GAIN card of 'N/A' or 0 means "unknown").
  [[nodiscard]] std::optional<double> positive_number(std::string_view key) const noexcept;
  [[nodiscard]] std::optional<std::vector<double>> get_list(std::string_view key) const;

  [[nodiscard]] const std::vector<MetaEntry>& entries() const noexcept { return entries_; }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

  /// JSON: {"key": value, ...} when no entry has a comment or unit, otherwise
  /// {"key": {"value": v, "comment": c, "unit": u}, ...}. from_json accepts both forms.
  [[nodiscard]] std::string to_json() const;
  static Meta from_json(std::string_view json);

private:
  std::vector<MetaEntry> entries_;
};

} // namespace lumen
