// Reading a ptychography scan from one HDF5 file (areaDetector NDFileHDF5 or CXI), block by block:
// the file I/O behind ptycho.read_ad and ptycho.read_cxi. What the stages produce is described in
// ptycho_stages.hpp; here is where each quantity comes from and how it is converted.
//
// A ScanSource names one dataset per quantity ("" = not in the file) and the factors to SI / eV.
// inspect_scan() reads what belongs to the whole scan once (frame count and shape, the scalars, the
// dark, flat and mask) and checks that the positions have one row per frame; read_block() reads
// frames [begin, end) and their rows of the per-frame datasets as hyperslabs, so a scan of any length
// streams in bounded memory.
//
// Example:
//   const ScanSource src = cxi_source("entry_1");
//   hdf5::H5Reader r("scan.cxi");
//   const ScanInfo info = inspect_scan(r, src);
//   const ScanBlock b = read_block(r, src, info, 0, 100);   // b.image (100, ny, nx), b.pos (100, 2) m
#pragma once

#include "hdf5_io.hpp"
#include "lumen/array.hpp"
#include "lumen/item.hpp"
#include "lumen/meta.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lumen::ptycho {

/// How a stored energy becomes eV.
enum class EnergyKind {
  scaled,    // value * energy_scale (eV: 1, keV: 1000)
  joule,     // value / e (CXI source_1/energy)
  wavelength // h c / value, value in metres (CXI source_1/wavelength)
};

/// One quantity: a dataset path and, for messages, where that path came from.
struct SourcePath {
  std::string path;      // "" = not read
  std::string origin;    // "pos_x_path", "pos_x_path: NDAttribute 'PosX' of layout minimal.xml", ...
  bool optional = false; // read only when the file has it (the CXI reader's optional datasets)
  [[nodiscard]] bool empty() const noexcept { return path.empty(); }
};

struct ScanSource {
  SourcePath data, pos, pos_x, pos_y, energy, det_dist, pixel, exposure, dark, flat, mask;
  SourcePath wavelength;   // metres; read when `energy` is empty or absent (CXI)
  double pos_scale = 1;    // stored position unit -> m
  double energy_scale = 1; // for EnergyKind::scaled: stored unit -> eV
  EnergyKind energy_kind = EnergyKind::scaled;
  double dist_scale = 1;     // -> m
  double pixel_scale = 1;    // -> m
  double exposure_scale = 1; // -> s
};

/// What a file holds for the whole scan, read once and shared by every block of it.
struct ScanInfo {
  std::int64_t frames = 0; // N
  std::int64_t ny = 0, nx = 0;
  bool single_frame = false; // the data is one (ny, nx) image: N = 1
  ScanSource source;         // with absent optional datasets dropped
  Meta scalars;              // energy_eV, det_dist_m, pixel_m, exposure_s when stored as one value
  bool energy_per_frame = false, exposure_per_frame = false;
  Array dark, flat; // (ny, nx) f32, or empty
  Array mask;       // (ny, nx) u8, 1 = bad (any non-zero stored value), or empty
};

struct ScanBlock {
  Array image;    // (n, ny, nx) as stored
  Array pos;      // (n, 2) f64 m [x, y], or empty when the source has no positions
  Array energy;   // (n) f64 eV, when per frame
  Array exposure; // (n) f64 s, when per frame
};

/// The paths of a CXI 1.6 file under `entry` (e.g. "entry_1"): instrument_1/detector_1/data,
/// distance, x_pixel_size, and the optional mask and count_time; sample_1/geometry_1/translation;
/// instrument_1/source_1/energy in J, or source_1/wavelength in m when the file has no energy.
/// CXI defines no dark or flat: callers add their paths.
[[nodiscard]] ScanSource cxi_source(const std::string& entry);

/// The frame count of the data dataset (1 for a single (ny, nx) image); throws InputError.
[[nodiscard]] std::int64_t scan_frames(hdf5::H5Reader& r, const ScanSource& src);
/// Reads and checks everything per scan (see ScanInfo). Throws lumen::InputError naming the file,
/// the parameter and the dataset on any missing dataset, wrong shape, or position count != frames.
[[nodiscard]] ScanInfo inspect_scan(hdf5::H5Reader& r, const ScanSource& src);
/// Frames [begin, end) of the scan and their per-frame rows.
[[nodiscard]] ScanBlock read_block(hdf5::H5Reader& r, const ScanInfo& info, std::int64_t begin, std::int64_t end);

