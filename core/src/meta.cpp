#include "lumen/meta.hpp"

#include "lumen/error.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace lumen {

namespace {
std::string type_name(const MetaValue& v) {
  static constexpr const char* names[] = {"bool", "int", "float", "string", "list"};
  return names[v.index()];
}
} // namespace

void Meta::set(std::string_view key, MetaValue value, std::string comment, std::string unit) {
  for (auto& e : entries_)
    if (e.key == key) {
      e.value = std::move(value);
      e.comment = std::move(comment);
      e.unit = std::move(unit);
      return;
    }
  entries_.push_back(MetaEntry{std::string(key), std::move(value), std::move(comment), std::move(unit)});
}

bool Meta::erase(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->key == key) {
      entries_.erase(it);
      return true;
    }
  return false;
}

const MetaEntry* Meta::find(std::string_view key) const noexcept {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

std::optional<std::string> Meta::get_string(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(&e->value)) return *s;
  throw Error("meta key '" + std::string(key) + "' holds a " + type_name(e->value) + ", not a string");
}

std::optional<double> Meta::get_number(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (const auto* d = std::get_if<double>(&e->value)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&e->value)) return static_cast<double>(*i);
  throw Error("meta key '" + std::string(key) + "' holds a " + type_name(e->value) + ", not a number");
}

std::optional<double> Meta::positive_number(std::string_view key) const noexcept {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  double v = 0;
  if (const auto* d = std::get_if<double>(&e->value))
    v = *d;
  else if (const auto* i = std::get_if<std::int64_t>(&e->value))
    v = static_cast<double>(*i);
  else
    return std::nullopt;
  if (!std::isfinite(v) || v <= 0) return std::nullopt;
  return v;
}

std::optional<std::int64_t> Meta::get_int(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(&e->value)) return *i;
  throw Error("meta key '" + std::string(key) + "' holds a " + type_name(e->value) + ", not an integer");
}

std::optional<bool> Meta::get_bool(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (const auto* b = std::get_if<bool>(&e->value)) return *b;
  throw Error("meta key '" + std::string(key) + "' holds a " + type_name(e->value) + ", not a bool");
}

std::optional<std::vector<double>> Meta::get_list(std::string_view key) const {
  const auto* e = find(key);
  if (!e) return std::nullopt;
  if (const auto* l = std::get_if<std::vector<double>>(&e->value)) return *l;
  throw Error("meta key '" + std::string(key) + "' holds a " + type_name(e->value) + ", not a list");
}

namespace {
nlohmann::ordered_json value_json(const MetaValue& v) {
  return std::visit([](const auto& x) { return nlohmann::ordered_json(x); }, v);
}

MetaValue json_value(const nlohmann::ordered_json& j, const std::string& key) {
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::vector<double> out;
    for (const auto& x : j) {
      if (!x.is_number()) throw Error("meta JSON: key '" + key + "' holds a list with a non-number element");
      out.push_back(x.get<double>());
    }
    return out;
  }
  throw Error("meta JSON: key '" + key + "' has an unsupported value " + j.dump());
}
} // namespace

std::string Meta::to_json() const {
  bool plain = true;
  for (const auto& e : entries_) plain = plain && e.comment.empty() && e.unit.empty();
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& e : entries_) {
    if (plain) {
      j[e.key] = value_json(e.value);
    } else {
      nlohmann::ordered_json o{{"value", value_json(e.value)}};
      if (!e.comment.empty()) o["comment"] = e.comment;
      if (!e.unit.empty()) o["unit"] = e.unit;
      j[e.key] = std::move(o);
    }
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Meta Meta::from_json(std::string_view text) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("meta JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error("meta JSON: expected an object");
  Meta m;
  for (const auto& [key, val] : j.items()) {
    if (val.is_object()) {
      if (!val.contains("value")) throw Error("meta JSON: key '" + key + "' is an object without \"value\"");
      m.set(key, json_value(val["value"], key), val.value("comment", std::string{}), val.value("unit", std::string{}));
    } else {
      m.set(key, json_value(val, key));
    }
  }
  return m;
}

} // namespace lumen
