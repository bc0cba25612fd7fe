// The `tile` plugin set: training tiles from calibrated, scaled images.
//
//   tile.grid   tiler       u8 (or f32) "image" -> one item per tile (stride / cover / count layouts)
//   tile.label  transform   scene_id and data_type (clean | noisy) from file-naming rules
//   tile.split  transform   pair_id and a leak-free train / validation / test split by scene hash
//   tile.write  aggregator  PNG per tile (concurrent), tiles_metadata.jsonl + .json, tiles_summary.json
//
// Example pipeline (astronomy frames to 256 x 256 PNG tiles):
//   stages:
//     - id: read
//       use: fits.read
//       with: {path: "${input}"}
//     - id: to8
//       use: image.to8bit
//     - id: label
//       use: tile.label
//       with: {scene_regex: "^([a-z0-9]+)_", scene_prefix: astro_, noisy_regex: g800l, clean_regex: detection}
//     - id: tiles
//       use: tile.grid
//       with: {tile_size: 256, mode: cover}
//     - id: split
//       use: tile.split
//     - id: write
//       use: tile.write
#pragma once

#include "lumen/lumen.hpp"
#include "tile_geometry.hpp"
#include "tile_index.hpp"
#include "tile_split.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>

namespace lumen::tile {

class TileGrid final : public Tiler {
public:
  static constexpr const char* summary =
      "Cuts each image into tiles (stride, cover or count layout), one item per tile with grid and quality meta";
  static constexpr const char* doc =
      "Emits one item per tile of the \"image\" array ((H, W) or (H, W, C), u8 after image.to8bit,\n"
      "or f32 in 0..1), id \"<item id>/t<grid_y>_<grid_x>\", with the parent's meta and provenance\n"
      "and only the tile's pixels (one copy; the parent's other arrays are not carried).\n"
      "Layouts per axis (length L, tile T):\n"
      "  stride: starts 0, S, 2S, ... (stride S, default T) while the tile fits; remainder: drop\n"
      "          leaves the rest, pad adds one tile padded with pad_value beyond the image.\n"
      "  cover:  n = ceil(L / T) tiles, first at 0, last ending at L, start_i = round(i (L-T)/(n-1)):\n"
      "          the minimal even overlap covering the image exactly (Fuji 1008 x 1508 -> 4 x 6 = 24).\n"
      "  count:  rows x cols tiles evenly spaced the same way (one tile: centred).\n"
      "An axis shorter than T gets one padded tile (short_axis: pad) or fails (short_axis: error).\n"
      "Meta per tile: grid_x, grid_y, grid_cols, grid_rows, image_x, image_y (top-left pixel),\n"
      "image_width, image_height (of the parent), tile_size (= tile_height), tile_height,\n"
      "tile_width, channels, tile_mode, valid_ratio (pixels inside the image / tile area),\n"
      "overlap_ratio (pixels inside the image that also lie in another tile / tile area),\n"
      "is_edge_tile (first or last grid row or column), mean_intensity (mean / 255, 0..1) and\n"
      "quality_score = valid_ratio x unclipped x g / (g + 2), where unclipped is the share of\n"
      "samples strictly between 0 and 255 and g the mean absolute difference of horizontally and\n"
      "vertically adjacent samples in 8-bit levels (f32 counts as 0..1 x 255).\n"
      "Masks: each array named in `masks` (default cosmic_ray_mask, the mask of\n"
      "calib.cosmic_rays) that the item carries as u8 (H, W) of the image's size is cut with the\n"
      "same rectangles (padding 0) and travels with its tile under the same name; tile.write\n"
      "saves it as a PNG named like the tile. Arrays the item does not carry are skipped.\n"
      "\n"
      "Example:\n"
      "  - id: tiles\n"
      "    use: tile.grid\n"
      "    with: {tile_size: 256, mode: cover}\n";
  static constexpr bool concurrent = true;

