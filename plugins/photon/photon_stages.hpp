// The `photon` plugin set: a variance-stabilising codec for photon-limited movies.
//
//   photon.read_movie reader    a movie from .npy, TIFF or HDF5 in blocks of frames
//   photon.estimate  calibrator  gain (ADU/photon) and zero level from the movie itself, or given
//   photon.anscombe  transform   (generalized) Anscombe transform, forward or inverse
//   photon.quantize  transform   stabilised values -> u8/u16 with step beta (in noise sigmas)
//
// A movie is a stream of items whose "image" is a frame (H, W) or a block of frames (n, H, W);
// meta index is the first frame of the item in its movie and file_index tells movies apart.
// Everything the inverse needs travels in meta (photon_gain, photon_zero_level,
// photon_read_noise, photon_beta, photon_source_dtype, photon_source_units), which zarr.write
// stores in .zattrs and zarr.read gives back, so photon.anscombe {mode: inverse} needs no
// parameters to restore a store.
//
// Example pipeline (pipelines/photon-compress.yaml is the full one):
//   stages:
//     - {id: movie, use: npy.read, with: {path: movie.npy}}
//     - {id: calib, use: photon.estimate}
//     - {id: vst, use: photon.anscombe}
//     - {id: quant, use: photon.quantize, with: {beta: 0.5}}
//     - {id: store, use: zarr.write}
#pragma once

#include "anscombe.hpp"
#include "gain_estimate.hpp"
#include "lumen/lumen.hpp"

#include <map>
#include <optional>
#include <vector>

namespace lumen::photon {

/// Meta keys of the codec.
namespace key {
inline constexpr const char* gain = "photon_gain";
inline constexpr const char* zero_level = "photon_zero_level";
inline constexpr const char* read_noise = "photon_read_noise";
inline constexpr const char* beta = "photon_beta";
inline constexpr const char* transform = "photon_transform";
inline constexpr const char* source_dtype = "photon_source_dtype";
inline constexpr const char* source_units = "photon_source_units";
inline constexpr const char* codec = "photon_codec";
} // namespace key

class PhotonEstimate final : public Calibrator {
public:
  static constexpr const char* summary =
      "Estimates a camera's gain (ADU per photon) and zero level from the movie itself, or stamps given values";
  static constexpr const char* doc =
      "With gain: 0 (the default) the gain and zero level are estimated from the first\n"
      "estimate_frames frames of each movie: every pixel's triplet of successive frames gives a mean m\n"
      "and a second difference D, and E[D^2/6 | m] = gain * (m - zero) exactly for Poisson counts (D\n"
      "cancels the static scene and linear change such as slow activity). Triplets are binned by m\n"
      "and a line is fitted through the bins: Theil-Sen start, two passes that drop triplets beyond\n"
      "3 predicted sigmas (jumps), Huber-robust weights. Read noise adds a constant, so with\n"
      "read_noise 0 the zero level is the effective one that makes the plain Anscombe transform\n"
      "stabilise the noise; with a known read_noise the true zero level is reported. The fit quality\n"
      "goes to meta (photon_fit_r2, photon_fit_bins, photon_fit_outliers, photon_fit_frames), the log,\n"
      "and artifacts/<stage>/<movie>_gain_fit.json (every bin with its Huber weight, for plotting); a fit\n"
      "with R^2 below min_r2 fails the movie. The items of the first estimate_frames frames are held\n"
      "until the fit is made (memory: those frames), later ones pass straight through; integer\n"
      "counts only (u8 u16 i16 u32 i32).\n"
      "With gain > 0 nothing is estimated: gain, zero_level and read_noise are stamped as given.\n"
      "Output meta: photon_gain (ADU/photon), photon_zero_level (ADU), photon_read_noise (ADU),\n"
      "photon_gain_source (estimated|given). Items come in source order (ordered input).\n"
      "\n"
      "Example:\n"
      "  - id: calib\n"
      "    use: photon.estimate\n"
      "    with: {estimate_frames: 300}\n";
  static constexpr bool ordered_input = true;

  Param<double> gain{
      this, "gain", 0.0, "camera gain; 0 = estimate gain and zero level from the movie", Min{0}, Unit{"ADU/photon"}};
  Param<double> zero_level{this, "zero_level", 0.0, "value of zero photons (used when gain > 0)", Unit{"ADU"}};
  Param<double> read_noise{this,   "read_noise",
                           0.0,    "Gaussian read noise RMS, when known (gives the generalized Anscombe transform)",
                           Min{0}, Unit{"ADU"}};
  Param<std::int64_t> estimate_frames{
      this, "estimate_frames", 200, "frames at the start of each movie the estimate uses", Min{2}, Max{100000}};
  Param<double> min_r2{this, "min_r2", 0.9, "smallest acceptable R^2 of the variance-mean fit", Min{0}, Max{1}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {}, .meta_keys = {key::gain, key::zero_level, key::read_noise}, .units = ""}};

