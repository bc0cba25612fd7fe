// The `ptycho` set's TIFF inputs:
//
//   ptycho.read_tiff_series  reader  numbered single-page TIFF frames + an HDF5 sidecar -> scan blocks
//   ptycho.sidecar_from_csv  reader  an EPICS CSV (one row per frame) -> the sidecar HDF5 file
//
// The items of ptycho.read_tiff_series are those of ptycho.read_ad (see ptycho_stages.hpp), so
// every ptycho stage after it works the same. The sidecar format: schemas/ptycho_sidecar.md.
//
// Example pipeline (pipelines/ptycho-sidecar-from-csv.yaml makes the sidecar first):
//   stages:
//     - id: scan
//       use: ptycho.read_tiff_series
//       with: {path: "scan_42/frame_*.tif", sidecar: scan_42_sidecar.h5, frames_per_pos: 2}
//     - {id: group, use: ptycho.group, with: {frames_per_pos: 2, grouping: sum}}
//     - {id: out, use: ptycho.write_std, with: {name: "{series}_std.h5"}}
#pragma once

#include "lumen/file_stages.hpp"
#include "lumen/lumen.hpp"
#include "scan_reader.hpp"
#include "sidecar.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lumen::ptycho {

class ReadTiffSeries final : public FileReader {
public:
  static constexpr const char* summary =
      "Reads a numbered TIFF series (one frame per file) with an HDF5 sidecar of positions and scalars, in blocks";
  static constexpr const char* doc =
      "`path` names the frames: a glob (scan/frame_*.tif) or a directory of .tif/.tiff files, one\n"
      "single-page 2-D TIFF per frame, taken in natural order (frame_2 before frame_10). Every file must\n"
      "have the first one's size and dtype. `sidecar` is an HDF5 file (schemas/ptycho_sidecar.md) with\n"
      "one row per frame: positions posx_m + posy_m (N,) or pos (N, 2) in metres (posx_m/posy_m win when\n"
      "both are there); energy_eV, det_dist_m, pixel_m, exposure_s each one value or (N,) (optional:\n"
      "absent ones are simply not in meta); dark, flat, mask (ny, nx) (optional). The dataset names are\n"
      "the *_path parameters (\"\" = do not read). With frame_index (N,) the rows may be in any order:\n"
      "frame_index_from: name pairs a row with the TIFF whose file-name number (the last digits of the\n"
      "stem: frame_0007.tif -> 7) equals its frame_index; position pairs the k-th smallest frame_index\n"
      "with the k-th file. Without frame_index, row k is file k.\n"
      "Items, exactly as ptycho.read_ad's: blocks of frames_per_item frames (rounded down to a multiple\n"
      "of frames_per_pos): \"image\" (n, ny, nx) as stored; \"pos\" (n, 2) f64 m [x, y]; \"energy_eV\",\n"
      "\"exposure_s\" (n) when per frame; \"dark\", \"flat\" f32 and \"mask\" u8 shared by every item; meta\n"
      "index (first frame), file_index (0: the series is one scan), scan_frames, units and the scalars,\n"
      "plus series (the series name: frame_0000.tif -> frame, for write_std's name: \"{series}_std.h5\"),\n"
      "series_first, series_last (the block's files) and sidecar.\n"
      "Errors: rows != frames (both counts, the first and last file), a file of another size or dtype, with\n"
      "more than one page or colour samples (the file is named), a frame_index that names no file.\n"
      "\n"
      "Example:\n"
      "  - id: scan\n"
      "    use: ptycho.read_tiff_series\n"
      "    with: {path: \"scan_42/frame_*.tif\", sidecar: scan_42_sidecar.h5, frames_per_pos: 2}\n";
  static constexpr bool concurrent = true; // plan() reads the sidecar; read() only decodes TIFFs

  ReadTiffSeries();

  Param<std::string> sidecar{this, "sidecar", Required{},
                             "HDF5 sidecar with the per-frame positions and scalars (schemas/ptycho_sidecar.md)"};
  Param<std::int64_t> frames_per_item{this,   "frames_per_item",
                                      100,    "frames per item (block); rounded down to a multiple of frames_per_pos",
                                      Min{1}, Max{1000000}};
  Param<std::int64_t> frames_per_pos{
      this,   "frames_per_pos", 1, "exposures per scan position: blocks hold whole positions (for ptycho.group)",
      Min{1}, Max{1000000}};
  Param<std::string> units{this, "units", std::string("counts"),
                           "what the pixel values are: counts (photon-counting detectors) or adu (integrating)",
                           OneOf{{"counts", "adu"}}};
  Param<std::string> exclude{this, "exclude", std::string(), kExcludeDoc};
  Param<std::string> pos_x_path{this, "pos_x_path", std::string("posx_m"), "sidecar: x positions (N,), m"};
  Param<std::string> pos_y_path{this, "pos_y_path", std::string("posy_m"), "sidecar: y positions (N,), m"};
  Param<std::string> pos_path{this, "pos_path", std::string("pos"),
                              "sidecar: positions (N, 2) [x, y], m, used when pos_x_path/pos_y_path are absent"};
  Param<std::string> energy_path{this, "energy_path", std::string("energy_eV"),
                                 "sidecar: photon energy, eV, one value or (N,)"};
  Param<std::string> det_dist_path{this, "det_dist_path", std::string("det_dist_m"),
                                   "sidecar: sample-detector distance, m, one value"};
  Param<std::string> pixel_path{this, "pixel_path", std::string("pixel_m"), "sidecar: detector pixel size, m"};
  Param<std::string> exposure_path{this, "exposure_path", std::string("exposure_s"),
                                   "sidecar: exposure time, s, one value or (N,)"};
  Param<std::string> frame_index_path{this, "frame_index_path", std::string("frame_index"),
                                      "sidecar: the frame each row belongs to (N,) (optional)"};
  Param<std::string> dark_path{this, "dark_path", std::string("dark"), "sidecar: dark frame (ny, nx) (optional)"};
  Param<std::string> flat_path{this, "flat_path", std::string("flat"), "sidecar: flat field (ny, nx) (optional)"};
  Param<std::string> mask_path{this, "mask_path", std::string("mask"),
                               "sidecar: bad-pixel mask (ny, nx), non-zero = bad (optional)"};
  Param<std::string> frame_index_from{
      this, "frame_index_from", std::string("name"),
      "how frame_index names a TIFF: name (the number in its file name) or position (rank in the series)",
      OneOf{{"name", "position"}}};

