// The `tile` plugin set: stage implementations and the plugin entry point.
// What each stage does, and its parameters, are declared in tile_stages.hpp; the geometry and
// tile statistics are in tile_geometry.cpp, the split hash in tile_split.cpp, the metadata records
// and the summary in tile_index.cpp, and the PNG encoder is the png set's (png_io.cpp).
//
// Example pipeline:
//   - id: tiles
//     use: tile.grid
//     with: {tile_size: 256, mode: cover}
//   - id: split
//     use: tile.split
//   - id: write
//     use: tile.write
#include "tile_stages.hpp"

#include "png_io.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace lumen::tile {

namespace fs = std::filesystem;

// ---- tile.grid ---------------------------------------------------------------------------------

GridOptions TileGrid::options() const {
  GridOptions o;
  o.mode = *mode == "cover" ? GridMode::cover : *mode == "count" ? GridMode::count : GridMode::stride;
  o.tile_height = *tile_height > 0 ? *tile_height : *tile_size;
  o.tile_width = *tile_width > 0 ? *tile_width : *tile_size;
  o.stride_y = *stride > 0 ? *stride : o.tile_height;
  o.stride_x = *stride > 0 ? *stride : o.tile_width;
  o.remainder = *remainder == "pad" ? Remainder::pad : Remainder::drop;
  o.short_axis = *short_axis == "error" ? ShortAxis::error : ShortAxis::pad;
  o.rows = *rows;
  o.cols = *cols;
  return o;
}

void TileGrid::validate() const {
  if (stride.is_set() && *mode != "stride")
    throw ConfigError("stride", "stride applies only to mode: stride (mode is " + *mode + "): remove it");
  if (remainder.is_set() && *mode != "stride")
    throw ConfigError("remainder", "remainder applies only to mode: stride (mode is " + *mode +
                                       "); cover and count use short_axis for images smaller than a tile");
  if ((rows.is_set() || cols.is_set()) && *mode != "count")
    throw ConfigError(rows.is_set() ? "rows" : "cols", "rows and cols apply only to mode: count (mode is " + *mode +
                                                           "): set mode: count or remove them");
  if (*pad_value != std::floor(*pad_value))
    throw ConfigError("pad_value",
                      "pad_value must be a whole number of 8-bit levels (0-255), got " + param_bound_text(*pad_value));
}

