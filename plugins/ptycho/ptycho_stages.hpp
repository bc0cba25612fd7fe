// The `ptycho` plugin set: ptychography scan preprocessing.
//
//   ptycho.read_ad    reader      areaDetector NDFileHDF5 scans, paths from an XML layout or parameters
//   ptycho.read_cxi   reader      CXI 1.6 files (entry_1/instrument_1/detector_1/data, translation, ...)
//   ptycho.read_tiff_series  reader  numbered TIFF frames + an HDF5 sidecar (tiff_sidecar_stages.hpp)
//   ptycho.sidecar_from_csv  reader  an EPICS CSV -> that sidecar (tiff_sidecar_stages.hpp)
//   ptycho.dark_flat  calibrator  (raw - dark) / flat as f32, saturation and bad-flat mask
//   ptycho.group      transform   frames_per_pos exposures per position: sum|mean|first|best|none
//   ptycho.roi        transform   crop [ny, nx] around a centre in pixels or fractions
//   ptycho.orient     transform   rotate 0|90|180|270 (counter-clockwise), then flip none|h|v|hv
//   ptycho.write_std  aggregator  one standardized HDF5 (or CXI 1.6) file per scan, for PtyPy & co.
//   ptycho.write_ad   aggregator  an areaDetector NDFileHDF5-like file per scan (write_ad.hpp), read_ad reads it
//
// A scan streams as items, each a block of consecutive frames:
//   "image"       (n, ny, nx), any dtype (a 2-D (ny, nx) image is one frame)
//   "pos"         (n, 2) f64, metres, columns [x, y], one row per frame (optional)
//   "energy_eV", "exposure_s"   (n) f64, per frame (optional)
//   "dark", "flat" (ny, nx), "mask" (ny, nx) u8 with 1 = bad pixel: per-scan calibration, the
//                 same storage in every item of the scan (optional)
//   meta index = first frame of the block in the scan, file_index = the scan, scan_frames = N,
//   the frames of the whole scan; scan scalars energy_eV, det_dist_m, pixel_m, exposure_s.
// Every geometric stage applies the same operation to image, dark, flat and mask, and keeps
// "pos" and the per-frame arrays row-for-row with the frames it outputs. The usual order is
// dark_flat -> group -> roi -> orient (dark and flat are per exposure, so they go before group).
//
// Example pipeline:
//   stages:
//     - id: scan
//       use: ptycho.read_ad
//       with: {path: scan_0042.h5, layout: plugins/ptycho/layouts/minimal.xml, pos_x_path: PosX,
//              pos_y_path: PosY, pos_unit: um, energy_path: Energy, energy_unit: keV, frames_per_pos: 2}
//     - {id: calib, use: ptycho.dark_flat, with: {sat: 60000}}
//     - {id: group, use: ptycho.group, with: {frames_per_pos: 2, grouping: sum}}
//     - {id: roi, use: ptycho.roi, with: {roi: [256, 256], roi_center: [0.5, 0.5]}}
//     - {id: orient, use: ptycho.orient, with: {rotate: 90, flip: h}}
//     - {id: out, use: ptycho.write_std, with: {layout: std, compression: shuffle+deflate}}
#pragma once

#include "ad_layout.hpp"
#include "lumen/lumen.hpp"
#include "preprocess.hpp"
#include "scan_reader.hpp"
#include "std_writer.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lumen::ptycho {

// What ptycho.read_ad and ptycho.read_cxi share: the blocks, the per-scan cache and the items.
class ScanFileReader : public FileReader {
public:
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

