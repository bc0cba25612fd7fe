// Input path expansion for file readers: one `path` parameter names a file, a directory or a
// glob pattern, and becomes a sorted list of files (one work unit each). Every reader takes
// its input this way, so users write paths the same way for every format.
//
//   path: scan_0001.png     that file
//   path: scans/            every regular file in the directory with one of the reader's
//                           extensions (compared case-insensitively; hidden files skipped),
//                           not recursive
//   path: scans/run_*.png   files matching the pattern; `*` and `?` are allowed in the file-name
//                           part only, and do not match a leading '.'
//   recursive directory     with `recursive` (a reader's `recursive: true`), directory mode also
//                           descends into sub-directories (hidden ones skipped), e.g. a
//                           <structure>/Cell_NN/*.mrc tree; globs and single files are unchanged
//
// Lists are sorted in natural order (digit runs compare as numbers: frame_2 before frame_10,
// then byte order), so numbered series come out in acquisition order and runs are reproducible.
//
// Example (in a reader's plan()):
//   for (const auto& file : lumen::expand_input_path(*path, {".fits", ".fit", ".fts"})) ...
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lumen {

/// True when `text` contains a glob wildcard ('*' or '?').
[[nodiscard]] bool has_wildcards(std::string_view text) noexcept;

/// Glob match of a single file name: '*' any run of characters, '?' one character.
/// Neither matches a leading '.' unless the pattern starts with one.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view name) noexcept;

/// "" when `spec` is usable, else what is wrong (wildcards in the directory part).
[[nodiscard]] std::string check_input_spec(std::string_view spec);

/// "a2" < "a10": digit runs compare by value, everything else byte by byte.
[[nodiscard]] bool natural_less(std::string_view a, std::string_view b) noexcept;

/// Expands `spec` (see above); `extensions` (".png", ...) select files in directory mode, which
/// descends into sub-directories when `recursive` is true (the whole list is then sorted in
/// natural order of the full paths, so a folder's files stay together).
/// Throws lumen::InputError("path '<spec>': no file matches ...") when the list is empty.
[[nodiscard]] std::vector<std::filesystem::path>
expand_input_path(std::string_view spec, const std::vector<std::string>& extensions, bool recursive = false);

} // namespace lumen
