// "Did you mean" suggestions for misspelt names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lumen::engine {

/// Edit distance (insert, delete, substitute, swap of neighbours).
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate closest to `word` when it is close enough to be a likely typo, else "".
[[nodiscard]] std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
/// " (did you mean 'x'?)" or "".
[[nodiscard]] std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

} // namespace lumen::engine
