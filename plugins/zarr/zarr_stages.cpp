// The `zarr` plugin set: stage implementations and the plugin entry point. What each stage does
// and its parameters are declared in zarr_stages.hpp; the store code is in zarr_io.cpp.
//
// Example pipeline (a synthetic sky as a compressed movie store):
//   stages:
//     - id: sky
//       use: synth.starfield
//       with: {count: 250, width: 256, height: 256}
//     - id: store
//       use: zarr.write
//       with: {value: sky, chunk_frames: 100}
#include "zarr_stages.hpp"

#include <blosc.h>
#include <cstdio>

namespace lumen::zarr {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

// ---- meta <-> .zattrs ----------------------------------------------------------------------------

json meta_to_attrs(const Meta& meta) {
  json out = json::object();
  for (const MetaEntry& e : meta.entries()) std::visit([&](const auto& v) { out[e.key] = v; }, e.value);
  return out;
}

Meta attrs_to_meta(const std::string& text, const std::string& what) {
  Meta meta;
  if (text.empty()) return meta;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(what + ": not valid JSON (" + e.what() + ")");
  }
  if (!doc.is_object()) throw InputError(what + ": expected a JSON object, found " + std::string(doc.type_name()));
  for (const auto& [k, v] : doc.items()) {
    if (v.is_boolean()) {
      meta.set(k, MetaValue{v.get<bool>()});
    } else if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<std::uint64_t>() > INT64_MAX)) {
      meta.set(k, MetaValue{v.get<std::int64_t>()});
    } else if (v.is_number()) {
      meta.set(k, MetaValue{v.get<double>()});
    } else if (v.is_string()) {
      meta.set(k, MetaValue{v.get<std::string>()});
    } else if (v.is_array() && !v.empty() &&
               std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); })) {
      std::vector<double> list;
      for (const auto& x : v) list.push_back(x.get<double>());
      meta.set(k, MetaValue{std::move(list)});
    } else {
      meta.set(k, MetaValue{v.dump()});
    }
  }
  return meta;
}

namespace {

// One path level of the store address: a plain name.
void check_segment(const std::string& v, const char* param) {
  if (v.empty()) throw ConfigError(param, std::string("`") + param + "` must not be empty");
  if (v.find('/') != std::string::npos || v.find('\\') != std::string::npos)
    throw ConfigError(param, std::string("`") + param + "` is one directory level; it must not contain '/' (got \"" +
                                 v + "\")");
  if (v == "." || v == "..")
    throw ConfigError(param, std::string("`") + param + "` must not be \"" + v + "\" (it would leave the table)");
}

std::string frames_text(std::int64_t b, std::int64_t e) {
  return "[" + std::to_string(b) + ", " + std::to_string(e) + ")";
}

} // namespace

// ---- zarr.write ----------------------------------------------------------------------------------

void ZarrWrite::validate() const {
  check_segment(*schema, "schema");
  check_segment(*table, "table");
  check_segment(*key, "key");
  check_segment(*field, "field");
  if (key->find('=') != std::string::npos)
    throw ConfigError("key", "`key` must not contain '=' (the directory is <key>=<value>); got \"" + *key + "\"");
  if (value->empty()) throw ConfigError("value", "`value` must not be empty; e.g. \"{stem}\"");
  if (value->find('/') != std::string::npos)
    throw ConfigError("value", "`value` is one directory level; it must not contain '/' (got \"" + *value + "\")");
  if (*value == "." || *value == "..") throw ConfigError("value", "`value` must not be \"" + *value + "\"");
  check_name_pattern(*value, "value");
  if (*compressor == "blosc" && blosc_compname_to_compcode(cname->c_str()) < 0)
    throw ConfigError("cname", "Blosc codec '" + *cname + "' is not built into this libblosc (" +
                                   blosc_list_compressors() + " are)");
}

fs::path ZarrWrite::table_dir() const {
  return output_directory(ctx(), *root) / *schema / *table;
}

