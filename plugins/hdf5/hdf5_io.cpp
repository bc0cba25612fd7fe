// HDF5 reading and writing (see hdf5_io.hpp for what is supported and why it is built so).
//
// Example pipeline:
//   - id: in
//     use: hdf5.read
//     with: {path: "scans/*.h5", dataset: entry/data/data}
#include "hdf5_io.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <libdeflate.h>
#include <limits>
#include <system_error>

namespace lumen::hdf5 {

namespace fs = std::filesystem;

// ---- locking and errors -----------------------------------------------------------------------

bool library_threadsafe() {
  static const bool safe = [] {
    hbool_t ts = 0;
    return H5is_library_threadsafe(&ts) >= 0 && ts;
  }();
  return safe;
}

namespace {
std::mutex& global_mutex() {
  static std::mutex m; // serialises HDF5 only when the library does not (see hdf5_io.hpp)
  return m;
}
} // namespace

H5Lock::H5Lock() {
  if (!library_threadsafe()) lock_ = std::unique_lock(global_mutex());
  // Per thread in a thread-safe build: silence the default printer on this thread's stack.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

std::string error_stack_text() {
  std::vector<std::string> parts;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* out = static_cast<std::vector<std::string>*>(data);
        if (e->desc && *e->desc && out->size() < 6) {
          std::string d = e->desc;
          if (std::find(out->begin(), out->end(), d) == out->end()) out->push_back(std::move(d));
        }
        return 0;
      },
      &parts);
  H5Eclear2(H5E_DEFAULT);
  std::string text;
  for (const auto& p : parts) text += (text.empty() ? "" : ": ") + p;
  return text;
}

namespace {

// RAII for hid_t handles.
class Id {
public:
  Id() = default;
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept {
    std::swap(id_, o.id_);
    std::swap(close_, o.close_);
    return *this;
  }
  ~Id() {
    if (id_ >= 0 && close_) close_(id_);
  }
  [[nodiscard]] hid_t get() const noexcept { return id_; }
  [[nodiscard]] bool ok() const noexcept { return id_ >= 0; }
  operator hid_t() const noexcept { return id_; } // NOLINT: reads like the raw id in HDF5 calls

private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

std::string with_stack(const std::string& what) {
  const std::string stack = error_stack_text();
  return stack.empty() ? what : what + " (HDF5: " + stack + ")";
}

std::string join_dims(const std::vector<std::int64_t>& d) {
  std::string s;
  for (auto v : d) s += (s.empty() ? "" : "x") + std::to_string(v);
  return s.empty() ? "scalar" : s;
}

struct TypeMap {
  DType dtype = DType::u8;
  hid_t memtype = -1;
  std::string stored;
  bool wide_int = false;
};

// Maps a file datatype to what we read; "" in `stored` with an explanation in `error`.
bool map_type(hid_t type, TypeMap& m, std::string& error) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    m.stored = std::string(is_signed ? "i" : "u") + std::to_string(size * 8);
    switch (size) {
    case 1:
      m.dtype = is_signed ? DType::i16 : DType::u8;
      m.memtype = is_signed ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT8;
      return true;
    case 2:
      m.dtype = is_signed ? DType::i16 : DType::u16;
      m.memtype = is_signed ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16;
      return true;
    case 4:
      m.dtype = is_signed ? DType::i32 : DType::u32;
      m.memtype = is_signed ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32;
      return true;
    case 8:
      m.dtype = DType::f64;
      m.memtype = is_signed ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
      m.wide_int = true;
      return true;
    default:
      error = std::to_string(size * 8) + "-bit integers are not supported";
      return false;
    }
  }
  if (cls == H5T_FLOAT) {
    m.stored = "f" + std::to_string(size * 8);
    if (size <= 4) {
      m.dtype = DType::f32;
      m.memtype = H5T_NATIVE_FLOAT;
      return true;
    }
    if (size == 8) {
      m.dtype = DType::f64;
      m.memtype = H5T_NATIVE_DOUBLE;
      return true;
    }
    error = std::to_string(size * 8) + "-bit floats are not supported";
    return false;
  }
  const char* names[] = {"integer",  "float",     "time", "string",          "bitfield", "opaque",
                         "compound", "reference", "enum", "variable-length", "array"};
  const int c = static_cast<int>(cls);
  error = std::string("its elements are of HDF5 class ") + (c >= 0 && c < 11 ? names[c] : "unknown") +
          " (only integer and float images are read)";
  return false;
}

} // namespace

std::string DatasetInfo::shape_text() const {
  return join_dims(dims);
}

// ---- reading ----------------------------------------------------------------------------------

H5Reader::H5Reader(fs::path path) : path_(std::move(path)) {
  std::error_code ec;
  if (!fs::is_regular_file(path_, ec)) throw InputError(path_.string() + ": no such file");
  H5Lock lock;
  const htri_t is_h5 = H5Fis_hdf5(path_.c_str());
  if (is_h5 <= 0) {
    (void)error_stack_text();
    throw InputError(path_.string() + ": not an HDF5 file (no HDF5 signature found)");
  }
  file_ = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) throw InputError(with_stack(path_.string() + ": cannot open as HDF5"));
}

H5Reader::~H5Reader() {
  if (file_ >= 0) {
    H5Lock lock;
    H5Fclose(file_);
  }
}

void H5Reader::fail(const std::string& what) const {
  throw InputError(with_stack(path_.string() + ": " + what));
}

