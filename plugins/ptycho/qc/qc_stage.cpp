// ptycho.qc_score (see qc_stage.hpp): finds the datasets, runs the scoring (qc_score.cpp) and writes
// the outputs (npy through the npy set's writer, CSV, JSON, and the pictures of qc_render.cpp).
#include "qc_stage.hpp"

#include "hdf5_io.hpp"
#include "npy_io.hpp"
#include "qc_render.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <hdf5.h>
#include <memory>
#include <nlohmann/json.hpp>

namespace lumen::ptycho {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kHdf5Extensions{".h5", ".hdf5", ".hdf", ".nxs", ".cxi"};
constexpr const char* kStdData = "/entry/data";
constexpr const char* kCxiData = "/entry_1/instrument_1/detector_1/data";
constexpr const char* kStdPos = "/entry/pos";
constexpr const char* kCxiPos = "/entry_1/sample_1/geometry_1/translation";
constexpr const char* kStdMask = "/entry/mask";
constexpr const char* kCxiMask = "/entry_1/instrument_1/detector_1/mask";

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string short_num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string list_text(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + num(v[i]);
  return s + "]";
}

std::string dims_text(const std::vector<std::int64_t>& d) {
  std::string s = "(";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + (d.size() == 1 ? ",)" : ")");
}

// "the file's datasets of rank 3: /a (3, 4, 5), /b (...)" (or "none").
std::string rank_list(hdf5::H5Reader& r, int rank) {
  std::string s;
  for (const auto& p : r.datasets_of_rank(rank)) s += (s.empty() ? "" : ", ") + p + " " + dims_text(r.dims(p));
  return "its datasets of rank " + std::to_string(rank) + ": " + (s.empty() ? "none" : s);
}

// The dataset `given` names (checked), or the first default the file has.
std::string resolve(hdf5::H5Reader& r, const std::string& given, const std::string& param,
                    const std::vector<std::string>& defaults, int rank, const std::string& what) {
  if (!given.empty()) {
    if (!r.has_dataset(given))
      r.fail(param + " '" + given + "' is not a dataset of this file (" + what + " expected; " + rank_list(r, rank) +
             ")");
    return given;
  }
  for (const auto& d : defaults)
    if (r.has_dataset(d)) return d;
  std::string tried;
  for (const auto& d : defaults) tried += (tried.empty() ? "" : " nor ") + d;
  r.fail("no " + what + " at the default paths (the file has neither " + tried + "): set " + param + " (" +
         rank_list(r, rank) + ")");
}

std::vector<double> column(const Array& a, std::int64_t col) {
  const Array c = a.as(DType::f64).contiguous_copy();
  const double* p = c.view<double>().data();
  const std::int64_t cols = c.ndim() == 2 ? c.dim(1) : 1;
  std::vector<double> out(static_cast<std::size_t>(c.dim(0)));
  for (std::int64_t i = 0; i < c.dim(0); ++i) out[static_cast<std::size_t>(i)] = p[i * cols + col];
  return out;
}

Array f64_array(const std::vector<double>& v) {
  Array a(DType::f64, Shape{static_cast<std::int64_t>(v.size())});
  std::copy(v.begin(), v.end(), a.writable<double>().data());
  return a;
}

std::string expand_stem(const std::string& pattern, const std::string& stem) {
  std::string s = pattern;
  for (std::size_t at = s.find("{stem}"); at != std::string::npos; at = s.find("{stem}", at + stem.size()))
    s.replace(at, 6, stem);
  return s;
}

// Files written to temporaries, committed together at the end.
class Pending {
public:
  explicit Pending(const Context& ctx) : ctx_(ctx) {}
  AtomicFile& open(const fs::path& target) { return *files_.emplace_back(std::make_unique<AtomicFile>(target)); }
  void npy(const fs::path& target, const Array& a) {
    AtomicFile& f = open(target);
    npy::write_npy([&](const void* d, std::size_t n) { f.write(d, n); }, a, target.filename().string());
  }
  // An index list; an empty one is a valid (0,) array: the npy header alone.
  void indices(const fs::path& target, const std::vector<std::int64_t>& idx) {
    if (idx.empty()) {
      const std::string h = npy::make_header(DType::i32, Shape{0});
      open(target).write(h.data(), h.size());
      return;
    }
    Array a(DType::i32, Shape{static_cast<std::int64_t>(idx.size())});
    auto* p = a.writable<std::int32_t>().data();
    for (std::size_t i = 0; i < idx.size(); ++i) p[i] = static_cast<std::int32_t>(idx[i]);
    npy(target, a);
  }
  void text(const fs::path& target, const std::string& content) { open(target).write(content.data(), content.size()); }
  void commit() {
    for (auto& f : files_) ctx_.record_output(f->target(), f->commit());
    files_.clear();
  }

private:
  const Context& ctx_;
  std::vector<std::unique_ptr<AtomicFile>> files_;
};

// Blocks of frames straight into two reused buffers: the dataset is opened with a chunk cache of
// 0 bytes, so HDF5 reads each (uncompressed) chunk directly into the caller's memory instead of
// into its cache and then copying, and no block pays for fresh pages. Only for datasets stored as
// the dtype they are read as (no conversion); the others go through H5Reader::read. A returned
// block is valid until the call after next (score_frames holds at most two).
class DirectFrames {
public:
  DirectFrames(const fs::path& file, const std::string& dataset, const hdf5::DatasetInfo& info, std::int64_t block)
      : file_name_(file.string()), dataset_(dataset), info_(info), block_(block) {
    const hdf5::H5Lock lock;
    file_ = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl >= 0) {
      H5Pset_chunk_cache(dapl, 0, 0, 1.0);
      if (file_ >= 0) dset_ = H5Dopen2(file_, dataset.c_str(), dapl);
      H5Pclose(dapl);
    }
    if (dset_ >= 0) fspace_ = H5Dget_space(dset_);
    if (fspace_ < 0) fail("cannot open dataset");
  }
  ~DirectFrames() {
    const hdf5::H5Lock lock;
    if (fspace_ >= 0) H5Sclose(fspace_);
    if (dset_ >= 0) H5Dclose(dset_);
    if (file_ >= 0) H5Fclose(file_);
  }
  DirectFrames(const DirectFrames&) = delete;
  DirectFrames& operator=(const DirectFrames&) = delete;

