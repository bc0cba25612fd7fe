// The `calib` plugin set: physical calibration of raw frames.
//
//   calib.electrons    calibrator  ADU -> electrons: (ADU - black_level) * gain, read noise recorded
//   calib.demosaic     transform   CFA mosaic (Bayer or X-Trans) -> (H, W, 3) RGB, bilinear
//   calib.cosmic_rays  calibrator  L.A.Cosmic cosmic-ray detection and removal, mask kept
//
// Meta read: units, gain_e_per_adu, read_noise_e, black_level, black_level_per_channel, cfa,
// cfa_pattern (from the readers and the facility *.identify stages). Meta written: units
// electrons, calibration_method, gain_e_per_adu, read_noise_e, black_level_applied; cfa none,
// demosaic_method; cosmic_ray_count.
//
// Example pipeline (astronomy):
//   stages:
//     - {id: read, use: fits.read, with: {path: "${input}"}}
//     - {id: electrons, use: calib.electrons, with: {gain: 1.0, read_noise: 3.5}}
//     - {id: cosmics, use: calib.cosmic_rays}
//     - {id: scale, use: image.scale, with: {mode: asinh}}
#pragma once

#include "lumen/lumen.hpp"
#include "parallel.hpp"

#include <memory>
#include <string>

namespace lumen::calib {

class Electrons final : public Calibrator {
public:
  static constexpr const char* summary =
      "ADU -> electrons: (ADU - black_level) * gain as f32, per CFA site; read noise recorded, not subtracted";
  static constexpr const char* doc =
      "electrons = (ADU - black_level) * gain, as f32. The black level is the one of each CFA\n"
      "site of a mosaic (meta black_level_per_channel, 4 values for Bayer or 36 for X-Trans, laid\n"
      "out by cfa/cfa_pattern), else meta black_level, else 0; the parameter black_level (>= 0)\n"
      "gives one level for every pixel. gain (e-/ADU) and read noise (e-) come from meta\n"
      "gain_e_per_adu and read_noise_e (set by fits.read from header keywords and by the facility\n"
      "*.identify stages from their tables) or from the parameters gain and read_noise: with prefer:\n"
      "meta (default) a parameter only fills in what meta lacks, with prefer: parameters it wins.\n"
      "A gain known nowhere fails the item, naming both. The read noise is recorded in meta\n"
      "(read_noise_e), never subtracted: subtracting an RMS is not a calibration.\n"
      "legacy_read_noise_offset: true reproduces the older, non-physical formula ADU * gain -\n"
      "read_noise (no black level; it needs a read noise) for comparison with data sets made with\n"
      "it. Input units adu (or counts, raw detector counts); an item already in electrons (or\n"
      "electrons/s) fails unless electrons_input: pass, which passes it through unchanged (its\n"
      "read noise recorded). Sets units electrons, calibration_method, gain_e_per_adu,\n"
      "read_noise_e, black_level_applied (and black_level_applied_per_site). Rows are shared out\n"
      "over the run's threads.\n"
      "\n"
      "Example:\n"
      "  - id: electrons\n"
      "    use: calib.electrons\n"
      "    with: {gain: 2.1, read_noise: 6.0, prefer: meta}\n";
  static constexpr bool concurrent = true;

  Param<double> gain{this, "gain", 0.0, "conversion gain; 0 = from meta gain_e_per_adu", Min{0}, Unit{"e-/ADU"}};
  Param<double> read_noise{this,    "read_noise", -1.0, "read noise RMS, recorded in meta; -1 = from meta read_noise_e",
                           Min{-1}, Unit{"e-"}};
  Param<double> black_level{this,    "black_level",
                            -1.0,    "black level for every pixel; -1 = from meta (per CFA site when known)",
                            Min{-1}, Unit{"ADU"}};
  Param<std::string> prefer{this, "prefer", std::string("meta"),
                            "meta: parameters fill in missing meta values; parameters: parameters win",
                            OneOf{{"meta", "parameters"}}};
  Param<bool> legacy_read_noise_offset{this, "legacy_read_noise_offset", false,
                                       "true: the older formula ADU * gain - read_noise (not physical)"};
  Param<std::string> electrons_input{this, "electrons_input", std::string("error"),
                                     "an item already in electrons: error, or pass it through unchanged",
                                     OneOf{{"error", "pass"}}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = "adu|counts|electrons|electrons/s"}};
  Produces out_{this,
                {.arrays = {"image"}, .meta_keys = {"gain_e_per_adu", "calibration_method"}, .units = "electrons"}};

  void validate() const override;
  void start() override;
  void process(Item& item, Emit& emit) override;

private:
  std::unique_ptr<ThreadPool> pool_;
};

