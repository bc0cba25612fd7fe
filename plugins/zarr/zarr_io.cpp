// Zarr v2 stores: metadata, chunk codecs, the chunked writer and the lazy reader (see zarr_io.hpp).
#include "zarr_io.hpp"

#include "lumen/atomic_file.hpp"
#include "lumen/error.hpp"
#include "lumen/input_paths.hpp"

#include <algorithm>
#include <blosc.h>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

namespace lumen::zarr {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Chunks are handed to Blosc whole; its buffers are limited to 2 GiB.
constexpr std::uint64_t kMaxChunkBytes = std::uint64_t{BLOSC_MAX_BUFFERSIZE};

std::string errno_text() {
  return std::strerror(errno);
}

// Writes a whole file (not atomically: the store directory as a whole is renamed into place).
void write_whole(const fs::path& file, const void* data, std::size_t n) {
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (!f) throw Error("cannot create " + file.string() + ": " + errno_text());
  const bool ok = n == 0 || std::fwrite(data, 1, n, f) == n;
  const int saved = errno;
  if (std::fclose(f) != 0 || !ok) {
    errno = ok ? errno : saved;
    throw Error("cannot write " + file.string() + ": " + errno_text());
  }
}

// Reads a whole file; false when it does not exist (a missing chunk reads as fill_value).
bool read_whole(const fs::path& file, Bytes& out, const std::string& what) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    throw InputError(what + ": cannot open: " + errno_text());
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError(what + ": cannot stat: " + errno_text());
  if (S_ISDIR(st.st_mode)) throw InputError(what + ": is a directory, expected a chunk file");
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw InputError(what + ": read failed: " + errno_text());
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  out.resize(done);
  return true;
}

std::string read_text(const fs::path& file, const std::string& what) {
  Bytes bytes;
  if (!read_whole(file, bytes, what)) throw InputError(what + ": no such file");
  return {bytes.begin(), bytes.end()};
}

// Copies the box `count` from `src` (dims src_dims, starting at src_start) to `dst` (dims
// dst_dims, at dst_start); C order, `es`-byte elements. Runs along the last axis are memcpy'd.
void copy_box(const unsigned char* src, const std::vector<std::int64_t>& src_dims,
              const std::vector<std::int64_t>& src_start, unsigned char* dst, const std::vector<std::int64_t>& dst_dims,
              const std::vector<std::int64_t>& dst_start, const std::vector<std::int64_t>& count, std::size_t es) {
  const int nd = static_cast<int>(count.size());
  for (auto c : count)
    if (c <= 0) return;
  std::vector<std::int64_t> ss(nd), ds(nd);
  ss[nd - 1] = ds[nd - 1] = 1;
  for (int k = nd - 2; k >= 0; --k) {
    ss[k] = ss[k + 1] * src_dims[k + 1];
    ds[k] = ds[k + 1] * dst_dims[k + 1];
  }
  const std::size_t run = static_cast<std::size_t>(count[nd - 1]) * es;
  std::vector<std::int64_t> i(nd, 0);
  for (;;) {
    std::int64_t so = src_start[nd - 1], dof = dst_start[nd - 1];
    for (int k = 0; k < nd - 1; ++k) {
      so += (src_start[k] + i[k]) * ss[k];
      dof += (dst_start[k] + i[k]) * ds[k];
    }
    std::memcpy(dst + dof * static_cast<std::int64_t>(es), src + so * static_cast<std::int64_t>(es), run);
    int k = nd - 2;
    for (; k >= 0; --k) {
      if (++i[k] < count[k]) break;
      i[k] = 0;
    }
    if (k < 0) break;
  }
}

template <typename T> void fill_as(void* dst, std::size_t n, double v) {
  const T x = static_cast<T>(v);
  std::fill_n(static_cast<T*>(dst), n, x);
}

void fill_value_into(void* dst, std::size_t n, DType t, double v) {
  if (v == 0) {
    std::memset(dst, 0, n * dtype_size(t));
    return;
  }
  visit_dtype(t, [&]<typename T>(T) { fill_as<T>(dst, n, v); });
}

void byteswap(void* data, std::size_t n, std::size_t es) {
  auto* p = static_cast<unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i, p += es) std::reverse(p, p + es);
}

std::string shape_text(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Parses "<u2" and friends.
void parse_dtype(const std::string& text, ArrayMeta& m, const std::string& what) {
  const std::string supported = "|u1 <u2 <i2 <u4 <i4 <f4 <f8 (or big-endian >u2 ...)";
  if (text.size() != 3 || (text[0] != '<' && text[0] != '>' && text[0] != '|'))
    throw InputError(what + ": key 'dtype' is \"" + text + "\"; supported: " + supported);
  const std::string code = text.substr(1);
  if (code == "u1")
    m.dtype = DType::u8;
  else if (code == "u2")
    m.dtype = DType::u16;
  else if (code == "i2")
    m.dtype = DType::i16;
  else if (code == "u4")
    m.dtype = DType::u32;
  else if (code == "i4")
    m.dtype = DType::i32;
  else if (code == "f4")
    m.dtype = DType::f32;
  else if (code == "f8")
    m.dtype = DType::f64;
  else
    throw InputError(what + ": key 'dtype' is \"" + text +
                     "\", which Lumen arrays cannot hold; supported: " + supported);
  m.big_endian = text[0] == '>' && code != "u1";
  m.dtype_text = text;
}

std::vector<std::int64_t> int_list(const json& doc, const char* key, bool positive, const std::string& what) {
  const auto it = doc.find(key);
  if (it == doc.end()) throw InputError(what + ": key '" + std::string(key) + "' is missing");
  const std::string want = std::string("a list of 1 to ") + std::to_string(kMaxDims) +
                           (positive ? " positive" : " non-negative") + " integers";
  if (!it->is_array() || it->empty() || it->size() > static_cast<std::size_t>(kMaxDims))
    throw InputError(what + ": key '" + std::string(key) + "' must be " + want + ", found " + it->dump());
  std::vector<std::int64_t> v;
  for (const auto& e : *it) {
    if (!e.is_number_integer() || e.get<std::int64_t>() < (positive ? 1 : 0))
      throw InputError(what + ": key '" + std::string(key) + "' must be " + want + ", found " + it->dump());
    v.push_back(e.get<std::int64_t>());
  }
  return v;
}

// A fill value must be representable in the dtype (an integer in range for integer dtypes).
void check_fill(const ArrayMeta& m, const std::string& what, const std::string& key) {
  if (m.dtype == DType::f32 || m.dtype == DType::f64 || std::isnan(m.fill_value)) return;
  double lo = 0, hi = 0;
  switch (m.dtype) {
  case DType::u8:
    hi = 255;
    break;
  case DType::u16:
    hi = 65535;
    break;
  case DType::i16:
    lo = -32768, hi = 32767;
    break;
  case DType::u32:
    hi = 4294967295.0;
    break;
  case DType::i32:
    lo = -2147483648.0, hi = 2147483647.0;
    break;
  default:
    break;
  }
  if (m.fill_value != std::floor(m.fill_value) || m.fill_value < lo || m.fill_value > hi)
    throw InputError(what + ": key '" + key + "' is " + std::to_string(m.fill_value) + ", which " + m.dtype_text +
                     " cannot hold");
}
} // namespace