  Param<int> tile_size{this, "tile_size", 256, "tile edge (square tiles)", Min{1}, Max{65536}, Unit{"px"}};
  Param<int> tile_height{this, "tile_height", 0, "tile height; 0 = tile_size", Min{0}, Max{65536}, Unit{"px"}};
  Param<int> tile_width{this, "tile_width", 0, "tile width; 0 = tile_size", Min{0}, Max{65536}, Unit{"px"}};
  Param<std::string> mode{this, "mode", std::string("stride"),
                          "layout: stride (fixed step), cover (minimal even overlap covering the image) or count "
                          "(rows x cols evenly spaced)",
                          OneOf{{"stride", "cover", "count"}}};
  Param<int> stride{this,   "stride",   0,         "step between tiles in stride mode; 0 = the tile size (no overlap)",
                    Min{0}, Max{65536}, Unit{"px"}};
  Param<std::string> remainder{this, "remainder", std::string("drop"),
                               "stride mode: what happens to the rest of an axis the tiles do not reach: drop it, or "
                               "pad one more tile with pad_value",
                               OneOf{{"drop", "pad"}}};
  Param<double> pad_value{this,
                          "pad_value",
                          0.0,
                          "value of padded pixels, in 8-bit levels (u8 images: an integer 0-255; f32 images get "
                          "pad_value / 255)",
                          Min{0},
                          Max{255}};
  Param<std::string> short_axis{this, "short_axis", std::string("pad"),
                                "cover and count modes: an image axis shorter than the tile gets one padded tile "
                                "(pad) or fails the item (error)",
                                OneOf{{"pad", "error"}}};
  Param<std::vector<std::string>> masks{
      this, "masks", std::vector<std::string>{"cosmic_ray_mask"},
      "u8 (H, W) arrays of the item cut with the same grid and carried with each tile (absent ones are skipped)"};
  Param<int> rows{this, "rows", 1, "count mode: tiles per column (grid rows)", Min{1}, Max{65536}};
  Param<int> cols{this, "cols", 1, "count mode: tiles per row (grid columns)", Min{1}, Max{65536}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{
      this,
      {.arrays = {"image"},
       .meta_keys = {"grid_x", "grid_y", "grid_cols", "grid_rows", "image_x", "image_y", "tile_size", "channels",
                     "overlap_ratio", "is_edge_tile", "valid_ratio", "mean_intensity", "quality_score", "tile_mode"},
       .units = ""}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;
  [[nodiscard]] GridOptions options() const;
};

class TileLabel final : public Transform {
public:
  static constexpr const char* summary =
      "Sets scene_id and data_type (clean | noisy) from generic file-naming rules (regular expressions)";
  static constexpr const char* doc =
      "For data without a facility stage. The subject is the source file's stem (match: stem,\n"
      "default), its name with extension (name) or its full path (path); synthetic items without\n"
      "a source file use the first component of their id. scene_regex (ECMAScript std::regex,\n"
      "searched, group 1 = scene; empty = the whole subject) gives scene_id = scene_prefix + group\n"
      "1. data_type: clean when clean_regex matches, noisy when noisy_regex matches (both matching\n"
      "is an error), else the data_type parameter; with none of them the item fails. Meta\n"
      "scene_id / data_type already set (by a facility's identify stage) are kept unless override\n"
      "is true. domain sets meta domain when the item has none (or always, with override).\n"
      "\n"
      "Example (SID-like names 00001_00_0.04s.ARW, long exposures >= 10 s are clean):\n"
      "  - id: label\n"
      "    use: tile.label\n"
      "    with: {scene_regex: \"^(\\\\d+)_\", scene_prefix: photo_, clean_regex: \"_(1\\\\d|[2-9]\\\\d)s$\",\n"
      "           data_type: noisy}\n";
  static constexpr bool concurrent = true;

  Param<std::string> match{this, "match", std::string("stem"),
                           "what the regular expressions see: stem (file name without extension), name or path",
                           OneOf{{"stem", "name", "path"}}};
  Param<std::string> scene_regex{this, "scene_regex", std::string(),
                                 "ECMAScript regular expression searched in the subject; capture group 1 is the "
                                 "scene; empty = the whole subject"};
  Param<std::string> scene_prefix{this, "scene_prefix", std::string(), "text put before the scene (e.g. photo_)"};
  Param<std::string> clean_regex{this, "clean_regex", std::string(),
                                 "regular expression whose match marks a clean (reference) frame"};
  Param<std::string> noisy_regex{this, "noisy_regex", std::string(),
                                 "regular expression whose match marks a noisy frame"};
  Param<std::string> data_type{this, "data_type", std::string(),
                               "data_type when neither regex matches: clean, noisy, or empty (then the item fails)",
                               OneOf{{"", "clean", "noisy"}}};
  Param<std::string> domain{this, "domain", std::string(),
                            "meta domain to set when the item has none (photography, microscopy, astronomy, ...)"};
  Param<bool> override_{this, "override", false,
                        "replace scene_id / data_type / domain that an earlier stage already set"};

  Produces out_{this, {.arrays = {}, .meta_keys = {"scene_id", "data_type"}, .units = ""}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;

private:
  std::optional<std::regex> scene_re_, clean_re_, noisy_re_;
};

class TileSplit final : public Transform {
public:
  static constexpr const char* summary =
      "Pairs clean and noisy tiles (pair_id) and assigns train / validation / test by an md5 hash of the scene";
  static constexpr const char* doc =
      "pair_id = \"<scene_id>_g<grid_y>_<grid_x>\", shared by the clean and noisy tiles of one scene\n"
      "and grid position. split_hash = big-endian uint32 of the first 4 bytes of md5(UTF-8\n"
      "scene_id) mod 100, the same in Python as\n"
      "  int.from_bytes(hashlib.md5(scene_id.encode()).digest()[:4], \"big\") % 100\n"
      "split_policy by-scene (default): split_hash < train_percent -> train, < train +\n"
      "validation -> validation, else test: every tile of a scene, clean and noisy, lands in one\n"
      "split. noisy-train-clean-test: clean tiles -> test; noisy tiles -> train when\n"
      "split_hash x (train + validation) < 100 x train, else validation. The percentages must sum\n"
      "to 100. Needs meta scene_id and data_type (tile.label or a facility stage) and grid_x /\n"
      "grid_y (tile.grid). Sets pair_id, split, split_hash, split_policy.\n"
      "\n"
      "Example:\n"
      "  - id: split\n"
      "    use: tile.split\n"
      "    with: {train_percent: 80, validation_percent: 10, test_percent: 10}\n";
  static constexpr bool concurrent = true;

  Param<int> train_percent{this, "train_percent", 70, "share of scenes in train", Min{0}, Max{100}, Unit{"%"}};
  Param<int> validation_percent{this,     "validation_percent", 15, "share of scenes in validation", Min{0}, Max{100},
                                Unit{"%"}};
  Param<int> test_percent{this, "test_percent", 15, "share of scenes in test", Min{0}, Max{100}, Unit{"%"}};
  Param<std::string> split_policy{this, "split_policy", std::string("by-scene"),
                                  "by-scene (no scene in two splits) or noisy-train-clean-test (noisy tiles to "
                                  "train/validation by scene hash, every clean tile to test)",
                                  OneOf{{"by-scene", "noisy-train-clean-test"}}};

  Requires in_{this, {.arrays = {}, .meta_keys = {"scene_id", "data_type", "grid_x", "grid_y"}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {"pair_id", "split", "split_hash", "split_policy"}, .units = ""}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;
  [[nodiscard]] SplitRatios ratios() const { return SplitRatios{*train_percent, *validation_percent, *test_percent}; }
};

class TileWrite final : public FileAggregator {
public:
  static constexpr const char* summary =
      "Writes each tile as a PNG (concurrently) and the metadata index tiles_metadata.jsonl/.json plus "
      "artifacts/tiles_summary.json";
  static constexpr const char* doc =
      "Encodes the u8 \"image\" of every tile with the png set's encoder (encoder, compression and\n"
      "filter as in png.write: default libdeflate, level 1, no filter; encoder libpng also takes a\n"
      "zlib strategy) to <dir>/<name>, default png_tiles/{domain}/{data_type}/{tile_id}.png\n"
      "under the run's outputs/. tile_id is expanded from the tile_id template (default\n"
      "{scene_id}_{data_type}_{id}); a repeated tile_id fails the tile instead of overwriting a\n"
      "PNG. Tiles are encoded concurrently on the run's threads (libdeflate: one compressor and\n"
      "buffers per thread, reused from tile to tile).\n"
      "Each written tile appends one JSON line to <metadata>.jsonl (streamed, never held in\n"
      "memory); when the run ends <metadata>.json is produced by streaming the lines back into\n"
      "{\"run_id\", \"created\", \"tile_count\", \"counts\", \"records\": [...]}, and\n"
      "artifacts/<summary> holds counts per domain x data_type x split, the pairing check (pair ids\n"
      "with a clean tile but no noisy twin, listed up to 1000) and the scenes found in more than\n"
      "one split; the same summary is printed. Schemas: schemas/tiles_metadata.schema.json,\n"
      "schemas/tiles_summary.schema.json. Every file is atomic: the metadata files appear only\n"
      "when the run completes. Needs meta domain, scene_id, data_type, split and pair_id\n"
      "(tile.label, tile.split) and grid_x / grid_y (tile.grid). Each mask array named in `masks`\n"
      "that a tile carries (tile.grid's masks, e.g. cosmic_ray_mask) is written as a PNG (u8, 255\n"
      "where set) with the tile's own relative path under <dir>/<mask>/ (default\n"
      "outputs/cosmic_ray_mask/png_tiles/<domain>/<data_type>/<tile_id>.png), and the record gets\n"
      "mask_paths {name: path} and mask_pixels {name: count of set pixels}.\n"
      "Memory: per tile id, pair id and\n"
      "scene a few dozen bytes (the uniqueness, pairing and leak checks), never pixels.\n"
      "\n"
      "Example:\n"
      "  - id: write\n"
      "    use: tile.write\n"
      "    with: {compression: 1, filter: none, encoder: libdeflate}\n";
  static constexpr bool concurrent = true; // PNG encoding runs on every worker

  TileWrite();
  ~TileWrite() override;

  Param<int> compression{
      this, "compression", 1, "deflate level: 0 (stored) to 9 (smallest files), for either encoder", Min{0}, Max{9}};
  Param<std::string> filter{this, "filter", std::string("none"),
                            "PNG row filter: none (fastest), sub, up, avg, paeth, or all (smallest, slowest)",
                            OneOf{{"none", "sub", "up", "avg", "paeth", "all"}}};
  Param<std::string> encoder{this, "encoder", std::string("libdeflate"),
                             "libdeflate (default: ~2.5x faster than libpng + zlib at level 1 on noisy tiles, "
                             "files ~1% smaller) or libpng (libpng + zlib; takes a strategy)",
                             OneOf{{"libdeflate", "libpng"}}};
  Param<std::string> strategy{this, "strategy", std::string("default"),
                              "zlib strategy of encoder libpng: default, filtered, huffman (Huffman only) or rle "
                              "(run-length matches only; about twice as fast as default on noisy tiles, larger on "
                              "smooth ones); libdeflate takes only default",
                              OneOf{{"default", "filtered", "huffman", "rle"}}};
  Param<std::vector<std::string>> masks{
      this, "masks", std::vector<std::string>{"cosmic_ray_mask"},
      "mask arrays written for each tile that carries them, as <dir>/<mask>/<tile's path> (255 = set)"};
  Param<std::string> tile_id{this, "tile_id", std::string("{scene_id}_{data_type}_{id}"),
                             "template of the tile id (fields as in name; {id} has '/' replaced by '_')"};
  Param<std::string> metadata{
      this, "metadata", std::string("tiles_metadata"),
      "base name of the metadata index under dir: <metadata>.jsonl and <metadata>.json (give each "
      "tile.write of one pipeline its own)"};
  Param<std::string> summary_name{
      this, "summary", std::string("tiles_summary.json"),
      "file name of the summary in the run's artifacts/ directory (one per tile.write stage)"};

  Requires in_{this,
               {.arrays = {"image"},
                .meta_keys = {"domain", "scene_id", "data_type", "split", "pair_id", "grid_x", "grid_y"},
                .units = ""}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;
  void finish(Emit& emit) override;

private:
  struct State;
  std::unique_ptr<State> state_;
  std::pair<std::filesystem::path, std::int64_t> write_mask(const Item& item, const std::string& mask_name,
                                                            const std::filesystem::path& tile_png) const;
};

} // namespace lumen::tile
