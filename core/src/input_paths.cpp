#include "lumen/input_paths.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

namespace lumen {

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
  std::sort(files.begin(), files.end(), [](const std::filesystem::path& a, const std::filesystem::path& b) {
    return natural_less(a.native(), b.native());
  });
  return files;
}

bool has_extension(const std::filesystem::path& p, const std::vector<std::string>& extensions) {
  const auto ext = p.extension().string();
  return std::any_of(extensions.begin(), extensions.end(), [&](const std::string& e) { return iequals(ext, e); });
}

std::string extension_list(const std::vector<std::string>& extensions) {
  std::string out;
  for (const auto& e : extensions) out += (out.empty() ? "*" : ", *") + e;
  return out;
}

} // namespace

bool natural_less(std::string_view a, std::string_view b) noexcept {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      // Compare digit runs by value: skip leading zeros, then longer is larger, then lexically.
      std::size_t i0 = i, j0 = j;
      while (i0 < a.size() && a[i0] == '0') ++i0;
      while (j0 < b.size() && b[j0] == '0') ++j0;
      std::size_t i1 = i0, j1 = j0;
      while (i1 < a.size() && digit(a[i1])) ++i1;
      while (j1 < b.size() && digit(b[j1])) ++j1;
      if (i1 - i0 != j1 - j0) return i1 - i0 < j1 - j0;
      if (const int c = a.substr(i0, i1 - i0).compare(b.substr(j0, j1 - j0)); c != 0) return c < 0;
      if (i1 - i != j1 - j) return i1 - i < j1 - j; // equal value: fewer leading zeros first
      i = i1;
      j = j1;
      continue;
    }
    if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

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

std::vector<std::filesystem::path> expand_input_path(std::string_view spec, const std::vector<std::string>& extensions,
                                                     bool recursive) {
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
    if (files.empty()) {
      if (!std::filesystem::is_directory(dir))
        throw InputError("path '" + text + "': no file matches (the directory '" + dir.string() + "' does not exist)");
      throw InputError("path '" + text + "': no file matches (nothing in '" + dir.string() + "' matches '" + pattern +
                       "')");
    }
    return sorted(std::move(files));
  }

  if (std::filesystem::is_directory(p, ec)) {
    if (recursive) {
      using It = std::filesystem::recursive_directory_iterator;
      for (It it(p, std::filesystem::directory_options::skip_permission_denied, ec), end; !ec && it != end;
           it.increment(ec)) {
        const auto file_name = it->path().filename().string();
        if (file_name.empty() || file_name.front() == '.') {
          std::error_code dec;
          if (it->is_directory(dec)) it.disable_recursion_pending(); // hidden folders are skipped whole
          continue;
        }
        if (has_extension(it->path(), extensions) && is_regular(*it)) files.push_back(it->path());
      }
    } else {
      for (std::filesystem::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
        const auto file_name = it->path().filename().string();
        if (file_name.empty() || file_name.front() == '.') continue;
        if (has_extension(it->path(), extensions) && is_regular(*it)) files.push_back(it->path());
      }
    }
    if (files.empty())
      throw InputError("path '" + text + "': no file matches (the directory " +
                       (recursive ? "and its sub-directories have" : "has") + " no " + extension_list(extensions) +
                       " files)");
    return sorted(std::move(files));
  }

  if (std::filesystem::exists(p, ec)) return {p};
  throw InputError("path '" + text + "': no file matches (no such file or directory)");
}

} // namespace lumen