// ---- metadata ------------------------------------------------------------------------------------

std::int64_t ArrayMeta::chunk_elements() const noexcept {
  std::int64_t n = 1;
  for (auto c : chunks) n *= c;
  return n;
}

std::size_t ArrayMeta::chunk_bytes() const noexcept {
  return static_cast<std::size_t>(chunk_elements()) * dtype_size(dtype);
}

std::int64_t ArrayMeta::grid(int axis) const noexcept {
  return (shape[axis] + chunks[axis] - 1) / chunks[axis];
}

std::string ArrayMeta::chunk_key(const std::vector<std::int64_t>& idx) const {
  std::string key = key_prefix;
  for (std::size_t i = 0; i < idx.size(); ++i) {
    if (i) key += separator;
    key += std::to_string(idx[i]);
  }
  return key;
}

std::string dtype_code(DType t) {
  switch (t) {
  case DType::u8:
    return "|u1";
  case DType::u16:
    return "<u2";
  case DType::i16:
    return "<i2";
  case DType::u32:
    return "<u4";
  case DType::i32:
    return "<i4";
  case DType::f32:
    return "<f4";
  case DType::f64:
    return "<f8";
  }
  return "|u1";
}

static ArrayMeta parse_zarray_fields(std::string_view text, const std::string& what) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(what + ": not valid JSON (" + e.what() + ")");
  }
  if (!doc.is_object()) throw InputError(what + ": expected a JSON object, found " + std::string(doc.type_name()));
  ArrayMeta m;
  const auto fmt = doc.find("zarr_format");
  if (fmt == doc.end()) throw InputError(what + ": key 'zarr_format' is missing");
  if (!fmt->is_number_integer() || fmt->get<std::int64_t>() != 2)
    throw InputError(what + ": key 'zarr_format' is " + fmt->dump() + "; only Zarr v2 stores (zarr_format 2) are read");
  m.shape = int_list(doc, "shape", false, what);
  m.chunks = int_list(doc, "chunks", true, what);
  if (m.chunks.size() != m.shape.size())
    throw InputError(what + ": key 'chunks' " + shape_text(m.chunks) + " has " + std::to_string(m.chunks.size()) +
                     " dims but 'shape' " + shape_text(m.shape) + " has " + std::to_string(m.shape.size()));
  const auto dt = doc.find("dtype");
  if (dt == doc.end()) throw InputError(what + ": key 'dtype' is missing");
  if (!dt->is_string())
    throw InputError(what + ": key 'dtype' is " + dt->dump() + "; structured dtypes are not supported");
  parse_dtype(dt->get<std::string>(), m, what);

  // Sizes in checked arithmetic: no product may overflow, a chunk must fit Blosc's limit.
  std::uint64_t bytes = dtype_size(m.dtype);
  for (auto c : m.chunks)
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(c), &bytes) || bytes > kMaxChunkBytes)
      throw InputError(what + ": key 'chunks' " + shape_text(m.chunks) + " makes chunks larger than 2 GiB");
  std::uint64_t total = dtype_size(m.dtype);
  for (auto s : m.shape)
    if (__builtin_mul_overflow(total, static_cast<std::uint64_t>(s), &total) ||
        total > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw InputError(what + ": key 'shape' " + shape_text(m.shape) + " is too large");

  const auto comp = doc.find("compressor");
  if (comp == doc.end()) throw InputError(what + ": key 'compressor' is missing (null for raw chunks)");
  if (comp->is_null()) {
    m.compressor = Compressor::none;
  } else {
    if (!comp->is_object() || !comp->contains("id") || !(*comp)["id"].is_string())
      throw InputError(what + ": key 'compressor' must be null or an object with an \"id\", found " + comp->dump());
    const std::string id = (*comp)["id"].get<std::string>();
    if (id == "blosc") {
      m.compressor = Compressor::blosc;
      if (comp->contains("cname") && (*comp)["cname"].is_string()) m.blosc.cname = (*comp)["cname"];
      if (comp->contains("clevel") && (*comp)["clevel"].is_number_integer()) m.blosc.clevel = (*comp)["clevel"];
      if (comp->contains("shuffle") && (*comp)["shuffle"].is_number_integer()) m.blosc.shuffle = (*comp)["shuffle"];
      if (comp->contains("blocksize") && (*comp)["blocksize"].is_number_integer())
        m.blosc.blocksize = (*comp)["blocksize"];
    } else if (id == "zstd") {
      m.compressor = Compressor::zstd;
      if (comp->contains("level") && (*comp)["level"].is_number_integer()) m.zstd_level = (*comp)["level"];
    } else {
      throw InputError(what + ": key 'compressor': codec \"" + id +
                       "\" is not supported (Lumen reads blosc, zstd or null)");
    }
  }

  const auto fill = doc.find("fill_value");
  if (fill != doc.end() && !fill->is_null()) {
    const bool is_float = m.dtype == DType::f32 || m.dtype == DType::f64;
    if (fill->is_number()) {
      m.fill_value = fill->get<double>();
    } else if (fill->is_string() && is_float && *fill == "NaN") {
      m.fill_value = std::numeric_limits<double>::quiet_NaN();
    } else if (fill->is_string() && is_float && *fill == "Infinity") {
      m.fill_value = std::numeric_limits<double>::infinity();
    } else if (fill->is_string() && is_float && *fill == "-Infinity") {
      m.fill_value = -std::numeric_limits<double>::infinity();
    } else {
      throw InputError(what + ": key 'fill_value' is " + fill->dump() + "; expected a number or null");
    }
  }
  check_fill(m, what, "fill_value");

  const auto order = doc.find("order");
  if (order != doc.end()) {
    if (*order == "F")
      throw InputError(what + ": key 'order' is \"F\": Fortran-order stores are not supported (rewrite with order "
                              "\"C\")");
    if (*order != "C") throw InputError(what + ": key 'order' is " + order->dump() + "; expected \"C\"");
  }

  const auto filters = doc.find("filters");
  if (filters != doc.end() && !filters->is_null() && !(filters->is_array() && filters->empty())) {
    std::string ids;
    if (filters->is_array())
      for (const auto& f : *filters)
        ids += (ids.empty() ? "" : ", ") + (f.is_object() && f.contains("id") ? f["id"].dump() : f.dump());
    else
      ids = filters->dump();
    throw InputError(what + ": key 'filters' lists " + ids +
                     "; filters are not supported (Lumen reads stores with filters null)");
  }

  const auto sep = doc.find("dimension_separator");
  if (sep != doc.end() && !sep->is_null()) {
    if (*sep == ".")
      m.separator = '.';
    else if (*sep == "/")
      m.separator = '/';
    else
      throw InputError(what + ": key 'dimension_separator' is " + sep->dump() + "; expected \".\" or \"/\"");
  }
  return m;
}

