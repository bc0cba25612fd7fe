// BioSR (Qiao et al., Nature Methods 2021) file layout and camera calibration.
//
// Layout: <structure>/Cell_NN/<file>.mrc, e.g. Microtubules/Cell_01/RawSIMData_level_03.mrc.
//
// | file name                         | data_type | meaning                                   |
// |-----------------------------------|-----------|-------------------------------------------|
// | RawSIMData_level_XX.mrc           | noisy     | 9 raw SIM frames at SNR level XX          |
// | RawSIMData_gt.mrc                 | clean     | 9 raw SIM frames at high SNR (ground truth) |
// | SIM_gt*.mrc (SIM_gt.mrc, SIM_gt_a.mrc) | clean | the reconstructed SIM ground truth        |
// | RawGTSIMData_level_XX.mrc (ER)    | noisy     | ER cells: raw SIM frames at level XX      |
// | GTSIM_level_XX.mrc (ER)           | clean     | ER cells: ground truth for level XX       |
//
// scene_id = "micro_<structure>_<Cell_NN>" (micro_Microtubules_Cell_01): every SNR level of a
// cell and its ground truth are one scene, so they land in one split.
//
// Calibration (the values for BioSR's sCMOS camera): gain 1.0 e-/ADU, read noise 1.5 e-
// RMS per frame. Units: electrons per ADU, electrons RMS. They are the numbers, not a
// photon-transfer curve measured on BioSR data.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace lumen::biosr {

inline constexpr double kGain = 1.0;      // e-/ADU
inline constexpr double kReadNoise = 1.5; // e- RMS, one frame

struct BiosrName {
  std::string structure; // the folder above Cell_NN
  std::string cell;      // "Cell_01" as written
  std::string data_type; // clean | noisy
  int level = -1;        // SNR level XX, -1 for files without one (RawSIMData_gt, SIM_gt*)
  [[nodiscard]] std::string scene_id() const { return "micro_" + structure + "_" + cell; }
};

/// nullopt when the path does not follow the layout above (the extension must be .mrc).
[[nodiscard]] std::optional<BiosrName> parse_biosr_path(const std::filesystem::path& file);

} // namespace lumen::biosr
