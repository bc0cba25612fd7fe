#include "run_lumen.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace e2e {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

Result shell(const std::string& command) {
  Result r;
  FILE* pipe = ::popen(("{ " + command + "\n} 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Result lumen(const std::vector<std::string>& args) {
  std::string cmd = "NO_COLOR=1 " + quote(LUMEN_BIN);
  for (const auto& a : args) cmd += " " + quote(a);
  if (!args.empty() && args[0] != "--version" && args[0] != "--help" && args[0] != "manifest" &&
      args[0] != "check-plugin")
    cmd += " --plugin-path " + quote(LUMEN_TEST_PLUGIN_DIR);
  return shell(cmd);
}

TempDir::TempDir(const std::string& name) {
  path_ = std::filesystem::temp_directory_path() / ("lumen-e2e-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::vector<std::string> events(const std::filesystem::path& run_dir, const std::string& type) {
  std::vector<std::string> out;
  std::ifstream in(run_dir / "logs" / "run_events.jsonl");
  const std::string needle = "\"event\":\"" + type + "\"";
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

std::size_t count_files(const std::filesystem::path& dir, const std::string& ext) {
  std::size_t n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ext) ++n;
  return n;
}

std::filesystem::path shared_data(const std::string& sub) {
  const char* env = std::getenv("LUMEN_SHARED_DATA");
  const std::filesystem::path root = env != nullptr && *env != '\0'
                                         ? std::filesystem::path(env)
                                         : std::filesystem::path(LUMEN_SOURCE_DIR).parent_path() / "shared" / "data";
  return sub.empty() ? root : root / sub;
}

bool have_python(const std::string& modules) {
  return std::system(("/usr/bin/python3 -c 'import " + modules + "' >/dev/null 2>&1").c_str()) == 0;
}

} // namespace e2e