std::string zarray_json(const ArrayMeta& m) {
  json doc = json::object();
  doc["zarr_format"] = 2;
  doc["shape"] = m.shape;
  doc["chunks"] = m.chunks;
  doc["dtype"] = dtype_code(m.dtype);
  if (m.compressor == Compressor::blosc)
    doc["compressor"] = {{"id", "blosc"},
                         {"cname", m.blosc.cname},
                         {"clevel", m.blosc.clevel},
                         {"shuffle", m.blosc.shuffle},
                         {"blocksize", m.blosc.blocksize}};
  else if (m.compressor == Compressor::zstd)
    doc["compressor"] = {{"id", "zstd"}, {"level", m.zstd_level}};
  else
    doc["compressor"] = nullptr;
  if (m.dtype == DType::f32 || m.dtype == DType::f64)
    doc["fill_value"] = 0.0;
  else
    doc["fill_value"] = 0;
  doc["order"] = "C";
  doc["filters"] = nullptr;
  doc["dimension_separator"] = std::string(1, m.separator);
  return doc.dump(4) + "\n";
}

// ---- Zarr v3 ---------------------------------------------------------------------------------------

namespace {

const char* v3_type_name(DType t) {
  switch (t) {
  case DType::u8:
    return "uint8";
  case DType::u16:
    return "uint16";
  case DType::i16:
    return "int16";
  case DType::u32:
    return "uint32";
  case DType::i32:
    return "int32";
  case DType::f32:
    return "float32";
  case DType::f64:
    return "float64";
  }
  return "uint8";
}

// A codec entry: {"name": ..., "configuration": {...}} or a bare name.
std::pair<std::string, json> codec_entry(const json& c, const std::string& what) {
  if (c.is_string()) return {c.get<std::string>(), json::object()};
  if (!c.is_object() || !c.contains("name") || !c["name"].is_string())
    throw InputError(what + ": key 'codecs' holds " + c.dump() +
                     "; expected {\"name\": ..., \"configuration\": {...}}");
  json conf = c.contains("configuration") ? c["configuration"] : json::object();
  if (!conf.is_object()) throw InputError(what + ": key 'codecs': configuration of " + c.dump() + " is not an object");
  return {c["name"].get<std::string>(), conf};
}

} // namespace

