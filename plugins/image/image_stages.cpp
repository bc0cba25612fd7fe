// The `image` plugin set: stage implementations and the plugin entry point.
// What each stage does, and its parameters, are declared in image_stages.hpp; the pixel math
// is in to8bit.cpp, downsample.cpp and scale.cpp.
//
// Example pipeline:
//   - id: stretch
//     use: image.to8bit
//     with: {mode: minmax, per_channel: true}
#include "image_stages.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace lumen::image {

// ---- image.to8bit ------------------------------------------------------------------------------

StretchOptions To8Bit::options() const {
  StretchOptions o;
  o.mode = *mode == "minmax" ? StretchMode::minmax : StretchMode::percentile;
  o.low_percentile = *low_percentile;
  o.high_percentile = *high_percentile;
  o.per_channel = *per_channel;
  return o;
}

void To8Bit::validate() const {
  if (*mode == "fixed") {
    if (!(*low < *high) || !std::isfinite(*low) || !std::isfinite(*high)) {
      char text[160];
      std::snprintf(text, sizeof text, "mode fixed needs low < high, got low %g and high %g", *low, *high);
      throw ConfigError("high", std::string(text) + ": give the input values mapped to 0 and 255 (e.g. 0 and 1)");
    }
    return;
  }
  if (!(*low_percentile < *high_percentile)) {
    char text[160];
    std::snprintf(text, sizeof text, "high_percentile (%g) must be greater than low_percentile (%g)", *high_percentile,
                  *low_percentile);
    throw ConfigError("high_percentile", std::string(text) + ": swap them or widen the range");
  }
}

void To8Bit::start() {
  pool_ = make_row_pool(ctx().threads());
}

void To8Bit::process(Item& item, Emit& emit) {
  std::vector<Range> ranges;
  Array stretched;
  if (*mode == "fixed") {
    ranges.assign(range_count(item.array("image"), *per_channel), Range{*low, *high});
    stretched = apply_ranges(item.array("image"), ranges, pool_.get());
  } else {
    stretched = to8bit(item.array("image"), options(), &ranges, pool_.get());
  }
  item.set("image", std::move(stretched));
  if (ranges.size() == 1) {
    item.meta.set("to8bit_low", MetaValue{ranges[0].low}, "input value mapped to 0");
    item.meta.set("to8bit_high", MetaValue{ranges[0].high}, "input value mapped to 255");
  } else {
    std::vector<double> lows, highs;
    for (const Range& r : ranges) {
      lows.push_back(r.low);
      highs.push_back(r.high);
    }
    item.meta.set("to8bit_low", MetaValue{std::move(lows)}, "input values mapped to 0, per channel");
    item.meta.set("to8bit_high", MetaValue{std::move(highs)}, "input values mapped to 255, per channel");
  }
  item.meta.set(keys::units, "normalized");
  emit(std::move(item));
}

// ---- image.downsample --------------------------------------------------------------------------

void Downsample::start() {
  pool_ = make_row_pool(ctx().threads());
}

void Downsample::process(Item& item, Emit& emit) {
  int f = *factor;
  std::string from = "parameter factor";
  if (f == 0) {
    const auto m = item.meta.get_number("downsample_factor");
    if (!m)
      throw InputError("image.downsample: item '" + item.id() +
                       "' has no meta downsample_factor and the parameter factor is 0; set factor (e.g. "
                       "factor: 2) or run a camera facility stage that sets downsample_factor first");
    if (!(*m >= 1 && *m <= 64 && std::floor(*m) == *m))
      throw InputError("image.downsample: item '" + item.id() + "' has downsample_factor " + std::to_string(*m) +
                       ", expected a whole number from 1 to 64");
    f = static_cast<int>(*m);
    from = "meta downsample_factor";
  }
  const Array& image = item.array("image");
  if (const auto cfa = item.meta.get_string(keys::cfa); cfa && *cfa != "none" && !cfa->empty() && image.ndim() == 2)
    throw InputError("image.downsample: item '" + item.id() + "' is a CFA mosaic (cfa " + *cfa +
                     "); downsampling it would mix its colours: put calib.demosaic before image.downsample");
  if (f > 1) item.set("image", downsample(image, f, pool_.get()));
  item.meta.set("downsample_applied", static_cast<std::int64_t>(f),
                "image shrunk by this factor per axis (" + from + ")");
  item.meta.set("downsample_filter", f > 1 ? "lanczos3" : "none",
                "anti-aliasing filter: Lanczos-3 windowed sinc, cutoff at the new Nyquist");
  emit(std::move(item));
}