void H5Reader::missing(const std::string& dataset) const {
  (void)error_stack_text();
  // Walk down the path while the groups exist; list what the deepest one holds.
  std::string group = "/", prefix;
  std::size_t pos = 0;
  while (pos < dataset.size()) {
    std::size_t slash = dataset.find('/', pos);
    if (slash == std::string::npos) slash = dataset.size();
    const std::string part = dataset.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty()) continue;
    const std::string next = prefix + "/" + part;
    if (H5Lexists(file_, next.c_str(), H5P_DEFAULT) <= 0) break;
    H5O_info_t oi;
    if (H5Oget_info_by_name(file_, next.c_str(), &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_GROUP) break;
    prefix = next;
    group = next;
  }
  throw InputError(path_.string() + ": no dataset '" + dataset + "'; " +
                   (group == "/" ? std::string("the root group") : "group '" + group + "'") +
                   " holds: " + children(group));
}

std::vector<std::string> H5Reader::datasets_of_rank(int rank) {
  H5Lock lock;
  struct Found {
    int rank;
    std::vector<std::string> paths;
  } found{rank, {}};
  const herr_t status = H5Ovisit(
      file_, H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t obj, const char* name, const H5O_info_t* info, void* data) -> herr_t {
        auto* f = static_cast<Found*>(data);
        if (info->type != H5O_TYPE_DATASET) return 0;
        const Id d(H5Dopen2(obj, name, H5P_DEFAULT), H5Dclose);
        if (!d.ok()) return 0;
        const Id space(H5Dget_space(d), H5Sclose);
        if (space.ok() && H5Sget_simple_extent_ndims(space) == f->rank) f->paths.push_back(std::string("/") + name);
        return 0;
      },
      &found);
  if (status < 0) fail("cannot list the datasets of the file");
  return found.paths;
}

std::string H5Reader::children(const std::string& group) const {
  (void)error_stack_text();
  struct Listing {
    hid_t file;
    std::string group;
    std::vector<std::string> names;
    std::size_t total = 0;
  } listing{file_, group, {}, 0};
  hsize_t idx = 0;
  H5Literate_by_name(
      file_, group.c_str(), H5_INDEX_NAME, H5_ITER_INC, &idx,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        auto* l = static_cast<Listing*>(data);
        if (++l->total > 20) return 0;
        const std::string full = (l->group == "/" ? "/" : l->group + "/") + name;
        H5O_info_t oi;
        std::string entry = name;
        if (H5Oget_info_by_name(l->file, full.c_str(), &oi, H5P_DEFAULT) >= 0) {
          if (oi.type == H5O_TYPE_GROUP) {
            entry += "/";
          } else if (oi.type == H5O_TYPE_DATASET) {
            const Id d(H5Dopen2(l->file, full.c_str(), H5P_DEFAULT), H5Dclose);
            if (d.ok()) {
              const Id space(H5Dget_space(d), H5Sclose);
              const int rank = space.ok() ? H5Sget_simple_extent_ndims(space) : -1;
              if (rank >= 0 && rank <= 32) {
                hsize_t dims[32];
                H5Sget_simple_extent_dims(space, dims, nullptr);
                std::vector<std::int64_t> v(dims, dims + rank);
                entry += " (" + join_dims(v) + ")";
              }
            }
          }
        }
        l->names.push_back(std::move(entry));
        return 0;
      },
      &listing, H5P_DEFAULT);
  (void)error_stack_text();
  std::string list;
  for (const auto& n : listing.names) list += (list.empty() ? "" : ", ") + n;
  if (listing.total > listing.names.size()) list += ", ... (" + std::to_string(listing.total) + " in all)";
  return list.empty() ? std::string("nothing") : list;
}

DatasetInfo H5Reader::info(const std::string& dataset) {
  H5Lock lock;
  // H5LTpath_valid checks every link on the way, so a missing group is reported as missing
  // (H5Dopen2 alone would only say "not found" somewhere in its stack).
  if (dataset.empty() || H5LTpath_valid(file_, dataset.c_str(), 1) <= 0) missing(dataset);
  H5O_info_t oi;
  if (H5Oget_info_by_name(file_, dataset.c_str(), &oi, H5P_DEFAULT) < 0) fail("cannot inspect '" + dataset + "'");
  if (oi.type != H5O_TYPE_DATASET) {
    if (oi.type == H5O_TYPE_GROUP)
      throw InputError(path_.string() + ": '" + dataset +
                       "' is a group, not a dataset; it holds: " + children(dataset));
    fail("'" + dataset + "' is not a dataset");
  }
  const Id d(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.ok()) fail("cannot open dataset '" + dataset + "'");
  const Id type(H5Dget_type(d), H5Tclose);
  const Id space(H5Dget_space(d), H5Sclose);
  if (!type.ok() || !space.ok()) fail("cannot read the type or shape of '" + dataset + "'");
  DatasetInfo di;
  di.name = dataset;
  TypeMap tm;
  std::string error;
  if (!map_type(type, tm, error)) fail("dataset '" + dataset + "' cannot be read as an image: " + error);
  di.dtype = tm.dtype;
  di.stored = tm.stored;
  di.wide_int = tm.wide_int;
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail("cannot read the shape of '" + dataset + "'");
  if (rank == 0) fail("dataset '" + dataset + "' is a scalar, not an array");
  if (rank > kMaxDims)
    fail("dataset '" + dataset + "' has " + std::to_string(rank) + " dimensions; at most " + std::to_string(kMaxDims) +
         " are read");
  hsize_t dims[kMaxDims];
  H5Sget_simple_extent_dims(space, dims, nullptr);
  for (int a = 0; a < rank; ++a) {
    if (dims[a] == 0) fail("dataset '" + dataset + "' is empty (shape has a zero dimension)");
    if (dims[a] > static_cast<hsize_t>(std::numeric_limits<std::int64_t>::max() / 16))
      fail("dataset '" + dataset + "' has an absurd dimension " + std::to_string(dims[a]));
    di.dims.push_back(static_cast<std::int64_t>(dims[a]));
  }
  return di;
}