WriteOptions ZarrWrite::options() const {
  WriteOptions o;
  o.zarr_format = *zarr_format;
  o.chunk_frames = *chunk_frames;
  o.chunk_rows = *chunk_rows;
  o.chunk_cols = *chunk_cols;
  o.compressor = *compressor == "none" ? Compressor::none : Compressor::blosc;
  o.blosc.cname = *cname;
  o.blosc.clevel = *clevel;
  o.blosc.shuffle = *shuffle == "bit" ? 2 : *shuffle == "byte" ? 1 : 0;
  o.blosc.blocksize = *blocksize;
  return o;
}

void ZarrWrite::start() {
  pool_ = std::make_unique<ThreadPool>(std::max(1, *threads > 0 ? *threads : ctx().threads()));
  // Stores a killed run was building: .<field>.zarr.<pid>-<n>.lumen-tmp beside their targets.
  std::error_code ec;
  const fs::path dir = table_dir();
  std::size_t removed = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->is_directory()) removed += remove_stale_temp_stores(it->path());
  if (removed)
    ctx().log(LogLevel::info,
              "removed " + std::to_string(removed) + " unfinished store(s) of an earlier run under " + dir.string());
}

void ZarrWrite::process(Item& item, Emit& emit) {
  const std::int64_t fi = item.meta.get_int("file_index").value_or(0);
  if (movie_ && movie_->file_index != fi) finalize(emit);
  if (!movie_) {
    movie_.emplace();
    movie_->file_index = fi;
    movie_->first_id = item.id();
    movie_->source_file = item.provenance.source_file;
  }
  Movie& m = *movie_;
  m.units.hold(item);
  if (!m.broken.empty())
    throw InputError("item '" + item.id() + "': the store of movie '" + m.first_id + "' (file_index " +
                     std::to_string(m.file_index) + ") was abandoned at frame " + std::to_string(m.broken_at) + " (" +
                     m.broken + "); no store is written for it");
  try {
    add(m, item);
  } catch (const std::exception& e) {
    m.broken = e.what();
    m.broken_at = m.frames;
    m.writer.reset(); // removes the temporary store
    throw;
  }
}

void ZarrWrite::add(Movie& m, Item& item) {
  const Array& data = item.array("image");
  const std::string who = "item '" + item.id() + "'";
  if (data.ndim() != 2 && data.ndim() != 3)
    throw InputError(who + ": zarr.write takes (H, W) frames or (n, H, W) blocks; \"image\" is " +
                     std::string(dtype_name(data.dtype())) + " " + data.shape().str());
  Array block = data.ndim() == 2 ? data.contiguous_copy().reshape(Shape{1, data.dim(0), data.dim(1)}) : data;
  const std::int64_t index = item.meta.get_int("index").value_or(m.frames);
  if (!m.writer) { // the movie's first item
    if (index != 0)
      throw InputError(who + ": expected frame 0 (the first frame of movie file_index " + std::to_string(m.file_index) +
                       ") but the item starts at index " + std::to_string(index) +
                       "; a store holds a whole movie from frame 0");
    m.value = expand_name(*value, item, ctx().stage_id());
    if (m.value.find('/') != std::string::npos || m.value == "." || m.value == "..")
      throw InputError(who + ": `value` \"" + *value + "\" expands to \"" + m.value +
                       "\", which is not one directory name");
    m.target = table_dir() / (*key + "=" + m.value) / (*field + ".zarr");
    if (const auto it = written_.find(m.target); it != written_.end())
      throw InputError(who + ": movie file_index " + std::to_string(m.file_index) + " would replace the store " +
                       m.target.string() + " that movie '" + it->second + "' wrote in this run (`value` \"" + *value +
                       "\" gives \"" + m.value + "\" for both): make `value` unique, e.g. \"{stem}_{file_index}\"");
    m.dtype = block.dtype();
    m.height = block.dim(1);
    m.width = block.dim(2);
    m.attrs = meta_to_attrs(item.meta);
    m.attrs.erase("index");
    m.attrs.erase("file_index");
    m.writer =
        std::make_unique<StoreWriter>(m.target, m.dtype, m.height, m.width, options(), pool_.get(), m.target.string());
  } else {
    if (block.dtype() != m.dtype || block.dim(1) != m.height || block.dim(2) != m.width)
      throw InputError(who + ": frames are " + std::string(dtype_name(block.dtype())) + " (" +
                       std::to_string(block.dim(1)) + ", " + std::to_string(block.dim(2)) + ") but movie '" +
                       m.first_id + "' started with " + std::string(dtype_name(m.dtype)) + " (" +
                       std::to_string(m.height) + ", " + std::to_string(m.width) + ") frames");
    if (index != m.frames)
      throw InputError(who + ": expected frame " + std::to_string(m.frames) + " of movie '" + m.first_id +
                       "' but the item starts at index " + std::to_string(index) +
                       (index > m.frames ? " (frames are missing: an earlier item failed or was filtered out)"
                                         : " (a repeated frame)"));
  }
  m.writer->append(block);
  m.frames += block.dim(0);
}

