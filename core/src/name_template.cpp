#include "lumen/name_template.hpp"

#include "lumen/error.hpp"

#include <cstdio>
#include <filesystem>

namespace lumen {

namespace {

struct Field {
  std::string name, spec;
};

// Splits "{a}_{b:04d}.png" into literal text and fields; throws on unbalanced braces.
template <typename OnText, typename OnField> void scan(std::string_view pattern, OnText&& on_text, OnField&& on_field) {
  std::size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '{') {
      const auto close = pattern.find('}', i);
      if (close == std::string_view::npos) throw Error("unclosed '{' at position " + std::to_string(i));
      const auto body = pattern.substr(i + 1, close - i - 1);
      if (body.empty()) throw Error("empty field '{}' at position " + std::to_string(i));
      const auto colon = body.find(':');
      on_field(Field{std::string(body.substr(0, colon)),
                     colon == std::string_view::npos ? std::string{} : std::string(body.substr(colon + 1))});
      i = close + 1;
    } else if (c == '}') {
      throw Error("'}' without '{' at position " + std::to_string(i));
    } else {
      on_text(c);
      ++i;
    }
  }
}

bool valid_spec(const std::string& spec) {
  if (spec.empty()) return true;
  const char conv = spec.back();
  if (conv != 'd' && conv != 'f' && conv != 'e' && conv != 'g' && conv != 'x' && conv != 's') return false;
  for (std::size_t k = 0; k + 1 < spec.size(); ++k) {
    const char c = spec[k];
    if (!(c >= '0' && c <= '9') && c != '.' && c != '-' && c != '+') return false;
  }
  return spec.size() <= 12;
}

std::string format_int(std::int64_t v, const std::string& spec) {
  if (spec.empty()) return std::to_string(v);
  std::string fmt = "%" + spec.substr(0, spec.size() - 1) + "ll" + spec.back();
  if (spec.back() == 'f' || spec.back() == 'e' || spec.back() == 'g') {
    fmt = "%" + spec;
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<double>(v));
    return buf;
  }
  if (spec.back() == 's') return std::to_string(v);
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt.c_str(), static_cast<long long>(v));
  return buf;
}

std::string format_double(double v, const std::string& spec) {
  if (spec.empty() || spec.back() == 's') {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  if (spec.back() == 'd' || spec.back() == 'x') return format_int(static_cast<std::int64_t>(v), spec);
  const std::string fmt = "%" + spec;
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt.c_str(), v);
  return buf;
}

std::string stem_of(const Item& item) {
  if (!item.provenance.source_file.empty()) return std::filesystem::path(item.provenance.source_file).stem().string();
  const auto& id = item.id();
  const auto slash = id.find('/');
  return slash == std::string::npos ? id : id.substr(0, slash);
}

} // namespace

void check_name_pattern(std::string_view pattern, std::string_view param) {
  if (pattern.empty()) throw ConfigError(std::string(param), "the file-name template is empty");
  try {
    scan(
        pattern, [](char) {},
        [&](const Field& f) {
          if (!valid_spec(f.spec))
            throw Error("field '{" + f.name + ":" + f.spec + "}' has an unsupported format spec '" + f.spec +
                        "' (use printf-like specs such as 04d or .3f)");
        });
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    throw ConfigError(std::string(param), "bad file-name template \"" + std::string(pattern) + "\": " + e.what());
  }
}

std::string expand_name(std::string_view pattern, const Item& item, std::string_view stage_id) {
  std::string out;
  scan(
      pattern, [&](char c) { out += c; },
      [&](const Field& f) {
        if (f.name == "id") {
          std::string id = item.id();
          for (auto& c : id)
            if (c == '/') c = '_';
          out += id;
        } else if (f.name == "stem") {
          out += stem_of(item);
        } else if (f.name == "stage") {
          out += stage_id;
        } else if (const auto* e = item.meta.find(f.name)) {
          if (const auto* i = std::get_if<std::int64_t>(&e->value))
            out += format_int(*i, f.spec);
          else if (const auto* d = std::get_if<double>(&e->value))
            out += format_double(*d, f.spec);
          else if (const auto* s = std::get_if<std::string>(&e->value))
            out += *s;
          else if (const auto* b = std::get_if<bool>(&e->value))
            out += *b ? "true" : "false";
          else
            throw Error("file-name field {" + f.name + "}: meta value is a list, which cannot be part of a name");
        } else {
          throw InputError("file-name field {" + f.name +
                           "} is not a known field (id, stem, stage) nor a meta key of item '" + item.id() + "'");
        }
      });
  // Names may create sub-directories ("{domain}/{id}.png") but never leave the output root.
  const std::filesystem::path p(out);
  if (out.empty() || p.is_absolute()) throw InputError("file name \"" + out + "\" from template is empty or absolute");
  for (const auto& part : p)
    if (part == "..") throw InputError("file name \"" + out + "\" from template would leave the output directory");
  return out;
}

} // namespace lumen
