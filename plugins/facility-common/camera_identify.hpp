// The identify stage of a camera facility set (camera-sony-a7s2, camera-fuji-xt30): which items
// are this camera's (meta `model`, as raw.read sets it), the calibration at the item's ISO from
// the set's own table, and the See-in-the-Dark (SID) naming rule:
//
//   SID/<Camera>/short/00001_00_0.04s.ARW   scene 00001, shot 00, 0.04 s  -> noisy
//   SID/<Camera>/long/00001_00_10s.ARW      scene 00001, shot 00, 10 s    -> clean
//
// data_type (`label_by`): folder = the parent folder short (noisy) / long (clean); exposure =
// exposure in the name >= clean_min_exposure_s is clean (SID's long exposures are 10 s and 30 s,
// its short ones 0.033-0.1 s, so the 1 s default separates them with a wide margin); auto = the
// folder when it is named short or long, else the exposure. scene_id = scene_prefix + digits.
// A camera set derives its stage from CameraIdentify and gives the table, the defaults and the
// docs.
#pragma once

#include "facility.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace lumen::facility {

struct CameraDefaults {
  std::string facility;                // plugin set name
  std::vector<std::string> models;     // meta `model` values of this camera
  std::string scene_prefix;            // scene_id = prefix + SID scene digits
  std::int64_t downsample_factor = 1;  // the camera's anti-aliased downsampling factor
  std::vector<std::string> extensions; // file extensions the SID rule accepts (".ARW", ".DNG")
};

class CameraIdentify : public Calibrator {
public:
  Param<std::string> on_unknown{this, "on_unknown", std::string("pass"), kOnUnknownDoc, OneOf{kOnUnknown}};
  Param<std::string> label_by{this, "label_by", std::string("auto"),
                              "how clean/noisy is decided: folder (parent folder long = clean, short = noisy), "
                              "exposure (exposure in the name >= clean_min_exposure_s = clean), auto (folder when "
                              "it is named short or long, else exposure)",
                              OneOf{{"auto", "folder", "exposure"}}};
  Param<double> clean_min_exposure_s{this,
                                     "clean_min_exposure_s",
                                     1.0,
                                     "shortest exposure that counts as a clean (long) frame; SID: short frames are "
                                     "0.033-0.1 s, long ones 10 or 30 s",
                                     Min{1e-6},
                                     Max{1e6},
                                     Unit{"s"}};
  Param<double> iso{this,   "iso",
                    0.0,    "ISO to calibrate at; 0 = the item's meta iso (raw.read sets it from EXIF)",
                    Min{0}, Max{10000000}};
  Param<std::vector<std::string>> models;
  Param<std::string> scene_prefix;
  Param<double> gain_e_per_adu{
      this,          "gain_e_per_adu",
      0.0,           "override of the table's conversion gain; 0 = the table at the item's ISO",
      Min{0},        Max{1e6},
      Unit{"e-/ADU"}};
  Param<double> read_noise_e{
      this,   "read_noise_e", 0.0,       "override of the table's read noise; 0 = the table at the item's ISO",
      Min{0}, Max{1e6},       Unit{"e-"}};
  Param<std::int64_t> downsample_factor;

  Produces out_{this,
                {.arrays = {},
                 .meta_keys = {"facility", "gain_e_per_adu", "read_noise_e", "calibration_source", "downsample_factor"},
                 .units = ""}};

  void process(Item& item, Emit& emit) override;

protected:
  explicit CameraIdentify(CameraDefaults defaults);
  /// The set's calibration table at `iso`.
  [[nodiscard]] virtual Calibration table(double iso) const = 0;

private:
  CameraDefaults defaults_;
};

} // namespace lumen::facility
