#include "lumen/param.hpp"

#include "lumen/stage.hpp"

#include <charconv>
#include <cmath>

namespace lumen {

const char* param_type_name(ParamType t) noexcept {
  switch (t) {
  case ParamType::boolean:
    return "boolean";
  case ParamType::integer:
    return "integer";
  case ParamType::number:
    return "number";
  case ParamType::string:
    return "string";
  case ParamType::number_list:
    return "number_list";
  case ParamType::integer_list:
    return "integer_list";
  case ParamType::string_list:
    return "string_list";
  }
  return "?";
}

namespace {
std::string number_text(double d) {
  // Shortest text that reads back as the same double ("20", "0.1", "1e-09").
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

template <typename T> std::string list_text(const std::vector<T>& v, auto&& item) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + item(v[i]);
  return out + "]";
}

} // namespace

std::string param_bound_text(double d) {
  return std::floor(d) == d && std::abs(d) < 1e15 ? std::to_string(static_cast<long long>(d)) : number_text(d);
}

std::string param_value_text(const ParamValue& v) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return number_text(d); }
    std::string operator()(const std::string& s) const { return quoted(s); }
    std::string operator()(const std::vector<double>& l) const { return list_text(l, number_text); }
    std::string operator()(const std::vector<std::int64_t>& l) const {
      return list_text(l, [](std::int64_t i) { return std::to_string(i); });
    }
    std::string operator()(const std::vector<std::string>& l) const { return list_text(l, quoted); }
  };
  return std::visit(Visitor{}, v);
}

std::string ParamSpec::check(const ParamValue& v) const {
  const auto expected_index = [&]() -> std::size_t {
    switch (type) {
    case ParamType::boolean:
      return 0;
    case ParamType::integer:
      return 1;
    case ParamType::number:
      return 2;
    case ParamType::string:
      return 3;
    case ParamType::number_list:
      return 4;
    case ParamType::integer_list:
      return 5;
    case ParamType::string_list:
      return 6;
    }
    return 99;
  }();
  if (v.index() != expected_index) return std::string("expected a value of type ") + param_type_name(type);

  const auto check_number = [&](double d) -> std::string {
    if (std::isnan(d)) return "NaN is not allowed";
    if (min && d < *min) return param_bound_text(d) + " is below the minimum " + param_bound_text(*min);
    if (max && d > *max) return param_bound_text(d) + " is above the maximum " + param_bound_text(*max);
    return {};
  };
  const auto check_choice = [&](const std::string& s) -> std::string {
    if (choices.empty()) return {};
    for (const auto& c : choices)
      if (c == s) return {};
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    return "\"" + s + "\" is not one of: " + list;
  };
  const auto check_length = [&](std::size_t n) -> std::string {
    if (n < min_items || n > max_items) {
      if (min_items == max_items)
        return "expected exactly " + std::to_string(min_items) + " elements, got " + std::to_string(n);
      if (n < min_items)
        return "expected at least " + std::to_string(min_items) + " elements, got " + std::to_string(n);
      return "expected at most " + std::to_string(max_items) + " elements, got " + std::to_string(n);
    }
    return {};
  };

  struct Visitor {
    decltype(check_number)& num;
    decltype(check_choice)& choice;
    decltype(check_length)& length;
    std::string operator()(bool) const { return {}; }
    std::string operator()(std::int64_t i) const { return num(static_cast<double>(i)); }
    std::string operator()(double d) const { return num(d); }
    std::string operator()(const std::string& s) const { return choice(s); }
    std::string operator()(const std::vector<double>& l) const {
      if (auto e = length(l.size()); !e.empty()) return e;
      for (double d : l)
        if (auto e = num(d); !e.empty()) return "element " + e;
      return {};
    }
    std::string operator()(const std::vector<std::int64_t>& l) const {
      if (auto e = length(l.size()); !e.empty()) return e;
      for (auto i : l)
        if (auto e = num(static_cast<double>(i)); !e.empty()) return "element " + e;
      return {};
    }
    std::string operator()(const std::vector<std::string>& l) const {
      if (auto e = length(l.size()); !e.empty()) return e;
      for (const auto& s : l)
        if (auto e = choice(s); !e.empty()) return "element " + e;
      return {};
    }
  };
  return std::visit(Visitor{check_number, check_choice, check_length}, v);
}

ParamBase::ParamBase(Stage* owner, ParamSpec spec) : spec_(std::move(spec)) {
  owner->params_.push_back(this);
}

} // namespace lumen
