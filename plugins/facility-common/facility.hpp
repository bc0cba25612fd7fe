// What every facility set (one folder per instrument under plugins/) shares: the identity meta
// an `<facility>.identify` stage writes, the SID file-name rule of the camera sets, and the
// log-ISO interpolation of a camera's calibration table.
//
// The identity meta (the issue-4 contract; downstream calib.electrons, image.downsample,
// tile.label and tile.split read it):
//   facility            "camera-sony-a7s2", "telescope-hst", ...
//   gain_e_per_adu      conversion gain, e-/ADU
//   read_noise_e        read noise, e- RMS (recorded, never subtracted)
//   calibration_source  where the two numbers came from ("table ISO 3200 (...)", "header CCDGAIN")
//   downsample_factor   cameras only: the anti-aliased downsampling factor (2 Sony, 4 Fuji)
//   scene_id, data_type the facility's naming rule: scene and clean | noisy (only when the file
//                       name follows the rule)
//   domain              photography | microscopy | astronomy
#pragma once

#include "lumen/lumen.hpp"

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lumen::facility {

/// A file name of the See-in-the-Dark (SID, Chen et al. 2018) layout: `00001_00_0.04s.ARW` is
/// scene 00001, shot 00, exposure 0.04 s. The extension is not checked here.
struct SidName {
  std::string scene; // the digits as written ("00001")
  int shot = 0;      // the shot number of that scene
  double exposure_s = 0;
};
/// nullopt unless the stem is <digits>_<digits>_<number>s with a positive finite exposure.
[[nodiscard]] std::optional<SidName> parse_sid_name(const std::filesystem::path& file);

/// One row of a camera's calibration table.
struct IsoPoint {
  double iso = 0;
  double gain_e_per_adu = 0;
  double read_noise_e = 0;
};
struct Calibration {
  double gain_e_per_adu = 0;
  double read_noise_e = 0;
  std::string source; // how the numbers were obtained, for meta calibration_source
};
/// Linear interpolation in log(ISO) between the table rows around `iso` (rows sorted by ISO,
/// at least one); outside the table the end row is used and the source says "clamped".
[[nodiscard]] Calibration interpolate_log_iso(std::span<const IsoPoint> table, double iso);

/// The choices of every identify stage's `on_unknown` parameter.
inline const std::vector<std::string> kOnUnknown{"pass", "error"};
inline constexpr const char* kOnUnknownDoc =
    "a file that does not follow the facility's naming (or is not from its instrument): pass = emit it "
    "unchanged in naming (no scene_id/data_type, for tile.label's generic rules; calibration is still set "
    "when the instrument is recognized), error = fail the item with what was expected";

/// The identity an identify stage found; unset optionals are not written.
struct Identity {
  std::string facility;
  std::string domain;
  std::optional<Calibration> calibration;
  std::optional<std::int64_t> downsample_factor;
  std::optional<std::string> scene_id;
  std::optional<std::string> data_type; // clean | noisy
};
/// Writes the identity into the item's meta with comments and units (see the list above).
void apply(Item& item, const Identity& identity);

/// "item 'x' (file dir/y.ARW)" for messages.
[[nodiscard]] std::string describe(const Item& item);
/// The file the naming rules look at: the item's source file (provenance); for a synthetic item
/// without one, its meta tree_path (synth.multidomain: where the file would lie in the tree, so
/// pipelines/multidomain-tiles-demo.yaml labels synthetic items without writing them), else "".
[[nodiscard]] std::filesystem::path source_path(const Item& item);

/// Case-insensitive equality.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;
/// Upper-case copy with surrounding blanks removed (FITS strings are blank-padded).
[[nodiscard]] std::string upper_trim(std::string_view s);

} // namespace lumen::facility