  void process(Item& item, Emit& emit) override;
  void finish(Emit& emit) override;

private:
  struct Movie {
    std::int64_t file_index = -1;
    std::string name;
    GainEstimator estimator;
    std::vector<Item> held;
    std::optional<NoiseModel> model;
    GainFit fit;
    std::optional<std::string> failure; // why the estimate failed
  };
  void stamp(Item& item, const Movie& movie) const;
  void conclude(Movie& movie, Emit& emit); // fit (if needed), then release the held items
  std::optional<Movie> movie_;             // ordered input: one movie at a time
};

class PhotonAnscombe final : public Transform {
public:
  static constexpr const char* summary =
      "Variance-stabilising (generalized) Anscombe transform of photon counts, forward or inverse";
  static constexpr const char* doc =
      "forward: y = 2 sqrt((x - zero) / gain + 3/8 + (read_noise / gain)^2) into an f32 image whose\n"
      "noise has sigma ~ 1 (units anscombe); read_noise 0 gives Anscombe's transform. gain, zero level\n"
      "and read noise come from meta (photon.estimate). NaN/inf fail the item; so does a value more\n"
      "than 3 photons + 4 read-noise sigmas below zero (a wrong zero level), unless negatives: clip.\n"
      "inverse: takes the f32 y, or the u8/u16 q of photon.quantize (y = q * photon_beta), and the\n"
      "parameters from meta (zarr.read restores them from .zattrs), and gives back ADU as f32, or\n"
      "rounded to the source dtype with dtype: source. inverse: algebraic (default) undoes the\n"
      "forward transform exactly, the codec's round trip; unbiased is the closed-form exact unbiased\n"
      "inverse of Makitalo and Foi (2011, 2013), for data denoised in the stabilised domain.\n"
      "Error bound of the codec (quantisation step beta, algebraic inverse): |x' - x| / gain <=\n"
      "beta/2 * sqrt(z + 3/8 + s^2) + beta^2/16 photons, i.e. <= 0.30 noise sigma at beta 0.5, z >= 1.\n"
      "\n"
      "Example:\n"
      "  - id: restore\n"
      "    use: photon.anscombe\n"
      "    with: {mode: inverse, dtype: source}\n";
  static constexpr bool concurrent = true;

  Param<std::string> mode{this, "mode", std::string("forward"), "forward or inverse", OneOf{{"forward", "inverse"}}};
  Param<std::string> inverse{this, "inverse", std::string("algebraic"),
                             "inverse: algebraic (codec round trip) or unbiased (after denoising)",
                             OneOf{{"algebraic", "unbiased"}}};
  Param<std::string> negatives{this, "negatives", std::string("error"),
                               "forward: values below zero photons beyond noise: error or clip",
                               OneOf{{"error", "clip"}}};
  Param<std::string> dtype{this, "dtype", std::string("f32"),
                           "inverse output: f32, or source (rounded and saturated to the movie's original dtype)",
                           OneOf{{"f32", "source"}}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {key::gain, key::zero_level}, .units = ""}};

  void process(Item& item, Emit& emit) override;
};

class PhotonQuantize final : public Transform {
public:
  static constexpr const char* summary =
      "Quantises Anscombe-stabilised values with a step beta in noise sigmas into u8/u16 (beta 0: keep f32)";
  static constexpr const char* doc =
      "q = round(y / beta) as u8 (default) or u16; photon.anscombe {mode: inverse} undoes it with\n"
      "the parameters in meta (photon_beta, photon_codec anscombe-quantize). The stabilised noise has\n"
      "sigma 1, so beta is the step in noise sigmas: the error after inversion is at most\n"
      "beta/2 * sqrt(z + 3/8 + s^2) + beta^2/16 photons (<= 0.30 sigma at beta 0.5 for z >= 1; the\n"
      "bound is in meta photon_max_error_sigma). u8 holds y up to 255 beta (about 4000 photons at\n"
      "beta 0.5); a larger value fails the item with the limit, saying to use u16. beta: 0 keeps the\n"
      "f32 values unquantised (what older codecs stored; it compresses about as badly as the input).\n"
      "\n"
      "Example:\n"
      "  - id: quant\n"
      "    use: photon.quantize\n"
      "    with: {beta: 0.5}\n";
  static constexpr bool concurrent = true;

  Param<double> beta{this,   "beta", 0.5, "quantisation step in units of the noise sigma (0: no quantisation)",
                     Min{0}, Max{8}};
  Param<std::string> dtype{this, "dtype", std::string("u8"), "stored type: u8 or u16", OneOf{{"u8", "u16"}}};

  // Units are checked per item (anscombe): photon.anscombe's output units depend on its mode,
  // so the pipeline check cannot follow them.
  Requires in_{this, {.arrays = {"image"}, .meta_keys = {key::gain}, .units = ""}};

  void process(Item& item, Emit& emit) override;
};

} // namespace lumen::photon