void TileGrid::process(Item& item, Emit& emit) {
  const Array& source = item.array("image");
  if (source.dtype() != DType::u8 && source.dtype() != DType::f32)
    throw InputError("tile.grid: item '" + item.id() + "' has a " + std::string(dtype_name(source.dtype())) +
                     " image; tile.grid cuts u8 images (add image.to8bit before it) or f32 images scaled to 0..1");
  const bool colour = source.ndim() == 3;
  if (!(source.ndim() == 2 || (colour && source.dim(2) >= 1 && source.dim(2) <= 4)))
    throw InputError("tile.grid: item '" + item.id() + "' has an image of shape " + source.shape().str() +
                     "; expected (H, W) or (H, W, C) with C = 1 to 4");
  const Array image = source.contiguous_copy(); // no copy when already contiguous
  const std::int64_t height = image.dim(0), width = image.dim(1), channels = colour ? image.dim(2) : 1;
  std::vector<std::pair<std::string, Array>> mask_arrays; // cut with the same rectangles as the image
  for (const std::string& name : *masks) {
    if (name == "image" || !item.has(name)) continue;
    const Array& mask = item.array(name);
    if (mask.dtype() != DType::u8 || mask.ndim() != 2 || mask.dim(0) != height || mask.dim(1) != width)
      throw InputError("tile.grid: item '" + item.id() + "' carries mask '" + name + "' as " +
                       std::string(dtype_name(mask.dtype())) + " " + mask.shape().str() + "; masks are u8 (" +
                       std::to_string(height) + ", " + std::to_string(width) +
                       "), the image's size (remove it from masks, or fix the stage that made it)");
    mask_arrays.emplace_back(name, mask.contiguous_copy());
  }
  const GridOptions opt = options();
  const Grid grid = plan_grid(height, width, opt);
  const std::int64_t th = opt.tile_height, tw = opt.tile_width;
  const Shape tile_shape = colour ? Shape{th, tw, channels} : Shape{th, tw};

  visit_dtype(image.dtype(), [&]<typename T>(T) {
    if constexpr (std::is_same_v<T, std::uint8_t> || std::is_same_v<T, float>) {
      const T pad = std::is_same_v<T, float> ? static_cast<T>(*pad_value / 255.0) : static_cast<T>(*pad_value);
      const T* base = static_cast<const T*>(image.raw());
      const std::size_t row_samples = static_cast<std::size_t>(tw * channels);
      for (std::int64_t gy = 0; gy < grid.rows(); ++gy)
        for (std::int64_t gx = 0; gx < grid.cols(); ++gx) {
          const TileRect r = grid.tile(gy, gx);
          Array pixels = Array::uninitialized(image.dtype(), tile_shape);
          T* dst = static_cast<T*>(pixels.raw());
          if (r.valid_h < th || r.valid_w < tw) std::fill(dst, dst + tile_shape.size(), pad);
          const std::size_t valid_bytes = static_cast<std::size_t>(r.valid_w * channels) * sizeof(T);
          for (std::int64_t y = 0; y < r.valid_h; ++y)
            std::memcpy(dst + static_cast<std::size_t>(y) * row_samples, base + ((r.y + y) * width + r.x) * channels,
                        valid_bytes);
          const TileStats stats = tile_stats<T>(dst, tw, channels, r.valid_h, r.valid_w);

          Item tile = item.derive("t" + std::to_string(gy) + "_" + std::to_string(gx));
          tile.set("image", std::move(pixels));
          for (const auto& [name, mask] : mask_arrays) {
            Array cut(DType::u8, Shape{th, tw}); // zero-filled: padding is "not set"
            auto* out = static_cast<std::uint8_t*>(cut.raw());
            const auto* in = static_cast<const std::uint8_t*>(mask.raw());
            for (std::int64_t y = 0; y < r.valid_h; ++y)
              std::memcpy(out + y * tw, in + (r.y + y) * width + r.x, static_cast<std::size_t>(r.valid_w));
            tile.set(name, std::move(cut));
          }
          Meta& m = tile.meta;
          m.set("grid_x", gx, "tile column in the grid");
          m.set("grid_y", gy, "tile row in the grid");
          m.set("grid_cols", grid.cols(), "columns of the tile grid");
          m.set("grid_rows", grid.rows(), "rows of the tile grid");
          m.set("image_x", r.x, "tile's left column in the image", "px");
          m.set("image_y", r.y, "tile's top row in the image", "px");
          m.set("image_width", width, "width of the image the tile was cut from", "px");
          m.set("image_height", height, "height of the image the tile was cut from", "px");
          m.set("tile_size", th, "tile edge (the height for non-square tiles)", "px");
          m.set("tile_height", th, "", "px");
          m.set("tile_width", tw, "", "px");
          m.set("channels", channels, "samples per pixel");
          m.set("tile_mode", MetaValue{*mode}, "tile.grid layout");
          m.set("valid_ratio", MetaValue{r.valid_ratio}, "tile pixels inside the image / tile area");
          m.set("overlap_ratio", MetaValue{r.overlap_ratio},
                "tile pixels inside the image that also lie in another tile / tile area");
          m.set("is_edge_tile", r.is_edge, "first or last grid row or column");
          m.set("mean_intensity", MetaValue{stats.mean_intensity}, "mean sample / 255");
          m.set("quality_score", MetaValue{quality_score(r.valid_ratio, stats)},
                "valid_ratio x unclipped share x g/(g+2), g = mean adjacent difference in 8-bit levels");
          emit(std::move(tile));
        }
    }
  });
}

// ---- tile.label --------------------------------------------------------------------------------

namespace {

std::regex compile_regex(const std::string& pattern, const std::string& param) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw ConfigError(param, param + " '" + pattern + "' is not a valid ECMAScript regular expression (" + e.what() +
                                 "): check brackets, parentheses and escapes (in YAML, write \\\\d inside double "
                                 "quotes or use single quotes)");
  }
}

} // namespace

