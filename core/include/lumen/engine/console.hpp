// Console output of the host: log lines and, on a terminal, one live progress line.
#pragma once

#include "lumen/stage.hpp"

#include <mutex>
#include <string>
#include <string_view>

namespace lumen::engine {

[[nodiscard]] LogLevel parse_log_level(std::string_view text); // throws lumen::Error

class Console {
public:
  /// `interactive`: stderr is a terminal (progress line enabled); colour unless NO_COLOR is set.
  Console(LogLevel level, bool interactive, bool color);
  /// `progress`: false suppresses the live status line even on a terminal.
  static Console from_environment(LogLevel level, bool progress = true);

  void log(LogLevel level, std::string_view source, std::string_view message);
  /// Replaces the live status line (terminal only; ignored otherwise).
  void status(std::string_view line);
  void clear_status();
  [[nodiscard]] bool interactive() const noexcept { return interactive_; }
  [[nodiscard]] LogLevel level() const noexcept { return level_; }

private:
  std::mutex mutex_;
  LogLevel level_;
  bool interactive_;
  bool color_;
  std::string status_;
};

} // namespace lumen::engine
