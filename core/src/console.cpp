#include "lumen/engine/console.hpp"

#include "lumen/error.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <unistd.h>

namespace lumen::engine {

LogLevel parse_log_level(std::string_view t) {
  if (t == "error") return LogLevel::error;
  if (t == "warn" || t == "warning") return LogLevel::warn;
  if (t == "info") return LogLevel::info;
  if (t == "debug") return LogLevel::debug;
  throw Error("unknown log level '" + std::string(t) + "': expected error, warn, info or debug");
}

Console::Console(LogLevel level, bool interactive, bool color)
    : level_(level), interactive_(interactive), color_(color) {}

Console Console::from_environment(LogLevel level, bool progress) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  const bool dumb = term && std::string_view(term) == "dumb";
  return Console(level, tty && !dumb && progress, tty && !dumb && !(no_color && *no_color));
}

void Console::log(LogLevel level, std::string_view source, std::string_view message) {
  if (static_cast<int>(level) > static_cast<int>(level_)) return;
  static constexpr const char* names[] = {"error", "warn", "info", "debug"};
  static constexpr const char* colors[] = {"\033[31m", "\033[33m", "\033[36m", "\033[2m"};
  const auto lvl = static_cast<std::size_t>(level);

  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char clock[16];
  std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);

  std::string line;
  line.reserve(64 + message.size());
  line += clock;
  line += ' ';
  if (color_) line += colors[lvl];
  line += names[lvl];
  if (color_) line += "\033[0m";
  if (!source.empty()) {
    line += " [";
    line += source;
    line += ']';
  }
  line += ' ';
  line += message;
  line += '\n';

  std::lock_guard lock(mutex_);
  if (interactive_ && !status_.empty()) std::fputs("\r\033[K", stderr);
  std::fputs(line.c_str(), stderr);
  if (interactive_ && !status_.empty()) std::fputs(status_.c_str(), stderr);
  std::fflush(stderr);
}

void Console::status(std::string_view line) {
  if (!interactive_) return;
  std::lock_guard lock(mutex_);
  status_.assign(line);
  std::fputs("\r\033[K", stderr);
  std::fputs(status_.c_str(), stderr);
  std::fflush(stderr);
}

void Console::clear_status() {
  if (!interactive_) return;
  std::lock_guard lock(mutex_);
  if (!status_.empty()) std::fputs("\r\033[K", stderr);
  status_.clear();
  std::fflush(stderr);
}

} // namespace lumen::engine