  Produces out_{this, {.arrays = {"image", "pos"}, .meta_keys = {"scan_frames"}, .units = ""}};

  void validate() const override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;

private:
  struct Series; // the files, the frame layout, the sidecar's rows and arrays
  std::shared_ptr<const Series> series_;
};

class SidecarFromCsv final : public FileReader {
public:
  static constexpr const char* summary =
      "Turns an EPICS CSV (one row per frame) into the HDF5 sidecar of a TIFF series (ptycho.read_tiff_series)";
  static constexpr const char* doc =
      "Reads each CSV of `path` and writes one sidecar HDF5 file (schemas/ptycho_sidecar.md) to the run's\n"
      "outputs/ (dir, name), atomically. The CSV: '#' comment lines and blank lines are skipped; the first\n"
      "other line is the header; fields separated by ',' (optionally \"quoted\"). Columns (names mapped\n"
      "with col_*, \"\" = the CSV has none): frame_index (col_index), posx_m, posy_m (col_posx, col_posy,\n"
      "required), energy_eV, det_dist_m, pixel_m, exposure_s. Units: pos_unit, energy_unit, dist_unit,\n"
      "pixel_unit, exposure_unit as ptycho.read_ad's; the sidecar is in m, eV, s.\n"
      "Rows are sorted by frame_index. With `frames` (a glob of the TIFFs) the rows must be as many as the\n"
      "files, and each file must have its row (frame_index_from, as ptycho.read_tiff_series).\n"
      "Written: frame_index i32 (N,), posx_m, posy_m f64 (N,), and energy_eV, det_dist_m, pixel_m,\n"
      "exposure_s f64 () when constant, else (N,), each with a units attribute.\n"
      "Errors (each names the CSV): a missing column (the header is listed), a cell that is not a number\n"
      "(line and column), a frame_index twice (the index and both lines), a distance or pixel size that\n"
      "changes, rows != frames (both counts, first and last file). No file is written then.\n"
      "Emits one item per CSV with the columns as (N,) f64 arrays (frame_index too) and meta sidecar (its\n"
      "path in outputs/), rows, csv.\n"
      "\n"
      "Example:\n"
      "  - id: sidecar\n"
      "    use: ptycho.sidecar_from_csv\n"
      "    with: {path: scan_42.csv, frames: \"scan_42/frame_*.tif\", col_posx: SampleX, pos_unit: um}\n";
  static constexpr bool concurrent = true;

  SidecarFromCsv();

  Param<std::string> frames{this, "frames", std::string(),
                            "the TIFF frames (a glob or directory) the rows must match; empty = no check"};
  Param<std::string> frame_index_from{
      this, "frame_index_from", std::string("name"),
      "with frames: how frame_index names a TIFF: name (the number in its file name) or position",
      OneOf{{"name", "position"}}};
  Param<std::string> dir{this, "dir", std::string{}, kOutputDirDoc};
  Param<std::string> name{this, "name", std::string("{stem}_sidecar.h5"), kOutputNameDoc};
  Param<std::string> col_index{this, "col_index", std::string("frame_index"),
                               "CSV column of the frame index (\"\": rows in file order)"};
  Param<std::string> col_posx{this, "col_posx", std::string("posx_m"), "CSV column of the x position"};
  Param<std::string> col_posy{this, "col_posy", std::string("posy_m"), "CSV column of the y position"};
  Param<std::string> col_energy{this, "col_energy", std::string("energy_eV"),
                                "CSV column of the photon energy (\"\": none)"};
  Param<std::string> col_det_dist{this, "col_det_dist", std::string("det_dist_m"),
                                  "CSV column of the sample-detector distance (\"\": none)"};
  Param<std::string> col_pixel{this, "col_pixel", std::string("pixel_m"), "CSV column of the pixel size (\"\": none)"};
  Param<std::string> col_exposure{this, "col_exposure", std::string("exposure_s"),
                                  "CSV column of the exposure time (\"\": none)"};
  Param<std::string> pos_unit{this, "pos_unit", std::string("m"), "unit of the CSV positions",
                              OneOf{{"m", "mm", "um", "nm"}}};
  Param<std::string> energy_unit{this, "energy_unit", std::string("eV"), "unit of the CSV energy",
                                 OneOf{{"eV", "keV"}}};
  Param<std::string> dist_unit{this, "dist_unit", std::string("m"), "unit of the CSV distance", OneOf{{"m", "mm"}}};
  Param<std::string> pixel_unit{this, "pixel_unit", std::string("m"), "unit of the CSV pixel size",
                                OneOf{{"m", "mm", "um"}}};
  Param<std::string> exposure_unit{this, "exposure_unit", std::string("s"), "unit of the CSV exposure",
                                   OneOf{{"s", "ms"}}};

  Produces out_{this, {.arrays = {"posx_m", "posy_m"}, .meta_keys = {"sidecar"}, .units = ""}};

  void validate() const override;
  void read(const WorkUnit& unit, Emit& emit) override;
};

} // namespace lumen::ptycho
