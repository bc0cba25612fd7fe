// Leak-free dataset splits and clean/noisy pairing: the plain functions behind `tile.split`.
//
// The split bucket of a scene is
//   bucket = big-endian uint32 of the first 4 bytes of md5(UTF-8 bytes of scene_id)  mod 100
// (libmd: MD5Init, MD5Update, MD5Final), reproduced in Python by
//   int.from_bytes(hashlib.md5(scene_id.encode("utf-8")).digest()[:4], "big") % 100
// e.g. "photo_00001" -> md5 3c08f32f... -> 1007219503 -> bucket 3 (the unit tests check such values
// against python3's hashlib).
//
// Policies (percentages train / validation / test, summing to 100):
//   by-scene                 bucket < train -> train; < train + validation -> validation; else test.
//                            Every tile of a scene, clean and noisy, lands in one split.
//   noisy-train-clean-test   clean tiles -> test; noisy tiles -> train when
//                            bucket * (train + validation) < 100 * train (the train share
//                            renormalised over train + validation, exact integer arithmetic),
//                            else validation. (Older scripts' layout: a scene's noisy tiles train,
//                            its clean tiles test, so scenes do cross splits by design.)
//
// pair_id = "<scene_id>_g<grid_y>_<grid_x>": clean and noisy tiles of one scene at one grid position
// share it.
//
// Example pipeline, through the stage that wraps this:
//   - id: split
//     use: tile.split
//     with: {train_percent: 80, validation_percent: 10, test_percent: 10}
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace lumen::tile {

enum class SplitPolicy { by_scene, noisy_train_clean_test };

struct SplitRatios {
  int train = 70, validation = 15, test = 15; // percent, sum 100
};

/// The 16-byte MD5 digest of `text`.
[[nodiscard]] std::array<unsigned char, 16> md5(std::string_view text);
/// Big-endian uint32 of the first four digest bytes of md5(scene_id).
[[nodiscard]] std::uint32_t scene_hash32(std::string_view scene_id);
/// scene_hash32(scene_id) % 100.
[[nodiscard]] int split_bucket(std::string_view scene_id);

/// "train", "validation" or "test" for a tile of `scene_id` and data_type `clean` (true) or noisy.
[[nodiscard]] const char* assign_split(std::string_view scene_id, bool clean, SplitPolicy policy,
                                       const SplitRatios& ratios);

/// "<scene_id>_g<grid_y>_<grid_x>".
[[nodiscard]] std::string make_pair_id(std::string_view scene_id, std::int64_t grid_y, std::int64_t grid_x);

} // namespace lumen::tile