Array H5Reader::read(const std::string& dataset, std::int64_t begin, std::int64_t end, bool squeeze) {
  const DatasetInfo di = info(dataset);
  H5Lock lock;
  const Id d(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  const Id ftype(H5Dget_type(d), H5Tclose);
  TypeMap tm;
  std::string error;
  if (!d.ok() || !ftype.ok() || !map_type(ftype, tm, error)) fail("cannot open dataset '" + dataset + "'");
  const int rank = static_cast<int>(di.dims.size());
  const bool range = end > begin;
  if (range) {
    if (begin < 0 || end > di.dims[0])
      fail("frames [" + std::to_string(begin) + ", " + std::to_string(end) + ") are outside dataset '" + dataset +
           "' of " + std::to_string(di.dims[0]) + " frames (" + di.shape_text() + ")");
  }
  hsize_t start[kMaxDims] = {}, count[kMaxDims] = {};
  std::uint64_t elements = 1;
  for (int a = 0; a < rank; ++a) {
    count[a] = static_cast<hsize_t>(di.dims[static_cast<std::size_t>(a)]);
    if (a == 0 && range) start[0] = static_cast<hsize_t>(begin), count[0] = static_cast<hsize_t>(end - begin);
    if (__builtin_mul_overflow(elements, count[a], &elements)) fail("dataset '" + dataset + "' is absurdly large");
  }
  const std::uint64_t file_elem = H5Tget_size(ftype);
  const std::uint64_t bytes = elements * std::max<std::uint64_t>(dtype_size(tm.dtype), file_elem);
  if (bytes > kMaxReadBytes)
    fail("reading " + std::to_string(bytes >> 20) + " MiB of '" + dataset + "' exceeds the " +
         std::to_string(kMaxReadBytes >> 30) + " GiB limit; read it in frame ranges (frames_per_item)");
  // The stored bytes must be able to hold what the shape claims (before allocating).
  const hsize_t stored = H5Dget_storage_size(d);
  const Id dcpl(H5Dget_create_plist(d), H5Pclose);
  const H5D_layout_t layout = dcpl.ok() ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
  std::uint64_t total_elements = 1;
  for (auto v : di.dims) total_elements *= static_cast<std::uint64_t>(v);
  if (layout == H5D_CONTIGUOUS && stored > 0 && stored < total_elements * file_elem)
    fail("dataset '" + dataset + "' stores " + std::to_string(stored) + " bytes but its shape " + di.shape_text() +
         " needs " + std::to_string(total_elements * file_elem) + ": truncated or corrupt");
  if (layout == H5D_CHUNKED && total_elements * file_elem > std::max<std::uint64_t>(stored * 1100, 256ull << 20))
    fail("dataset '" + dataset + "' claims " + di.shape_text() + " but stores only " + std::to_string(stored) +
         " bytes: corrupt");

  Shape shape;
  const bool drop = range && squeeze && count[0] == 1 && rank >= 2; // a 1-D list stays 1-D
  for (int a = drop ? 1 : 0; a < rank; ++a) shape.dims[shape.ndim++] = static_cast<std::int64_t>(count[a]);
  Array out = Array::uninitialized(tm.dtype, shape);
  std::vector<std::int64_t> wide; // 64-bit integers land here first
  void* buf = out.raw();
  if (tm.wide_int) {
    wide.resize(elements);
    buf = wide.data();
  }
  const Id fspace(H5Dget_space(d), H5Sclose);
  const Id mspace(H5Screate_simple(rank, count, nullptr), H5Sclose);
  if (!fspace.ok() || !mspace.ok()) fail("cannot select in '" + dataset + "'");
  if (range && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr) < 0)
    fail("cannot select frames of '" + dataset + "'");
  if (H5Dread(d, tm.memtype, mspace, fspace, H5P_DEFAULT, buf) < 0) fail("cannot read dataset '" + dataset + "'");
  if (tm.wide_int) {
    const bool is_unsigned = tm.stored[0] == 'u';
    auto* dst = static_cast<double*>(out.raw());
    constexpr std::uint64_t exact = std::uint64_t{1} << 53;
    for (std::size_t i = 0; i < wide.size(); ++i) {
      const std::int64_t v = wide[i];
      const bool fits = is_unsigned ? static_cast<std::uint64_t>(v) <= exact
                                    : (v >= -static_cast<std::int64_t>(exact) && v <= static_cast<std::int64_t>(exact));
      if (!fits)
        fail("dataset '" + dataset + "' (" + tm.stored + ") holds a value beyond 2^53 at element " + std::to_string(i) +
             ", which f64 cannot hold exactly");
      dst[i] = is_unsigned ? static_cast<double>(static_cast<std::uint64_t>(v)) : static_cast<double>(v);
    }
  }
  return out;
}