void ZarrWrite::finalize(Emit& emit) {
  Movie m = std::move(*movie_);
  movie_.reset();
  // The movie's units count as done only now, whatever happens below.
  const auto release = m.units.release_at_exit();
  if (!m.broken.empty() || !m.writer) {
    ctx().log(LogLevel::warn, "movie '" + m.first_id + "' (file_index " + std::to_string(m.file_index) +
                                  "): no store written, abandoned at frame " + std::to_string(m.broken_at) + ": " +
                                  m.broken);
    return;
  }
  m.attrs["lumen"] = {{"version", LUMEN_VERSION},
                      {"run_id", ctx().run_id()},
                      {"stage", ctx().stage_id()},
                      {"source_file", m.source_file},
                      {"frames", m.frames}};
  const WriteStats s = m.writer->commit(m.attrs.dump(2) + "\n");
  m.writer.reset();
  written_.emplace(m.target, m.first_id);
  Item out(m.value);
  out.provenance.source_file = m.source_file;
  out.provenance.parent_id = m.first_id;
  out.meta.set("file_index", m.file_index, "the movie's file_index");
  record_output_file(ctx(), out, m.target, s.bytes_stored, "zarr_path");
  out.meta.set("zarr_frames", s.frames, "frames in the store");
  out.meta.set("zarr_bytes_in", static_cast<std::int64_t>(s.bytes_in), "raw frame bytes written", "B");
  out.meta.set("zarr_bytes_stored", static_cast<std::int64_t>(s.bytes_stored), "bytes on disk (chunks + metadata)",
               "B");
  const double ratio = s.bytes_stored ? static_cast<double>(s.bytes_in) / static_cast<double>(s.bytes_stored) : 0.0;
  out.meta.set("zarr_ratio", MetaValue{ratio}, "compression ratio, raw / stored");
  char line[160];
  std::snprintf(line, sizeof line, " (%lld frames, %.1f MB -> %.1f MB, ratio %.2f)", static_cast<long long>(s.frames),
                static_cast<double>(s.bytes_in) / 1e6, static_cast<double>(s.bytes_stored) / 1e6, ratio);
  ctx().log(LogLevel::info, "wrote " + m.target.string() + line);
  emit(std::move(out));
}

void ZarrWrite::finish(Emit& emit) {
  if (movie_) finalize(emit);
}

// ---- zarr.read -----------------------------------------------------------------------------------

void ZarrRead::validate() const {
  if (path->empty()) throw ConfigError("path", "give a .zarr store, a directory holding stores, or a glob");
  const std::string problem = check_input_spec(*path);
  if (!problem.empty()) throw ConfigError("path", problem);
  if (frames->size() == 1)
    throw ConfigError("frames", "give a range [begin, end), e.g. [0, 100], or leave it empty for all frames");
  if (frames->size() == 2 && (*frames)[1] <= (*frames)[0])
    throw ConfigError("frames", "the range " + frames_text((*frames)[0], (*frames)[1]) +
                                    " is empty: end must be greater than begin");
}

void ZarrRead::start() {
  threads_ = std::max(1, *threads > 0 ? *threads : ctx().threads());
  if (threads_ > 1) pool_ = std::make_unique<ThreadPool>(threads_);
}

std::string ZarrRead::store_name(const fs::path& store) {
  const fs::path s = store.filename().empty() ? store.parent_path() : store;
  const std::string parent = s.parent_path().filename().string();
  const auto eq = parent.find('=');
  if (s.extension() == ".zarr" && eq != std::string::npos && eq > 0 && eq + 1 < parent.size())
    return parent.substr(eq + 1);
  return s.extension() == ".zarr" ? s.stem().string() : s.filename().string();
}

