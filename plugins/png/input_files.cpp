// Input path expansion: a file, a directory or a glob pattern -> sorted files (see input_files.hpp).
//
// Example pipeline:
//   - id: in
//     use: png.read
//     with: {path: "tiles/*.png"}
#include "input_files.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

namespace lumen::png {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_regular(const std::filesystem::directory_entry& e) {
  std::error_code ec;
  return e.is_regular_file(ec) && !ec; // follows symlinks
}

std::vector<std::filesystem::path> sorted(std::vector<std::filesystem::path> files) {
  std::sort(files.begin(), files.end(),
            [](const std::filesystem::path& a, const std::filesystem::path& b) { return a.native() < b.native(); });
  return files;
}

} // namespace

bool has_wildcards(std::string_view text) noexcept {
  return text.find_first_of("*?") != std::string_view::npos;
}

bool glob_match(std::string_view pattern, std::string_view name) noexcept {
  if (!name.empty() && name.front() == '.' && (pattern.empty() || pattern.front() != '.')) return false;
  // Iterative matcher with backtracking to the last '*': linear in practice, no recursion.
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string check_input_spec(std::string_view spec) {
  if (spec.empty()) return "the path is empty";
  const std::filesystem::path p{std::string(spec)};
  if (has_wildcards(p.parent_path().string()))
    return "wildcards (* and ?) are allowed only in the file-name part, not in the directories of '" +
           std::string(spec) + "'";
  return {};
}

std::vector<std::filesystem::path> expand_input_path(std::string_view spec, std::string_view extension) {
  const std::string text(spec);
  if (const auto problem = check_input_spec(spec); !problem.empty())
    throw InputError("path '" + text + "': " + problem);
  const std::filesystem::path p{text};
  std::error_code ec;
  std::vector<std::filesystem::path> files;

  if (has_wildcards(p.filename().string())) {
    const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    const std::string pattern = p.filename().string();
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const auto file_name = it->path().filename().string();
      if (glob_match(pattern, file_name) && is_regular(*it))
        files.push_back(p.has_parent_path() ? p.parent_path() / file_name : std::filesystem::path(file_name));
    }
    if (files.empty()) throw InputError("path '" + text + "': no file matches");
    return sorted(std::move(files));
  }

  if (std::filesystem::is_directory(p, ec)) {
    for (std::filesystem::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
      const auto file_name = it->path().filename().string();
      if (file_name.empty() || file_name.front() == '.') continue;
      if (iequals(it->path().extension().string(), extension) && is_regular(*it)) files.push_back(it->path());
    }
    if (files.empty())
      throw InputError("path '" + text + "': no file matches (the directory has no *" + std::string(extension) +
                       " files)");
    return sorted(std::move(files));
  }

  if (std::filesystem::exists(p, ec)) return {p};
  throw InputError("path '" + text + "': no file matches (no such file or directory)");
}

} // namespace lumen::png