void TileLabel::validate() const {
  if (!scene_regex->empty()) {
    const std::regex re = compile_regex(*scene_regex, "scene_regex");
    if (re.mark_count() < 1)
      throw ConfigError("scene_regex", "scene_regex '" + *scene_regex +
                                           "' has no capture group; group 1 is the scene: wrap the scene part in "
                                           "parentheses, e.g. ^(\\d+)_");
  }
  if (!clean_regex->empty()) (void)compile_regex(*clean_regex, "clean_regex");
  if (!noisy_regex->empty()) (void)compile_regex(*noisy_regex, "noisy_regex");
}

void TileLabel::start() {
  if (!scene_regex->empty()) scene_re_ = compile_regex(*scene_regex, "scene_regex");
  if (!clean_regex->empty()) clean_re_ = compile_regex(*clean_regex, "clean_regex");
  if (!noisy_regex->empty()) noisy_re_ = compile_regex(*noisy_regex, "noisy_regex");
}

void TileLabel::process(Item& item, Emit& emit) {
  const std::string& source = item.provenance.source_file;
  std::string subject;
  if (source.empty()) {
    subject = item.id().substr(0, item.id().find('/'));
  } else {
    const fs::path p(source);
    subject = *match == "path" ? source : *match == "name" ? p.filename().string() : p.stem().string();
  }
  const std::string from = "item '" + item.id() + "'" + (source.empty() ? "" : " from " + source);

  if (*override_ || !item.meta.has("scene_id")) {
    std::string scene = subject;
    if (scene_re_) {
      std::smatch m;
      if (!std::regex_search(subject, m, *scene_re_) || m[1].length() == 0)
        throw InputError("tile.label: scene_regex '" + *scene_regex + "' does not match '" + subject + "' (the " +
                         *match + " of " + from + ") or its group 1 is empty: fix scene_regex or the match parameter");
      scene = m[1].str();
    }
    item.meta.set("scene_id", MetaValue{*scene_prefix + scene}, "scene (tile.label)");
  }

  if (*override_ || !item.meta.has("data_type")) {
    const bool clean = clean_re_ && std::regex_search(subject, *clean_re_);
    const bool noisy = noisy_re_ && std::regex_search(subject, *noisy_re_);
    std::string type;
    if (clean && noisy)
      throw InputError("tile.label: both clean_regex '" + *clean_regex + "' and noisy_regex '" + *noisy_regex +
                       "' match '" + subject + "' (" + from + "): make them exclusive");
    if (clean)
      type = "clean";
    else if (noisy)
      type = "noisy";
    else if (!data_type->empty())
      type = *data_type;
    else
      throw InputError("tile.label: cannot tell whether " + from + " is clean or noisy: '" + subject +
                       "' matches neither clean_regex ('" + *clean_regex + "') nor noisy_regex ('" + *noisy_regex +
                       "') and the data_type parameter is empty: set data_type or fix the regexes");
    item.meta.set("data_type", MetaValue{type}, "clean (reference) or noisy frame (tile.label)");
  }

  if (!domain->empty() && (*override_ || !item.meta.has(keys::domain))) item.meta.set(keys::domain, MetaValue{*domain});
  emit(std::move(item));
}

// ---- tile.split --------------------------------------------------------------------------------

void TileSplit::validate() const {
  const int sum = *train_percent + *validation_percent + *test_percent;
  if (sum != 100)
    throw ConfigError("test_percent", "train_percent + validation_percent + test_percent must be 100, got " +
                                          std::to_string(*train_percent) + " + " + std::to_string(*validation_percent) +
                                          " + " + std::to_string(*test_percent) + " = " + std::to_string(sum) +
                                          ": adjust them (default 70 / 15 / 15)");
  if (*split_policy == "noisy-train-clean-test" && *train_percent + *validation_percent == 0)
    throw ConfigError("train_percent", "split_policy noisy-train-clean-test sends noisy tiles to train and validation, "
                                       "but train_percent + validation_percent is 0");
}