// ---- image.scale -------------------------------------------------------------------------------

ScaleOptions Scale::options() const {
  ScaleOptions o;
  o.mode = *mode == "minmax" ? ScaleMode::minmax : *mode == "percentile" ? ScaleMode::percentile : ScaleMode::asinh;
  o.low_percentile = *low_percentile;
  o.high_percentile = *high_percentile;
  o.fallback_low_percentile = *fallback_low_percentile;
  o.fallback_high_percentile = *fallback_high_percentile;
  o.softening = *softening;
  o.softening_relative = *softening_mode == "relative";
  o.per_channel = *per_channel;
  o.output = *output == "u8" ? DType::u8 : DType::f32;
  return o;
}

void Scale::validate() const {
  const auto order = [](const Param<double>& lo, const Param<double>& hi, const char* what) {
    if (*lo < *hi) return;
    char text[200];
    std::snprintf(text, sizeof text, "%s must be greater than %s (got %g and %g): swap them or widen the range",
                  hi.spec().name.c_str(), lo.spec().name.c_str(), *hi, *lo);
    throw ConfigError(hi.spec().name, std::string(text) + what);
  };
  if (*mode != "minmax") order(low_percentile, high_percentile, "");
  if (*mode == "asinh") {
    order(fallback_low_percentile, fallback_high_percentile, " (the asinh fallback range)");
    if (!(*softening > 0))
      throw ConfigError("softening", "softening must be > 0 for mode asinh (got " + std::to_string(*softening) +
                                         "): e.g. 0.1 (relative) or a few sky-noise sigmas (absolute)");
  }
}

void Scale::start() {
  pool_ = make_row_pool(ctx().threads());
}

void Scale::process(Item& item, Emit& emit) {
  // Table buffers kept from an earlier item (process runs for several items at once: each takes
  // its own and hands it back, so their number is the stage's concurrency, not the item count).
  std::unique_ptr<ScaleScratch> scratch;
  {
    const std::lock_guard lock(scratch_mutex_);
    if (!idle_scratch_.empty()) {
      scratch = std::move(idle_scratch_.back());
      idle_scratch_.pop_back();
    }
  }
  if (!scratch) scratch = std::make_unique<ScaleScratch>();
  std::vector<ChannelScale> plan;
  item.set("image", scale01(std::move(item.array("image")), options(), &plan, pool_.get(), scratch.get())); // in place
  {
    const std::lock_guard lock(scratch_mutex_);
    idle_scratch_.push_back(std::move(scratch));
  }
  std::string method, fallback;
  std::vector<double> lows, highs, soft;
  double table_error = 0;
  for (const ChannelScale& p : plan) {
    if (method.find(p.method) == std::string::npos) method += (method.empty() ? "" : ",") + p.method;
    if (!p.fallback.empty()) fallback = p.fallback;
    lows.push_back(p.range.low);
    highs.push_back(p.range.high);
    soft.push_back(p.softening);
    table_error = std::max(table_error, p.table_error);
  }
  const auto put = [&](const char* key, std::vector<double> v, const char* comment) {
    if (v.size() == 1)
      item.meta.set(key, MetaValue{v[0]}, comment);
    else
      item.meta.set(key, MetaValue{std::move(v)}, std::string(comment) + ", per channel");
  };
  item.meta.set("scale_method", method, "image.scale mapping to [0, 1]");
  put("scale_low", lows, "input value mapped to 0");
  put("scale_high", highs, "input value mapped to 1");
  if (*mode == "asinh") {
    put("scale_softening", soft, "asinh softening in data units (0: fell back to linear)");
    item.meta.set("scale_table_error", table_error,
                  "largest error of the interpolated asinh table (output units; 0: asinh per pixel)");
    if (!fallback.empty()) item.meta.set("scale_fallback", fallback, "why the asinh stretch was not used");
  }
  item.meta.set("scale_output", *output, *output == "u8" ? "u8: round(255 x) of the [0, 1] value" : "f32 in [0, 1]");
  item.meta.set(keys::units, "normalized");
  emit(std::move(item));
}

} // namespace lumen::image

LUMEN_PLUGIN("image", "1.0.0", "MIT", lumen::stage<lumen::image::To8Bit>("image.to8bit"),
             lumen::stage<lumen::image::Downsample>("image.downsample"),
             lumen::stage<lumen::image::Scale>("image.scale"));