bool H5Reader::has_dataset(const std::string& path) {
  H5Lock lock;
  if (path.empty() || H5LTpath_valid(file_, path.c_str(), 1) <= 0) {
    (void)error_stack_text();
    return false;
  }
  H5O_info_t oi{};
  const bool is = H5Oget_info_by_name(file_, path.c_str(), &oi, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_DATASET;
  (void)error_stack_text();
  return is;
}

std::vector<std::int64_t> H5Reader::dims(const std::string& dataset) {
  H5Lock lock;
  if (dataset.empty() || H5LTpath_valid(file_, dataset.c_str(), 1) <= 0) missing(dataset);
  H5O_info_t oi{};
  if (H5Oget_info_by_name(file_, dataset.c_str(), &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET)
    throw InputError(path_.string() + ": '" + dataset + "' is not a dataset" +
                     (oi.type == H5O_TYPE_GROUP ? "; it is a group holding: " + children(dataset) : std::string()));
  const Id d(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  const Id space(d.ok() ? H5Dget_space(d) : -1, H5Sclose);
  if (!space.ok()) fail("cannot read the shape of '" + dataset + "'");
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > 32) fail("cannot read the shape of '" + dataset + "'");
  hsize_t d32[32];
  H5Sget_simple_extent_dims(space, d32, nullptr);
  return {d32, d32 + rank};
}

std::vector<double> H5Reader::read_numbers(const std::string& dataset) {
  const std::vector<std::int64_t> shape = dims(dataset);
  std::uint64_t n = 1;
  for (const auto v : shape) n *= static_cast<std::uint64_t>(v);
  if (n > (std::uint64_t{1} << 20))
    fail("dataset '" + dataset + "' (" + join_dims(shape) + ") holds " + std::to_string(n) +
         " values; read_numbers is for small datasets");
  H5Lock lock;
  const Id d(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  const Id type(d.ok() ? H5Dget_type(d) : -1, H5Tclose);
  if (!type.ok()) fail("cannot open dataset '" + dataset + "'");
  const H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    fail("dataset '" + dataset + "' does not hold numbers (HDF5 class " + std::to_string(static_cast<int>(cls)) + ")");
  std::vector<double> out(static_cast<std::size_t>(n));
  if (n > 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail("cannot read dataset '" + dataset + "'");
  return out;
}

namespace {

struct AttrContext {
  Meta* meta;
  std::string* error;
};

bool is_lumen_units(const std::string& u) {
  return u == "adu" || u == "electrons" || u == "photons" || u == "normalized" || u == "counts";
}

std::string trim_fixed(const char* p, std::size_t n) {
  std::size_t len = 0;
  while (len < n && p[len] != '\0') ++len;
  while (len > 0 && p[len - 1] == ' ') --len;
  return std::string(p, len);
}

herr_t read_attribute(hid_t loc, const char* name, const H5A_info_t*, void* data) {
  auto& ctx = *static_cast<AttrContext*>(data);
  const Id attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) return 0;
  const Id type(H5Aget_type(attr), H5Tclose);
  const Id space(H5Aget_space(attr), H5Sclose);
  if (!type.ok() || !space.ok()) return 0;
  const hssize_t npoints = H5Sget_simple_extent_npoints(space);
  if (npoints <= 0 || npoints > 4096 || H5Sget_simple_extent_ndims(space) > 1) return 0; // images are not meta
  const auto n = static_cast<std::size_t>(npoints);
  std::string key = name;
  if (key == "index" || key == "file_index") key = "h5_" + key; // those keys are the reader's
  MetaValue value;
  switch (H5Tget_class(type)) {
  case H5T_INTEGER: {
    if (H5Tget_sign(type) == H5T_SGN_NONE && H5Tget_size(type) == 8) {
      std::vector<std::uint64_t> v(n);
      if (H5Aread(attr, H5T_NATIVE_UINT64, v.data()) < 0) return 0;
      if (n == 1 && v[0] <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        value = static_cast<std::int64_t>(v[0]);
      else
        value = std::vector<double>(v.begin(), v.end());
    } else {
      std::vector<std::int64_t> v(n);
      if (H5Aread(attr, H5T_NATIVE_INT64, v.data()) < 0) return 0;
      if (n == 1)
        value = v[0];
      else
        value = std::vector<double>(v.begin(), v.end());
    }
    break;
  }
  case H5T_FLOAT: {
    std::vector<double> v(n);
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) < 0) return 0;
    if (n == 1)
      value = v[0];
    else
      value = std::move(v);
    break;
  }
  case H5T_STRING: {
    std::string text;
    if (H5Tis_variable_str(type) > 0) {
      const Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(mem, H5T_VARIABLE);
      H5Tset_cset(mem, H5Tget_cset(type));
      std::vector<char*> ptrs(n, nullptr);
      if (H5Aread(attr, mem, ptrs.data()) < 0) return 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (i) text += ", ";
        if (ptrs[i]) text += ptrs[i];
      }
      H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
    } else {
      const std::size_t size = H5Tget_size(type);
      if (size == 0 || size > (1u << 20)) return 0;
      const Id mem(H5Tcopy(type), H5Tclose);
      std::vector<char> buf(size * n);
      if (H5Aread(attr, mem, buf.data()) < 0) return 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (i) text += ", ";
        text += trim_fixed(buf.data() + i * size, size);
      }
    }
    if (key == "units") key = is_lumen_units(text) ? "units" : "h5_units";
    value = std::move(text);
    break;
  }
  default:
    return 0; // compounds, references, enums: not meta
  }
  ctx.meta->set(key, std::move(value), "HDF5 attribute");
  return 0;
}

} // namespace