/// What inspect_scan does after counting the frames, for a scan whose frames are elsewhere (a TIFF
/// series with an HDF5 sidecar): info.frames, ny, nx and source are set; drops absent optional
/// datasets, checks the positions have info.frames rows, reads the scalars, dark, flat and mask.
/// `frames_text` ("the series frame_*.tif has 12 frames (...)") ends the count errors.
void inspect_per_scan(hdf5::H5Reader& r, ScanInfo& info, const std::string& frames_text);
/// Rows [begin, end) of the per-frame datasets into b.pos, b.energy, b.exposure (converted).
void read_rows(hdf5::H5Reader& r, const ScanInfo& info, std::int64_t begin, std::int64_t end, ScanBlock& b);

/// frames_per_item rounded down to a multiple of frames_per_pos, at least frames_per_pos.
[[nodiscard]] std::int64_t block_frames(std::int64_t frames_per_item, std::int64_t frames_per_pos);
/// The factor from a unit to SI (or eV): m, mm, um, nm; eV, keV; s, ms. Throws lumen::Error otherwise.
[[nodiscard]] double unit_factor(const std::string& unit);
/// Fills `item` as every scan reader does: "image", "pos", "energy_eV", "exposure_s" from the block;
/// the scan's "dark", "flat", "mask" (shared storage); meta scan_frames, units and the scan scalars.
void set_block(Item& item, ScanBlock block, const ScanInfo& info, const std::string& units);

/// Frames to leave out of a scan: the "rejected" list of a ptypy_indices.json written by
/// ptycho.qc_score, for the readers' `exclude` parameter. Its indices count the frames of the file
/// the QC ran on ("frames" of the JSON):
///   - "frames" == the scan's frame count: they are frames. With frames_per_pos > 1, a position
///     with any rejected exposure is left out whole (ptycho.group needs whole positions);
///   - "frames" x frames_per_pos == the scan's frame count: they are positions (the QC ran on the
///     grouped, standardized file) and all exposures of each are left out;
///   - anything else fails naming both counts.
/// The kept frames are renumbered: items carry meta index = kept frames before them, scan_frames =
/// kept frames of the scan, excluded_frames, and "pos" and every per-frame array lose the same rows,
/// so ptycho.group, write_std and the rest see a shorter, gap-free scan.
struct FrameExclusion {
  std::string file;                   // the JSON, for messages
  std::int64_t frames = 0;            // "frames": of the scan the QC ran on
  std::vector<std::int64_t> rejected; // "rejected": indices into those frames
};
/// Reads and checks the JSON (object with integer "frames" > 0 and a "rejected" list of indices in
/// [0, frames)); throws lumen::Error saying what is wrong.
[[nodiscard]] FrameExclusion read_exclusion(const std::string& json_path);
/// Per frame of a scan of `scan_frames` frames with `frames_per_pos` exposures per position:
/// 1 = leave out. Throws lumen::InputError (naming `scan` and the JSON) when the counts do not match.
[[nodiscard]] std::vector<std::uint8_t> excluded_frames(const FrameExclusion& e, std::int64_t scan_frames,
                                                        std::int64_t frames_per_pos, const std::string& scan);
/// The `exclude` parameter of a reader: "" = nothing to exclude; else read_exclusion(), whose
/// failure becomes a lumen::ConfigError("exclude", ...) (for validate(), before any data is read).
[[nodiscard]] std::optional<FrameExclusion> exclude_param(const std::string& value);
/// The doc of every reader's `exclude` parameter.
inline constexpr const char* kExcludeDoc =
    "ptypy_indices.json of ptycho.qc_score: its rejected frames (or positions) are left out, with their positions; "
    "\"\" = none";
/// Frames before `frame` that are kept.
[[nodiscard]] std::int64_t kept_before(const std::vector<std::uint8_t>& excluded, std::int64_t frame);
/// Drops the excluded rows of block `b` (frames [begin, begin + n)): image, pos, energy, exposure.
void drop_excluded(ScanBlock& b, const std::vector<std::uint8_t>& excluded, std::int64_t begin);
/// After set_block: meta index, scan_frames and excluded_frames of a block read from frame `begin`.
void renumber(Item& item, const std::vector<std::uint8_t>& excluded, std::int64_t begin);

/// h c in eV m and the elementary charge in C (CODATA 2018, exact).
inline constexpr double kHcEvM = 1.239841984e-6;
inline constexpr double kElectronVoltJ = 1.602176634e-19;

} // namespace lumen::ptycho
