// The standardized ptychography file: the HDF5 layout code behind ptycho.write_std, as a plain
// class over arrays (no items, no parameters). The layouts are documented in
// schemas/ptycho_std.md and described machine-checkably in schemas/ptycho_std.schema.json.
//
// Layout::std (PtyPy's Hdf5Loader reads posx_m, posy_m and data directly):
//   /entry/data          float32 (N, ny, nx)  one frame per chunk        units: data units
//   /entry/pos           float64 (N, 2)       [x, y] per position        units: m
//   /entry/posx_m        float64 (N,)         pos[:, 0]                  units: m
//   /entry/posy_m        float64 (N,)         pos[:, 1]                  units: m
//   /entry/energy_eV     float64 () or (N,)   (N,) only when frames differ   units: eV
//   /entry/det_dist_m    float64 ()                                      units: m
//   /entry/pixel_m       float64 ()                                      units: m
//   /entry/exposure_s    float64 () or (N,)   optional                   units: s
//   /entry/mask          uint8 (ny, nx)       1 = bad, OR of every block's mask (optional)   units: 1
//   /entry/dark          float32 (ny, nx)     optional                   units: data units
//   /entry/flat          float32 (ny, nx)     optional                   units: 1
//
// Layout::cxi (CXI 1.6, SI units throughout):
//   /cxi_version = 160 (int64), /number_of_entries = 1 (int64)
//   /entry_1/instrument_1/detector_1/data          float32 (N, ny, nx)
//   /entry_1/instrument_1/detector_1/distance      float64 () m
//   /entry_1/instrument_1/detector_1/x_pixel_size, y_pixel_size   float64 () m
//   /entry_1/instrument_1/detector_1/mask          uint32 (ny, nx), 1 = bad (CXI bit 0, "invalid")
//   /entry_1/instrument_1/detector_1/count_time    float64 () or (N,) s (optional)
//   /entry_1/instrument_1/detector_1/dark, flat    float32 (ny, nx) (optional; Lumen's names)
//   /entry_1/instrument_1/source_1/energy          float64 () or (N,) J = eV * 1.602176634e-19
//   /entry_1/instrument_1/source_1/wavelength      float64 () or (N,) m = h c / energy
//   /entry_1/sample_1/geometry_1/translation       float64 (N, 3) m, [x, y, 0]
//   /entry_1/data_1/data -> detector_1/data, /entry_1/data_1/translation -> translation (soft links)
//
// The frames are written as they arrive (through hdf5::H5ChunkWriter, optionally
// shuffle+deflate); positions, per-frame values and the mask are small and kept until close(),
// which writes them and the attributes. The caller owns the file name (an AtomicFile's
// temporary path) and commits it after close().
#pragma once

#include "hdf5_io.hpp"
#include "lumen/array.hpp"
#include "lumen/meta.hpp"
#include "lumen/thread_pool.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lumen::ptycho {

enum class Layout { std, cxi };
[[nodiscard]] Layout parse_layout(const std::string& name); // "std" | "cxi"
[[nodiscard]] const char* layout_name(Layout l) noexcept;

/// CODATA 2018 exact: 1 eV in joules (CXI stores energies in J).
inline constexpr double kJoulePerEv = 1.602176634e-19;
/// h c in J m (exact SI constants), for the CXI wavelength.
inline constexpr double kPlanckTimesC = 6.62607015e-34 * 299792458.0;

/// What close() writes besides the frames and the per-frame values.
struct ScanHeader {
  double det_dist_m = 0;
  double pixel_m = 0;
  std::string data_units = "counts";     // units attribute of the data (and dark)
  Meta entry_attributes;                 // attributes of /entry (or /entry_1)
  std::vector<std::string> source_files; // the attribute source_files (a list of strings)
};

class StdScanWriter {
public:
  /// Creates `file` (truncating it) with the frame dataset of `layout` for frames of
  /// ny x nx. `codec` / `level`: the chunk compression; `pool` (may be null) compresses.
  StdScanWriter(const std::filesystem::path& file, Layout layout, std::int64_t ny, std::int64_t nx, hdf5::Codec codec,
                int level, ThreadPool* pool, std::string what);
  ~StdScanWriter();
  StdScanWriter(const StdScanWriter&) = delete;
  StdScanWriter& operator=(const StdScanWriter&) = delete;

  /// Appends a block: frames (n, ny, nx) or one (ny, nx) frame of any dtype (stored as f32);
  /// pos (n, 2) metres; energy_eV (n) always; exposure_s (n) or empty. The caller has checked
  /// the shapes (a mismatch throws lumen::InputError naming `what`).
  void append(const Array& frames, const Array& pos, const std::vector<double>& energy_eV,
              const std::vector<double>& exposure_s);
  /// ORs a (ny, nx) mask of any dtype (non-zero = bad) into the scan's mask.
  void add_mask(const Array& mask);
  /// The scan's dark and flat (ny, nx), stored as f32; the first one given is kept.
  void set_dark(const Array& dark);
  void set_flat(const Array& flat);

  [[nodiscard]] std::int64_t frames() const noexcept { return frames_; }
  [[nodiscard]] std::int64_t ny() const noexcept { return ny_; }
  [[nodiscard]] std::int64_t nx() const noexcept { return nx_; }
  /// Number of pixels set in the OR-ed mask (0 when there is none).
  [[nodiscard]] std::int64_t masked_pixels() const;
  [[nodiscard]] bool has_exposure() const noexcept { return !exposure_.empty(); }

  /// Writes everything else and closes the file. Throws lumen::Error on HDF5 failures.
  void close(const ScanHeader& header);

private:
  void close_std(const ScanHeader& h);
  void close_cxi(const ScanHeader& h);

  std::filesystem::path file_;
  Layout layout_;
  std::int64_t ny_, nx_;
  std::string what_;
  std::unique_ptr<hdf5::H5ChunkWriter> data_;
  std::int64_t frames_ = 0;
  std::vector<double> pos_; // x0, y0, x1, y1, ...
  std::vector<double> energy_, exposure_;
  std::vector<std::uint8_t> mask_; // empty until a mask arrives
  Array dark_, flat_;
};

/// The per-frame values as a scalar when every value is equal (bitwise after ==), else nullopt.
[[nodiscard]] std::optional<double> common_value(const std::vector<double>& v);

} // namespace lumen::ptycho
