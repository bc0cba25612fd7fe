// Facility set microscope-biosr: the identify stage and the plugin entry point. What the stage
// does is declared in biosr_stages.hpp; the layout and the calibration in biosr_naming.hpp.
#include "biosr_stages.hpp"

#include <cmath>
#include <cstdio>

namespace lumen::biosr {

namespace {

// Sum (or mean) of the frames of a contiguous (N, H, W) stack into a f32 (H, W) image; the
// frame loop is outermost so each pass streams one contiguous frame.
Array reduce_frames(const Array& stack, bool mean) {
  const std::int64_t n = stack.dim(0), h = stack.dim(1), w = stack.dim(2), plane = h * w;
  Array out(DType::f32, Shape{h, w});
  float* o = out.writable<float>().begin();
  const Array src = stack.contiguous_copy();
  visit_dtype(src.dtype(), [&]<typename T>(T) {
    const T* s = src.view<T>().begin();
    for (std::int64_t f = 0; f < n; ++f)
      for (std::int64_t i = 0; i < plane; ++i) o[i] += static_cast<float>(s[f * plane + i]);
  });
  if (mean)
    for (std::int64_t i = 0; i < plane; ++i) o[i] /= static_cast<float>(n);
  return out;
}

std::string frame_suffix(std::int64_t f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "f%02lld", static_cast<long long>(f));
  return buf;
}

} // namespace

void Identify::process(Item& item, Emit& emit) {
  const auto name = parse_biosr_path(facility::source_path(item));
  if (!name && *on_unknown == "error")
    throw InputError(facility::describe(item) +
                     ": not a BioSR file: expected <structure>/Cell_NN/<name>.mrc with <name> RawSIMData_level_XX, "
                     "RawSIMData_gt, SIM_gt*, RawGTSIMData_level_XX or GTSIM_level_XX (e.g. "
                     "Microtubules/Cell_01/RawSIMData_level_03.mrc); rename it, or use on_unknown: pass");

  // Frames per image after the stack rule (1 for 2-D items and for `first`/`all`).
  std::int64_t frames = 1;
  const Array image = item.array("image"); // shares the storage; item.set below replaces the item's copy
  const bool is_stack = image.ndim() == 3 && image.dim(0) > 1;
  if (image.ndim() == 3 && image.dim(0) == 1) item.set("image", image.reshape(Shape{image.dim(1), image.dim(2)}));
  if (is_stack) {
    if (*stack == "sum" || *stack == "mean") {
      frames = *stack == "sum" ? image.dim(0) : 1;
      const std::int64_t n = image.dim(0);
      item.set("image", reduce_frames(image, *stack == "mean"));
      item.meta.set("sim_frames_combined", n,
                    std::string("frames combined by microscope-biosr.identify (") + *stack + ")");
    } else if (*stack == "first") {
      item.set("image", image.slice(0, 1).reshape(Shape{image.dim(1), image.dim(2)}));
      item.meta.set("sim_frame", std::int64_t{0}, "frame of the SIM stack kept (angle 0, phase 0)");
    }
  }

  const auto annotate = [&](Item& it, std::int64_t n_frames, std::int64_t n_mean) {
    if (!name) return;
    facility::Calibration c;
    const double g = *gain_e_per_adu > 0 ? *gain_e_per_adu : kGain;
    const double rn1 = *read_noise_e > 0 ? *read_noise_e : kReadNoise;
    c.gain_e_per_adu = g;
    // Read noise adds in quadrature over summed frames; averaging divides it by sqrt(N).
    c.read_noise_e = rn1 * std::sqrt(static_cast<double>(n_frames)) / std::sqrt(static_cast<double>(n_mean));
    c.source = std::string(*gain_e_per_adu > 0 ? "parameter gain_e_per_adu" : "BioSR table (sCMOS gain 1.0)") +
               ", read noise " + (*read_noise_e > 0 ? "parameter read_noise_e" : "BioSR table 1.5 e-") +
               (n_frames > 1 ? " x sqrt(" + std::to_string(n_frames) + ") for the sum of the SIM frames"
                : n_mean > 1 ? " / sqrt(" + std::to_string(n_mean) + ") for the mean of the SIM frames"
                             : std::string(" per frame"));
    facility::Identity id{.facility = "microscope-biosr",
                          .domain = "microscopy",
                          .calibration = c,
                          .downsample_factor = std::nullopt,
                          .scene_id = name->scene_id(),
                          .data_type = name->data_type};
    facility::apply(it, id);
    it.meta.set(keys::units, "adu", "sCMOS counts (microscope-biosr.identify)");
    it.meta.set("black_level", MetaValue{*black_level * static_cast<double>(n_frames)},
                "camera offset of this image (per-frame offset x frames summed)", "ADU");
    it.meta.set("biosr_level", std::int64_t{name->level}, "BioSR SNR level (-1: ground truth without a level)");
  };

  if (is_stack && *stack == "all") {
    const Array all = image; // shares the storage; each frame is a view
    for (std::int64_t f = 0; f < all.dim(0); ++f) {
      Item frame = item.derive(frame_suffix(f));
      frame.set("image", all.slice(f, f + 1).reshape(Shape{all.dim(1), all.dim(2)}));
      frame.meta.set("sim_frame", f, "frame of the SIM stack (angle = f / 3, phase = f % 3)");
      annotate(frame, 1, 1);
      emit(std::move(frame));
    }
    return;
  }
  const std::int64_t n_mean = is_stack && *stack == "mean" ? image.dim(0) : 1;
  annotate(item, frames, n_mean);
  emit(std::move(item));
}

} // namespace lumen::biosr

LUMEN_PLUGIN("microscope-biosr", "1.0.0", "MIT", lumen::stage<lumen::biosr::Identify>("microscope-biosr.identify"));