  void start() override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;
  /// frames_per_item rounded down to a multiple of frames_per_pos, at least frames_per_pos.
  [[nodiscard]] std::int64_t block_frames() const;

protected:
  ScanFileReader();
  /// Where each quantity is in the files; called once, from start() (or plan() when start was not).
  [[nodiscard]] virtual ScanSource make_source() const = 0;

private:
  struct Cached {
    std::shared_ptr<const ScanInfo> info;
    std::string error;          // the scan's inspection failed: every unit of it fails with this
    std::int64_t remaining = 0; // planned units not yet read; the entry goes at 0
  };
  std::shared_ptr<const ScanInfo> scan_info(const WorkUnit& unit, hdf5::H5Reader& r);
  void unit_done(const std::string& file);
  const ScanSource& source();

  std::optional<ScanSource> source_;
  std::optional<FrameExclusion> exclusion_; // from `exclude`, read in start()
  std::mutex mu_;
  std::map<std::string, Cached> cache_; // by source file
};

class ReadAd final : public ScanFileReader {
public:
  static constexpr const char* summary =
      "Reads areaDetector NDFileHDF5 ptychography scans in blocks of frames, paths from an XML layout or parameters";
  static constexpr const char* doc =
      "One work unit per block of frames_per_item frames (rounded down to a multiple of frames_per_pos) of\n"
      "each file, read as hyperslabs: a scan of any length streams. Items: \"image\" (n, ny, nx) as stored;\n"
      "\"pos\" (n, 2) f64 m [x, y]; \"energy_eV\", \"exposure_s\" (n) f64 when stored per frame; \"dark\",\n"
      "\"flat\" (ny, nx) f32 and \"mask\" (ny, nx) u8 (1 = bad, any non-zero stored value), read once per\n"
      "scan and shared by every item of it; meta index (first frame), file_index, scan_frames (N), units,\n"
      "and the scalars energy_eV, det_dist_m, pixel_m, exposure_s (when stored as one value).\n"
      "Where things are. Each *_path parameter names a dataset (\"\" = not in the file): data_path the\n"
      "frames, (N, ny, nx), or one (ny, nx) image = 1 frame; pos_path an (N, 2) or (N, 3) table [x, y(, z)],\n"
      "or pos_x_path + pos_y_path two (N,) columns; energy_path, exposure_path one value or one per frame;\n"
      "det_dist_path, pixel_path one value (a per-frame list must be constant); dark_path, flat_path,\n"
      "mask_path (ny, nx). With `layout` (the NDFileHDF5 XML layout the detector wrote with), data_path\n"
      "defaults to the layout's detector dataset (det_default=\"true\", else the first source=\"detector\"),\n"
      "and a *_path value WITHOUT '/' names an NDAttribute: the dataset the layout writes it to (its\n"
      "<dataset source=\"ndattribute\" ndattribute=\"PosX\">, else <ndattr_default group>/PosX); a value with\n"
      "'/' stays an HDF5 path. E.g. layout: minimal.xml, pos_x_path: PosX, pos_y_path: PosY.\n"
      "Units (factors to SI): pos_unit m|mm|um|nm; energy_unit eV|keV; dist_unit m|mm; pixel_unit m|mm|um;\n"
      "exposure_unit s|ms.\n"
      "Errors (each names the file, the parameter and the dataset; a missing dataset lists what its group\n"
      "holds): a missing dataset; positions whose count is not the frame count; a distance or pixel size\n"
      "that varies or is <= 0; a calibration array that is not one frame. A layout that is not well-formed\n"
      "XML fails validation with its line; an NDAttribute name the layout places nowhere fails listing the\n"
      "ones it has.\n"
      "exclude: a ptypy_indices.json of ptycho.qc_score; its rejected frames (or positions) are left out\n"
      "with their rows, and the scan renumbered (meta index, scan_frames, excluded_frames; scan_reader.hpp).\n"
      "Ships: plugins/ptycho/layouts/minimal.xml (frames + PosX, PosY), cxi_like.xml (entry_1/...).\n"
      "\n"
      "Example:\n"
      "  - id: scan\n"
      "    use: ptycho.read_ad\n"
      "    with: {path: scan_0042.h5, layout: plugins/ptycho/layouts/minimal.xml, pos_x_path: PosX,\n"
      "           pos_y_path: PosY, pos_unit: um, energy_path: Energy, energy_unit: keV}\n";
  static constexpr bool concurrent = true; // one HDF5 handle per read; the scan cache has its own lock