void TileSplit::process(Item& item, Emit& emit) {
  const std::string scene = item.meta.get_string("scene_id").value_or("");
  const std::string type = item.meta.get_string("data_type").value_or("");
  if (scene.empty()) throw InputError("tile.split: item '" + item.id() + "' has an empty scene_id");
  if (type != "clean" && type != "noisy")
    throw InputError("tile.split: item '" + item.id() + "' has data_type '" + type +
                     "'; expected clean or noisy (set by tile.label or a facility's identify stage)");
  const std::int64_t gy = item.meta.get_int("grid_y").value_or(0), gx = item.meta.get_int("grid_x").value_or(0);
  const SplitPolicy policy = *split_policy == "by-scene" ? SplitPolicy::by_scene : SplitPolicy::noisy_train_clean_test;
  item.meta.set("pair_id", MetaValue{make_pair_id(scene, gy, gx)}, "shared by the clean and noisy tiles of a position");
  item.meta.set("split", assign_split(scene, type == "clean", policy, ratios()), "dataset split");
  item.meta.set("split_hash", split_bucket(scene), "big-endian uint32 of md5(scene_id)[0:4] mod 100");
  item.meta.set("split_policy", MetaValue{*split_policy});
  emit(std::move(item));
}

// ---- tile.write --------------------------------------------------------------------------------

// stdio buffer of a tile's file: one write() for a whole 256 x 256 tile (PNGs of up to 256 KiB)
// instead of one per 4 KiB.
constexpr std::size_t kFileBuffer = std::size_t{1} << 18;

struct TileWrite::State {
  std::mutex mutex;
  std::vector<std::unique_ptr<char[]>> buffers; // file buffers not in use (at most one per worker)
  png::WriteOptions png_options;
  fs::path root, json_target, summary_target;
  std::unique_ptr<AtomicFile> jsonl;
  TileSummary summary;
  // Fixed-size state per tile: a 128-bit hash of each tile id written (to refuse duplicates; see
  // tile_index.hpp about collisions), and one held unit token per run of tiles of the same work
  // unit (the tiles of a file arrive together), not one per tile.
  std::unordered_set<IdHash, IdHashHasher> ids;
  HeldUnits held;
  const detail::UnitToken* last_held = nullptr; // kept alive by `held`
};

namespace {

// The pair_id of a line of tiles_metadata.jsonl (written by tile_record().dump(): top-level keys,
// no spaces; a quote inside a string value is escaped, so the key cannot match inside a value).
// "" when it is null, as tile.write counts a tile without pair_id.
std::string pair_id_of_line(const std::string& line) {
  static constexpr std::string_view key = ",\"pair_id\":";
  const auto at = line.find(key);
  if (at == std::string::npos) return {};
  const std::size_t start = at + key.size();
  if (start >= line.size() || line[start] != '"') return {};
  std::size_t end = start + 1;
  while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
  if (end >= line.size()) throw Error("tile.write: unterminated pair_id in a line of tiles_metadata.jsonl");
  const std::string_view raw(line.data() + start, end + 1 - start);
  if (raw.find('\\') == std::string_view::npos) return std::string(raw.substr(1, raw.size() - 2));
  return nlohmann::json::parse(raw).get<std::string>();
}

} // namespace

TileWrite::TileWrite() : FileAggregator("png_tiles/{domain}/{data_type}/{tile_id}.png") {}
TileWrite::~TileWrite() = default;

void TileWrite::validate() const {
  FileAggregator::validate();
  if (*strategy != "default" && *encoder != "libpng")
    throw ConfigError("strategy", "strategy " + *strategy +
                                      " is a zlib setting of the libpng encoder, but encoder is " + *encoder +
                                      ": add encoder: libpng, or drop strategy (libdeflate at level 1 is "
                                      "faster than zlib's rle and huffman strategies)");
  check_name_pattern(*tile_id, "tile_id");
  const auto bad_name = [](const std::string& n) {
    const fs::path p(n);
    return n.empty() || p.is_absolute() || n.find("..") != std::string::npos;
  };
  if (bad_name(*metadata))
    throw ConfigError("metadata",
                      "metadata must be a relative base name such as tiles_metadata, got '" + *metadata + "'");
  if (bad_name(*summary_name) || summary_name->find('/') != std::string::npos)
    throw ConfigError("summary",
                      "summary must be a plain file name such as tiles_summary.json, got '" + *summary_name + "'");
}