void H5Reader::read_attributes(const std::string& dataset, Meta& meta) {
  H5Lock lock;
  const Id d(H5Oopen(file_, dataset.c_str(), H5P_DEFAULT), H5Oclose);
  if (!d.ok()) fail("cannot open '" + dataset + "' for its attributes");
  std::string error;
  AttrContext ctx{&meta, &error};
  hsize_t idx = 0;
  if (H5Aiterate2(d, H5_INDEX_NAME, H5_ITER_NATIVE, &idx, read_attribute, &ctx) < 0)
    fail("cannot read the attributes of '" + dataset + "'");
  (void)error_stack_text();
}

// ---- chunk encoding ---------------------------------------------------------------------------

Codec codec_from_name(const std::string& name) {
  if (name == "none") return Codec::none;
  if (name == "deflate") return Codec::deflate;
  if (name == "shuffle+deflate") return Codec::shuffle_deflate;
  throw Error("unknown HDF5 compression '" + name + "' (none, deflate, shuffle+deflate)");
}

namespace {

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const noexcept { libdeflate_free_compressor(c); }
};

// One compressor per thread and level: allocating one costs more than compressing a small chunk.
libdeflate_compressor* thread_compressor(int level) {
  thread_local std::unique_ptr<libdeflate_compressor, CompressorDeleter> c;
  thread_local int c_level = -1;
  if (!c || c_level != level) {
    c.reset(libdeflate_alloc_compressor(level));
    c_level = level;
    if (!c) throw Error("libdeflate: cannot create a compressor at level " + std::to_string(level));
  }
  return c.get();
}

// HDF5's shuffle filter: byte j of element i goes to j * n + i; trailing bytes stay as they are.
void shuffle(const unsigned char* in, unsigned char* out, std::size_t bytes, std::size_t es) {
  const std::size_t n = bytes / es;
  for (std::size_t j = 0; j < es; ++j) {
    unsigned char* o = out + j * n;
    const unsigned char* p = in + j;
    for (std::size_t i = 0; i < n; ++i) o[i] = p[i * es];
  }
  std::memcpy(out + n * es, in + n * es, bytes - n * es);
}

void unshuffle(const unsigned char* in, unsigned char* out, std::size_t bytes, std::size_t es) {
  const std::size_t n = bytes / es;
  for (std::size_t j = 0; j < es; ++j) {
    const unsigned char* p = in + j * n;
    unsigned char* o = out + j;
    for (std::size_t i = 0; i < n; ++i) o[i * es] = p[i];
  }
  std::memcpy(out + n * es, in + n * es, bytes - n * es);
}

} // namespace

std::vector<unsigned char> encode_chunk(Codec codec, int level, std::size_t es, const unsigned char* data,
                                        std::size_t bytes) {
  if (codec == Codec::none) return {data, data + bytes};
  std::vector<unsigned char> shuffled;
  if (codec == Codec::shuffle_deflate && es > 1) {
    shuffled.resize(bytes);
    shuffle(data, shuffled.data(), bytes, es);
    data = shuffled.data();
  }
  libdeflate_compressor* c = thread_compressor(level);
  std::vector<unsigned char> out(libdeflate_zlib_compress_bound(c, bytes));
  const std::size_t n = libdeflate_zlib_compress(c, data, bytes, out.data(), out.size());
  if (n == 0) throw Error("libdeflate: compression failed");
  out.resize(n);
  return out;
}

std::vector<unsigned char> decode_chunk(Codec codec, std::size_t es, const std::vector<unsigned char>& chunk,
                                        std::size_t raw_bytes) {
  if (codec == Codec::none) return chunk;
  std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> d(libdeflate_alloc_decompressor(),
                                                                                 libdeflate_free_decompressor);
  std::vector<unsigned char> raw(raw_bytes);
  std::size_t got = 0;
  if (libdeflate_zlib_decompress(d.get(), chunk.data(), chunk.size(), raw.data(), raw.size(), &got) !=
          LIBDEFLATE_SUCCESS ||
      got != raw_bytes)
    throw Error("libdeflate: corrupt chunk");
  if (codec == Codec::shuffle_deflate && es > 1) {
    std::vector<unsigned char> out(raw_bytes);
    unshuffle(raw.data(), out.data(), raw_bytes, es);
    return out;
  }
  return raw;
}

// ---- H5ChunkWriter ----------------------------------------------------------------------------

namespace {

hid_t native_type(DType t) {
  switch (t) {
  case DType::u8:
    return H5T_NATIVE_UINT8;
  case DType::u16:
    return H5T_NATIVE_UINT16;
  case DType::i16:
    return H5T_NATIVE_INT16;
  case DType::u32:
    return H5T_NATIVE_UINT32;
  case DType::i32:
    return H5T_NATIVE_INT32;
  case DType::f32:
    return H5T_NATIVE_FLOAT;
  case DType::f64:
    return H5T_NATIVE_DOUBLE;
  }
  return H5T_NATIVE_UINT8;
}

constexpr std::size_t kMaxChunkBytes = std::size_t{16} << 20;

} // namespace