static ArrayMeta parse_zarr_json_fields(std::string_view text, const std::string& what, std::string* attributes) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(what + ": not valid JSON (" + e.what() + ")");
  }
  if (!doc.is_object()) throw InputError(what + ": expected a JSON object, found " + std::string(doc.type_name()));
  ArrayMeta m;
  m.zarr_format = 3;
  const auto fmt = doc.find("zarr_format");
  if (fmt == doc.end()) throw InputError(what + ": key 'zarr_format' is missing");
  if (!fmt->is_number_integer() || fmt->get<std::int64_t>() != 3)
    throw InputError(what + ": key 'zarr_format' is " + fmt->dump() + "; a zarr.json here must say 3");
  const auto node = doc.find("node_type");
  if (node == doc.end() || *node != "array")
    throw InputError(what + ": key 'node_type' is " + (node == doc.end() ? std::string("missing") : node->dump()) +
                     "; zarr.read reads arrays (a group's arrays are its sub-directories)");
  m.shape = int_list(doc, "shape", false, what);

  const auto dt = doc.find("data_type");
  if (dt == doc.end()) throw InputError(what + ": key 'data_type' is missing");
  const std::string type = dt->is_string() ? dt->get<std::string>() : dt->dump();
  bool known = false;
  for (DType t : {DType::u8, DType::u16, DType::i16, DType::u32, DType::i32, DType::f32, DType::f64})
    if (type == v3_type_name(t)) {
      m.dtype = t;
      known = true;
    }
  if (!known)
    throw InputError(what + ": key 'data_type' is \"" + type +
                     "\", which Lumen arrays cannot hold; supported: uint8 uint16 int16 uint32 int32 float32 float64");
  m.dtype_text = type;

  const auto grid = doc.find("chunk_grid");
  if (grid == doc.end() || !grid->is_object() || grid->value("name", "") != "regular" ||
      !grid->contains("configuration") || !(*grid)["configuration"].is_object())
    throw InputError(what +
                     ": key 'chunk_grid' must be {\"name\": \"regular\", \"configuration\": {\"chunk_shape\": "
                     "[...]}}, found " +
                     (grid == doc.end() ? std::string("nothing") : grid->dump()));
  try {
    m.chunks = int_list((*grid)["configuration"], "chunk_shape", true, what);
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()).replace(0, what.size(), what + ": key 'chunk_grid'"));
  }
  if (m.chunks.size() != m.shape.size())
    throw InputError(what + ": key 'chunk_grid': chunk_shape " + shape_text(m.chunks) + " has " +
                     std::to_string(m.chunks.size()) + " dims but 'shape' " + shape_text(m.shape) + " has " +
                     std::to_string(m.shape.size()));
  std::uint64_t bytes = dtype_size(m.dtype);
  for (auto c : m.chunks)
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(c), &bytes) || bytes > kMaxChunkBytes)
      throw InputError(what + ": key 'chunk_grid': chunk_shape " + shape_text(m.chunks) +
                       " makes chunks larger than 2 GiB");

  m.separator = '/';
  m.key_prefix = "c/";
  const auto enc = doc.find("chunk_key_encoding");
  if (enc != doc.end()) {
    const auto [name, conf] = codec_entry(*enc, what + " (chunk_key_encoding)");
    if (name != "default" && name != "v2")
      throw InputError(what + ": key 'chunk_key_encoding' is \"" + name + "\"; expected default or v2");
    m.separator = name == "default" ? '/' : '.';
    if (conf.contains("separator")) {
      if (conf["separator"] == "/")
        m.separator = '/';
      else if (conf["separator"] == ".")
        m.separator = '.';
      else
        throw InputError(what + ": key 'chunk_key_encoding': separator " + conf["separator"].dump() +
                         "; expected \"/\" or \".\"");
    }
    m.key_prefix = name == "default" ? std::string("c") + m.separator : std::string();
  }

  const auto fill = doc.find("fill_value");
  if (fill == doc.end()) throw InputError(what + ": key 'fill_value' is missing");
  const bool is_float = m.dtype == DType::f32 || m.dtype == DType::f64;
  if (fill->is_number() && !fill->is_boolean())
    m.fill_value = fill->get<double>();
  else if (is_float && *fill == "NaN")
    m.fill_value = std::numeric_limits<double>::quiet_NaN();
  else if (is_float && *fill == "Infinity")
    m.fill_value = std::numeric_limits<double>::infinity();
  else if (is_float && *fill == "-Infinity")
    m.fill_value = -std::numeric_limits<double>::infinity();
  else
    throw InputError(what + ": key 'fill_value' is " + fill->dump() +
                     "; expected a number (or NaN/Infinity for floats)");
  check_fill(m, what, "fill_value");

  const auto codecs = doc.find("codecs");
  if (codecs == doc.end() || !codecs->is_array() || codecs->empty())
    throw InputError(what + ": key 'codecs' must be a list starting with the bytes codec, found " +
                     (codecs == doc.end() ? std::string("nothing") : codecs->dump()));
  m.compressor = Compressor::none;
  bool have_bytes = false, have_compressor = false;
  for (const auto& c : *codecs) {
    const auto [name, conf] = codec_entry(c, what);
    if (name == "bytes" || name == "endian") {
      if (have_bytes) throw InputError(what + ": key 'codecs' lists the bytes codec twice");
      have_bytes = true;
      const std::string endian = conf.value("endian", std::string("little"));
      if (endian != "little" && endian != "big")
        throw InputError(what + ": key 'codecs': bytes endian \"" + endian + "\"; expected little or big");
      m.big_endian = endian == "big" && dtype_size(m.dtype) > 1;
    } else if (!have_bytes) {
      throw InputError(what + ": key 'codecs': codec \"" + name + "\" before the bytes codec is not supported (" +
                       (name == "sharding_indexed" ? "sharded stores are not read" : "e.g. transpose") + ")");
    } else if ((name == "blosc" || name == "zstd") && !have_compressor) {
      have_compressor = true;
      if (name == "blosc") {
        m.compressor = Compressor::blosc;
        m.blosc.cname = conf.value("cname", std::string("zstd"));
        m.blosc.clevel = conf.value("clevel", 5);
        const std::string sh = conf.value("shuffle", std::string("noshuffle"));
        m.blosc.shuffle = sh == "bitshuffle" ? 2 : sh == "shuffle" ? 1 : 0;
        m.blosc.blocksize = conf.value("blocksize", std::int64_t{0});
      } else {
        m.compressor = Compressor::zstd;
        m.zstd_level = conf.value("level", 0);
      }
    } else {
      throw InputError(what + ": key 'codecs': codec \"" + name +
                       "\" is not supported (Lumen reads bytes, then at most one of blosc or zstd)");
    }
  }
  if (!have_bytes) throw InputError(what + ": key 'codecs' has no bytes codec");
  const auto st = doc.find("storage_transformers");
  if (st != doc.end() && !(st->is_array() && st->empty()))
    throw InputError(what + ": key 'storage_transformers' is " + st->dump() +
                     "; storage transformers are not supported");
  if (attributes) {
    const auto a = doc.find("attributes");
    *attributes = a == doc.end() || a->is_null() ? std::string() : a->dump();
  }
  return m;
}

