// Typed stage parameters, declared once.
//
// A parameter is a member of the stage: `lumen::Param<double> gain{this, "gain", 1.0,
// "conversion gain, e-/ADU", lumen::Min{0.0}};`. From that one declaration Lumen derives
// validation (before any data is read), `lumen inspect`, the JSON manifest and the error
// messages. Values are assigned by the host after validation; stages only read them.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace lumen {

class Stage;

enum class ParamType { boolean, integer, number, string, number_list, integer_list, string_list };
[[nodiscard]] const char* param_type_name(ParamType t) noexcept;

using ParamValue = std::variant<bool, std::int64_t, double, std::string, std::vector<double>, std::vector<std::int64_t>,
                                std::vector<std::string>>;

/// Renders a value the way a user writes it in YAML (`1.5`, `"text"`, `[1, 2]`).
[[nodiscard]] std::string param_value_text(const ParamValue& v);
/// A bound or limit as a user writes it: whole numbers without exponent ("100000000").
[[nodiscard]] std::string param_bound_text(double d);

// Constraints, passed after the doc string in any order.
struct Min {
  double value;
}; // inclusive lower bound (numbers and list elements)
struct Max {
  double value;
}; // inclusive upper bound
struct OneOf {
  std::vector<std::string> choices;
}; // enumerated strings
struct Length {
  std::size_t min = 0;
  std::size_t max = SIZE_MAX;
}; // list length
struct Unit {
  std::string text;
};                  // physical unit, shown in docs
struct Required {}; // as the default value: the user must set it

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::string;
  std::string doc;
  std::optional<ParamValue> default_value; // empty when required
  std::optional<double> min, max;
  std::vector<std::string> choices;
  std::size_t min_items = 0, max_items = SIZE_MAX;
  std::string unit;
  [[nodiscard]] bool required() const noexcept { return !default_value.has_value(); }
  /// Checks type and constraints; returns "" when valid, else what is wrong (one sentence).
  [[nodiscard]] std::string check(const ParamValue& v) const;
};

class ParamBase {
public:
  ParamBase(const ParamBase&) = delete;
  ParamBase& operator=(const ParamBase&) = delete;
  [[nodiscard]] const ParamSpec& spec() const noexcept { return spec_; }
  [[nodiscard]] bool is_set() const noexcept { return set_; }
  /// Called by the host with a value that passed spec().check().
  virtual void assign(const ParamValue& v) = 0;
  [[nodiscard]] virtual ParamValue current() const = 0;

protected:
  ParamBase(Stage* owner, ParamSpec spec);
  ~ParamBase() = default;
  void apply(const Min& c) { spec_.min = c.value; }
  void apply(const Max& c) { spec_.max = c.value; }
  void apply(const OneOf& c) { spec_.choices = c.choices; }
  void apply(const Length& c) {
    spec_.min_items = c.min;
    spec_.max_items = c.max;
  }
  void apply(const Unit& c) { spec_.unit = c.text; }
  ParamSpec spec_;
  bool set_ = false;
};

namespace detail {
template <typename T> struct param_traits;
template <> struct param_traits<bool> {
  using stored = bool;
  static constexpr ParamType type = ParamType::boolean;
};
template <> struct param_traits<int> {
  using stored = std::int64_t;
  static constexpr ParamType type = ParamType::integer;
};
template <> struct param_traits<std::int64_t> {
  using stored = std::int64_t;
  static constexpr ParamType type = ParamType::integer;
};
template <> struct param_traits<double> {
  using stored = double;
  static constexpr ParamType type = ParamType::number;
};
template <> struct param_traits<std::string> {
  using stored = std::string;
  static constexpr ParamType type = ParamType::string;
};
template <> struct param_traits<std::vector<double>> {
  using stored = std::vector<double>;
  static constexpr ParamType type = ParamType::number_list;
};
template <> struct param_traits<std::vector<std::int64_t>> {
  using stored = std::vector<std::int64_t>;
  static constexpr ParamType type = ParamType::integer_list;
};
template <> struct param_traits<std::vector<std::string>> {
  using stored = std::vector<std::string>;
  static constexpr ParamType type = ParamType::string_list;
};
} // namespace detail

template <typename T> class Param final : public ParamBase {
  using Traits = detail::param_traits<T>;
  using Stored = typename Traits::stored;

public:
  template <typename... C>
  Param(Stage* owner, std::string name, T default_value, std::string doc, C&&... constraints)
      : ParamBase(owner, make_spec(std::move(name), std::move(doc), ParamValue{Stored(default_value)})),
        value_(std::move(default_value)) {
    (apply(constraints), ...);
    clamp_to_type();
  }
  template <typename... C>
  Param(Stage* owner, std::string name, Required, std::string doc, C&&... constraints)
      : ParamBase(owner, make_spec(std::move(name), std::move(doc), std::nullopt)) {
    (apply(constraints), ...);
    clamp_to_type();
  }

  [[nodiscard]] const T& get() const noexcept { return value_; }
  operator const T&() const noexcept { return value_; } // NOLINT: reads like a plain member
  [[nodiscard]] const T& operator*() const noexcept { return value_; }
  [[nodiscard]] const T* operator->() const noexcept { return &value_; }

  void assign(const ParamValue& v) override {
    value_ = static_cast<T>(std::get<Stored>(v));
    set_ = true;
  }
  [[nodiscard]] ParamValue current() const override { return ParamValue{Stored(value_)}; }

private:
  // A Param<int> never silently truncates a 64-bit YAML value: its range is the int range
  // unless the author gave a narrower one.
  void clamp_to_type() {
    if constexpr (std::is_same_v<T, int>) {
      constexpr double lo = std::numeric_limits<int>::min(), hi = std::numeric_limits<int>::max();
      if (!spec_.min || *spec_.min < lo) spec_.min = lo;
      if (!spec_.max || *spec_.max > hi) spec_.max = hi;
    }
  }
  static ParamSpec make_spec(std::string name, std::string doc, std::optional<ParamValue> def) {
    ParamSpec s;
    s.name = std::move(name);
    s.type = Traits::type;
    s.doc = std::move(doc);
    s.default_value = std::move(def);
    return s;
  }
  T value_{};
};

} // namespace lumen