H5ChunkWriter::H5ChunkWriter(const fs::path& file, DType dtype, const Shape& shape, bool extendable,
                             const WriteOptions& options, ThreadPool* pool, std::string what)
    : what_(std::move(what)), dtype_(dtype), stack_(extendable || shape.ndim >= 3), options_(options), pool_(pool) {
  if (shape.ndim < 1 || shape.size() <= 0) throw InputError(what_ + ": nothing to write (empty array)");
  if (stack_) {
    for (int a = 1; a < shape.ndim; ++a) frame_.dims[frame_.ndim++] = shape[a];
  } else {
    frame_ = shape;
  }
  const int rank = stack_ ? frame_.ndim + 1 : frame_.ndim;
  std::vector<hsize_t> dims, maxdims;
  if (stack_) {
    dims.push_back(extendable ? 0 : static_cast<hsize_t>(shape[0]));
    maxdims.push_back(extendable ? H5S_UNLIMITED : static_cast<hsize_t>(shape[0]));
    chunk_.push_back(1);
  }
  for (int a = 0; a < frame_.ndim; ++a) {
    dims.push_back(static_cast<hsize_t>(frame_[a]));
    maxdims.push_back(static_cast<hsize_t>(frame_[a]));
    chunk_.push_back(static_cast<std::uint64_t>(frame_[a]));
  }
  // Frames over 16 MiB are cut into blocks of rows (the first frame axis).
  if (frame_.ndim >= 1) {
    const std::size_t ra = stack_ ? 1 : 0;
    std::uint64_t row_bytes = dtype_size(dtype);
    for (std::size_t a = ra + 1; a < chunk_.size(); ++a) row_bytes *= chunk_[a];
    const std::uint64_t rows = std::max<std::uint64_t>(1, kMaxChunkBytes / row_bytes);
    chunk_[ra] = std::min(chunk_[ra], rows);
  }
  capacity_ = stack_ && !extendable ? shape[0] : 0;

  H5Lock lock;
  file_ = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file_ < 0) fail("cannot create " + file.string());
  // A constructor that throws runs no destructor: close what was opened on the way out.
  try {
    const Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    const Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    std::vector<hsize_t> chunk(chunk_.begin(), chunk_.end());
    bool ok = lcpl.ok() && dcpl.ok() && H5Pset_create_intermediate_group(lcpl, 1) >= 0 &&
              H5Pset_chunk(dcpl, rank, chunk.data()) >= 0;
    // The standard filters, declared so readers undo them; the data arrive already filtered.
    if (ok && options_.codec == Codec::shuffle_deflate) ok = H5Pset_shuffle(dcpl) >= 0;
    if (ok && options_.codec != Codec::none) ok = H5Pset_deflate(dcpl, static_cast<unsigned>(options_.level)) >= 0;
    if (!ok) fail("cannot set up the dataset's chunking and filters");
    const Id space(H5Screate_simple(rank, dims.data(), maxdims.data()), H5Sclose);
    dset_ = H5Dcreate2(file_, options_.dataset.c_str(), native_type(dtype), space, lcpl, dcpl, H5P_DEFAULT);
    if (dset_ < 0) fail("cannot create dataset '" + options_.dataset + "'");
  } catch (...) {
    if (dset_ >= 0) H5Dclose(dset_);
    H5Fclose(file_);
    dset_ = file_ = -1;
    throw;
  }
}

H5ChunkWriter::~H5ChunkWriter() {
  for (auto& p : pending_)
    if (p.encoded.valid()) p.encoded.wait(); // jobs own their data; just do not outlive them
  H5Lock lock;
  if (dset_ >= 0) H5Dclose(dset_);
  if (file_ >= 0) H5Fclose(file_);
  (void)error_stack_text();
}

void H5ChunkWriter::fail(const std::string& what) const {
  throw Error(with_stack(what_ + ": " + what));
}

void H5ChunkWriter::grow(std::int64_t frames) {
  if (frames <= capacity_) return;
  // Grow geometrically so that appending N frames costs O(log N) extent changes.
  capacity_ = std::max<std::int64_t>(frames, capacity_ + capacity_ / 2 + 16);
  std::vector<hsize_t> dims{static_cast<hsize_t>(capacity_)};
  for (int a = 0; a < frame_.ndim; ++a) dims.push_back(static_cast<hsize_t>(frame_[a]));
  H5Lock lock;
  if (H5Dset_extent(dset_, dims.data()) < 0) fail("cannot extend dataset '" + options_.dataset + "'");
}

void H5ChunkWriter::write_one(Pending& p) {
  std::vector<unsigned char> data = p.encoded.valid() ? p.encoded.get() : std::move(p.raw);
  H5Lock lock;
  std::vector<hsize_t> offset(p.offset.begin(), p.offset.end());
  // Filter mask 0: every filter of the pipeline was applied.
  if (H5Dwrite_chunk(dset_, H5P_DEFAULT, 0, offset.data(), data.size(), data.data()) < 0)
    fail("cannot write a chunk of dataset '" + options_.dataset + "'");
}

void H5ChunkWriter::drain(std::size_t keep) {
  while (pending_.size() > keep) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    write_one(p);
  }
}