  ReadAd();

  Param<std::string> layout{this, "layout", std::string(),
                            "NDFileHDF5 XML layout file; then *_path values without '/' are NDAttribute names"};
  Param<std::string> data_path{this, "data_path", std::string("/entry/data/data"),
                               "the frames (N, ny, nx); with a layout, default = its detector dataset"};
  Param<std::string> pos_path{this, "pos_path", std::string(), "positions (N, 2) or (N, 3), columns x, y[, z]"};
  Param<std::string> pos_x_path{this, "pos_x_path", std::string(), "x positions (N,) (with pos_y_path)"};
  Param<std::string> pos_y_path{this, "pos_y_path", std::string(), "y positions (N,) (with pos_x_path)"};
  Param<std::string> energy_path{this, "energy_path", std::string(), "photon energy, one value or (N,)"};
  Param<std::string> det_dist_path{this, "det_dist_path", std::string(), "sample-detector distance, one value"};
  Param<std::string> pixel_path{this, "pixel_path", std::string(), "detector pixel size, one value"};
  Param<std::string> exposure_path{this, "exposure_path", std::string(), "exposure time, one value or (N,)"};
  Param<std::string> dark_path{this, "dark_path", std::string(), "dark frame (ny, nx)"};
  Param<std::string> flat_path{this, "flat_path", std::string(), "flat field (ny, nx)"};
  Param<std::string> mask_path{this, "mask_path", std::string(), "bad-pixel mask (ny, nx), non-zero = bad"};
  Param<std::string> pos_unit{this, "pos_unit", std::string("m"), "unit of the stored positions",
                              OneOf{{"m", "mm", "um", "nm"}}};
  Param<std::string> energy_unit{this, "energy_unit", std::string("eV"), "unit of the stored energy",
                                 OneOf{{"eV", "keV"}}};
  Param<std::string> dist_unit{this, "dist_unit", std::string("m"), "unit of the stored distance", OneOf{{"m", "mm"}}};
  Param<std::string> pixel_unit{this, "pixel_unit", std::string("m"), "unit of the stored pixel size",
                                OneOf{{"m", "mm", "um"}}};
  Param<std::string> exposure_unit{this, "exposure_unit", std::string("s"), "unit of the stored exposure",
                                   OneOf{{"s", "ms"}}};

  Produces out_{this, {.arrays = {"image", "pos"}, .meta_keys = {"scan_frames"}, .units = ""}};

  void validate() const override;

protected:
  [[nodiscard]] ScanSource make_source() const override;
};

class ReadCxi final : public ScanFileReader {
public:
  static constexpr const char* summary =
      "Reads CXI 1.6 ptychography files in blocks of frames: data, translation, distance, pixel size, energy, mask";
  static constexpr const char* doc =
      "Reads <entry>/instrument_1/detector_1/data (N, ny, nx) in blocks as ptycho.read_ad does, with the\n"
      "same items (see ptycho.read_ad): \"pos\" = [x, y] of <entry>/sample_1/geometry_1/translation (N, 3),\n"
      "metres; meta det_dist_m = detector_1/distance (m), pixel_m = detector_1/x_pixel_size (m), energy_eV =\n"
      "source_1/energy (J / 1.602176634e-19) or, when the file has no energy, h c / source_1/wavelength (m);\n"
      "exposure_s = detector_1/count_time when present (one value or per frame). \"mask\" = detector_1/mask\n"
      "when present: its uint32 CXI bit field becomes 1 (bad) wherever any bit is set. CXI defines no dark\n"
      "or flat: name them with dark_path and flat_path when a file has them.\n"
      "\n"
      "Example:\n"
      "  - id: scan\n"
      "    use: ptycho.read_cxi\n"
      "    with: {path: scan.cxi, frames_per_item: 50}\n";
  static constexpr bool concurrent = true;

