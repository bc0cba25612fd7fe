// Facility set camera-sony-a7s2: the Sony A7S II (ILCE-7SM2), the camera of the Sony half of
// the See-in-the-Dark (SID) data set.
//
//   camera-sony-a7s2.identify  calibrator  gain and read noise by ISO (sony_a7s2_table.hpp),
//                                          downsample factor 2, SID naming -> scene_id and
//                                          clean (long) / noisy (short)
//
// Example pipeline (pipelines/camera-sony-a7s2-tiles.yaml is the full one):
//   stages:
//     - id: in
//       use: raw.read
//       with: {path: "SID/Sony/short/*.ARW"}
//     - id: who
//       use: camera-sony-a7s2.identify
#pragma once

#include "camera_identify.hpp"
#include "sony_a7s2_table.hpp"

namespace lumen::sony_a7s2 {

class Identify final : public facility::CameraIdentify {
public:
  static constexpr const char* summary =
      "Sony A7S II frames: gain/read noise by ISO (2.1 e-/ADU, 6.0 e- below ISO 4000; 0.79, 2.5 e- from 4000), "
      "downsample 2, SID naming";
  static constexpr const char* doc =
      "Items whose meta model is ILCE-7SM2 (raw.read) get: facility camera-sony-a7s2, domain\n"
      "photography, gain_e_per_adu and read_noise_e from the table (ISO < 4000: 2.1 e-/ADU and\n"
      "6.0 e-, the low-conversion-gain values given at ISO 2000 and used unscaled below 4000;\n"
      "ISO >= 4000: 0.79 e-/ADU (unity gain) and 2.5 e-, the sensor's dual-gain switch), the\n"
      "ISO from meta iso or the `iso` parameter; calibration_source says which row and why;\n"
      "downsample_factor 2 (2848x4256 -> 1424x2128). SID naming: <scene>_<shot>_<exposure>s.ARW\n"
      "(or .DNG for synthetic frames), e.g. SID/Sony/short/00001_00_0.04s.ARW -> scene_id\n"
      "photo_00001, data_type noisy; SID/Sony/long/00001_00_10s.ARW -> clean. label_by decides\n"
      "clean/noisy by the folder (long/short) or the exposure in the name (>= clean_min_exposure_s,\n"
      "default 1 s, is clean); auto uses the folder when it is short or long. Meta sid_shot and\n"
      "sid_exposure_s record the name's fields. on_unknown: pass leaves other cameras untouched\n"
      "and calibrates this camera's frames whose names do not follow SID without scene_id or\n"
      "data_type (tile.label names them); error fails such items saying what was expected.\n"
      "\n"
      "Example:\n"
      "  - id: who\n"
      "    use: camera-sony-a7s2.identify\n"
      "    with: {on_unknown: error, label_by: folder}\n";
  static constexpr bool concurrent = true;

  Identify()
      : CameraIdentify({.facility = "camera-sony-a7s2",
                        .models = {"ILCE-7SM2"},
                        .scene_prefix = "photo_",
                        .downsample_factor = 2,
                        .extensions = {".ARW", ".DNG"}}) {}

private:
  [[nodiscard]] facility::Calibration table(double iso_value) const override { return calibration(iso_value); }
};

} // namespace lumen::sony_a7s2
