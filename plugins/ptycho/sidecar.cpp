// TIFF series + sidecar scans: CSV parsing, sidecar writing, TIFF-to-row matching (see sidecar.hpp).
#include "sidecar.hpp"

#include "hdf5_io.hpp"
#include "lumen/error.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <hdf5.h>
#include <map>
#include <numeric>
#include <sstream>

namespace lumen::ptycho {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

// One CSV line: fields separated by ',', a field may be quoted ("a,b"; "" is a quote).
std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

std::string number(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

bool all_equal(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); });
}

Array column_f64(const std::vector<double>& v) {
  Array a(DType::f64, Shape{static_cast<std::int64_t>(v.size())});
  std::copy(v.begin(), v.end(), a.writable<double>().data());
  return a;
}

} // namespace

SidecarTable parse_scan_csv(const fs::path& file, const CsvColumns& columns, const CsvUnits& units) {
  std::ifstream in(file);
  if (!in) throw InputError(file.string() + ": cannot open the CSV file");
  const std::string where = file.string();

  struct Wanted {
    const std::string* name;
    std::vector<double>* values;
    double scale;
    const char* role; // the parameter that maps it
  };
  SidecarTable t;
  std::vector<double> index_values;
  const std::vector<Wanted> wanted{{&columns.index, &index_values, 1, "col_index"},
                                   {&columns.posx, &t.posx, units.pos, "col_posx"},
                                   {&columns.posy, &t.posy, units.pos, "col_posy"},
                                   {&columns.energy, &t.energy, units.energy, "col_energy"},
                                   {&columns.det_dist, &t.det_dist, units.dist, "col_det_dist"},
                                   {&columns.pixel, &t.pixel, units.pixel, "col_pixel"},
                                   {&columns.exposure, &t.exposure, units.exposure, "col_exposure"}};

  std::vector<std::string> header;
  std::vector<int> col(wanted.size(), -1);
  std::string line;
  std::int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string s = trim(line);
    if (s.empty() || s.front() == '#') continue;
    if (header.empty()) {
      header = split_fields(s);
      for (std::size_t w = 0; w < wanted.size(); ++w) {
        if (wanted[w].name->empty()) continue;
        const auto it = std::find(header.begin(), header.end(), *wanted[w].name);
        if (it == header.end()) {
          std::string list;
          for (const auto& h : header) list += (list.empty() ? "" : ", ") + h;
          throw InputError(where + ": line " + std::to_string(line_no) + ": the header has no column '" +
                           *wanted[w].name + "' (" + wanted[w].role + "); it has: " + list + ". Map it with " +
                           wanted[w].role + ": <column>, or set " + wanted[w].role + ": \"\" when the scan has none");
        }
        col[w] = static_cast<int>(it - header.begin());
      }
      continue;
    }
    const std::vector<std::string> fields = split_fields(s);
    for (std::size_t w = 0; w < wanted.size(); ++w) {
      if (col[w] < 0) continue;
      const auto c = static_cast<std::size_t>(col[w]);
      if (c >= fields.size())
        throw InputError(where + ": line " + std::to_string(line_no) + " has " + std::to_string(fields.size()) +
                         " fields, but column '" + header[c] + "' is field " + std::to_string(c + 1) +
                         " of the header");
      const std::string& cell = fields[c];
      errno = 0;
      char* end = nullptr;
      const double v = cell.empty() ? 0.0 : std::strtod(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size() || errno == ERANGE || !std::isfinite(v))
        throw InputError(where + ": line " + std::to_string(line_no) + ", column " + std::to_string(c + 1) + " ('" +
                         header[c] + "'): '" + cell + "' is not a finite number");
      if (wanted[w].values == &index_values && (v != std::floor(v) || std::fabs(v) > 2147483647.0))
        throw InputError(where + ": line " + std::to_string(line_no) + ", column " + std::to_string(c + 1) + " ('" +
                         header[c] + "'): '" + cell + "' is not a frame index (an integer)");
      wanted[w].values->push_back(v * wanted[w].scale);
    }
    t.line.push_back(line_no);
  }
  if (header.empty()) throw InputError(where + ": no header line (the file is empty or only comments)");
  if (t.line.empty()) throw InputError(where + ": the header is there but no rows follow");

  // Sort by frame_index (stable: equal indices keep their file order for the duplicate message).
  if (!columns.index.empty()) {
    std::vector<std::size_t> order(t.rows());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return index_values[a] < index_values[b]; });
    for (std::size_t k = 1; k < order.size(); ++k)
      if (index_values[order[k]] == index_values[order[k - 1]])
        throw InputError(where + ": frame_index " + number(index_values[order[k]]) + " ('" + columns.index +
                         "') appears twice, on lines " + std::to_string(t.line[order[k - 1]]) + " and " +
                         std::to_string(t.line[order[k]]) + "; every frame has one row");
    auto permute = [&](auto& v) {
      if (v.empty()) return;
      auto copy = v;
      for (std::size_t k = 0; k < order.size(); ++k) v[k] = copy[order[k]];
    };
    for (auto* v : {&t.posx, &t.posy, &t.energy, &t.det_dist, &t.pixel, &t.exposure}) permute(*v);
    permute(t.line);
    permute(index_values);
    for (const double v : index_values) t.frame_index.push_back(static_cast<std::int64_t>(v));
  }

  // The distance and the pixel size are one value for the scan.
  for (const auto& [v, name] : {std::pair{&t.det_dist, &columns.det_dist}, std::pair{&t.pixel, &columns.pixel}})
    for (std::size_t k = 1; k < v->size(); ++k)
      if ((*v)[k] != v->front())
        throw InputError(where + ": column '" + *name + "' holds " + number(v->front()) + " on line " +
                         std::to_string(t.line.front()) + " but " + number((*v)[k]) + " on line " +
                         std::to_string(t.line[k]) + "; it must be one value for the scan");
  return t;
}