class Demosaic final : public Transform {
public:
  static constexpr const char* summary =
      "CFA mosaic -> (H, W, 3) f32 RGB: bilinear for RGGB/BGGR/GRBG/GBRG and X-Trans (normalised convolution)";
  static constexpr const char* doc =
      "Bilinear demosaicing by normalised convolution. At each pixel the colour of its own CFA\n"
      "site is kept; each other colour is the mean of the sites of that colour in the 3x3\n"
      "neighbourhood, weighted 2 (edge neighbours) and 1 (corners). For Bayer RGGB, BGGR, GRBG\n"
      "and GBRG this is classic bilinear interpolation (4 edge neighbours for green, 2 neighbours\n"
      "or 4 diagonals for red and blue; constants and linear ramps are exact). Fujifilm X-Trans\n"
      "(cfa XTRANS, 6x6 cfa_pattern) uses the same rule: each 3x3 neighbourhood holds all three\n"
      "colours, so a missing colour is the weighted mean of its 1-4 nearest sites (simple, not\n"
      "edge-aware). Edges are mirrored. Input: an (H, W) mosaic of any dtype with meta cfa (and\n"
      "cfa_pattern for X-Trans) as raw.read sets them; output f32 (H, W, 3), meta cfa none,\n"
      "demosaic_method, demosaiced_from. Items without a CFA (cfa missing or none) pass through\n"
      "unchanged, or fail with no_cfa: error. Rows are shared out over the run's threads.\n"
      "\n"
      "Example:\n"
      "  - id: rgb\n"
      "    use: calib.demosaic\n"
      "    with: {no_cfa: error}\n";
  static constexpr bool concurrent = true;

  Param<std::string> method{this, "method", std::string("bilinear"),
                            "interpolation: bilinear (normalised convolution, 3x3 tent weights)", OneOf{{"bilinear"}}};
  Param<std::string> no_cfa{this, "no_cfa", std::string("pass"),
                            "an item without a CFA mosaic (cfa missing or none): pass it through, or error",
                            OneOf{{"pass", "error"}}};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = ""}};
  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"cfa"}, .units = ""}};

  void start() override;
  void process(Item& item, Emit& emit) override;

private:
  std::unique_ptr<ThreadPool> pool_;
};

class CosmicRays final : public Calibrator {
public:
  static constexpr const char* summary =
      "L.A.Cosmic (van Dokkum 2001) cosmic-ray detection by Laplacian edge detection; pixels replaced, mask kept";
  static constexpr const char* doc =
      "Finds cosmic-ray hits by their sharp edges (van Dokkum 2001, PASP 113, 1420; as in\n"
      "astroscrappy): the Laplacian of the 2x subsampled image (negatives clipped, rebinned) over\n"
      "twice the noise expected from the 5x5-median image, N = sqrt(med5 + read_noise^2) in\n"
      "electrons, minus its own 5x5 median, must exceed sigclip; the ratio of that to the fine-\n"
      "structure image (med3 - med7 of med3, over N) must exceed objlim, which keeps point sources\n"
      "(smoothed by the PSF) out; the hits are grown to 8-neighbours above sigclip and then to those\n"
      "above sigfrac * sigclip. Flagged pixels are replaced by the median of the unflagged pixels of\n"
      "their 5x5 neighbourhood and the search repeats on the cleaned image, up to niter times\n"
      "(stopping when nothing new is found). The image must be (H, W) in electrons (after\n"
      "calib.electrons); read noise from read_noise, or meta read_noise_e when it is -1. Output:\n"
      "the cleaned f32 image (or the input unchanged with replace: false), the array\n"
      "\"cosmic_ray_mask\" (u8, 1 = cosmic ray, same H x W), meta cosmic_ray_count (flagged pixels)\n"
      "and cosmic_ray_iterations. NaN pixels are never flagged. The 5x5 medians are exact;\n"
      "separable_median: true takes astroscrappy's faster approximation (median of the row\n"
      "medians). saturation > 0 (electrons) masks saturated stars first, as astroscrappy's satlevel:\n"
      "pixels at or above it whose 5x5 median exceeds a tenth of it, grown by 2 pixels, are never\n"
      "flagged nor used as replacements (meta cosmic_ray_saturated_pixels). Tiles of 64 x 64\n"
      "are shared out over the run's threads; iterations after the first recompute only the tiles\n"
      "near pixels the cleaning changed (same result, less work).\n"
      "\n"
      "Example:\n"
      "  - id: cosmics\n"
      "    use: calib.cosmic_rays\n"
      "    with: {sigclip: 4.5, sigfrac: 0.3, objlim: 5, niter: 4}\n";
  static constexpr bool concurrent = true;

  Param<double> sigclip{this, "sigclip", 4.5, "Laplacian-to-noise limit for a cosmic-ray pixel", Min{0}};
  Param<double> sigfrac{this, "sigfrac", 0.3, "fraction of sigclip for the neighbours of a hit", Min{0}, Max{1}};
  Param<double> objlim{this, "objlim", 5.0, "minimum contrast between the Laplacian and the fine-structure image",
                       Min{0}};
  Param<int> niter{this, "niter", 4, "at most this many detect-and-clean iterations", Min{1}, Max{20}};
  Param<double> read_noise{this, "read_noise", -1.0, "read noise RMS; -1 = meta read_noise_e", Min{-1}, Unit{"e-"}};
  Param<bool> replace{this, "replace", true, "replace flagged pixels (false: only add the mask)"};
  Param<double> saturation{this,   "saturation",
                           0.0,    "saturation level; > 0 masks saturated stars (never flagged nor used), 0 = off",
                           Min{0}, Unit{"e-"}};
  Param<bool> separable_median{this, "separable_median", false,
                               "5x5 medians as the median of row medians (astroscrappy's sepmed: faster, approximate)"};

  Requires in_{this, {.arrays = {"image"}, .meta_keys = {}, .units = "electrons"}};
  Produces out_{this, {.arrays = {"image", "cosmic_ray_mask"}, .meta_keys = {"cosmic_ray_count"}, .units = ""}};

  void start() override;
  void process(Item& item, Emit& emit) override;

private:
  std::unique_ptr<ThreadPool> pool_;
};

} // namespace lumen::calib
