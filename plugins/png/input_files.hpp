// Input path expansion for file readers: one `path` parameter names a file, a directory or a
// glob pattern, and becomes a sorted list of files (one work unit each).
//
//   path: scan_0001.png     that file
//   path: scans/            every regular *.png file in the directory (extension compared
//                           case-insensitively, hidden files skipped), not recursive
//   path: scans/run_*.png   files matching the pattern; `*` and `?` are allowed in the file-name
//                           part only, and do not match a leading '.'
//
// Lists are sorted by file name (byte order, like `LC_ALL=C ls`), so runs are reproducible.
//
// Example pipeline:
//   - id: in
//     use: png.read
//     with: {path: "night1/frame_??.png"}
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lumen::png {

/// True when `text` contains a glob wildcard ('*' or '?').
[[nodiscard]] bool has_wildcards(std::string_view text) noexcept;

/// Glob match of a single file name: '*' any run of characters, '?' one character.
/// Neither matches a leading '.' unless the pattern starts with one.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view name) noexcept;

/// "" when `spec` is usable, else what is wrong (wildcards in the directory part).
[[nodiscard]] std::string check_input_spec(std::string_view spec);

/// Expands `spec` (see above); `extension` (".png") selects files in directory mode.
/// Throws lumen::InputError("path '<spec>': no file matches ...") when the list is empty.
[[nodiscard]] std::vector<std::filesystem::path> expand_input_path(std::string_view spec, std::string_view extension);

} // namespace lumen::png