void H5ChunkWriter::append(const Array& data) {
  if (closed_) fail("append after close");
  if (data.dtype() != dtype_)
    throw InputError(what_ + ": dtype " + std::string(dtype_name(data.dtype())) + " differs from the dataset's " +
                     std::string(dtype_name(dtype_)));
  bool shape_ok;
  if (stack_) {
    shape_ok = data.ndim() == frame_.ndim + 1;
    for (int a = 0; shape_ok && a < frame_.ndim; ++a) shape_ok = data.dim(a + 1) == frame_[a];
  } else {
    shape_ok = data.shape() == frame_ && frames_ == 0;
  }
  if (!shape_ok) {
    std::string f = frame_.str();
    throw InputError(what_ + ": shape " + data.shape().str() + " does not fit the dataset's frames of " + f);
  }
  const Array c = data.contiguous_copy();
  const std::int64_t n = stack_ ? c.dim(0) : 1;
  if (stack_ && capacity_ < frames_ + n) grow(frames_ + n);

  const std::size_t es = dtype_size(dtype_);
  const std::size_t ra = stack_ ? 1 : 0;
  const std::int64_t height = frame_.ndim >= 1 ? frame_[0] : 1;
  std::size_t row_bytes = es;
  for (std::size_t a = ra + 1; a < chunk_.size(); ++a) row_bytes *= static_cast<std::size_t>(chunk_[a]);
  const auto chunk_rows = static_cast<std::int64_t>(chunk_.size() > ra ? chunk_[ra] : 1);
  const std::size_t chunk_bytes = static_cast<std::size_t>(chunk_rows) * row_bytes;
  const std::size_t frame_bytes = static_cast<std::size_t>(height) * row_bytes;
  const auto* base = static_cast<const unsigned char*>(c.raw());
  const std::size_t in_flight = pool_ ? 2 * static_cast<std::size_t>(pool_->size()) : 0;

  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t r0 = 0; r0 < height; r0 += chunk_rows) {
      const std::int64_t rows = std::min(chunk_rows, height - r0);
      const unsigned char* src =
          base + static_cast<std::size_t>(i) * frame_bytes + static_cast<std::size_t>(r0) * row_bytes;
      const std::size_t bytes = static_cast<std::size_t>(rows) * row_bytes;
      Pending p;
      p.offset.assign(chunk_.size(), 0);
      if (stack_) p.offset[0] = static_cast<std::uint64_t>(frames_ + i);
      if (frame_.ndim >= 1) p.offset[ra] = static_cast<std::uint64_t>(r0);
      if (options_.codec == Codec::none) {
        if (bytes == chunk_bytes) { // a whole chunk: straight from the array, no copy
          H5Lock lock;
          std::vector<hsize_t> offset(p.offset.begin(), p.offset.end());
          if (H5Dwrite_chunk(dset_, H5P_DEFAULT, 0, offset.data(), bytes, src) < 0)
            fail("cannot write a chunk of dataset '" + options_.dataset + "'");
          continue;
        }
        p.raw.assign(chunk_bytes, 0); // an edge chunk is stored full size
        std::memcpy(p.raw.data(), src, bytes);
        write_one(p);
        continue;
      }
      auto job = [c, src, bytes, chunk_bytes, es, codec = options_.codec, level = options_.level] {
        if (bytes == chunk_bytes) return encode_chunk(codec, level, es, src, bytes);
        std::vector<unsigned char> padded(chunk_bytes, 0);
        std::memcpy(padded.data(), src, bytes);
        return encode_chunk(codec, level, es, padded.data(), chunk_bytes);
      };
      if (!pool_) {
        p.raw = job();
        write_one(p);
        continue;
      }
      drain(in_flight > 0 ? in_flight - 1 : 0); // bounded memory: wait for the oldest chunk first
      p.encoded = pool_->submit(std::move(job));
      pending_.push_back(std::move(p));
    }
  frames_ += n;
}