void write_sidecar(const fs::path& file, const SidecarTable& table) {
  {
    hdf5::H5Lock lock;
    const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) throw Error(file.string() + ": cannot create the sidecar: " + hdf5::error_stack_text());
    H5Fclose(f);
  }
  hdf5::H5Editor e(file, "sidecar");
  auto units = [](const char* u) {
    Meta m;
    m.set("units", u);
    return m;
  };
  if (!table.frame_index.empty()) {
    Array idx(DType::i32, Shape{static_cast<std::int64_t>(table.rows())});
    auto* o = idx.writable<std::int32_t>().data();
    for (std::size_t k = 0; k < table.rows(); ++k) o[k] = static_cast<std::int32_t>(table.frame_index[k]);
    e.write_array("frame_index", idx);
    e.write_attributes("frame_index", units("1"));
  }
  e.write_array("posx_m", column_f64(table.posx));
  e.write_attributes("posx_m", units("m"));
  e.write_array("posy_m", column_f64(table.posy));
  e.write_attributes("posy_m", units("m"));
  const std::pair<const std::vector<double>*, std::pair<const char*, const char*>> scalars[] = {
      {&table.energy, {"energy_eV", "eV"}},
      {&table.det_dist, {"det_dist_m", "m"}},
      {&table.pixel, {"pixel_m", "m"}},
      {&table.exposure, {"exposure_s", "s"}}};
  for (const auto& [v, what] : scalars) {
    if (v->empty()) continue;
    if (all_equal(*v))
      e.write_scalar(what.first, v->front());
    else
      e.write_array(what.first, column_f64(*v));
    e.write_attributes(what.first, units(what.second));
  }
  e.close();
}

IndexFrom index_from(const std::string& name) {
  if (name == "name") return IndexFrom::name;
  if (name == "position") return IndexFrom::position;
  throw Error("frame_index_from must be name or position, not '" + name + "'");
}

std::optional<std::int64_t> file_number(const fs::path& file) {
  const std::string s = file.stem().string();
  std::size_t e = s.size();
  while (e > 0 && !std::isdigit(static_cast<unsigned char>(s[e - 1]))) --e;
  std::size_t b = e;
  while (b > 0 && std::isdigit(static_cast<unsigned char>(s[b - 1]))) --b;
  if (b == e || e - b > 15) return std::nullopt;
  return std::stoll(s.substr(b, e - b));
}

std::string frames_text(const std::vector<fs::path>& files) {
  if (files.empty()) return "0 frames";
  return std::to_string(files.size()) + " frame" + (files.size() == 1 ? "" : "s") + " (" +
         files.front().filename().string() + " .. " + files.back().filename().string() + ")";
}

std::vector<std::int64_t> match_rows(const std::vector<fs::path>& files, const std::vector<std::int64_t>& frame_index,
                                     IndexFrom from, const std::string& what) {
  std::map<std::int64_t, std::int64_t> row_of; // frame_index -> row
  for (std::size_t k = 0; k < frame_index.size(); ++k)
    if (!row_of.emplace(frame_index[k], static_cast<std::int64_t>(k)).second)
      throw InputError(what + ": frame_index " + std::to_string(frame_index[k]) + " appears twice (rows " +
                       std::to_string(row_of[frame_index[k]]) + " and " + std::to_string(k) +
                       "); every frame has one row");
  std::vector<std::int64_t> rows;
  rows.reserve(files.size());
  if (from == IndexFrom::position) {
    for (const auto& [index, row] : row_of) rows.push_back(row);
    rows.resize(files.size(), -1);
    return rows;
  }
  std::map<std::int64_t, std::string> seen; // number -> file
  const std::string range =
      row_of.empty() ? std::string("none")
                     : std::to_string(row_of.begin()->first) + " .. " + std::to_string(row_of.rbegin()->first);
  for (const auto& f : files) {
    const auto n = file_number(f);
    const std::string name = f.filename().string();
    if (!n)
      throw InputError(what + ": the file name " + name +
                       " has no frame number to match frame_index with; use frame_index_from: position (the "
                       "k-th smallest frame_index is the k-th file)");
    if (const auto [it, fresh] = seen.emplace(*n, name); !fresh)
      throw InputError(what + ": " + it->second + " and " + name + " both have the frame number " + std::to_string(*n) +
                       "; use frame_index_from: position");
    const auto r = row_of.find(*n);
    if (r == row_of.end())
      throw InputError(what + ": " + name + " (frame number " + std::to_string(*n) +
                       ") has no row: frame_index holds " + range +
                       " (use frame_index_from: position when the numbers do not match the file names)");
    rows.push_back(r->second);
  }
  return rows;
}

} // namespace lumen::ptycho
