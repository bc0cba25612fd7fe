// Facility set telescope-hst: the identify stage and the plugin entry point. What the stage
// does is declared in hst_stages.hpp; the table and the header precedence in hst_table.hpp.
#include "hst_stages.hpp"

namespace lumen::hst {

void Identify::process(Item& item, Emit& emit) {
  const bool strict = *on_unknown == "error";
  if (!is_hst(item.meta)) {
    if (strict)
      throw InputError(facility::describe(item) + ": not a Hubble frame: TELESCOP is '" +
                       item.meta.get_string("TELESCOP").value_or("(absent)") + "' and INSTRUME '" +
                       item.meta.get_string("INSTRUME").value_or("(absent)") +
                       "' (expected TELESCOP HST or INSTRUME ACS, WFC3, WFPC2); use on_unknown: pass for other "
                       "telescopes");
    emit(std::move(item));
    return;
  }
  HstCalibration hc = calibrate(item.meta);
  if (*gain_e_per_adu > 0) {
    hc.gain = *gain_e_per_adu;
    hc.gain_source = "parameter gain_e_per_adu";
  }
  if (*read_noise_e > 0) {
    hc.read_noise = *read_noise_e;
    hc.read_noise_source = "parameter read_noise_e";
  }
  if (!hc.gain || !hc.read_noise) {
    const std::string msg = facility::describe(item) + ": no " + hc.missing +
                            "; set the stage's gain_e_per_adu and read_noise_e for this detector";
    if (strict) throw InputError(msg);
    ctx().log(LogLevel::warn, msg + " (passed on without facility meta)");
    emit(std::move(item));
    return;
  }
  facility::Identity id{.facility = "telescope-hst",
                        .domain = "astronomy",
                        .calibration =
                            facility::Calibration{*hc.gain, *hc.read_noise,
                                                  "gain: " + hc.gain_source + "; read noise: " + hc.read_noise_source},
                        .downsample_factor = std::nullopt,
                        .scene_id = std::nullopt,
                        .data_type = std::nullopt};
  const auto name = parse_hla_name(facility::source_path(item).filename().string());
  if (!name && strict)
    throw InputError(facility::describe(item) +
                     ": the file name does not follow the HLA naming <obsid>_detection_sci.fits (clean) or "
                     "<obsid>_g800l_sci.fits (noisy); rename it, or use on_unknown: pass to leave it to tile.label");
  if (name) {
    id.scene_id = name->scene_id();
    id.data_type = name->data_type;
  }
  facility::apply(item, id);
  emit(std::move(item));
}

} // namespace lumen::hst

LUMEN_PLUGIN("telescope-hst", "1.0.0", "MIT", lumen::stage<lumen::hst::Identify>("telescope-hst.identify"));