namespace {
// Meta entries as attributes of `obj` (the caller holds an H5Lock).
void write_meta_attributes(hid_t obj, const Meta& meta) {
  for (const auto& e : meta.entries()) {
    if (e.key.empty() || H5Aexists(obj, e.key.c_str()) > 0) continue;
    const Id scalar(H5Screate(H5S_SCALAR), H5Sclose);
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, bool>) {
            const std::uint8_t b = v ? 1 : 0;
            const Id a(H5Acreate2(obj, e.key.c_str(), H5T_NATIVE_UINT8, scalar, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
            if (a.ok()) H5Awrite(a, H5T_NATIVE_UINT8, &b);
          } else if constexpr (std::is_same_v<V, std::int64_t>) {
            const Id a(H5Acreate2(obj, e.key.c_str(), H5T_NATIVE_INT64, scalar, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
            if (a.ok()) H5Awrite(a, H5T_NATIVE_INT64, &v);
          } else if constexpr (std::is_same_v<V, double>) {
            const Id a(H5Acreate2(obj, e.key.c_str(), H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
            if (a.ok()) H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
          } else if constexpr (std::is_same_v<V, std::string>) {
            const Id t(H5Tcopy(H5T_C_S1), H5Tclose);
            H5Tset_size(t, H5T_VARIABLE);
            H5Tset_cset(t, H5T_CSET_UTF8);
            const Id a(H5Acreate2(obj, e.key.c_str(), t, scalar, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
            const char* p = v.c_str();
            if (a.ok()) H5Awrite(a, t, &p);
          } else {
            if (v.empty()) return;
            const hsize_t n = v.size();
            const Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
            const Id a(H5Acreate2(obj, e.key.c_str(), H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
            if (a.ok()) H5Awrite(a, H5T_NATIVE_DOUBLE, v.data());
          }
        },
        e.value);
  }
  (void)error_stack_text(); // an attribute name HDF5 refuses is skipped, not fatal
}

} // namespace

void H5ChunkWriter::write_attributes(const Meta& meta) {
  H5Lock lock;
  write_meta_attributes(dset_, meta);
}

void H5ChunkWriter::close() {
  if (closed_) return;
  drain(0);
  H5Lock lock;
  if (stack_ && capacity_ != frames_) {
    std::vector<hsize_t> dims{static_cast<hsize_t>(frames_)};
    for (int a = 0; a < frame_.ndim; ++a) dims.push_back(static_cast<hsize_t>(frame_[a]));
    if (H5Dset_extent(dset_, dims.data()) < 0) fail("cannot set the final extent of '" + options_.dataset + "'");
  }
  closed_ = true;
  const herr_t d = H5Dclose(dset_);
  dset_ = -1;
  const herr_t f = H5Fclose(file_);
  file_ = -1;
  if (d < 0 || f < 0) fail("closing the file failed");
}

// ---- H5Editor -----------------------------------------------------------------------------------

H5Editor::H5Editor(const fs::path& file, std::string what) : what_(std::move(what)) {
  H5Lock lock;
  file_ = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (file_ < 0) fail("cannot open " + file.string() + " for writing");
}

H5Editor::~H5Editor() {
  H5Lock lock;
  if (file_ >= 0) H5Fclose(file_);
  (void)error_stack_text();
}

void H5Editor::fail(const std::string& what) const {
  throw Error(with_stack(what_ + ": " + what));
}

namespace {

// A dataset `path` of `type` over `space`, with missing groups created (the caller holds an H5Lock).
hid_t create_dataset(hid_t file, const std::string& path, hid_t type, hid_t space) {
  const Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  if (!lcpl.ok() || H5Pset_create_intermediate_group(lcpl, 1) < 0) return -1;
  return H5Dcreate2(file, path.c_str(), type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
}

} // namespace

void H5Editor::write_array(const std::string& path, const Array& array) {
  if (array.ndim() < 1 || array.size() <= 0) fail("dataset '" + path + "': nothing to write (empty array)");
  const Array c = array.contiguous_copy();
  std::vector<hsize_t> dims;
  for (int a = 0; a < c.ndim(); ++a) dims.push_back(static_cast<hsize_t>(c.dim(a)));
  H5Lock lock;
  const Id space(H5Screate_simple(c.ndim(), dims.data(), nullptr), H5Sclose);
  const Id dset(create_dataset(file_, path, native_type(c.dtype()), space), H5Dclose);
  if (!dset.ok()) fail("cannot create dataset '" + path + "'");
  if (H5Dwrite(dset, native_type(c.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT, c.raw()) < 0)
    fail("cannot write dataset '" + path + "'");
}

void H5Editor::write_scalar(const std::string& path, double value) {
  H5Lock lock;
  const Id space(H5Screate(H5S_SCALAR), H5Sclose);
  const Id dset(create_dataset(file_, path, H5T_NATIVE_DOUBLE, space), H5Dclose);
  if (!dset.ok() || H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
    fail("cannot write scalar dataset '" + path + "'");
}

void H5Editor::write_scalar(const std::string& path, std::int64_t value) {
  H5Lock lock;
  const Id space(H5Screate(H5S_SCALAR), H5Sclose);
  const Id dset(create_dataset(file_, path, H5T_NATIVE_INT64, space), H5Dclose);
  if (!dset.ok() || H5Dwrite(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
    fail("cannot write scalar dataset '" + path + "'");
}

void H5Editor::write_attributes(const std::string& path, const Meta& meta) {
  H5Lock lock;
  const Id obj(H5Oopen(file_, path.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.ok()) fail("cannot open '" + path + "' to set its attributes");
  write_meta_attributes(obj, meta);
}

void H5Editor::write_string_list_attribute(const std::string& path, const std::string& name,
                                           const std::vector<std::string>& values) {
  H5Lock lock;
  const Id obj(H5Oopen(file_, path.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.ok()) fail("cannot open '" + path + "' to set attribute '" + name + "'");
  const Id t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  const hsize_t n = values.size();
  const Id space(n == 0 ? H5Screate(H5S_NULL) : H5Screate_simple(1, &n, nullptr), H5Sclose);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (H5Aexists(obj, name.c_str()) > 0 && H5Adelete(obj, name.c_str()) < 0)
    fail("cannot replace attribute '" + name + "' of '" + path + "'");
  const Id a(H5Acreate2(obj, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!a.ok() || (n > 0 && H5Awrite(a, t, ptrs.data()) < 0))
    fail("cannot write attribute '" + name + "' of '" + path + "'");
}

void H5Editor::soft_link(const std::string& link, const std::string& target) {
  H5Lock lock;
  const Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  if (!lcpl.ok() || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
      H5Lcreate_soft(target.c_str(), file_, link.c_str(), lcpl, H5P_DEFAULT) < 0)
    fail("cannot create the soft link '" + link + "' -> '" + target + "'");
}

void H5Editor::close() {
  if (file_ < 0) return;
  H5Lock lock;
  const herr_t r = H5Fclose(file_);
  file_ = -1;
  if (r < 0) fail("closing the file failed");
}

} // namespace lumen::hdf5