std::string zarr_json(const ArrayMeta& m, const std::string& attrs_json) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  doc["zarr_format"] = 3;
  doc["node_type"] = "array";
  doc["shape"] = m.shape;
  doc["data_type"] = v3_type_name(m.dtype);
  doc["chunk_grid"] = {{"name", "regular"}, {"configuration", {{"chunk_shape", m.chunks}}}};
  doc["chunk_key_encoding"] = {{"name", "default"}, {"configuration", {{"separator", "/"}}}};
  if (m.dtype == DType::f32 || m.dtype == DType::f64)
    doc["fill_value"] = 0.0;
  else
    doc["fill_value"] = 0;
  nlohmann::ordered_json codecs = nlohmann::ordered_json::array();
  codecs.push_back({{"name", "bytes"}, {"configuration", {{"endian", "little"}}}});
  if (m.compressor == Compressor::blosc)
    codecs.push_back({{"name", "blosc"},
                      {"configuration",
                       {{"cname", m.blosc.cname},
                        {"clevel", m.blosc.clevel},
                        {"shuffle", m.blosc.shuffle == 2   ? "bitshuffle"
                                    : m.blosc.shuffle == 1 ? "shuffle"
                                                           : "noshuffle"},
                        {"typesize", dtype_size(m.dtype)},
                        {"blocksize", m.blosc.blocksize}}}});
  else if (m.compressor == Compressor::zstd)
    codecs.push_back({{"name", "zstd"}, {"configuration", {{"level", m.zstd_level}, {"checksum", false}}}});
  doc["codecs"] = codecs;
  doc["attributes"] = attrs_json.empty() ? nlohmann::ordered_json::object() : nlohmann::ordered_json::parse(attrs_json);
  if (m.shape.size() == 3) doc["dimension_names"] = {"t", "y", "x"};
  return doc.dump(2) + "\n";
}

// ---- codecs ------------------------------------------------------------------------------------

Bytes encode_chunk(const void* data, std::size_t nbytes, std::size_t typesize, Compressor compressor,
                   const BloscOptions& blosc) {
  if (compressor == Compressor::none) {
    const auto* p = static_cast<const unsigned char*>(data);
    return {p, p + nbytes};
  }
  if (compressor == Compressor::zstd) {
    Bytes out(ZSTD_compressBound(nbytes));
    const std::size_t n = ZSTD_compress(out.data(), out.size(), data, nbytes, 3);
    if (ZSTD_isError(n)) throw Error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  if (nbytes > kMaxChunkBytes) throw Error("a chunk of " + std::to_string(nbytes) + " bytes exceeds Blosc's 2 GiB");
  Bytes out(nbytes + BLOSC_MAX_OVERHEAD);
  // Blosc shuffles elements of at most 255 bytes; every Lumen dtype is.
  const int n = blosc_compress_ctx(blosc.clevel, blosc.shuffle, typesize, nbytes, data, out.data(), out.size(),
                                   blosc.cname.c_str(), static_cast<std::size_t>(blosc.blocksize), 1);
  if (n <= 0)
    throw Error("Blosc compression failed (cname " + blosc.cname + ", code " + std::to_string(n) +
                "): is the codec built into this libblosc?");
  out.resize(static_cast<std::size_t>(n));
  return out;
}

void decode_chunk(const unsigned char* src, std::size_t size, void* dst, std::size_t expected, Compressor compressor,
                  int threads, const std::string& what) {
  const auto num = [](std::uint64_t v) { return std::to_string(v); };
  switch (compressor) {
  case Compressor::none:
    if (size != expected)
      throw InputError(what + ": raw chunk holds " + num(size) + " bytes but the chunk should hold " + num(expected) +
                       (size < expected ? " (truncated)" : ""));
    std::memcpy(dst, src, expected);
    return;
  case Compressor::zstd: {
    const unsigned long long declared = ZSTD_getFrameContentSize(src, size);
    if (declared == ZSTD_CONTENTSIZE_ERROR)
      throw InputError(what + ": not a zstd frame (" + num(size) + " bytes; bad magic number or header)");
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != expected)
      throw InputError(what + ": zstd frame declares " + num(declared) + " bytes but the chunk should hold " +
                       num(expected));
    const std::size_t r = ZSTD_decompress(dst, expected, src, size);
    if (ZSTD_isError(r)) throw InputError(what + ": corrupt zstd data (" + ZSTD_getErrorName(r) + ")");
    if (r != expected)
      throw InputError(what + ": zstd data decode to " + num(r) + " bytes but the chunk should hold " + num(expected));
    return;
  }
  case Compressor::blosc: {
    if (size < BLOSC_MIN_HEADER_LENGTH)
      throw InputError(what + ": " + num(size) + " bytes, shorter than a Blosc header (" +
                       num(BLOSC_MIN_HEADER_LENGTH) + " bytes): truncated");
    std::size_t nbytes = 0, cbytes = 0, blocksize = 0;
    blosc_cbuffer_sizes(src, &nbytes, &cbytes, &blocksize);
    if (nbytes != expected)
      throw InputError(what + ": blosc header declares " + num(nbytes) + " bytes but the chunk should hold " +
                       num(expected));
    if (cbytes != size)
      throw InputError(what + ": blosc header declares " + num(cbytes) + " compressed bytes but the file holds " +
                       num(size) + (cbytes > size ? " (truncated)" : ""));
    std::size_t valid = 0;
    if (blosc_cbuffer_validate(src, size, &valid) != 0 || valid != expected)
      throw InputError(what + ": invalid Blosc header");
    const int r = blosc_decompress_ctx(src, dst, expected, std::max(1, threads));
    if (r < 0 || static_cast<std::size_t>(r) != expected)
      throw InputError(what + ": corrupt Blosc data (blosc_decompress_ctx returned " + std::to_string(r) + ")");
    return;
  }
  }
}

// ---- temporary stores ----------------------------------------------------------------------------

fs::path temp_store_path(const fs::path& target) {
  static std::atomic<unsigned long> counter{0};
  std::string name(1, '.');
  name.append(target.filename().string()).append(1, '.').append(std::to_string(::getpid()));
  name.append(1, '-').append(std::to_string(counter.fetch_add(1))).append(kTempSuffix);
  return target.parent_path() / name;
}

std::size_t remove_stale_temp_stores(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  const std::string suffix = kTempSuffix;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= suffix.size() + 1 || name[0] != '.' ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0 || !it->is_directory())
      continue;
    // ".<store>.<pid>-<n>.lumen-tmp": keep the ones whose writer still runs.
    const std::string stem = name.substr(0, name.size() - suffix.size());
    const auto dot = stem.rfind('.'), dash = stem.rfind('-');
    if (dot == std::string::npos || dash == std::string::npos || dash < dot) continue;
    const std::string pid_text = stem.substr(dot + 1, dash - dot - 1);
    if (pid_text.empty() || !std::all_of(pid_text.begin(), pid_text.end(), ::isdigit)) continue;
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM) continue;
    std::error_code rm;
    if (fs::remove_all(it->path(), rm) > 0 && !rm) ++n;
  }
  return n;
}