  ReadCxi();

  Param<std::string> entry{this, "entry", std::string("entry_1"), "the CXI entry group"};
  Param<std::string> dark_path{this, "dark_path", std::string(), "dark frame (ny, nx), if the file has one"};
  Param<std::string> flat_path{this, "flat_path", std::string(), "flat field (ny, nx), if the file has one"};

  Produces out_{this, {.arrays = {"image", "pos"}, .meta_keys = {"scan_frames"}, .units = ""}};

  void validate() const override;

protected:
  [[nodiscard]] ScanSource make_source() const override;
};

class DarkFlat final : public Calibrator {
public:
  static constexpr const char* summary =
      "Dark subtraction and flat division of ptychography frames into f32, with a saturation and bad-pixel mask";
  static constexpr const char* doc =
      "image = (raw - dark) / flat per pixel as f32, with the item's \"dark\" and \"flat\" (ny, nx) arrays;\n"
      "each step runs when its switch is on (the default) AND the array is there, and meta records what\n"
      "was applied: dark_subtracted, flat_divided (true/false). An item already marked dark_subtracted\n"
      "(or flat_divided) fails rather than being corrected twice.\n"
      "Bad pixels become masked (1 in \"mask\") and 0 in the image, never inf or NaN: flat <= 0 or\n"
      "not finite, dark not finite, a raw value NaN/inf.\n"
      "Saturation (sat > 0): a pixel whose RAW value is >= sat in ANY frame of the item is masked.\n"
      "sat_mode says what happens to its values: mask (default) = 0 in every frame of the item;\n"
      "keep = corrected like every other pixel (the clipped values stay, the mask flags them).\n"
      "The output \"mask\" (u8, 0/1) is the input mask (any dtype, non-zero = bad) OR the pixels\n"
      "flagged here; it is made when the item had one, sat > 0, or a dark or flat was applied. It\n"
      "covers the frames of this item (saturation differs between items); a writer ORs the masks of a\n"
      "scan. dark, flat and pos pass unchanged. Meta: dark_subtracted, flat_divided, sat_level and\n"
      "sat_mode (when sat > 0), saturated_pixels, bad_flat_pixels, masked_pixels.\n"
      "\n"
      "Example:\n"
      "  - id: calib\n"
      "    use: ptycho.dark_flat\n"
      "    with: {sat: 65000, sat_mode: mask}\n";
  static constexpr bool concurrent = true;

  Param<bool> subtract_dark{this, "subtract_dark", true, "subtract the item's \"dark\" array when it has one"};
  Param<bool> divide_flat{this, "divide_flat", true, "divide by the item's \"flat\" array when it has one"};
  Param<double> sat{this,   "sat",
                    0.0,    "saturation level of the RAW values (>= sat in any frame: masked); 0 = off",
                    Min{0}, Unit{"raw counts"}};
  Param<std::string> sat_mode{this, "sat_mode", std::string("mask"),
                              "saturated pixels' values: mask (set to 0) or keep (corrected as usual, only masked)",
                              OneOf{{"mask", "keep"}}};

