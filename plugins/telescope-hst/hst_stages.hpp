// Facility set telescope-hst: Hubble Space Telescope imagers.
//
//   telescope-hst.identify  calibrator  gain and read noise from the header (ATODGAIN, CCDGAIN,
//                                       READNSE*) or the table by INSTRUME/DETECTOR
//                                       (hst_table.hpp), HLA association naming -> scene_id
//                                       astro_<obsid> and clean (detection) / noisy (g800l)
//
// Example pipeline (pipelines/telescope-hst-tiles.yaml is the full one):
//   stages:
//     - id: in
//       use: fits.read
//       with: {path: "astronomy/hla_associations/*_sci.fits"}
//     - id: who
//       use: telescope-hst.identify
#pragma once

#include "facility.hpp"
#include "hst_table.hpp"
#include "lumen/lumen.hpp"

namespace lumen::hst {

class Identify final : public Calibrator {
public:
  static constexpr const char* summary =
      "HST frames: gain and read noise from ATODGAIN/CCDGAIN/READNSE* cards or by INSTRUME/DETECTOR "
      "(ACS/WFC, WFC3/UVIS, WFC3/IR, WFPC2), HLA naming";
  static constexpr const char* doc =
      "Items whose header (fits.read puts every card in meta) says Hubble (TELESCOP HST, or\n"
      "INSTRUME ACS, WFC3 or WFPC2) get facility telescope-hst, domain astronomy, gain_e_per_adu\n"
      "and read_noise_e with calibration_source naming the card or table row used. Header first:\n"
      "gain ATODGAIN, else the mean of ATODGNA..D over the CCDAMP amplifiers, else CCDGAIN, else\n"
      "GAIN/EGAIN; read noise the mean of READNSEA..D over the CCDAMP amplifiers, else\n"
      "RDNOISE/READNOIS/RON. Then the table: ACS/WFC 1.0 e-/ADU, 3.5 e-; WFC3/UVIS 1.5, 3.09;\n"
      "WFC3/IR 2.5, 15.0; WFPC2 7.0, 6.5. The gain_e_per_adu / read_noise_e parameters, when\n"
      "non-zero, win over both. HLA naming: <obsid>_detection_sci.fits is the clean direct image,\n"
      "<obsid>_g800l_sci.fits the noisy G800L grism image of the same field; scene_id\n"
      "astro_<obsid>. on_unknown: pass emits non-HST files untouched (fits.read's header values\n"
      "stay; tile.label names them) and HST files with other names calibrated but without\n"
      "scene_id/data_type; error fails both, and HST files whose gain or read noise can be found\n"
      "neither in the header nor in the table, saying what was expected (with pass those are\n"
      "emitted without facility meta and a warning is logged).\n"
      "\n"
      "Example:\n"
      "  - id: who\n"
      "    use: telescope-hst.identify\n"
      "    with: {on_unknown: error}\n";
  static constexpr bool concurrent = true;

  Param<std::string> on_unknown{this, "on_unknown", std::string("pass"), facility::kOnUnknownDoc,
                                OneOf{facility::kOnUnknown}};
  Param<double> gain_e_per_adu{
      this,   "gain_e_per_adu", 0.0,           "override of the conversion gain; 0 = header cards, else the table",
      Min{0}, Max{1e6},         Unit{"e-/ADU"}};
  Param<double> read_noise_e{
      this,   "read_noise_e", 0.0,       "override of the read noise; 0 = header cards, else the table",
      Min{0}, Max{1e6},       Unit{"e-"}};

  Produces out_{
      this,
      {.arrays = {}, .meta_keys = {"facility", "gain_e_per_adu", "read_noise_e", "calibration_source"}, .units = ""}};

  void process(Item& item, Emit& emit) override;
};

} // namespace lumen::hst
