// File-name templates for writers: "{stem}_{index:04d}.png".
//
// Fields: {id} (item id with '/' as '_'), {stem} (source file name without extension, or the
// first id component for synthetic items), {index} (meta "index"), {stage} (stage id), and
// any Meta key. A spec after ':' follows printf for integers (`04d`) and numbers (`.3f`).
#pragma once

#include "lumen/item.hpp"

#include <string>
#include <string_view>

namespace lumen {

/// Expands `pattern` for `item`. '/' in the result makes sub-directories. Throws
/// lumen::InputError naming the field when it is unknown, or when the result is empty,
/// absolute, or would leave the output directory ("..").
[[nodiscard]] std::string expand_name(std::string_view pattern, const Item& item, std::string_view stage_id);
/// Throws lumen::ConfigError(param) when `pattern` is malformed (unbalanced braces, bad spec).
void check_name_pattern(std::string_view pattern, std::string_view param);

} // namespace lumen