  /// The memory type for a dataset stored exactly as `info.dtype`, or -1 (then use H5Reader::read).
  static hid_t memtype(const hdf5::DatasetInfo& info) {
    if (info.wide_int) return -1;
    const std::string& s = info.stored;
    const DType d = info.dtype;
    if (s == "u8" && d == DType::u8) return H5T_NATIVE_UINT8;
    if (s == "u16" && d == DType::u16) return H5T_NATIVE_UINT16;
    if (s == "i16" && d == DType::i16) return H5T_NATIVE_INT16;
    if (s == "u32" && d == DType::u32) return H5T_NATIVE_UINT32;
    if (s == "i32" && d == DType::i32) return H5T_NATIVE_INT32;
    if (s == "f32" && d == DType::f32) return H5T_NATIVE_FLOAT;
    if (s == "f64" && d == DType::f64) return H5T_NATIVE_DOUBLE;
    return -1;
  }

  Array read(std::int64_t begin, std::int64_t end) {
    const std::int64_t n = end - begin;
    Array& buf = buffers_[next_++ % 2];
    if (buf.empty() || buf.dim(0) < n)
      buf = Array::uninitialized(info_.dtype, Shape{std::max(n, block_), info_.dims[1], info_.dims[2]});
    const hdf5::H5Lock lock;
    const hsize_t start[3] = {static_cast<hsize_t>(begin), 0, 0};
    const hsize_t count[3] = {static_cast<hsize_t>(n), static_cast<hsize_t>(info_.dims[1]),
                              static_cast<hsize_t>(info_.dims[2])};
    const hid_t mspace = H5Screate_simple(3, count, nullptr);
    herr_t status = -1;
    if (mspace >= 0 && H5Sselect_hyperslab(fspace_, H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0)
      status = H5Dread(dset_, memtype(info_), mspace, fspace_, H5P_DEFAULT, buf.raw());
    if (mspace >= 0) H5Sclose(mspace);
    if (status < 0) fail("cannot read frames [" + std::to_string(begin) + ", " + std::to_string(end) + ")");
    return buf.slice(0, n);
  }

private:
  [[noreturn]] void fail(const std::string& what) const {
    const std::string stack = hdf5::error_stack_text();
    throw InputError(file_name_ + ": " + what + " of '" + dataset_ + "'" + (stack.empty() ? "" : " (" + stack + ")"));
  }
  std::string file_name_, dataset_;
  hdf5::DatasetInfo info_;
  std::int64_t block_;
  hid_t file_ = -1, dset_ = -1, fspace_ = -1;
  Array buffers_[2];
  std::size_t next_ = 0;
};

} // namespace

