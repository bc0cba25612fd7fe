// Split hashing and pair ids (see tile_split.hpp for the exact definitions).
//
// Example pipeline:
//   - id: split
//     use: tile.split
//     with: {split_policy: by-scene}
#include "tile_split.hpp"

#include <md5.h>

namespace lumen::tile {

std::array<unsigned char, 16> md5(std::string_view text) {
  MD5_CTX ctx;
  MD5Init(&ctx);
  MD5Update(&ctx, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  std::array<unsigned char, 16> digest{};
  MD5Final(digest.data(), &ctx);
  return digest;
}

std::uint32_t scene_hash32(std::string_view scene_id) {
  const auto d = md5(scene_id);
  return (std::uint32_t{d[0]} << 24) | (std::uint32_t{d[1]} << 16) | (std::uint32_t{d[2]} << 8) | std::uint32_t{d[3]};
}

int split_bucket(std::string_view scene_id) {
  return static_cast<int>(scene_hash32(scene_id) % 100u);
}

const char* assign_split(std::string_view scene_id, bool clean, SplitPolicy policy, const SplitRatios& r) {
  const int bucket = split_bucket(scene_id);
  if (policy == SplitPolicy::noisy_train_clean_test) {
    if (clean) return "test";
    return bucket * (r.train + r.validation) < 100 * r.train ? "train" : "validation";
  }
  if (bucket < r.train) return "train";
  if (bucket < r.train + r.validation) return "validation";
  return "test";
}

std::string make_pair_id(std::string_view scene_id, std::int64_t grid_y, std::int64_t grid_x) {
  return std::string(scene_id) + "_g" + std::to_string(grid_y) + "_" + std::to_string(grid_x);
}

} // namespace lumen::tile
