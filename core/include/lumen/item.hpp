// Item: what flows between stages.
#pragma once

#include "lumen/array.hpp"
#include "lumen/meta.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lumen {

struct Provenance {
  std::string source_file;         // the input file the item came from ("" for synthetic data)
  std::string parent_id;           // id of the item this one was derived from, if any
  std::vector<std::string> stages; // ids of the stages it went through, in order
};

namespace detail {
struct UnitToken; // host-private: ties an item to the work unit it came from
}

class Item {
public:
  Item() = default;
  explicit Item(std::string id) : id_(std::move(id)) {}

  [[nodiscard]] const std::string& id() const noexcept { return id_; }
  void set_id(std::string id) { id_ = std::move(id); }

  // Named arrays ("image", "mask", "dark", "pos", ...), in insertion order.
  void set(std::string_view name, Array array);
  [[nodiscard]] bool has(std::string_view name) const noexcept;
  /// Throws lumen::InputError naming the item and the missing array.
  [[nodiscard]] const Array& array(std::string_view name) const;
  [[nodiscard]] Array& array(std::string_view name);
  bool remove(std::string_view name);
  [[nodiscard]] std::vector<std::string> array_names() const;

  /// The "image" array as a writable contiguous view of T, converting the dtype in place
  /// (static_cast per element) when it differs.
  template <typename T> NdView<T> image() {
    Array& a = array("image");
    if (a.dtype() != dtype_of_v<T>) a = a.as(dtype_of_v<T>);
    return a.writable<T>();
  }

  Meta meta;
  Provenance provenance;

  /// A child item (a tile, a frame): id "<this id>/<suffix>", meta and provenance copied,
  /// parent recorded, no arrays. The child belongs to the same work unit.
  [[nodiscard]] Item derive(std::string_view suffix) const;

  /// Total bytes of all arrays.
  [[nodiscard]] std::size_t nbytes() const noexcept;

  // Host bookkeeping; plugin code never needs it.
  [[nodiscard]] const std::shared_ptr<detail::UnitToken>& unit_token() const noexcept { return unit_; }
  void set_unit_token(std::shared_ptr<detail::UnitToken> t) noexcept { unit_ = std::move(t); }

private:
  std::string id_;
  std::vector<std::pair<std::string, Array>> arrays_;
  std::shared_ptr<detail::UnitToken> unit_;
};

} // namespace lumen
