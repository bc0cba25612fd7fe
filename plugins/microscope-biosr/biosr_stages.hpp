// Facility set microscope-biosr: the BioSR structured-illumination microscopy data set (Qiao et
// al. 2021; sCMOS camera, 9 raw SIM frames per acquisition: 3 angles x 3 phases).
//
//   microscope-biosr.identify  calibrator  gain 1.0 e-/ADU and read noise 1.5 e- (biosr_naming.hpp),
//                                          BioSR naming -> scene_id micro_<structure>_<Cell_NN>
//                                          and clean / noisy, SIM stacks -> one 2-D image (`stack`)
//
// Example pipeline (pipelines/microscope-biosr-tiles.yaml is the full one):
//   stages:
//     - id: in
//       use: mrc.read
//       with: {path: "BioSR/Microtubules", recursive: true}
//     - id: who
//       use: microscope-biosr.identify
#pragma once

#include "biosr_naming.hpp"
#include "facility.hpp"
#include "lumen/lumen.hpp"

namespace lumen::biosr {

class Identify final : public Calibrator {
public:
  static constexpr const char* summary =
      "BioSR SIM frames: gain 1.0 e-/ADU, read noise 1.5 e-, scene = structure + cell, clean/noisy from the "
      "file name, 9-frame SIM stacks to one image";
  static constexpr const char* doc =
      "For files laid out as <structure>/Cell_NN/<name>.mrc with a BioSR name\n"
      "(RawSIMData_level_XX and, for ER cells, RawGTSIMData_level_XX: noisy; RawSIMData_gt,\n"
      "SIM_gt*, GTSIM_level_XX: clean) it sets facility microscope-biosr, domain microscopy,\n"
      "units adu (the sCMOS counts; mrc.read says counts), gain_e_per_adu 1.0 and read_noise_e\n"
      "1.5 per frame (the issue's values; gain_e_per_adu/read_noise_e override them),\n"
      "calibration_source, scene_id micro_<structure>_<Cell_NN>, data_type, biosr_level (the SNR\n"
      "level, -1 for ground truth without one) and black_level (the camera offset, parameter).\n"
      "Stacks (N, H, W) such as the 9 raw SIM frames become one 2-D image (`stack`):\n"
      "  sum    f32 sum of the N frames: the widefield image, still Poisson; read_noise_e and\n"
      "         black_level scale to sqrt(N) x and N x the per-frame values (default)\n"
      "  mean   f32 mean: read noise / sqrt(N), black level unchanged (shot noise is then not\n"
      "         Poisson in these units)\n"
      "  first  frame 0 (angle 0, phase 0) as is: a raw SIM frame pair\n"
      "  all    one item per frame, id <id>/fNN, meta sim_frame: every frame tiled (all frames of\n"
      "         one file share scene and grid, so tile pairs are then one-to-many)\n"
      "The stack rule applies to every (N, H, W) item, named or not, so that what follows sees\n"
      "2-D images. Ground truth of the reconstructed kind (SIM_gt*) is sampled 2x finer than the\n"
      "raw frames in the real data set, so its tiles do not line up with raw tiles of the same\n"
      "grid position; RawSIMData_gt is the aligned clean partner of RawSIMData_level_XX.\n"
      "on_unknown: pass emits other files without facility meta (tile.label names them; calib\n"
      "takes its parameters); error fails them, saying which layout was expected.\n"
      "\n"
      "Example:\n"
      "  - id: who\n"
      "    use: microscope-biosr.identify\n"
      "    with: {stack: sum, on_unknown: error}\n";
  static constexpr bool concurrent = true;

  Param<std::string> on_unknown{this, "on_unknown", std::string("pass"), facility::kOnUnknownDoc,
                                OneOf{facility::kOnUnknown}};
  Param<std::string> stack{this, "stack", std::string("sum"),
                           "what an (N, H, W) stack becomes: sum (widefield, default), mean, first (frame 0) or "
                           "all (one item per frame)",
                           OneOf{{"sum", "mean", "first", "all"}}};
  Param<double> black_level{
      this,       "black_level",
      0.0,        "camera offset of one raw frame (ADU), written to meta black_level for calib.electrons",
      Min{0},     Max{65535},
      Unit{"ADU"}};
  Param<double> gain_e_per_adu{
      this,   "gain_e_per_adu", 0.0,           "override of the conversion gain; 0 = 1.0 (BioSR)",
      Min{0}, Max{1e6},         Unit{"e-/ADU"}};
  Param<double> read_noise_e{this,   "read_noise_e", 0.0,       "override of the per-frame read noise; 0 = 1.5 (BioSR)",
                             Min{0}, Max{1e6},       Unit{"e-"}};

  Produces out_{this,
                {.arrays = {"image"},
                 .meta_keys = {"facility", "gain_e_per_adu", "read_noise_e", "calibration_source"},
                 .units = ""}};

  void process(Item& item, Emit& emit) override;
};

} // namespace lumen::biosr
