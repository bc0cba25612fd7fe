// TIFF series + sidecar scans: the plain functions behind ptycho.read_tiff_series and
// ptycho.sidecar_from_csv (the stages are in tiff_sidecar_stages.hpp; the sidecar format is in
// schemas/ptycho_sidecar.md).
//
// A sidecar is a small HDF5 file beside a numbered TIFF series: per-frame positions and scalars
// (posx_m, posy_m or pos, energy_eV, det_dist_m, pixel_m, exposure_s, frame_index) and optional
// dark, flat, mask. parse_scan_csv() reads an EPICS CSV (one row per frame) into a SidecarTable,
// sorted by frame_index; write_sidecar() writes the table as a sidecar; match_rows() pairs each
// TIFF of a series with its sidecar row.
//
// Example:
//   const SidecarTable t = parse_scan_csv("scan_42.csv", CsvColumns{}, CsvUnits{.pos = 1e-6});
//   write_sidecar("scan_42_sidecar.h5", t);
//   const auto rows = match_rows(files, t.frame_index, IndexFrom::name, "scan_42.csv");
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lumen::ptycho {

/// CSV column names per quantity; "" = the CSV has no such column (index, posx and posy are required
/// unless index is "": then the rows are taken in file order and no frame_index is written).
struct CsvColumns {
  std::string index = "frame_index", posx = "posx_m", posy = "posy_m", energy = "energy_eV", det_dist = "det_dist_m",
              pixel = "pixel_m", exposure = "exposure_s";
};

/// Factors from the CSV's units to m, eV, m, m, s.
struct CsvUnits {
  double pos = 1, energy = 1, dist = 1, pixel = 1, exposure = 1;
};

/// The rows of a scan CSV, sorted by frame_index, in SI units (eV for the energy). A column that was
/// not read is empty.
struct SidecarTable {
  std::vector<std::int64_t> frame_index;
  std::vector<double> posx, posy, energy, det_dist, pixel, exposure;
  std::vector<std::int64_t> line; // 1-based CSV line of each row
  [[nodiscard]] std::size_t rows() const noexcept { return line.size(); }
};

/// Reads an EPICS-style CSV: '#' comment lines and blank lines are skipped, the first other line
/// is the header, fields are separated by ',' and may be quoted with '"', spaces around them are
/// ignored. Throws lumen::InputError naming the file: a missing column (listing the header), a
/// non-numeric or non-integer index cell (line and column), a row with too few fields, two rows
/// with the same frame_index (the index and both lines), no rows; det_dist and pixel must be one
/// value for the scan (first differing line named).
[[nodiscard]] SidecarTable parse_scan_csv(const std::filesystem::path& file, const CsvColumns& columns,
                                          const CsvUnits& units);

/// Writes `table` as a new sidecar HDF5 file at `file` (truncated): frame_index i32 (N,) when read,
/// posx_m, posy_m f64 (N,) m, and energy_eV, det_dist_m, pixel_m, exposure_s f64 () when every row
/// has the same value, else (N,); each with a units attribute. The caller makes it atomic.
void write_sidecar(const std::filesystem::path& file, const SidecarTable& table);

/// How frame_index values name the TIFFs: by the number in the file name (frame_0007.tif -> 7, the
/// last run of digits of the stem) or by position (the k-th smallest frame_index is the k-th file
/// in natural order).
enum class IndexFrom { name, position };
[[nodiscard]] IndexFrom index_from(const std::string& name); // "name" | "position"

/// The last run of digits in the file's stem ("frame_0007" -> 7), or nullopt.
[[nodiscard]] std::optional<std::int64_t> file_number(const std::filesystem::path& file);

/// For each file (natural order) the sidecar row that belongs to it. `frame_index` holds one value
/// per row (the caller checked rows == files). Throws lumen::InputError starting with `what`: a
/// duplicate index, a file name without a number or two files with the same number (name), a file
/// whose number no row has (naming the file, its number and the index range).
[[nodiscard]] std::vector<std::int64_t> match_rows(const std::vector<std::filesystem::path>& files,
                                                   const std::vector<std::int64_t>& frame_index, IndexFrom from,
                                                   const std::string& what);

/// "12 frames (frame_0000.tif .. frame_0011.tif)" for messages.
[[nodiscard]] std::string frames_text(const std::vector<std::filesystem::path>& files);

} // namespace lumen::ptycho
