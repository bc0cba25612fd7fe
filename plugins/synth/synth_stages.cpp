// The `synth` plugin set: stage implementations and the plugin entry point.
// What each stage does, and its parameters, are declared in synth_stages.hpp.
//
// Example pipeline:
//   stages:
//     - id: sky
//       use: synth.starfield
//       with: {count: 4}
//     - id: pass
//       use: synth.noop
#include "synth_stages.hpp"

#include <algorithm>
#include <cstdio>

namespace lumen::synth {

namespace {

std::string numbered_id(const char* prefix, int digits, std::int64_t index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s/%0*lld", prefix, digits, static_cast<long long>(index));
  return buf;
}

// One work unit per generated item: id "<prefix>/NNNN", identity = `common` + the index.
std::vector<WorkUnit> numbered_units(const char* prefix, int digits, std::int64_t count, const std::string& common) {
  std::vector<WorkUnit> units;
  units.reserve(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    WorkUnit u;
    u.id = numbered_id(prefix, digits, i);
    u.identity = common + " index=" + std::to_string(i);
    u.index = i;
    units.push_back(std::move(u));
  }
  return units;
}

} // namespace

// ---- synth.starfield ---------------------------------------------------------------------------

StarfieldSpec Starfield::spec() const {
  StarfieldSpec s;
  s.width = *width;
  s.height = *height;
  s.seed = static_cast<std::uint64_t>(*seed);
  s.stars = *stars;
  s.fwhm_px = *fwhm_px;
  s.sky_e = *sky_e;
  s.peak_e_max = *peak_e_max;
  s.gain_e_per_adu = *gain_e_per_adu;
  s.read_noise_e = *read_noise_e;
  s.bias_adu = *bias_adu;
  s.hot_pixels = *hot_pixels;
  s.bayer = *bayer;
  s.dtype = *dtype == "f32" ? DType::f32 : DType::u16;
  return s;
}

void Starfield::validate() const {
  const auto pixels = static_cast<std::int64_t>(*width) * *height;
  if (*hot_pixels > pixels)
    throw ConfigError("hot_pixels", "hot_pixels is " + std::to_string(*hot_pixels) + " but the frame has only " +
                                        std::to_string(pixels) + " pixels: lower hot_pixels or enlarge the frame");
}

std::vector<WorkUnit> Starfield::plan() {
  // The identity holds every parameter that shapes the pixels, but not `count`: frame i is the
  // same whatever the number of frames, so raising `count` re-uses the frames already made.
  std::string common = "synth.starfield model=" + std::to_string(kStarfieldModelVersion);
  for (const ParamBase* p : params()) {
    if (p->spec().name == "count") continue;
    common += ' ' + p->spec().name + '=' + param_value_text(p->current());
  }
  return numbered_units("starfield", 4, *count, common);
}

void Starfield::read(const WorkUnit& unit, Emit& emit) {
  const StarfieldSpec s = spec();
  Item item(unit.id);
  item.set("image", make_starfield(s, unit.index));
  item.meta.set(keys::units, "adu");
  item.meta.set(keys::cfa, s.bayer ? "RGGB" : "none");
  item.meta.set(keys::domain, "astronomy");
  item.meta.set(keys::gain, MetaValue{s.gain_e_per_adu}, "conversion gain", "e-/ADU");
  item.meta.set(keys::read_noise, MetaValue{s.read_noise_e}, "read noise RMS", "e-");
  item.meta.set("bias_adu", MetaValue{s.bias_adu}, "bias level", "ADU");
  item.meta.set("sky_e", MetaValue{s.sky_e}, "sky background per pixel", "e-");
  item.meta.set("fwhm_px", MetaValue{s.fwhm_px}, "PSF full width at half maximum", "px");
  item.meta.set("seed", MetaValue{*seed}, "synthetic field seed");
  item.meta.set("index", MetaValue{unit.index}, "frame index");
  emit(std::move(item));
}

// ---- synth.photon_movie ------------------------------------------------------------------------

PhotonMovieSpec PhotonMovie::spec() const {
  PhotonMovieSpec s;
  s.width = *width;
  s.height = *height;
  s.frames = *frames;
  s.gain = *gain;
  s.zero_level = *zero_level;
  s.read_noise = *read_noise;
  s.lambda_min = *lambda_min;
  s.lambda_max = *lambda_max;
  s.cells = *cells;
  s.cell_radius = *cell_radius;
  s.event_rate = *event_rate;
  s.decay_frames = *decay_frames;
  s.seed = static_cast<std::uint64_t>(*seed);
  s.dtype = *dtype == "f32" ? DType::f32 : *dtype == "u8" ? DType::u8 : DType::u16;
  return s;
}

void PhotonMovie::validate() const {
  if (*lambda_max < *lambda_min)
    throw ConfigError("lambda_max", "lambda_max (" + param_value_text(lambda_max.current()) +
                                        ") is below lambda_min (" + param_value_text(lambda_min.current()) + ")");
}

std::vector<WorkUnit> PhotonMovie::plan() {
  scene_ = std::make_unique<const PhotonScene>(spec());
  std::string common = "synth.photon_movie";
  for (const ParamBase* p : params())
    if (p->spec().name != "frames_per_item") common += ' ' + p->spec().name + '=' + param_value_text(p->current());
  std::vector<WorkUnit> units;
  for (std::int64_t b = 0; b < *frames; b += *frames_per_item) {
    const std::int64_t e = std::min(*frames, b + *frames_per_item);
    units.push_back(WorkUnit{.id = numbered_id("photon_movie", 4, b),
                             .identity = common + " frames=[" + std::to_string(b) + "," + std::to_string(e) + ")",
                             .begin = b,
                             .end = e});
  }
  return units;
}

void PhotonMovie::read(const WorkUnit& unit, Emit& emit) {
  Item item(unit.id);
  item.set("image", render_photon_frames(*scene_, unit.begin, unit.end));
  item.meta.set(keys::units, "adu");
  item.meta.set(keys::domain, "microscopy");
  item.meta.set("index", unit.begin, "first frame of this block in the movie");
  item.meta.set("file_index", std::int64_t{0}, "the movie (one per run of this source)");
  item.meta.set("true_gain", MetaValue{*gain}, "gain the movie was made with", "ADU/photon");
  item.meta.set("true_zero_level", MetaValue{*zero_level}, "zero level the movie was made with", "ADU");
  item.meta.set("true_read_noise", MetaValue{*read_noise}, "read noise the movie was made with", "ADU");
  emit(std::move(item));
}

// ---- synth.ptycho_scan -------------------------------------------------------------------------

PtychoScanSpec PtychoScan::spec() const {
  PtychoScanSpec s;
  s.size = *size;
  s.positions = *positions;
  s.frames_per_pos = *frames_per_pos;
  s.spiral = *scan == "spiral";
  s.step_m = *step_m;
  s.energy_eV = *energy_ev;
  s.det_dist_m = *det_dist_m;
  s.pixel_m = *pixel_m;
  s.exposure_s = *exposure_s;
  s.probe_radius_px = *probe_radius_px;
  s.photons = *photons;
  s.dark_adu = *dark_adu;
  s.read_noise_adu = *read_noise_adu;
  s.flat_variation = *flat_variation;
  s.sat_adu = *sat_adu;
  s.seed = static_cast<std::uint64_t>(*seed);
  return s;
}

std::vector<WorkUnit> PtychoScan::plan() {
  scene_ = std::make_unique<const PtychoScene>(spec());
  std::string common = "synth.ptycho_scan";
  for (const ParamBase* p : params())
    if (p->spec().name != "frames_per_item") common += ' ' + p->spec().name + '=' + param_value_text(p->current());
  const std::int64_t total = scene_->spec().frames();
  const std::int64_t fpp = *frames_per_pos;
  const std::int64_t block = std::max<std::int64_t>(fpp, *frames_per_item / fpp * fpp);
  std::vector<WorkUnit> units;
  for (std::int64_t b = 0; b < total; b += block) {
    const std::int64_t e = std::min(total, b + block);
    units.push_back(WorkUnit{.id = numbered_id("ptycho_scan", 4, b),
                             .identity = common + " frames=[" + std::to_string(b) + "," + std::to_string(e) + ")",
                             .begin = b,
                             .end = e});
  }
  return units;
}

void PtychoScan::read(const WorkUnit& unit, Emit& emit) {
  PtychoBlock block = render_ptycho_frames(*scene_, unit.begin, unit.end);
  Item item(unit.id);
  item.set("image", std::move(block.frames));
  item.set("pos", std::move(block.pos));
  item.set("dark", scene_->dark());
  item.set("flat", scene_->flat());
  item.meta.set(keys::units, "adu");
  item.meta.set(keys::domain, "ptychography");
  item.meta.set("index", unit.begin, "first frame of this block in the scan");
  item.meta.set("file_index", std::int64_t{0}, "the scan");
  item.meta.set("scan_frames", scene_->spec().frames(), "frames in the whole scan");
  item.meta.set("energy_eV", MetaValue{*energy_ev}, "photon energy", "eV");
  item.meta.set("det_dist_m", MetaValue{*det_dist_m}, "sample-detector distance", "m");
  item.meta.set("pixel_m", MetaValue{*pixel_m}, "detector pixel size", "m");
  item.meta.set("exposure_s", MetaValue{*exposure_s}, "exposure per frame", "s");
  item.meta.set("sat", MetaValue{*sat_adu}, "saturation level of the detector", "ADU");
  emit(std::move(item));
}

// ---- synth.multidomain -------------------------------------------------------------------------

MultidomainSpec Multidomain::spec() const {
  MultidomainSpec s;
  s.domain = *domain;
  s.scenes = *scenes;
  s.noisy_per_scene = *noisy_per_scene;
  s.structures = *structures;
  s.photo_height = *photo_height;
  s.photo_width = *photo_width;
  s.micro_size = *micro_size;
  s.astro_size = *astro_size;
  s.exposure_ratio = *exposure_ratio;
  s.seed = static_cast<std::uint64_t>(*seed);
  return s;
}

void Multidomain::validate() const {
  for (const auto& [p, v] : {std::pair{"photo_height", *photo_height}, std::pair{"photo_width", *photo_width}})
    if (v % 6 != 0)
      throw ConfigError(p, std::string(p) + " is " + std::to_string(v) +
                               ": it must be a multiple of 6 (the X-Trans repeat), e.g. " +
                               std::to_string(v / 6 * 6 + 6));
  for (const auto& s : *structures)
    if (s.empty() || s.find('/') != std::string::npos || s == "." || s == "..")
      throw ConfigError("structures", "structure '" + s + "' is not a folder name (no '/', not empty)");
}

std::vector<WorkUnit> Multidomain::plan() {
  files_ = tree_files(spec());
  std::string common = "synth.multidomain";
  for (const ParamBase* p : params()) common += ' ' + p->spec().name + '=' + param_value_text(p->current());
  std::vector<WorkUnit> units;
  units.reserve(files_.size());
  for (std::size_t i = 0; i < files_.size(); ++i)
    units.push_back(WorkUnit{.id = files_[i].path,
                             .identity = common + " file=" + files_[i].path,
                             .index = static_cast<std::int64_t>(i),
                             .file_index = static_cast<std::int64_t>(i)});
  return units;
}

void Multidomain::read(const WorkUnit& unit, Emit& emit) {
  Item item = make_tree_item(spec(), files_.at(static_cast<std::size_t>(unit.file_index)));
  item.meta.set("index", std::int64_t{0}, "frame index inside the file");
  item.meta.set("file_index", unit.file_index, "position of the file in the tree");
  emit(std::move(item));
}

// ---- synth.items -------------------------------------------------------------------------------

std::vector<WorkUnit> Items::plan() {
  const std::string common = "synth.items width=" + std::to_string(*width) + " height=" + std::to_string(*height);
  return numbered_units("items", 6, *count, common);
}

void Items::read(const WorkUnit& unit, Emit& emit) {
  Item item(unit.id);
  Array image = Array::uninitialized(DType::u8, Shape{*height, *width});
  const auto fill = static_cast<std::uint8_t>(unit.index & 0xFF);
  for (std::uint8_t& v : image.writable<std::uint8_t>()) v = fill;
  item.set("image", std::move(image));
  item.meta.set("index", MetaValue{unit.index});
  emit(std::move(item));
}

} // namespace lumen::synth

LUMEN_PLUGIN("synth", "1.0.0", "MIT", lumen::stage<lumen::synth::Starfield>("synth.starfield"),
             lumen::stage<lumen::synth::Items>("synth.items"), lumen::stage<lumen::synth::Noop>("synth.noop"),
             lumen::stage<lumen::synth::PhotonMovie>("synth.photon_movie"),
             lumen::stage<lumen::synth::PtychoScan>("synth.ptycho_scan"),
             lumen::stage<lumen::synth::Multidomain>("synth.multidomain"));
