// The `calib` plugin set: stage implementations and the plugin entry point.
// What each stage does, and its parameters, are declared in calib_stages.hpp; the pixel math is
// in electrons.cpp, demosaic.cpp and cosmic.cpp.
//
// Example pipeline (photography):
//   - {id: read, use: raw.read, with: {path: "${input}"}}
//   - {id: electrons, use: calib.electrons}
//   - {id: rgb, use: calib.demosaic}
//   - {id: down, use: image.downsample}
#include "calib_stages.hpp"

#include "cfa.hpp"
#include "cosmic.hpp"
#include "demosaic.hpp"
#include "electrons.hpp"

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace lumen::calib {

namespace {

std::string num(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

// A positive, finite meta number, or nullopt; a present but unusable value is an error.
std::optional<double> meta_value(const Item& item, std::string_view key, bool allow_zero) {
  const auto v = item.meta.get_number(key);
  if (!v) return std::nullopt;
  if (!std::isfinite(*v) || *v < 0 || (!allow_zero && *v == 0))
    throw InputError("calib.electrons: item '" + item.id() + "' has meta " + std::string(key) + " = " + num(*v) +
                     ", expected a finite number " + (allow_zero ? ">= 0" : "> 0") +
                     "; fix the header/table or give the parameter");
  return v;
}

// The CFA of an item, when it has one.
std::optional<raw::CfaPattern> item_cfa(const Item& item, const char* stage) {
  const auto name = item.meta.get_string(keys::cfa);
  if (!name || name->empty() || *name == "none") return std::nullopt;
  try {
    return raw::parse_cfa(*name, item.meta.get_string("cfa_pattern").value_or(""));
  } catch (const Error& e) {
    throw InputError(std::string(stage) + ": item '" + item.id() + "': " + e.what());
  }
}

} // namespace

// ---- calib.electrons ---------------------------------------------------------------------------

void Electrons::validate() const {
  if (*prefer == "parameters" && *gain == 0 && *read_noise < 0 && *black_level < 0)
    throw ConfigError("prefer", "prefer: parameters, but none of gain, read_noise, black_level is given: set the "
                                "ones to use (e.g. gain: 1.5) or use prefer: meta");
}

void Electrons::start() {
  pool_ = image::make_row_pool(ctx().threads());
}

void Electrons::process(Item& item, Emit& emit) {
  const std::string units = item.meta.get_string(keys::units).value_or("adu");
  const bool params_win = *prefer == "parameters";
  // Gain.
  const auto meta_gain = meta_value(item, keys::gain, false);
  const std::optional<double> param_gain = *gain > 0 ? std::optional<double>(*gain) : std::nullopt;
  const bool gain_from_param = param_gain && (params_win || !meta_gain);
  const auto g = gain_from_param ? param_gain : meta_gain;
  const std::string gain_source = gain_from_param ? "parameter gain" : "meta gain_e_per_adu";
  // Read noise.
  const auto meta_rn = meta_value(item, keys::read_noise, true);
  const std::optional<double> param_rn = *read_noise >= 0 ? std::optional<double>(*read_noise) : std::nullopt;
  const auto rn = params_win ? (param_rn ? param_rn : meta_rn) : (meta_rn ? meta_rn : param_rn);

  if (units == "electrons" || units == "electrons/s") {
    if (*electrons_input == "error")
      throw InputError("calib.electrons: item '" + item.id() + "' is already in " + units +
                       " (meta units); set electrons_input: pass to let such items through unchanged, or remove "
                       "calib.electrons from the pipeline");
    if (rn && !item.meta.has(keys::read_noise))
      item.meta.set(keys::read_noise, *rn, "read noise RMS (not subtracted)", "e-");
    emit(std::move(item));
    return;
  }
  if (units != "adu" && units != "counts")
    throw InputError("calib.electrons: item '" + item.id() + "' is in units '" + units +
                     "', expected adu (or counts): calibrate raw detector values only");
  if (!g)
    throw InputError("calib.electrons: no gain for item '" + item.id() +
                     "': it has no meta gain_e_per_adu (set by fits.read from GAIN/CCDGAIN/EGAIN, or by a facility "
                     "*.identify stage) and the parameter gain is 0; set gain in e-/ADU (with: {gain: 1.5}, or "
                     "--set <stage id>.gain=1.5)");

  ElectronsSpec spec;
  spec.gain = *g;
  std::string black_source = "none (0)";
  std::vector<double> per_site;
  if (*legacy_read_noise_offset) {
    if (!rn)
      throw InputError("calib.electrons: legacy_read_noise_offset needs a read noise for item '" + item.id() +
                       "': it has no meta read_noise_e and the parameter read_noise is -1; set read_noise (e-)");
    spec.legacy = true;
    spec.read_noise = *rn;
    black_source = "not used (legacy formula)";
  } else {
    const bool param_black = *black_level >= 0;
    const auto cfa = item_cfa(item, "calib.electrons");
    const auto sites = item.meta.get_list("black_level_per_channel");
    const auto meta_black = meta_value(item, "black_level", true);
    const bool meta_any = (cfa && sites) || meta_black;
    if (param_black && (params_win || !meta_any)) {
      spec.black = {*black_level};
      black_source = "parameter black_level";
    } else if (cfa && sites && sites->size() == static_cast<std::size_t>(cfa->rows * cfa->cols) &&
               item.array("image").ndim() == 2) {
      spec.rows = cfa->rows;
      spec.cols = cfa->cols;
      spec.black = *sites;
      per_site = *sites;
      black_source = "meta black_level_per_channel, per " + cfa->name + " site";
    } else if (cfa && sites) {
      throw InputError("calib.electrons: item '" + item.id() + "' has " + std::to_string(sites->size()) +
                       " black levels per channel for a " + std::to_string(cfa->rows) + "x" +
                       std::to_string(cfa->cols) + " " + cfa->name + " pattern on an image of shape " +
                       item.array("image").shape().str() + "; expected " + std::to_string(cfa->rows * cfa->cols) +
                       " levels and an (H, W) mosaic (set black_level to use one level)");
    } else if (meta_black) {
      spec.black = {*meta_black};
      black_source = "meta black_level";
    }
  }
  item.set("image", to_electrons(std::move(item.array("image")), spec, pool_.get())); // in place when it can

  double black_mean = 0;
  for (const double b : spec.black) black_mean += b / static_cast<double>(spec.black.size());
  item.meta.set(keys::units, "electrons");
  item.meta.set("calibration_method", spec.legacy ? "legacy: ADU * gain - read_noise" : "(ADU - black_level) * gain",
                spec.legacy ? "older formula, subtracts the read-noise RMS (not physical)" : "calib.electrons");
  item.meta.set(keys::gain, spec.gain, "conversion gain used (" + gain_source + ")", "e-/ADU");
  if (rn)
    item.meta.set(keys::read_noise, *rn,
                  spec.legacy ? "read noise RMS (subtracted: legacy formula)"
                              : "read noise RMS (recorded, not subtracted)",
                  "e-");
  item.meta.set("black_level_applied", spec.legacy ? 0.0 : black_mean,
                "black level subtracted before the gain (" + black_source + (per_site.empty() ? ")" : ", mean)"),
                "ADU");
  if (!per_site.empty())
    item.meta.set("black_level_applied_per_site", per_site, "black level subtracted at each CFA site, row by row",
                  "ADU");
  emit(std::move(item));
}

// ---- calib.demosaic ----------------------------------------------------------------------------

void Demosaic::start() {
  pool_ = image::make_row_pool(ctx().threads());
}

void Demosaic::process(Item& item, Emit& emit) {
  const auto cfa = item_cfa(item, "calib.demosaic");
  if (!cfa) {
    if (*no_cfa == "error")
      throw InputError("calib.demosaic: item '" + item.id() + "' has no CFA mosaic (meta cfa is " +
                       item.meta.get_string(keys::cfa).value_or("missing") +
                       "); set no_cfa: pass to let such items through unchanged");
    emit(std::move(item));
    return;
  }
  const Array& mosaic = item.array("image");
  if (mosaic.ndim() != 2)
    throw InputError("calib.demosaic: item '" + item.id() + "' has meta cfa " + cfa->name +
                     " but its image has shape " + mosaic.shape().str() + ", expected an (H, W) mosaic");
  item.set("image", demosaic_bilinear(mosaic, *cfa, pool_.get()));
  item.meta.set(keys::cfa, "none", "demosaiced: the image is (H, W, 3) RGB");
  item.meta.set("demosaiced_from", cfa->name, "CFA layout of the mosaic");
  item.meta.set("demosaic_method", "bilinear (normalised convolution, 3x3 tent weights)");
  emit(std::move(item));
}

// ---- calib.cosmic_rays -------------------------------------------------------------------------

void CosmicRays::start() {
  pool_ = image::make_row_pool(ctx().threads());
}

void CosmicRays::process(Item& item, Emit& emit) {
  CosmicOptions o;
  o.sigclip = *sigclip;
  o.sigfrac = *sigfrac;
  o.objlim = *objlim;
  o.niter = *niter;
  o.separable_median = *separable_median;
  o.saturation = *saturation;
  if (*read_noise >= 0) {
    o.read_noise = *read_noise;
  } else if (const auto rn = item.meta.get_number(keys::read_noise); rn && std::isfinite(*rn) && *rn >= 0) {
    o.read_noise = *rn;
  } else {
    throw InputError("calib.cosmic_rays: no read noise for item '" + item.id() +
                     "': it has no meta read_noise_e and the parameter read_noise is -1; set read_noise (e-), or "
                     "set it in calib.electrons");
  }
  const auto units = item.meta.get_string(keys::units);
  if (units && *units != "electrons")
    throw InputError("calib.cosmic_rays: item '" + item.id() + "' is in units '" + *units +
                     "'; its noise model needs electrons: put calib.electrons before it");
  CosmicResult r = detect_cosmics(item.array("image"), o, pool_.get());
  if (*replace) item.set("image", std::move(r.cleaned));
  item.set("cosmic_ray_mask", std::move(r.mask));
  item.meta.set("cosmic_ray_count", r.count, "pixels flagged as cosmic rays (L.A.Cosmic)");
  item.meta.set("cosmic_ray_iterations", static_cast<std::int64_t>(r.iterations), "L.A.Cosmic iterations run");
  if (*saturation > 0)
    item.meta.set("cosmic_ray_saturated_pixels", r.saturated, "pixels masked as saturated stars (not searched)");
  emit(std::move(item));
}

} // namespace lumen::calib

LUMEN_PLUGIN("calib", "1.0.0", "MIT", lumen::stage<lumen::calib::Electrons>("calib.electrons"),
             lumen::stage<lumen::calib::Demosaic>("calib.demosaic"),
             lumen::stage<lumen::calib::CosmicRays>("calib.cosmic_rays"));
