// template.invert — invert the intensities of an 8- or 16-bit image.
//
// A complete, minimal stage to copy when starting a plugin set: a documented parameter, a
// declared input requirement, a typed `process`, an InputError for data it cannot handle, and
// the LUMEN_PLUGIN entry point. Each u8 pixel v becomes 255 - v and each u16 pixel
// 65535 - v; any other dtype fails the item (the run goes on). Example pipeline lines:
//
//   - {id: to8, use: image.to8bit}
//   - {id: invert, use: template.invert}          # or: with: {enabled: false}
//   - {id: write, use: png.write, with: {name: "{id}.png"}}
#include <cstdint>
#include <limits>
#include <lumen/lumen.hpp>
#include <string>
#include <utility>

namespace {

struct Invert final : lumen::Transform {
  static constexpr const char* summary = "Invert an 8- or 16-bit image (v -> 255 - v, or 65535 - v)";
  static constexpr const char* doc =
      "Replaces each pixel v of the item's \"image\" array by max - v, where max is 255 for u8 images "
      "and 65535 for u16 images. Other dtypes fail the item with an input error: put image.to8bit "
      "before this stage for float or 32-bit data. Sets the meta key \"inverted\" to true.\n"
      "Example:\n"
      "  - {id: to8, use: image.to8bit}\n"
      "  - {id: invert, use: template.invert}\n"
      "  - {id: write, use: png.write, with: {name: \"{id}.png\"}}";
  static constexpr bool concurrent = true; // items are independent: the host may run several at once

  lumen::Param<bool> enabled{this, "enabled", true, "invert the image; when false, items pass through unchanged"};

  lumen::Requires requires_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};    // any units
  lumen::Produces produces_{this, {.arrays = {}, .meta_keys = {"inverted"}, .units = ""}}; // units unchanged

  void process(lumen::Item& item, lumen::Emit& emit) override {
    if (enabled) {
      lumen::Array& image = item.array("image");
      switch (image.dtype()) {
      case lumen::DType::u8:
        invert<std::uint8_t>(image);
        break;
      case lumen::DType::u16:
        invert<std::uint16_t>(image);
        break;
      default:
        throw lumen::InputError("template.invert: item '" + item.id() + "' has a " +
                                std::string(lumen::dtype_name(image.dtype())) +
                                " image; expected u8 or u16 (add `use: image.to8bit` before this stage)");
      }
      item.meta.set("inverted", lumen::MetaValue{true}, "intensities inverted by template.invert");
    }
    emit(std::move(item));
  }

private:
  template <typename T> static void invert(lumen::Array& image) {
    constexpr T max = std::numeric_limits<T>::max();
    for (T& v : image.writable<T>()) v = static_cast<T>(max - v); // writable(): unique, contiguous
  }
};

} // namespace

LUMEN_PLUGIN("template", "0.1.0", "MIT", lumen::stage<Invert>("template.invert"));