QcScore::QcScore() : FileReader(kHdf5Extensions, "HDF5 (standardized ptychography file or CXI)") {}

void QcScore::validate() const {
  FileReader::validate();
  if (!pos_path->empty() && (!pos_x_path->empty() || !pos_y_path->empty()))
    throw ConfigError("pos_path", "give the positions either as pos_path (an (N, 2) or (N, 3) table) or as "
                                  "pos_x_path + pos_y_path (two columns), not both");
  if (pos_x_path->empty() != pos_y_path->empty())
    throw ConfigError(pos_x_path->empty() ? "pos_x_path" : "pos_y_path",
                      "pos_x_path and pos_y_path go together: give both (or pos_path, or neither for the default)");
  const auto& r = *roi;
  if (!r.empty() && r.size() != 4)
    throw ConfigError("roi", "roi must be [y0, x0, h, w] (4 values, detector pixels) or [] for the whole frame, got " +
                                 std::to_string(r.size()) + " values");
  if (r.size() == 4 && (r[2] < 1 || r[3] < 1))
    throw ConfigError("roi", "roi [y0, x0, h, w]: h and w must be >= 1, got h = " + std::to_string(r[2]) +
                                 ", w = " + std::to_string(r[3]));
  if (r.size() == 4 && (r[2] / *bin < *embed_side || r[3] / *bin < *embed_side))
    throw ConfigError("roi", "the roi of " + std::to_string(r[2]) + " x " + std::to_string(r[3]) +
                                 " pixels binned by " + std::to_string(*bin) +
                                 " is smaller than embed_side = " + std::to_string(*embed_side) +
                                 " binned pixels: enlarge the roi, lower bin or embed_side");
  int modes = 0;
  std::string given;
  auto mode = [&](bool on, const std::string& text) {
    if (!on) return;
    ++modes;
    given += (given.empty() ? "" : " and ") + text;
  };
  mode(*reject_topk > 0, "reject_topk " + std::to_string(*reject_topk));
  mode(*reject_topp > 0, "reject_topp " + num(*reject_topp));
  mode(*reject_thresh > 0, "reject_thresh " + num(*reject_thresh));
  if (modes > 1)
    throw ConfigError(*reject_topk > 0 ? "reject_topk" : "reject_topp",
                      "give at most one reject mode (reject_topk, reject_topp or reject_thresh; 0 = off), got " +
                          given);
  if (*reject_thresh >= 1)
    throw ConfigError("reject_thresh", "scores are in [0, 1): reject_thresh must be below 1 (e.g. 0.5 = a robust "
                                       "deviation of 3.5), got " +
                                           num(*reject_thresh));
  const auto& re = *rect;
  if (!re.empty() && re.size() != 4)
    throw ConfigError("rect",
                      "rect must be [cx, cy, w, h] (4 values, stage coordinates) or [] for none, got " + list_text(re));
  if (re.size() == 4 && (!(re[2] > 0) || !(re[3] > 0) || !std::isfinite(re[0] + re[1] + re[2] + re[3])))
    throw ConfigError("rect", "rect [cx, cy, w, h] needs finite values and w, h > 0, got " + list_text(re));
  const auto& c = *circ;
  if (!c.empty() && c.size() != 3)
    throw ConfigError("circ",
                      "circ must be [cx, cy, r] (3 values, stage coordinates) or [] for none, got " + list_text(c));
  if (c.size() == 3 && (!(c[2] > 0) || !std::isfinite(c[0] + c[1] + c[2])))
    throw ConfigError("circ", "circ [cx, cy, r] needs finite values and r > 0, got " + list_text(c));
  if (!re.empty() && !c.empty()) throw ConfigError("circ", "give one region, rect or circ, not both");
  if (*pca_k >= *embed_side * *embed_side)
    throw ConfigError(
        "pca_k", "pca_k = " + std::to_string(*pca_k) +
                     " must be below the embedding size embed_side^2 = " + std::to_string(*embed_side * *embed_side));
  std::string rest = expand_stem(*prefix, "");
  if (rest.find('{') != std::string::npos || rest.find('}') != std::string::npos)
    throw ConfigError("prefix", "prefix knows only {stem} (the input file's stem), got '" + *prefix + "'");
}