std::vector<WorkUnit> ZarrRead::plan() {
  const auto stores = find_stores(*path);
  const bool ranged = frames->size() == 2;
  std::vector<WorkUnit> units;
  for (std::size_t i = 0; i < stores.size(); ++i) {
    const fs::path& store = stores[i];
    const auto file_index = static_cast<std::int64_t>(i);
    const std::string name = store_name(store);
    std::error_code ec;
    // What makes the store this store: its metadata files (rewritten whenever the store is).
    std::string identity;
    for (const char* f : {".zarray", ".zattrs", "zarr.json"})
      if (fs::exists(store / f, ec)) identity += (identity.empty() ? "" : "|") + file_identity(store / f);
    const auto unit = [&](std::int64_t b, std::int64_t e) {
      WorkUnit u;
      const std::string range = "[" + std::to_string(b) + ":" + std::to_string(e) + "]";
      u.id = name + range;
      u.identity = identity + range + "|fpi=" + std::to_string(*frames_per_item);
      u.source_file = store.string();
      u.file_index = file_index;
      u.begin = b;
      u.end = e;
      return u;
    };
    std::optional<StoreReader> reader;
    try {
      reader.emplace(store);
    } catch (const InputError&) {
      units.push_back(unit(0, 0)); // its read fails with the reason; other stores go on
      continue;
    }
    const ArrayMeta& m = reader->meta();
    const std::int64_t n = m.shape[0];
    if (ranged && (*frames)[1] > n)
      throw InputError("frames " + frames_text((*frames)[0], (*frames)[1]) + " is outside store " + store.string() +
                       ", which holds " + std::to_string(n) + " frames (shape " +
                       [&] {
                         std::string s;
                         for (auto d : m.shape) s += (s.empty() ? "" : ", ") + std::to_string(d);
                         return "[" + s + "]";
                       }() +
                       "): set frames within [0, " + std::to_string(n) + "]");
    const std::int64_t b0 = ranged ? (*frames)[0] : 0, e0 = ranged ? (*frames)[1] : n;
    if (*frames_per_item > 0) {
      for (std::int64_t b = b0; b < e0; b += *frames_per_item)
        units.push_back(unit(b, std::min(e0, b + *frames_per_item)));
    } else {
      const std::int64_t c = m.chunks[0];
      for (std::int64_t b = b0; b < e0;) {
        const std::int64_t e = std::min(e0, (b / c + 1) * c); // cut at chunk boundaries
        units.push_back(unit(b, e));
        b = e;
      }
    }
  }
  return units;
}

void ZarrRead::read(const WorkUnit& unit, Emit& emit) {
  const StoreReader reader{fs::path(unit.source_file)};
  const ArrayMeta& m = reader.meta();
  if (unit.end <= unit.begin) return; // an empty store has no frames
  Array data = reader.read(unit.begin, unit.end, pool_.get(), threads_);
  if (*frames_per_item == 1 && m.ndim() >= 2) {
    Shape s;
    s.ndim = m.ndim() - 1;
    for (int k = 1; k < m.ndim(); ++k) s.dims[k - 1] = m.shape[k];
    data = data.reshape(s);
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "/%04lld", static_cast<long long>(unit.begin));
  Item item(store_name(unit.source_file) + suffix);
  item.provenance.source_file = unit.source_file;
  item.meta = attrs_to_meta(reader.attrs_json(), (fs::path(unit.source_file) / ".zattrs").string());
  item.meta.set("index", unit.begin, "first frame of the item in the store");
  item.meta.set("file_index", unit.file_index, "position of the store in the input list");
  item.meta.set("zarr_path", unit.source_file, "store read");
  std::vector<double> shape(m.shape.begin(), m.shape.end());
  item.meta.set("zarr_shape", MetaValue{std::move(shape)}, "shape of the whole store");
  item.set("image", std::move(data));
  emit(std::move(item));
}

} // namespace lumen::zarr

LUMEN_PLUGIN("zarr", "1.0.0", "MIT", lumen::stage<lumen::zarr::ZarrWrite>("zarr.write"),
             lumen::stage<lumen::zarr::ZarrRead>("zarr.read"));