void TileWrite::start() {
  state_ = std::make_unique<State>();
  state_->png_options = png::WriteOptions{*compression, png::filter_from_name(*filter),
                                          png::strategy_from_name(*strategy), png::encoder_from_name(*encoder)};
  state_->root = output_root();
  state_->jsonl = std::make_unique<AtomicFile>(state_->root / (*metadata + ".jsonl"));
  state_->json_target = state_->root / (*metadata + ".json");
  // artifacts/<summary> of the run (the fixed place), beside the per-stage directories.
  const fs::path stage_artifacts = ctx().artifacts_dir();
  state_->summary_target = stage_artifacts.parent_path() / *summary_name;
  std::error_code ec;
  fs::remove(stage_artifacts, ec); // only removes it when empty
}

// The mask as a PNG (255 where set) at <output root>/<mask name>/<the tile's relative path>.
// Returns the path and the number of set pixels.
std::pair<fs::path, std::int64_t> TileWrite::write_mask(const Item& item, const std::string& mask_name,
                                                        const fs::path& tile_png) const {
  const Array& mask = item.array(mask_name);
  if (mask.dtype() != DType::u8 || mask.ndim() != 2 || !mask.contiguous())
    throw InputError("tile.write: tile '" + item.id() + "' carries mask '" + mask_name + "' as " +
                     std::string(dtype_name(mask.dtype())) + " " + mask.shape().str() +
                     "; masks are contiguous u8 (H, W) (tile.grid's masks make them)");
  Array shown = Array::uninitialized(DType::u8, mask.shape());
  const auto* in = static_cast<const std::uint8_t*>(mask.raw());
  auto* out = static_cast<std::uint8_t*>(shown.raw());
  std::int64_t set = 0;
  const auto count = static_cast<std::size_t>(mask.shape().size());
  for (std::size_t i = 0; i < count; ++i) {
    const bool on = in[i] != 0;
    out[i] = on ? 255 : 0;
    set += on;
  }
  // A parallel tree under <output root>/<mask name>/ with the tile's own relative path, so a
  // loader that globs the tile folders never picks up a mask, and a mask pairs with its tile by name.
  const fs::path target = state_->root / mask_name / tile_png.lexically_relative(state_->root);
  fs::create_directories(target.parent_path());
  AtomicFile file(target);
  png::write_png(file.stream(), shown, state_->png_options, target.string());
  ctx().record_output(target, file.commit());
  return {target, set};
}

void TileWrite::process(Item& item, Emit&) {
  State& st = *state_;
  const Array& image = item.array("image");
  png::check_encodable(image, "tile.write: tile '" + item.id() + "'");
  std::string id = expand_name(*tile_id, item, ctx().stage_id());
  std::replace(id.begin(), id.end(), '/', '_');
  item.meta.set("tile_id", MetaValue{id}, "unique tile id (tile.write)");
  {
    std::lock_guard lock(st.mutex);
    if (!st.ids.insert(hash_id(id)).second)
      throw InputError("tile.write: tile id '" + id + "' of item '" + item.id() +
                       "' was already written in this run; make the tile_id template unique (it has " + *tile_id +
                       "; add {facility}, {stem} or {id})");
  }
  const auto get = [&](const char* key) { return item.meta.get_string(key).value_or(""); };
  const std::string domain = get("domain"), type = get("data_type"), split = get("split"), scene = get("scene_id"),
                    pair = get("pair_id"), policy = get("split_policy");

  const fs::path target = target_for(item);
  std::unique_ptr<char[]> buffer;
  {
    std::lock_guard lock(st.mutex);
    if (!st.buffers.empty()) {
      buffer = std::move(st.buffers.back());
      st.buffers.pop_back();
    }
  }
  if (!buffer) buffer = std::make_unique_for_overwrite<char[]>(kFileBuffer);
  std::uintmax_t bytes = 0;
  {
    AtomicFile file(target); // closed before `buffer` goes, whatever happens
    std::setvbuf(file.stream(), buffer.get(), _IOFBF, kFileBuffer);
    png::write_png(file.stream(), image, st.png_options, target.string());
    bytes = file.commit();
  }
  ctx().record_output(target, bytes);
  nlohmann::ordered_json mask_paths = nlohmann::ordered_json::object(), mask_pixels = nlohmann::ordered_json::object();
  for (const std::string& mask_name : *masks) {
    if (mask_name == "image" || !item.has(mask_name)) continue;
    const auto [path, set] = write_mask(item, mask_name, target);
    mask_paths[mask_name] = path.lexically_relative(st.root).generic_string();
    mask_pixels[mask_name] = set;
  }

  auto record =
      tile_record(item, id, target.lexically_relative(st.root).generic_string(), ctx().run_id(), utc_timestamp());
  if (!mask_paths.empty()) {
    record["mask_paths"] = std::move(mask_paths);
    record["mask_pixels"] = std::move(mask_pixels);
  }
  const std::string line = record.dump() + "\n";
  std::lock_guard lock(st.mutex);
  st.buffers.push_back(std::move(buffer));
  st.jsonl->write(line.data(), line.size());
  st.summary.add(domain, type, split, scene, pair, policy);
  if (item.unit_token() && item.unit_token().get() != st.last_held) {
    st.held.hold(item);
    st.last_held = item.unit_token().get();
  }
}