// ---- writer --------------------------------------------------------------------------------------

StoreWriter::StoreWriter(fs::path target, DType dtype, std::int64_t height, std::int64_t width,
                         const WriteOptions& options, ThreadPool* pool, std::string what)
    : target_(std::move(target)), what_(std::move(what)), options_(options), pool_(pool), height_(height),
      width_(width) {
  if (height < 1 || width < 1) throw InputError(what_ + ": frames must have at least one row and column");
  const std::int64_t cr = options.chunk_rows > 0 ? std::min(options.chunk_rows, height) : height;
  const std::int64_t cc = options.chunk_cols > 0 ? std::min(options.chunk_cols, width) : width;
  meta_.zarr_format = options.zarr_format;
  if (options.zarr_format == 3) {
    meta_.separator = '/';
    meta_.key_prefix = "c/";
  }
  meta_.shape = {0, height, width};
  meta_.chunks = {options.chunk_frames, cr, cc};
  meta_.dtype = dtype;
  meta_.dtype_text = dtype_code(dtype);
  meta_.compressor = options.compressor;
  meta_.blosc = options.blosc;
  frame_bytes_ = height * width * static_cast<std::int64_t>(dtype_size(dtype));
  std::uint64_t chunk = 0, slab = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(options.chunk_frames),
                             static_cast<std::uint64_t>(cr * cc) * dtype_size(dtype), &chunk) ||
      chunk > kMaxChunkBytes ||
      __builtin_mul_overflow(static_cast<std::uint64_t>(options.chunk_frames), static_cast<std::uint64_t>(frame_bytes_),
                             &slab))
    throw InputError(what_ + ": chunks of " + shape_text(meta_.chunks) + " " + std::string(dtype_name(dtype)) +
                     " exceed Blosc's 2 GiB per chunk: lower chunk_frames or set chunk_rows/chunk_cols");

  std::error_code ec;
  const fs::path parent = target_.parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw Error("cannot create directory " + parent.string() + ": " + ec.message());
  if (fs::exists(target_, ec) && !is_store(target_))
    throw InputError(
        what_ + ": " + target_.string() +
        " exists and is not a Zarr store (no .zarray): not replacing it; remove it or choose another path");
  temp_ = temp_store_path(target_);
  if (!fs::create_directory(temp_, ec) || ec)
    throw Error("cannot create directory " + temp_.string() + ": " + (ec ? ec.message() : "it exists"));
}

StoreWriter::~StoreWriter() {
  // Jobs still running write into temp_: let them end before it goes.
  for (auto& f : pending_) try {
      f.get();
    } catch (...) {
    }
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
}

void StoreWriter::append(const Array& block_in) {
  if (committed_) throw Error(what_ + ": append after commit");
  if (block_in.dtype() != meta_.dtype || block_in.ndim() != 3 || block_in.dim(1) != height_ ||
      block_in.dim(2) != width_)
    throw InputError(what_ + ": expected (n, " + std::to_string(height_) + ", " + std::to_string(width_) + ") " +
                     std::string(dtype_name(meta_.dtype)) + " frames, got " +
                     std::string(dtype_name(block_in.dtype())) + " " + block_in.shape().str());
  const Array block = block_in.contiguous_copy();
  const auto* src = static_cast<const unsigned char*>(block.raw());
  const std::int64_t n = block.dim(0), cf = meta_.chunks[0];
  std::int64_t done = 0;
  while (done < n) {
    if (slab_.empty()) slab_.resize(static_cast<std::size_t>(cf * frame_bytes_));
    const std::int64_t take = std::min(n - done, cf - slab_frames_);
    std::memcpy(slab_.data() + slab_frames_ * frame_bytes_, src + done * frame_bytes_,
                static_cast<std::size_t>(take * frame_bytes_));
    slab_frames_ += take;
    done += take;
    frames_ += take;
    if (slab_frames_ == cf) flush_slab();
  }
}

void StoreWriter::flush_slab() {
  if (slab_frames_ == 0) return;
  const std::int64_t cf = meta_.chunks[0], cr = meta_.chunks[1], cc = meta_.chunks[2];
  const std::int64_t t = (frames_ - 1) / cf; // the chunk row being closed
  if (slab_frames_ < cf)                     // edge chunk: padded with the fill value (0)
    std::memset(slab_.data() + slab_frames_ * frame_bytes_, 0,
                static_cast<std::size_t>((cf - slab_frames_) * frame_bytes_));
  const std::size_t es = dtype_size(meta_.dtype);
  if (cr == height_ && cc == width_) {
    Bytes chunk;
    chunk.swap(slab_); // the slab is the chunk: no copy
    submit(meta_.chunk_key({t, 0, 0}), std::move(chunk));
  } else {
    const std::vector<std::int64_t> slab_dims{cf, height_, width_}, tile_dims{cf, cr, cc};
    for (std::int64_t y = 0; y * cr < height_; ++y)
      for (std::int64_t x = 0; x * cc < width_; ++x) {
        const std::int64_t h = std::min(cr, height_ - y * cr), w = std::min(cc, width_ - x * cc);
        Bytes tile(static_cast<std::size_t>(cf * cr * cc) * es);
        if (h < cr || w < cc) std::memset(tile.data(), 0, tile.size()); // an edge tile: padded with 0
        copy_box(slab_.data(), slab_dims, {0, y * cr, x * cc}, tile.data(), tile_dims, {0, 0, 0}, {cf, h, w}, es);
        submit(meta_.chunk_key({t, y, x}), std::move(tile));
      }
  }
  slab_frames_ = 0;
}

