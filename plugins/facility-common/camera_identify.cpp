// The camera identify stage shared by the camera facility sets; see camera_identify.hpp.
#include "camera_identify.hpp"

#include <algorithm>

namespace lumen::facility {

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}
} // namespace

CameraIdentify::CameraIdentify(CameraDefaults defaults)
    : models{this, "models", defaults.models,
             "meta `model` values (EXIF model, as raw.read reports it) that mark an item as this camera's; other "
             "items are not this facility's (see on_unknown)"},
      scene_prefix{this, "scene_prefix", defaults.scene_prefix,
                   "scene_id = scene_prefix + the SID scene digits (e.g. photo_00001)"},
      downsample_factor{
          this,
          "downsample_factor",
          defaults.downsample_factor,
          "anti-aliased downsampling factor written to meta downsample_factor (image.downsample reads it)",
          Min{1},
          Max{64}},
      defaults_(std::move(defaults)) {}

void CameraIdentify::process(Item& item, Emit& emit) {
  const bool strict = *on_unknown == "error";
  const std::string model = item.meta.get_string("model").value_or("");
  const bool ours =
      std::any_of(models->begin(), models->end(), [&](const std::string& m) { return iequals(m, model); });
  if (!ours) {
    if (strict)
      throw InputError(describe(item) + ": not a " + defaults_.facility + " frame: meta model is '" + model +
                       "', expected one of " + join(*models) +
                       " (set `models`, or on_unknown: pass to leave other cameras to tile.label)");
    emit(std::move(item)); // another camera's frame: untouched
    return;
  }

  Identity id;
  id.facility = defaults_.facility;
  id.domain = "photography";
  id.downsample_factor = *downsample_factor;
  const std::optional<double> meta_iso = item.meta.get_number("iso");
  const double at = *iso > 0 ? *iso : meta_iso.value_or(0);
  if (!(at > 0) && (*gain_e_per_adu <= 0 || *read_noise_e <= 0))
    throw InputError(describe(item) + ": no ISO to calibrate at (meta iso is " +
                     (meta_iso ? std::to_string(*meta_iso) : std::string("absent")) +
                     "): set the stage's `iso`, or both gain_e_per_adu and read_noise_e");
  Calibration c = at > 0 ? table(at) : Calibration{};
  if (*gain_e_per_adu > 0) {
    c.gain_e_per_adu = *gain_e_per_adu;
    c.source = "parameter gain_e_per_adu" + (c.source.empty() ? std::string() : "; read noise " + c.source);
  }
  if (*read_noise_e > 0) {
    c.read_noise_e = *read_noise_e;
    c.source += (c.source.empty() ? "" : "; ") + std::string("parameter read_noise_e");
  }
  id.calibration = c;

  // Naming: SID <scene>_<shot>_<exposure>s.<ext>
  const std::filesystem::path file = source_path(item);
  const std::string ext = file.extension().string();
  const bool ext_ok = std::any_of(defaults_.extensions.begin(), defaults_.extensions.end(),
                                  [&](const std::string& e) { return iequals(e, ext); });
  const auto sid = ext_ok ? parse_sid_name(file) : std::nullopt;
  std::optional<std::string> data_type;
  const std::string folder = file.parent_path().filename().string();
  if (sid) {
    const bool by_folder = *label_by == "folder" || (*label_by == "auto" && (folder == "short" || folder == "long"));
    if (by_folder) {
      if (folder == "long") data_type = "clean";
      if (folder == "short") data_type = "noisy";
    } else {
      data_type = sid->exposure_s >= *clean_min_exposure_s ? "clean" : "noisy";
    }
  }
  if (!sid || !data_type) {
    if (strict) {
      std::string want = "the SID naming <scene digits>_<shot digits>_<exposure>s with extension " +
                         join(defaults_.extensions) + " (e.g. 00001_00_0.04s" + defaults_.extensions.front() + ")";
      if (sid) want = "a parent folder named short or long (label_by: folder), found '" + folder + "'";
      throw InputError(describe(item) + ": the file name does not follow " + want +
                       "; rename it, or use on_unknown: pass to leave it to tile.label");
    }
    apply(item, id); // calibrated, but scene and clean/noisy are left to tile.label
    emit(std::move(item));
    return;
  }
  id.scene_id = *scene_prefix + sid->scene;
  id.data_type = data_type;
  apply(item, id);
  item.meta.set("sid_shot", std::int64_t{sid->shot}, "shot number of the scene (SID file name)");
  item.meta.set("sid_exposure_s", MetaValue{sid->exposure_s}, "exposure time in the SID file name", "s");
  emit(std::move(item));
}

} // namespace lumen::facility
