#include "lumen/item.hpp"

namespace lumen {

void Item::set(std::string_view name, Array array) {
  for (auto& [n, a] : arrays_)
    if (n == name) {
      a = std::move(array);
      return;
    }
  arrays_.emplace_back(std::string(name), std::move(array));
}

bool Item::has(std::string_view name) const noexcept {
  for (const auto& [n, a] : arrays_)
    if (n == name) return true;
  return false;
}

const Array& Item::array(std::string_view name) const {
  return const_cast<Item*>(this)->array(name);
}

Array& Item::array(std::string_view name) {
  for (auto& [n, a] : arrays_)
    if (n == name) return a;
  std::string have;
  for (const auto& [n, a] : arrays_) have += (have.empty() ? "" : ", ") + n;
  throw InputError("item '" + id_ + "' has no array '" + std::string(name) +
                   "' (it has: " + (have.empty() ? "none" : have) + ")");
}

bool Item::remove(std::string_view name) {
  for (auto it = arrays_.begin(); it != arrays_.end(); ++it)
    if (it->first == name) {
      arrays_.erase(it);
      return true;
    }
  return false;
}

std::vector<std::string> Item::array_names() const {
  std::vector<std::string> out;
  for (const auto& [n, a] : arrays_) out.push_back(n);
  return out;
}

Item Item::derive(std::string_view suffix) const {
  Item child(id_ + "/" + std::string(suffix));
  child.meta = meta;
  child.provenance = provenance;
  child.provenance.parent_id = id_;
  child.unit_ = unit_;
  return child;
}

std::size_t Item::nbytes() const noexcept {
  std::size_t n = 0;
  for (const auto& [name, a] : arrays_) n += a.nbytes();
  return n;
}

} // namespace lumen