void StoreWriter::submit(std::string key, Bytes chunk) {
  auto job = [file = temp_ / key, chunk = std::move(chunk), es = dtype_size(meta_.dtype), c = meta_.compressor,
              b = meta_.blosc, nested = key.find('/') != std::string::npos]() -> std::uint64_t {
    if (nested) { // "c/3/0/0": the directories first (several jobs may create the same one)
      std::error_code ec;
      fs::create_directories(file.parent_path(), ec);
      if (ec) throw Error("cannot create directory " + file.parent_path().string() + ": " + ec.message());
    }
    if (c == Compressor::none) {
      write_whole(file, chunk.data(), chunk.size());
      return chunk.size();
    }
    const auto encoded = encode_chunk(chunk.data(), chunk.size(), es, c, b);
    write_whole(file, encoded.data(), encoded.size());
    return encoded.size();
  };
  if (!pool_) {
    stored_ += job();
    return;
  }
  drain(2 * static_cast<std::size_t>(pool_->size()) - 1);
  pending_.push_back(pool_->submit(std::move(job)));
}

void StoreWriter::drain(std::size_t keep) {
  while (pending_.size() > keep) {
    auto f = std::move(pending_.front());
    pending_.pop_front();
    stored_ += f.get(); // rethrows a job's error
  }
}

WriteStats StoreWriter::commit(const std::string& attrs_json) {
  if (committed_) throw Error(what_ + ": commit called twice");
  flush_slab();
  drain(0);
  meta_.shape[0] = frames_;
  if (meta_.zarr_format == 3) {
    const std::string doc = zarr_json(meta_, attrs_json);
    write_whole(temp_ / "zarr.json", doc.data(), doc.size());
    stored_ += doc.size();
  } else {
    const std::string zarray = zarray_json(meta_);
    write_whole(temp_ / ".zarray", zarray.data(), zarray.size());
    stored_ += zarray.size();
  }
  if (meta_.zarr_format != 3 && !attrs_json.empty()) {
    write_whole(temp_ / ".zattrs", attrs_json.data(), attrs_json.size());
    stored_ += attrs_json.size();
  }
  std::error_code ec;
  if (fs::exists(target_, ec)) {
    if (!is_store(target_))
      throw InputError(what_ + ": " + target_.string() +
                       " exists and is not a Zarr store (no .zarray): not replacing it");
    // Swap the new store with the old one in one step, then remove the old one (now at temp_).
    if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) != 0) {
      if (errno != EINVAL && errno != ENOSYS) throw Error("cannot replace " + target_.string() + ": " + errno_text());
      const fs::path old = temp_store_path(target_);
      fs::rename(target_, old);
      fs::rename(temp_, target_);
      fs::remove_all(old, ec);
    } else {
      fs::remove_all(temp_, ec);
    }
  } else if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    throw Error("cannot rename " + temp_.string() + " to " + target_.string() + ": " + errno_text());
  }
  committed_ = true;
  WriteStats s;
  s.frames = frames_;
  s.bytes_in = static_cast<std::uint64_t>(frames_ * frame_bytes_);
  s.bytes_stored = stored_;
  return s;
}

// ---- reader --------------------------------------------------------------------------------------

bool is_store(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  if (fs::is_regular_file(dir / ".zarray", ec)) return true;
  if (!fs::is_regular_file(dir / "zarr.json", ec)) return false;
  // A v3 group also has a zarr.json: only arrays are stores (unreadable metadata counts as one,
  // so that opening it reports what is wrong).
  try {
    const json doc = json::parse(read_text(dir / "zarr.json", "zarr.json"));
    return !doc.is_object() || doc.value("node_type", std::string("array")) != "group";
  } catch (const std::exception&) {
    return true;
  }
}

StoreReader::StoreReader(fs::path store) : store_(std::move(store)) {
  std::error_code ec;
  if (!fs::is_directory(store_, ec))
    throw InputError(store_.string() + ": not a Zarr store (a store is a directory holding a .zarray or zarr.json)");
  const fs::path zarray = store_ / ".zarray", v3 = store_ / "zarr.json";
  if (fs::exists(zarray, ec)) {
    meta_ = parse_zarray(read_text(zarray, zarray.string()), zarray.string());
  } else if (fs::exists(v3, ec)) {
    meta_ = parse_zarr_json(read_text(v3, v3.string()), v3.string(), &v3_attrs_);
  } else {
    throw InputError(store_.string() + ": no .zarray (Zarr v2) or zarr.json (Zarr v3) in the store");
  }
}

fs::path StoreReader::metadata_file() const {
  return store_ / (meta_.zarr_format == 3 ? "zarr.json" : ".zarray");
}

std::string StoreReader::attrs_json() const {
  if (meta_.zarr_format == 3) return v3_attrs_;
  std::error_code ec;
  const fs::path p = store_ / ".zattrs";
  if (!fs::exists(p, ec)) return {};
  return read_text(p, p.string());
}

