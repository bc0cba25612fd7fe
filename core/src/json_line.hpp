// A minimal JSON object writer for one-line records (events, ledger). The hot path of every
// item writes two or three of these, so it avoids building a DOM: appends with escaping,
// numbers through std::to_chars.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace lumen::engine {

class JsonLine {
public:
  JsonLine() {
    text_.reserve(256);
    text_ += '{';
  }

  JsonLine& str(std::string_view key, std::string_view value) {
    this->key(key);
    quote(value);
    return *this;
  }
  JsonLine& num(std::string_view key, std::uint64_t value) {
    this->key(key);
    append_chars(value);
    return *this;
  }
  JsonLine& num(std::string_view key, std::int64_t value) {
    this->key(key);
    append_chars(value);
    return *this;
  }
  JsonLine& num(std::string_view key, double value) {
    this->key(key);
    append_chars(value);
    return *this;
  }
  /// The finished line, with its closing brace and a newline.
  std::string finish() {
    text_ += "}\n";
    return std::move(text_);
  }

private:
  void key(std::string_view k) {
    if (text_.size() > 1) text_ += ',';
    quote(k);
    text_ += ':';
  }
  template <typename T> void append_chars(T v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    text_.append(buf, r.ptr);
  }
  void quote(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    text_ += '"';
    std::size_t run = 0; // start of the pending run of characters that need no escaping
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto u = static_cast<unsigned char>(s[i]);
      if (u >= 0x20 && u != '"' && u != '\\') continue; // UTF-8 passes through unchanged
      text_.append(s.data() + run, i - run);
      run = i + 1;
      switch (u) {
      case '"':
        text_ += "\\\"";
        break;
      case '\\':
        text_ += "\\\\";
        break;
      case '\n':
        text_ += "\\n";
        break;
      case '\r':
        text_ += "\\r";
        break;
      case '\t':
        text_ += "\\t";
        break;
      default:
        text_ += "\\u00";
        text_ += hex[u >> 4];
        text_ += hex[u & 15];
      }
    }
    text_.append(s.data() + run, s.size() - run);
    text_ += '"';
  }
  std::string text_;
};

} // namespace lumen::engine