std::vector<WorkUnit> QcScore::plan() {
  auto units = FileReader::plan();
  // Several files whose outputs would land on the same names: every unit fails saying so (the
  // plan itself stays valid, so the run reports it per file).
  collide_ = units.size() > 1 && prefix->find("{stem}") == std::string::npos ? units.size() : 0;
  return units;
}

qc::QcOptions QcScore::options() const {
  qc::QcOptions o;
  o.roi = *roi;
  o.bin = *bin;
  o.embed_side = *embed_side;
  o.pca_k = *pca_k;
  o.pca_fit = *pca_fit;
  o.rings = *rings;
  o.w_feat = *w_feat;
  o.frames_per_block = *frames_per_block;
  return o;
}

qc::RejectRule QcScore::reject_rule() const {
  if (*reject_topk > 0) return {qc::RejectMode::topk, static_cast<double>(*reject_topk)};
  if (*reject_topp > 0) return {qc::RejectMode::topp, *reject_topp};
  if (*reject_thresh > 0) return {qc::RejectMode::thresh, *reject_thresh};
  return {};
}

void QcScore::read(const WorkUnit& unit, Emit& emit) {
  const auto t_start = std::chrono::steady_clock::now();
  const fs::path file = unit.source_file;
  if (collide_ > 0)
    throw InputError(file.string() + ": path matches " + std::to_string(collide_) +
                     " files, whose outputs would overwrite each other; nothing is written: set prefix, e.g. "
                     "\"{stem}_\"");
  hdf5::H5Reader r(file);

  // The datasets.
  const std::string data = resolve(r, *data_path, "data_path", {kStdData, kCxiData}, 3, "frames (N, ny, nx)");
  const auto d = r.dims(data);
  if (d.size() != 3)
    r.fail("data_path '" + data + "' has shape " + dims_text(d) + "; the frames must be a stack (N, ny, nx) (" +
           rank_list(r, 3) + ")");
  const hdf5::DatasetInfo data_info = r.info(data); // an image dtype
  const std::int64_t N = d[0];
  std::vector<double> x, y;
  std::string pos_text;
  if (!pos_x_path->empty()) {
    auto read_column = [&](const Param<std::string>& param, std::vector<double>& out) {
      const std::string& name = param.spec().name;
      const std::string where = resolve(r, *param, name, {}, 1, "position column (N,)");
      const auto pd = r.dims(where);
      if (!(pd.size() == 1 || (pd.size() == 2 && pd[1] == 1)) || pd[0] != N)
        r.fail(name + " '" + where + "' has shape " + dims_text(pd) + "; expected (" + std::to_string(N) +
               ",): one value per frame of " + data + " (" + rank_list(r, 1) + ")");
      out = column(r.read(where), 0);
    };
    read_column(pos_x_path, x);
    read_column(pos_y_path, y);
    pos_text = *pos_x_path + " + " + *pos_y_path;
  } else {
    const std::string where = resolve(r, *pos_path, "pos_path", {kStdPos, kCxiPos}, 2, "positions (N, 2) or (N, 3)");
    const auto pd = r.dims(where);
    if (pd.size() != 2 || (pd[1] != 2 && pd[1] != 3) || pd[0] != N)
      r.fail("pos_path '" + where + "' has shape " + dims_text(pd) + "; expected (" + std::to_string(N) + ", 2) or (" +
             std::to_string(N) + ", 3): columns x, y[, z], one row per frame of " + data + " (" + rank_list(r, 2) +
             ")");
    const Array p = r.read(where);
    x = column(p, 0);
    y = column(p, 1);
    pos_text = where;
  }

  // Bad detector pixels.
  std::string mask_text = "none";
  std::vector<std::uint8_t> bad;
  std::int64_t bad_count = 0;
  if (*mask_path != "none") {
    std::string where = *mask_path;
    if (where.empty()) {
      for (const char* m : {kStdMask, kCxiMask})
        if (r.has_dataset(m)) {
          where = m;
          break;
        }
    } else if (!r.has_dataset(where)) {
      r.fail("mask_path '" + where + "' is not a dataset of this file (bad pixels (ny, nx) expected; " +
             rank_list(r, 2) + "; \"none\" = no mask)");
    }
    if (!where.empty()) {
      const auto md = r.dims(where);
      if (md.size() != 2 || md[0] != d[1] || md[1] != d[2])
        r.fail("mask_path '" + where + "' has shape " + dims_text(md) + "; the frames are " + std::to_string(d[1]) +
               " x " + std::to_string(d[2]) + " (\"none\" = no mask)");
      const Array m = r.read(where).as(DType::f64).contiguous_copy();
      const double* mv = m.view<double>().data();
      bad.resize(static_cast<std::size_t>(m.size()));
      for (std::size_t i = 0; i < bad.size(); ++i) {
        bad[i] = mv[i] != 0 ? 1 : 0;
        bad_count += bad[i];
      }
      mask_text = where;
    }
  }

  // Score.
  qc::QcInput in;
  in.frames = N;
  in.ny = d[1];
  in.nx = d[2];
  in.bad_pixels = std::move(bad);
  std::unique_ptr<DirectFrames> direct;
  if (DirectFrames::memtype(data_info) >= 0)
    direct = std::make_unique<DirectFrames>(file, data, data_info, *frames_per_block);
  in.read = [&](std::int64_t b, std::int64_t e) { return direct ? direct->read(b, e) : r.read(data, b, e); };
  in.masked = qc::region_mask(x, y, *rect, *circ);
  const qc::QcOptions opt = options();
  qc::QcResult res;
  {
    ThreadPool pool(std::max(1, ctx().threads()));
    try {
      res = qc::score_frames(in, opt, &pool);
    } catch (const InputError& e) {
      const std::string what = e.what();
      if (what.rfind(file.string(), 0) == 0) throw; // already names the file
      throw InputError(file.string() + ": " + what);
    }
  }
  res.rejected = qc::select_rejects(res.score, res.masked, reject_rule());
  std::vector<std::int64_t> accepted, rejected, masked;
  for (std::int64_t i = 0; i < N; ++i) {
    const auto k = static_cast<std::size_t>(i);
    (res.masked[k] ? masked : res.rejected[k] ? rejected : accepted).push_back(i);
  }
  const qc::Geometry geo = qc::make_geometry(opt, in.ny, in.nx);

  // Outputs.
  const std::string stem = file.stem().string();
  const fs::path out = output_directory(ctx(), *dir);
  const std::string pre = expand_stem(*prefix, stem);
  auto target = [&](const std::string& name) { return out / (pre + name); };
  Pending pending(ctx());
  pending.npy(target("outlier_score.npy"), f64_array(res.score));
  pending.npy(target("stxm.npy"), f64_array(res.stxm));
  pending.npy(target("dpcx.npy"), f64_array(res.dpcx));
  pending.npy(target("dpcy.npy"), f64_array(res.dpcy));
  pending.indices(target("accept_indices.npy"), accepted);
  pending.indices(target("reject_indices.npy"), rejected);
  pending.indices(target("mask_indices.npy"), masked);

  std::string csv = "index,x,y";
  for (const auto& f : res.feature_names) csv += "," + f;
  csv += ",pca_error,feature_dev,pca_dev,score,masked,rejected\n";
  for (std::int64_t i = 0; i < N; ++i) {
    const auto k = static_cast<std::size_t>(i);
    csv += std::to_string(i) + "," + num(x[k]) + "," + num(y[k]);
    for (std::size_t j = 0; j < res.feature_count(); ++j) csv += "," + num(res.feature(i, j));
    csv += "," + num(res.pca_error[k]) + "," + num(res.feature_dev[k]) + "," + num(res.pca_dev[k]) + "," +
           num(res.score[k]) + "," + std::to_string(res.masked[k]) + "," + std::to_string(res.rejected[k]) + "\n";
  }
  pending.text(target("qc_summary.csv"), csv);

  using nlohmann::json;
  json datasets = {{"data_path", data},
                   {"pos", pos_text},
                   {"pos_unit", *pos_unit},
                   {"mask_path", mask_text},
                   {"bad_pixels", bad_count}};
  if (*ptypy_indices) {
    json j = {{"format", "lumen ptycho.qc_score indices 1"},
              {"input", fs::absolute(file).string()},
              {"data_path", data},
              {"pos_path", pos_text},
              {"frames", N},
              {"accepted", accepted},
              {"rejected", rejected},
              {"masked", masked}};
    pending.text(target("ptypy_indices.json"), j.dump(1) + "\n");
  }

  // Pictures (each commits itself), then the rest, then qc_meta.json.
  const std::string title = file.filename().string() + ": " + std::to_string(N) + " frames, " +
                            std::to_string(rejected.size()) + " rejected, " + std::to_string(masked.size()) + " masked";
  if (*maps) {
    qc::ScanMaps m;
    m.x = x;
    m.y = y;
    m.position_unit = *pos_unit;
    m.score = res.score;
    m.stxm = res.stxm;
    m.dpcx = res.dpcx;
    m.dpcy = res.dpcy;
    m.rejected = res.rejected;
    m.masked = res.masked;
    m.title = title;
    const fs::path png = target("qc_maps.png");
    qc::render_qc_maps(m, png);
    ctx().record_output(png, fs::file_size(png));
  }
  std::vector<std::int64_t> top;
  if (*thumbs > 0) {
    const auto order = qc::ranking(res.score, res.masked);
    std::vector<qc::Thumb> th;
    for (std::size_t k = 0; k < order.size() && k < static_cast<std::size_t>(*thumbs); ++k) {
      const std::int64_t i = order[k];
      const auto u = static_cast<std::size_t>(i);
      const int mf = res.main_feature[u];
      const std::string why =
          (mf < static_cast<int>(res.feature_count()) ? res.feature_names[static_cast<std::size_t>(mf)]
                                                      : std::string("pca_error")) +
          " (feature_dev " + short_num(res.feature_dev[u]) + ", pca_dev " + short_num(res.pca_dev[u]) + ")" +
          (res.rejected[u] ? ", rejected" : "");
      const Array frame = r.read(data, i, i + 1).crop(geo.y0, geo.x0, geo.h, geo.w).contiguous_copy();
      th.push_back({i, x[u], y[u], res.score[u], why, frame.reshape(Shape{geo.h, geo.w})});
      top.push_back(i);
    }
    for (const auto& f : qc::write_thumbs_gallery(th, out / (pre + "thumbs"), title, *thumb_side, *pos_unit))
      ctx().record_output(f, fs::file_size(f));
  }
  pending.commit();

  json params = json::object();
  for (const ParamBase* p : this->params()) {
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::vector<std::int64_t>> || std::is_same_v<V, std::vector<double>> ||
                        std::is_same_v<V, std::vector<std::string>> || std::is_same_v<V, bool> ||
                        std::is_same_v<V, std::int64_t> || std::is_same_v<V, double> || std::is_same_v<V, std::string>)
            params[p->spec().name] = v;
        },
        p->current());
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  json meta = {{"input", fs::absolute(file).string()},
               {"datasets", datasets},
               {"frames", N},
               {"frame_shape", {in.ny, in.nx}},
               {"roi", {geo.y0, geo.x0, geo.h, geo.w}},
               {"binned_shape", {geo.hb, geo.wb}},
               {"parameters", params},
               {"features", res.feature_names},
               {"score", "raw = w_feat * feature_dev + (1 - w_feat) * pca_dev; score = raw / (raw + 3.5)"},
               {"counts",
                {{"evaluated", static_cast<std::int64_t>(N - static_cast<std::int64_t>(masked.size()))},
                 {"accepted", accepted.size()},
                 {"rejected", rejected.size()},
                 {"masked", masked.size()}}},
               {"pca",
                {{"components", res.pca_k_used},
                 {"fit_frames", res.pca_fit_frames},
                 {"left_out_of_fit", res.pca_refit_dropped}}},
               {"thumbs", top},
               {"timings_s",
                {{"pass", res.seconds_pass},
                 {"pca_and_scores", res.seconds_pca},
                 {"total", total_s},
                 {"frames_per_second_pass", res.seconds_pass > 0 ? static_cast<double>(N) / res.seconds_pass : 0.0}}},
               {"threads", std::max(1, ctx().threads())}};
  Pending last(ctx());
  last.text(target("qc_meta.json"), meta.dump(1) + "\n");
  last.commit();

  Item item = make_item(unit);
  item.set("score", f64_array(res.score));
  Array pos(DType::f64, Shape{N, 2});
  auto pv = pos.writable<double>();
  for (std::int64_t i = 0; i < N; ++i) {
    pv.at(i, 0) = x[static_cast<std::size_t>(i)];
    pv.at(i, 1) = y[static_cast<std::size_t>(i)];
  }
  item.set("pos", std::move(pos));
  item.meta.set("frames", N, "frames of the scan");
  item.meta.set("rejected", static_cast<std::int64_t>(rejected.size()), "frames rejected");
  item.meta.set("masked", static_cast<std::int64_t>(masked.size()), "frames outside the region");
  item.meta.set("data_path", data, "dataset of the frames");
  emit(std::move(item));
}

} // namespace lumen::ptycho