  Requires in_{this, {.arrays = {"image"}}};
  Produces out_{this, {.arrays = {"image"}}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;
};

class Group final : public Transform {
public:
  static constexpr const char* summary =
      "Reduces frames_per_pos consecutive exposures per scan position: sum, mean, first, best or none";
  static constexpr const char* doc =
      "Frames g*fpp .. g*fpp + fpp - 1 of the scan are the exposures of position g (fpp =\n"
      "frames_per_pos). grouping:\n"
      "  sum    the frames summed, f32 (accumulated in f64); meta exposure_s is multiplied by fpp\n"
      "  mean   the frames averaged, f32\n"
      "  first  the first frame of the group (dtype kept)\n"
      "  best   the frame with the highest score (dtype kept); the score is the lower median (the\n"
      "         value of rank floor((m-1)/2), ascending) of the frame's m pixels that are finite and\n"
      "         not flagged in \"mask\", after clipping v -> min(v, sat). sat is this stage's `sat`\n"
      "         when > 0, else meta sat when the item has it, else no clipping; it is in the units of\n"
      "         the image this stage receives (after ptycho.dark_flat, saturated pixels are already in\n"
      "         mask and excluded). Ties go to the earliest frame.\n"
      "  none   every frame passes unchanged (index and scan_frames too); meta scan_frames must still\n"
      "         be a multiple of fpp (a scan that is not has a wrong fpp or is incomplete).\n"
      "Positions: \"pos\" of a group is its first frame's row (all rows of a group should be equal: a\n"
      "difference above 1e-9 m is logged once as a warning). Per-frame arrays: exposure_s summed for\n"
      "sum, averaged for mean, the chosen frame's for first/best; energy_eV the chosen frame's (the\n"
      "first for sum/mean/first). Errors: meta scan_frames N not a multiple of fpp fails every item\n"
      "with N, fpp and the remainder; an item whose frame count or first index (meta index) is not a\n"
      "multiple of fpp fails too: the readers plan blocks in whole positions (a multiple of fpp).\n"
      "Output meta: index = first position of the item (index / fpp), scan_frames = N / fpp,\n"
      "first_frame = the original index, frames_per_pos, grouping. dark, flat and mask pass unchanged\n"
      "(put ptycho.dark_flat before this stage: the dark is per exposure).\n"
      "\n"
      "Example:\n"
      "  - id: group\n"
      "    use: ptycho.group\n"
      "    with: {frames_per_pos: 3, grouping: sum}\n";
  static constexpr bool concurrent = true;

  Param<std::int64_t> frames_per_pos{this,   "frames_per_pos", 1, "exposures per scan position (consecutive frames)",
                                     Min{1}, Max{1000000}};
  Param<std::string> grouping{this, "grouping", std::string("sum"),
                              "how a position's exposures become one frame: sum, mean, first, best or none",
                              OneOf{{"sum", "mean", "first", "best", "none"}}};
  Param<double> sat{this, "sat", 0.0, "best: clip values at this level before the median (0: meta sat, else none)",
                    Min{0}};

  Requires in_{this, {.arrays = {"image"}}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;

private:
  std::atomic<bool> warned_{false}; // the unequal-positions warning, once per run
};

class Roi final : public Transform {
public:
  static constexpr const char* summary =
      "Crops every frame and the dark, flat and mask to roi [ny, nx] around a centre";
  static constexpr const char* doc =
      "The crop of size roi = [ny, nx] around roi_center = [cy, cx] (row, column):\n"
      "  - roi_center empty (default): the frame centre, as the fractions [0.5, 0.5];\n"
      "  - both values in [0, 1): fractions of the frame, cy = fy * frame_ny, cx = fx * frame_nx;\n"
      "  - otherwise pixel coordinates.\n"
      "The crop starts at row y0 = floor(cy - ny/2 + 0.5) and column x0 = floor(cx - nx/2 + 0.5) (round\n"
      "half up). For a whole-pixel centre the centre pixel lands at index (ny/2, nx/2) (integer\n"
      "division) of the crop, the FFT centre, for odd and even sizes; [0.5, 0.5] in an even frame with\n"
      "an even roi is the symmetric crop. E.g. frame 8 x 8, roi [4, 3], centre [4, 4]: rows 2..5,\n"
      "columns 3..5. A crop leaving the frame fails the item naming the frame size, roi, centre and the\n"
      "rows and columns it needs. image, dark, flat and mask are cropped identically; pos and\n"
      "per-frame arrays pass unchanged. Meta roi_origin [y0, x0] (added to an earlier one, so it stays\n"
      "relative to the detector) and roi_shape [ny, nx].\n"
      "\n"
      "Example:\n"
      "  - id: roi\n"
      "    use: ptycho.roi\n"
      "    with: {roi: [256, 256], roi_center: [0.5, 0.5]}\n";
  static constexpr bool concurrent = true;

