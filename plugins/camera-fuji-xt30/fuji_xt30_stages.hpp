// Facility set camera-fuji-xt30: the Fujifilm X-T30, the camera of the Fuji half of the
// See-in-the-Dark (SID) data set. Its sensor is X-Trans (a 6x6 colour filter repeat; raw.read
// reports cfa XTRANS and calib.demosaic handles it).
//
//   camera-fuji-xt30.identify  calibrator  gain and read noise interpolated by ISO
//                                          (fuji_xt30_table.hpp), downsample factor 4, SID
//                                          naming -> scene_id and clean (long) / noisy (short)
//
// Example pipeline (pipelines/camera-fuji-xt30-tiles.yaml is the full one):
//   stages:
//     - id: in
//       use: raw.read
//       with: {path: "SID/Fuji/short/*.RAF"}
//     - id: who
//       use: camera-fuji-xt30.identify
#pragma once

#include "camera_identify.hpp"
#include "fuji_xt30_table.hpp"

namespace lumen::fuji_xt30 {

class Identify final : public facility::CameraIdentify {
public:
  static constexpr const char* summary =
      "Fujifilm X-T30 frames: gain 1.8..0.75 e-/ADU and read noise 3.75..2.5 e- interpolated in log ISO "
      "(160..12800), downsample 4, SID naming";
  static constexpr const char* doc =
      "Items whose meta model is X-T30 (raw.read) get: facility camera-fuji-xt30, domain\n"
      "photography, gain_e_per_adu and read_noise_e interpolated linearly in log(ISO) between the\n"
      "table rows ISO 160 (1.8 e-/ADU, 3.75 e-) and ISO 12800 (0.75 e-/ADU, 2.5 e-), clamped\n"
      "outside; the rows are the issue's ranges, not a measured photon-transfer curve;\n"
      "calibration_source names the rows used. ISO from meta iso or the `iso` parameter.\n"
      "downsample_factor 4 (4032x6032 -> 1008x1508). The sensor is X-Trans (cfa XTRANS).\n"
      "SID naming: <scene>_<shot>_<exposure>s.RAF (or .DNG for synthetic frames), e.g.\n"
      "SID/Fuji/short/00001_00_0.1s.RAF -> scene_id photo_fuji_00001, noisy;\n"
      "SID/Fuji/long/00001_00_10s.RAF -> clean. The scene prefix differs from the Sony set's\n"
      "(photo_) because SID's Fuji and Sony scenes share numbers but are different scenes: one\n"
      "scene id for both would pair a Fuji frame with a Sony one. label_by, clean_min_exposure_s\n"
      "and on_unknown work as in camera-sony-a7s2.identify.\n"
      "\n"
      "Example:\n"
      "  - id: who\n"
      "    use: camera-fuji-xt30.identify\n"
      "    with: {on_unknown: pass, iso: 800}\n";
  static constexpr bool concurrent = true;

  Identify()
      : CameraIdentify({.facility = "camera-fuji-xt30",
                        .models = {"X-T30"},
                        .scene_prefix = "photo_fuji_",
                        .downsample_factor = 4,
                        .extensions = {".RAF", ".DNG"}}) {}

private:
  [[nodiscard]] facility::Calibration table(double iso_value) const override { return calibration(iso_value); }
};

} // namespace lumen::fuji_xt30