Array StoreReader::read(std::int64_t begin, std::int64_t end, ThreadPool* pool, int threads) const {
  const ArrayMeta& m = meta_;
  const int nd = m.ndim();
  if (begin < 0 || end > m.shape[0] || end <= begin)
    throw InputError(store_.string() + ": frames [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") outside the store's " + std::to_string(m.shape[0]) + " along axis 0");
  Shape out_shape;
  out_shape.ndim = nd;
  std::vector<std::int64_t> out_dims(static_cast<std::size_t>(nd));
  for (int k = 0; k < nd; ++k) out_shape.dims[k] = out_dims[k] = k == 0 ? end - begin : m.shape[k];
  Array out = Array::uninitialized(m.dtype, out_shape);
  auto* out_bytes = static_cast<unsigned char*>(out.raw());
  const std::size_t es = dtype_size(m.dtype);
  std::int64_t row_elems = 1; // elements of one index of axis 0
  for (int k = 1; k < nd; ++k) row_elems *= m.shape[k];

  // Every chunk the range overlaps.
  std::vector<std::vector<std::int64_t>> jobs;
  {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(nd), 0);
    idx[0] = begin / m.chunks[0];
    const std::int64_t last0 = (end - 1) / m.chunks[0];
    for (;;) {
      jobs.push_back(idx);
      int k = nd - 1;
      for (; k >= 0; --k) {
        const std::int64_t limit = k == 0 ? last0 + 1 : m.grid(k);
        if (++idx[k] < limit) break;
        idx[k] = k == 0 ? begin / m.chunks[0] : 0;
      }
      if (k < 0) break;
    }
  }

  const bool whole_rows = [&] { // chunks span every trailing axis exactly: chunk rows are output rows
    for (int k = 1; k < nd; ++k)
      if (m.chunks[k] != m.shape[k]) return false;
    return true;
  }();
  const bool parallel = pool && jobs.size() > 1;
  const int inner_threads = parallel ? 1 : std::max(1, threads);
  auto run = [&, inner_threads](const std::vector<std::int64_t>& idx) {
    const std::string key = m.chunk_key(idx);
    const fs::path file = store_ / key;
    const std::string what = file.string();
    Bytes stored;
    const bool present = read_whole(file, stored, what);
    const std::int64_t o0 = idx[0] * m.chunks[0];
    const std::int64_t lo = std::max(begin, o0), hi = std::min(end, o0 + m.chunks[0]);
    const std::size_t expected = m.chunk_bytes();
    if (whole_rows && lo == o0 && hi == o0 + m.chunks[0]) { // decode straight into the output
      unsigned char* dst = out_bytes + (lo - begin) * row_elems * static_cast<std::int64_t>(es);
      if (!present) {
        fill_value_into(dst, static_cast<std::size_t>(m.chunk_elements()), m.dtype, m.fill_value);
        return;
      }
      decode_chunk(stored.data(), stored.size(), dst, expected, m.compressor, inner_threads, what);
      if (m.big_endian) byteswap(dst, static_cast<std::size_t>(m.chunk_elements()), es);
      return;
    }
    Bytes chunk(expected);
    if (present) {
      decode_chunk(stored.data(), stored.size(), chunk.data(), expected, m.compressor, inner_threads, what);
      if (m.big_endian) byteswap(chunk.data(), static_cast<std::size_t>(m.chunk_elements()), es);
    } else {
      fill_value_into(chunk.data(), static_cast<std::size_t>(m.chunk_elements()), m.dtype, m.fill_value);
    }
    std::vector<std::int64_t> src_start(static_cast<std::size_t>(nd)), dst_start(static_cast<std::size_t>(nd)),
        count(static_cast<std::size_t>(nd));
    src_start[0] = lo - o0;
    dst_start[0] = lo - begin;
    count[0] = hi - lo;
    for (int k = 1; k < nd; ++k) {
      const std::int64_t o = idx[k] * m.chunks[k];
      src_start[k] = 0;
      dst_start[k] = o;
      count[k] = std::min(m.chunks[k], m.shape[k] - o);
    }
    copy_box(chunk.data(), m.chunks, src_start, out_bytes, out_dims, dst_start, count, es);
  };

  if (!parallel) {
    for (const auto& idx : jobs) run(idx);
    return out;
  }
  // Bounded: at most 2 x pool size chunks decoding at once; every job ends before we return.
  std::deque<std::future<void>> pending;
  std::exception_ptr first_error;
  const auto wait_one = [&] {
    try {
      pending.front().get();
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
    pending.pop_front();
  };
  for (const auto& idx : jobs) {
    if (first_error) break;
    while (pending.size() >= 2 * static_cast<std::size_t>(pool->size())) wait_one();
    pending.push_back(pool->submit([&run, idx] { run(idx); }));
  }
  while (!pending.empty()) wait_one();
  if (first_error) std::rethrow_exception(first_error);
  return out;
}

// ---- finding stores ------------------------------------------------------------------------------

std::vector<fs::path> find_stores(std::string_view spec_view) {
  const std::string spec(spec_view);
  std::vector<fs::path> found;
  std::error_code ec;
  const auto sort = [&found] {
    std::sort(found.begin(), found.end(),
              [](const fs::path& a, const fs::path& b) { return natural_less(a.string(), b.string()); });
  };
  if (spec.empty()) throw InputError("path is empty: give a .zarr store, a directory of stores or a glob");
  fs::path p(spec);
  if (has_wildcards(spec)) {
    const std::string problem = check_input_spec(spec);
    if (!problem.empty()) throw InputError("path '" + spec + "': " + problem);
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    const std::string pattern = p.filename().string();
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      if (glob_match(pattern, it->path().filename().string()) && is_store(it->path()))
        found.push_back(p.parent_path().empty() ? it->path().filename() : it->path());
    if (found.empty())
      throw InputError("path '" + spec + "': no Zarr store (a directory holding a .zarray or zarr.json) matches");
    sort();
    return found;
  }
  if (p.filename() == ".zarray" || p.filename() == "zarr.json") p = p.parent_path();
  if (!fs::exists(p, ec)) throw InputError("path '" + spec + "': no such file or directory");
  if (is_store(p)) return {p};
  if (!fs::is_directory(p, ec))
    throw InputError(
        "path '" + spec +
        "' is a file, not a Zarr store: a store is a directory holding a .zarray or zarr.json (e.g. data.zarr/)");
  for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!it->is_directory()) continue;
    if (!name.empty() && name[0] == '.') { // hidden, and temporary stores being written
      it.disable_recursion_pending();
      continue;
    }
    if (is_store(it->path())) {
      found.push_back(it->path());
      it.disable_recursion_pending();
    }
  }
  if (found.empty())
    throw InputError("path '" + spec +
                     "' is not a store itself and holds no Zarr store (a directory holding a .zarray or zarr.json)");
  sort();
  return found;
}

// The metadata parsers check every key they use, but nlohmann's accessors (value(), get<T>())
// still throw their own type_error for a value of an unexpected type in places the checks do not
// reach; a file must never get past as anything but an InputError naming it.
ArrayMeta parse_zarray(std::string_view text, const std::string& what) {
  try {
    return parse_zarray_fields(text, what);
  } catch (const json::exception& e) {
    throw InputError(what + ": a key has a value of the wrong type (" + e.what() + ")");
  }
}

ArrayMeta parse_zarr_json(std::string_view text, const std::string& what, std::string* attributes) {
  try {
    return parse_zarr_json_fields(text, what, attributes);
  } catch (const json::exception& e) {
    throw InputError(what + ": a key has a value of the wrong type (" + e.what() + ")");
  }
}

} // namespace lumen::zarr