  Param<std::vector<std::int64_t>> roi{this,   "roi",        Required{},    "crop size [ny, nx] in pixels",
                                       Min{1}, Length{2, 2}, Unit{"pixels"}};
  Param<std::vector<double>> roi_center{
      this,
      "roi_center",
      std::vector<double>{},
      "crop centre [cy, cx]: pixels, or fractions of the frame when both are in [0, 1); empty = frame centre",
      Min{0},
      Length{0, 2}};

  Requires in_{this, {.arrays = {"image"}}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;
};

class Orient final : public Transform {
public:
  static constexpr const char* summary =
      "Rotates (counter-clockwise) and then flips every frame and the dark, flat and mask: detector orientation";
  static constexpr const char* doc =
      "rotate: 0, 90, 180 or 270 degrees COUNTER-CLOCKWISE as seen in an image display with row 0 at\n"
      "the top (numpy.rot90(frame, rotate / 90)); THEN flip: none, h (mirror the columns, left <->\n"
      "right), v (mirror the rows, top <-> bottom) or hv (both). A 3 x 2 frame (3 rows, 2 columns):\n"
      "  input               rotate 90         rotate 90, flip h   flip h\n"
      "  1 2                 2 4 6             6 4 2               2 1\n"
      "  3 4                 1 3 5             5 3 1               4 3\n"
      "  5 6                                                       6 5\n"
      "(rotate 90 then flip h is not flip h then rotate 90, which gives 1 3 5 / 2 4 6.) rotate 90 and\n"
      "270 swap ny and nx. image, dark, flat and mask are transformed identically; the dtype is kept.\n"
      "Positions (\"pos\") are NOT changed: this fixes the detector's orientation, not the scan's.\n"
      "Meta orient_rotate, orient_flip.\n"
      "\n"
      "Example:\n"
      "  - id: orient\n"
      "    use: ptycho.orient\n"
      "    with: {rotate: 90, flip: h}\n";
  static constexpr bool concurrent = true;

  Param<int> rotate{this,     "rotate",       0, "counter-clockwise rotation in degrees: 0, 90, 180 or 270", Min{0},
                    Max{270}, Unit{"degrees"}};
  Param<std::string> flip{this, "flip", std::string("none"), "mirror after rotating: none, h (columns), v (rows) or hv",
                          OneOf{{"none", "h", "v", "hv"}}};