void TileWrite::finish(Emit&) {
  if (!state_ || !state_->jsonl) return;
  State& st = *state_;
  const auto release = st.held.release_at_exit();
  if (std::fflush(st.jsonl->stream()) != 0)
    throw Error("tile.write: cannot write " + st.jsonl->temp_path().string() + ": " + std::strerror(errno));

  const std::string created = utc_timestamp();
  nlohmann::ordered_json head;
  head["run_id"] = ctx().run_id();
  head["created"] = created;
  head["stage"] = ctx().stage_id();
  head["tile_count"] = st.summary.tiles();
  head["counts"] = st.summary.counts_json();
  std::string text = head.dump();
  text.pop_back(); // the closing brace: the records follow

  // tiles_metadata.json, streamed from the lines written so far.
  AtomicFile json(st.json_target);
  text += ",\"records\":[";
  json.write(text.data(), text.size());
  std::ifstream lines(st.jsonl->temp_path());
  if (!lines) throw Error("tile.write: cannot read back " + st.jsonl->temp_path().string());
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const char* sep = first ? "\n" : ",\n";
    json.write(sep, std::strlen(sep));
    json.write(line.data(), line.size());
    first = false;
    st.summary.name_pair(pair_id_of_line(line));
  }
  if (lines.bad()) throw Error("tile.write: reading back " + st.jsonl->temp_path().string() + " failed");
  json.write("\n]}\n", 4);

  const std::string summary_text = st.summary.to_json(ctx().run_id(), created).dump(2) + "\n";
  AtomicFile summary_file(st.summary_target);
  summary_file.write(summary_text.data(), summary_text.size());

  // Everything is complete: commit the three files.
  const fs::path jsonl_target = st.jsonl->target();
  ctx().record_output(jsonl_target, st.jsonl->commit());
  ctx().record_output(st.json_target, json.commit());
  ctx().record_output(st.summary_target, summary_file.commit());
  st.jsonl.reset();

  ctx().log(LogLevel::info, "tiles summary (" + st.summary_target.string() + "):\n" + st.summary.text());
  const auto leaked = st.summary.leaked_scenes();
  if (!leaked.empty()) {
    // Expected under noisy-train-clean-test (clean tiles go to test); a leak under by-scene.
    const bool by_scene = st.summary.policies().count("by-scene") > 0;
    ctx().log(by_scene ? LogLevel::warn : LogLevel::info,
              std::to_string(leaked.size()) + " scene(s) have tiles in more than one split (" + leaked.front() +
                  (leaked.size() > 1 ? ", ..." : "") +
                  (by_scene ? "): a leak, which split_policy by-scene should make impossible"
                            : "), as split_policy noisy-train-clean-test does by design"));
  }
  if (const auto misses = st.summary.clean_without_noisy(); misses > 0)
    ctx().log(LogLevel::warn, std::to_string(misses) + " pair id(s) have a clean tile but no noisy twin (listed in " +
                                  st.summary_target.string() + ")");
}

} // namespace lumen::tile

LUMEN_PLUGIN("tile", "1.0.0", "MIT", lumen::stage<lumen::tile::TileGrid>("tile.grid"),
             lumen::stage<lumen::tile::TileLabel>("tile.label"), lumen::stage<lumen::tile::TileSplit>("tile.split"),
             lumen::stage<lumen::tile::TileWrite>("tile.write"));