  Requires in_{this, {.arrays = {"image"}}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;
};

class WriteStd final : public FileAggregator {
public:
  static constexpr const char* summary =
      "Writes each scan as one standardized ptychography HDF5 file (layout std, or CXI 1.6 with layout cxi)";
  static constexpr const char* doc =
      "One file per scan (meta file_index), name expanded with the scan's first item (default\n"
      "{stem}_std.h5). The frames are written as their blocks arrive (in order; this stage asks for\n"
      "ordered input), as float32, one frame per chunk, optionally shuffle+deflate. The file appears\n"
      "atomically once the scan is complete: when meta scan_frames frames are written, or at the end of\n"
      "the run when scan_frames is unknown; the scan's work units count as done only then.\n"
      "layout std (documented in schemas/ptycho_std.md):\n"
      "  /entry/data f32 (N, ny, nx); /entry/pos f64 (N, 2) m [x, y]; /entry/posx_m, /entry/posy_m f64 (N,);\n"
      "  /entry/energy_eV f64 () or (N,) when frames differ; /entry/det_dist_m, /entry/pixel_m f64 ();\n"
      "  /entry/exposure_s f64 () or (N,) (when known); /entry/mask u8 (ny, nx), 1 = bad, the OR of the\n"
      "  masks of ALL blocks; /entry/dark, /entry/flat f32 (ny, nx) when the items carry them.\n"
      "layout cxi (CXI 1.6, SI units): /cxi_version 160; entry_1/instrument_1/detector_1/data, distance,\n"
      "  x_pixel_size, y_pixel_size (m), mask (uint32, 1 = bad = CXI bit 0), count_time (s);\n"
      "  entry_1/instrument_1/source_1/energy in J (eV * 1.602176634e-19) and wavelength (m);\n"
      "  entry_1/sample_1/geometry_1/translation f64 (N, 3) m [x, y, 0]; entry_1/data_1/data and\n"
      "  entry_1/data_1/translation are soft links to them.\n"
      "Every dataset has a units attribute (m, eV, J, s, 1; the data and dark take meta units, default\n"
      "counts). The entry group's attributes: source_files (list), lumen_version, run_id, created (UTC,\n"
      "ISO 8601), layout, masked_pixels and the first item's meta (every preprocessing key: dark_subtracted,\n"
      "flat_divided, frames_per_pos, grouping, roi_origin, roi_shape, orient_rotate, orient_flip, ...).\n"
      "Scan scalars: energy_eV, det_dist_m, pixel_m from these parameters when > 0, else from meta (energy\n"
      "also per frame from the array \"energy_eV\"); exposure_s from the array \"exposure_s\" or meta.\n"
      "Checks (each fails the item, and the scan, whose file is then never written): a missing scalar\n"
      "(named, with both ways to give it); no \"pos\" or pos rows != frames; a frame shape other than the\n"
      "first block's; a block whose meta index is not the number of frames written so far (out of order\n"
      "or a gap); more frames than scan_frames. A scan that ends with fewer frames than scan_frames fails\n"
      "as truncated at the end of the run and leaves no file (not even a temporary one).\n"
      "\n"
      "Example:\n"
      "  - id: out\n"
      "    use: ptycho.write_std\n"
      "    with: {layout: cxi, name: \"{stem}.cxi\", compression: shuffle+deflate}\n";
  static constexpr bool concurrent = false; // open files
  static constexpr bool ordered_input = true;

  WriteStd();
  ~WriteStd() override; // Scan is complete only in the .cpp

  Param<std::string> layout{this, "layout", std::string("std"),
                            "std (/entry/data, /entry/posx_m, ...) or cxi (CXI 1.6: entry_1/instrument_1/...)",
                            OneOf{{"std", "cxi"}}};
  Param<std::string> compression{this, "compression", std::string("none"),
                                 "frame chunks: none or shuffle+deflate (HDF5's standard filters)",
                                 OneOf{{"none", "shuffle+deflate"}}};
  Param<int> level{this, "level", 1, "deflate level, 1 (fastest) to 9 (smallest)", Min{1}, Max{9}};
  Param<int> threads{this, "threads", 0, "compression threads; 0 = the run's --threads", Min{0}, Max{256}};
  Param<double> energy_ev{this,   "energy_ev", 0.0, "photon energy; 0 = from meta energy_eV or the array energy_eV",
                          Min{0}, Unit{"eV"}};
  Param<double> det_dist_m{this,   "det_dist_m", 0.0, "sample-detector distance; 0 = from meta det_dist_m",
                           Min{0}, Unit{"m"}};
  Param<double> pixel_m{this, "pixel_m", 0.0, "detector pixel size; 0 = from meta pixel_m", Min{0}, Unit{"m"}};

  Requires in_{this, {.arrays = {"image", "pos"}}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;
  void finish(Emit& emit) override;

private:
  struct Scan; // one open file
  void commit(Scan& scan);
  std::unique_ptr<ThreadPool> pool_;
  std::map<std::int64_t, std::unique_ptr<Scan>> scans_;
  std::map<std::int64_t, std::string> failed_; // file_index -> why the scan was abandoned
  std::map<std::filesystem::path, std::int64_t> targets_;
};

} // namespace lumen::ptycho
