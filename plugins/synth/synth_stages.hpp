// The `synth` plugin set: synthetic sources and helper stages for tests and benchmarks.
//
//   synth.starfield  reader     deterministic star fields in ADU (Poisson + read noise, bias, hot pixels)
//   synth.items      reader     N tiny items filled with their index (measures host overhead)
//   synth.noop       transform  passes items on unchanged (measures host overhead)
//   synth.photon_movie reader   Poisson movies of blinking cells with a known gain and zero level
//   synth.ptycho_scan  reader   far-field ptychography scans (probe x object, FFT, Poisson, dark, flat)
//   synth.multidomain  reader   the files of a small SID / BioSR / HLA-shaped tree with clean/noisy pairs
//
// Example pipeline:
//   stages:
//     - id: sky
//       use: synth.starfield
//       with: {width: 256, height: 256, count: 8, seed: 7}
//     - id: preview
//       use: image.to8bit
//     - id: save
//       use: png.write
//       with: {name: "{stem}_{index:04d}.png"}
#pragma once

#include "lumen/lumen.hpp"
#include "multidomain.hpp"
#include "photon_movie.hpp"
#include "ptycho_scan.hpp"
#include "starfield.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lumen::synth {

class Starfield final : public Reader {
public:
  static constexpr const char* summary =
      "Deterministic synthetic star fields in ADU: Gaussian PSF, Poisson and read noise, bias, hot pixels";
  static constexpr const char* doc =
      "Renders `count` frames of one synthetic sky. Expected electrons = sky_e + stars (circular\n"
      "Gaussian PSF of fwhm_px; the brightest star peaks at peak_e_max, the others follow\n"
      "dN/dF ~ F^-2 down to peak_e_max/1000); then Poisson shot noise, Gaussian read noise,\n"
      "ADU = e / gain_e_per_adu + bias_adu, and `hot_pixels` pixels stuck at 30-100 % of 65535.\n"
      "With bayer: true each pixel is scaled by an RGGB colour response (R 0.60, G 1.00, B 0.45)\n"
      "and meta cfa is RGGB. dtype u16 rounds and saturates at 65535; f32 keeps the raw values.\n"
      "Stars and hot pixels depend on `seed` only (one sky, one sensor); the noise depends on\n"
      "(seed, frame index), so every frame is reproducible on its own and frames are made in\n"
      "parallel. Items: id starfield/NNNN, array image (height, width), meta units adu, cfa,\n"
      "domain astronomy, gain_e_per_adu, read_noise_e, bias_adu, sky_e, fwhm_px, seed, index.\n"
      "\n"
      "Example:\n"
      "  - id: sky\n"
      "    use: synth.starfield\n"
      "    with: {width: 1024, height: 768, count: 16, seed: 3, bayer: true}\n";
  static constexpr bool concurrent = true;

  Param<int> width{this, "width", 512, "frame width", Min{1}, Max{65536}, Unit{"px"}};
  Param<int> height{this, "height", 512, "frame height", Min{1}, Max{65536}, Unit{"px"}};
  Param<std::int64_t> count{this, "count", 1, "number of frames (items) to make", Min{1}};
  Param<std::int64_t> seed{this, "seed", 1,
                           "random seed: the star catalogue and hot pixels depend on it, the noise on (seed, index)",
                           Min{0}};
  Param<std::int64_t> stars{this, "stars", 200, "number of stars in the field", Min{0}, Max{10000000}};
  Param<double> fwhm_px{this, "fwhm_px", 2.5, "PSF full width at half maximum", Min{0.1}, Max{1000}, Unit{"px"}};
  Param<double> sky_e{this, "sky_e", 20.0, "sky background per pixel", Min{0}, Unit{"e-"}};
  Param<double> peak_e_max{this, "peak_e_max", 20000.0, "peak of the brightest star", Min{0}, Unit{"e-"}};
  Param<double> gain_e_per_adu{this, "gain_e_per_adu", 1.5, "conversion gain", Min{0.001}, Unit{"e-/ADU"}};
  Param<double> read_noise_e{this, "read_noise_e", 5.0, "read noise (Gaussian, RMS)", Min{0}, Unit{"e-"}};
  Param<double> bias_adu{this, "bias_adu", 100.0, "bias (offset) level", Min{0}, Max{65535}, Unit{"ADU"}};
  Param<std::int64_t> hot_pixels{this, "hot_pixels", 10, "number of hot (stuck-high) pixels", Min{0}};
  Param<bool> bayer{this, "bayer", false, "apply an RGGB colour response per CFA site and set meta cfa to RGGB"};
  Param<std::string> dtype{this, "dtype", std::string("u16"),
                           "pixel type: u16 (rounded, saturates at 65535) or f32 (unrounded)", OneOf{{"u16", "f32"}}};

  Produces out_{this,
                {.arrays = {"image"},
                 .meta_keys = {"units", "gain_e_per_adu", "read_noise_e", "cfa", "domain", "index"},
                 .units = "adu"}};

  void validate() const override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;

  /// The physics parameters as the plain rendering functions take them.
  [[nodiscard]] StarfieldSpec spec() const;
};

class PhotonMovie final : public Reader {
public:
  static constexpr const char* summary =
      "Synthetic photon-limited movie: blinking cells over a background, Poisson noise, known gain and zero level";
  static constexpr const char* doc =
      "Renders one movie of `frames` frames (height x width) of photon counts: a smooth background\n"
      "(lambda_min .. lambda_min + 25 % of the range) and `cells` Gaussian cells (radius cell_radius)\n"
      "with calcium-like transients (Poisson events at event_rate per frame, exponential decay over\n"
      "decay_frames), lambda clipped to [lambda_min, lambda_max] photons. Camera value:\n"
      "x = round(gain * Poisson(lambda) + zero_level + N(0, read_noise^2)) in ADU (gain in ADU per\n"
      "photon), saturated to the dtype. The scene depends on `seed` only, the noise of frame t on\n"
      "(seed, t): any block is reproducible on its own. Items are blocks of frames_per_item frames,\n"
      "(n, height, width), id photon_movie/NNNN (first frame), meta index (first frame), file_index\n"
      "0, units adu, domain microscopy, and the truth: true_gain, true_zero_level, true_read_noise.\n"
      "\n"
      "Example:\n"
      "  - id: movie\n"
      "    use: synth.photon_movie\n"
      "    with: {frames: 1000, width: 512, height: 512, gain: 2.5, zero_level: 100}\n";
  static constexpr bool concurrent = true;

  Param<std::int64_t> frames{this, "frames", 200, "frames in the movie", Min{1}, Max{1000000}};
  Param<int> width{this, "width", 256, "frame width", Min{1}, Max{16384}, Unit{"px"}};
  Param<int> height{this, "height", 256, "frame height", Min{1}, Max{16384}, Unit{"px"}};
  Param<std::int64_t> frames_per_item{this, "frames_per_item", 100, "frames per item (block)", Min{1}};
  Param<double> gain{this, "gain", 2.0, "camera gain", Min{0.001}, Max{1000}, Unit{"ADU/photon"}};
  Param<double> zero_level{this, "zero_level", 100.0, "value of zero photons", Min{-1e6}, Max{1e6}, Unit{"ADU"}};
  Param<double> read_noise{this, "read_noise", 0.0, "Gaussian read noise, RMS", Min{0}, Max{1e4}, Unit{"ADU"}};
  Param<double> lambda_min{this, "lambda_min", 5.0, "lowest expected photon count", Min{0}, Unit{"photons"}};
  Param<double> lambda_max{this,   "lambda_max", 100.0,          "highest expected photon count",
                           Min{0}, Max{1e6},     Unit{"photons"}};
  Param<int> cells{this, "cells", 40, "number of cells", Min{0}, Max{100000}};
  Param<double> cell_radius{this,     "cell_radius", 6.0,       "cell radius (2 sigma of the blob)",
                            Min{0.5}, Max{1000},     Unit{"px"}};
  Param<double> event_rate{this, "event_rate", 0.02, "activity events per cell and frame", Min{0}, Max{1}};
  Param<double> decay_frames{this,      "decay_frames", 8.0, "decay time constant of a transient",
                             Min{0.01}, Unit{"frames"}};
  Param<std::int64_t> seed{this, "seed", 1, "random seed of scene, activity and noise", Min{0}};
  Param<std::string> dtype{this, "dtype", std::string("u16"), "pixel type: u16 or u8 (rounded, saturating) or f32",
                           OneOf{{"u16", "u8", "f32"}}};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"units", "index", "file_index"}, .units = "adu"}};

  void validate() const override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;

private:
  [[nodiscard]] PhotonMovieSpec spec() const;
  std::unique_ptr<const PhotonScene> scene_; // made in plan(), read concurrently
};

class PtychoScan final : public Reader {
public:
  static constexpr const char* summary =
      "Synthetic ptychography scan: far-field diffraction of a probe scanning an object, Poisson noise, dark, flat";
  static constexpr const char* doc =
      "Renders `positions` scan positions (Fermat spiral or raster of pitch step_m, metres, centred on\n"
      "0), each exposed frames_per_pos times: counts = Poisson(photons * |FFT(probe * object patch)|^2,\n"
      "normalised), ADU = min(sat_adu, round(counts * flat + dark + N(0, read_noise_adu))), u16, size x\n"
      "size pixels, zero frequency at (size/2, size/2). The probe is a circular aperture\n"
      "(probe_radius_px object pixels, 0 = size/8); the object a random complex transmission; the\n"
      "object-plane pixel is wavelength * det_dist_m / (size * pixel_m). The scene depends on `seed`,\n"
      "the noise of frame f on (seed, f). Items are blocks of frames_per_item frames (rounded down to\n"
      "a multiple of frames_per_pos): image (n, size, size) u16, pos (n, 2) f64 metres [x, y], and\n"
      "the scan's dark and flat (size, size) f32 shared by every item; meta index (first frame),\n"
      "file_index 0, scan_frames, energy_eV, det_dist_m, pixel_m, exposure_s, sat (= sat_adu), units\n"
      "adu, domain ptychography. The item layout is what the ptycho stages read.\n"
      "\n"
      "Example:\n"
      "  - id: scan\n"
      "    use: synth.ptycho_scan\n"
      "    with: {positions: 200, frames_per_pos: 2, size: 256, scan: raster}\n";
  static constexpr bool concurrent = true;

  Param<int> size{this, "size", 128, "detector frame size (size x size)", Min{8}, Max{4096}, Unit{"px"}};
  Param<std::int64_t> positions{this, "positions", 64, "scan positions", Min{1}, Max{1000000}};
  Param<int> frames_per_pos{this, "frames_per_pos", 1, "exposures per position", Min{1}, Max{1000}};
  Param<std::string> scan{this, "scan", std::string("spiral"), "position pattern: spiral (Fermat) or raster",
                          OneOf{{"spiral", "raster"}}};
  Param<double> step_m{this, "step_m", 0.0, "scan step; 0 = 0.6 probe radii", Min{0}, Unit{"m"}};
  Param<double> energy_ev{this, "energy_ev", 700.0, "photon energy", Min{1}, Max{1e6}, Unit{"eV"}};
  Param<double> det_dist_m{this, "det_dist_m", 2.0, "sample-detector distance", Min{1e-4}, Max{1e3}, Unit{"m"}};
  Param<double> pixel_m{this, "pixel_m", 75e-6, "detector pixel size", Min{1e-7}, Max{1e-2}, Unit{"m"}};
  Param<double> exposure_s{this, "exposure_s", 0.1, "exposure per frame", Min{0}, Unit{"s"}};
  Param<double> probe_radius_px{this, "probe_radius_px", 0.0, "probe aperture radius in object pixels; 0 = size/8",
                                Min{0}};
  Param<double> photons{this, "photons", 1e6, "photons per frame", Min{0}, Max{1e12}};
  Param<double> dark_adu{this, "dark_adu", 100.0, "dark level", Min{0}, Max{60000}, Unit{"ADU"}};
  Param<double> read_noise_adu{this, "read_noise_adu", 2.0, "Gaussian read noise RMS", Min{0}, Unit{"ADU"}};
  Param<double> flat_variation{this, "flat_variation", 0.05, "flat-field modulation (1 +- this)", Min{0}, Max{0.9}};
  Param<double> sat_adu{this,   "sat_adu",  60000.0,    "saturation level (values clip here)",
                        Min{1}, Max{65535}, Unit{"ADU"}};
  Param<std::int64_t> frames_per_item{this, "frames_per_item", 100,
                                      "frames per item (rounded down to a multiple of "
                                      "frames_per_pos)",
                                      Min{1}};
  Param<std::int64_t> seed{this, "seed", 1, "random seed of object and noise", Min{0}};

  Produces out_{this, {.arrays = {"image", "pos", "dark", "flat"}, .meta_keys = {"scan_frames"}, .units = "adu"}};

  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;

private:
  [[nodiscard]] PtychoScanSpec spec() const;
  std::unique_ptr<const PtychoScene> scene_; // made in plan(), read concurrently
};

class Multidomain final : public Reader {
public:
  static constexpr const char* summary =
      "Synthetic multi-domain tree: SID-like Sony/Fuji mosaics, BioSR-like SIM stacks, HLA-like FITS pairs";
  static constexpr const char* doc =
      "One item per file of a small tree laid out like the real data sets, for one `domain`:\n"
      "  photography  SID/{Sony,Fuji}/{short,long}/<scene>_<shot>_<exposure>s.dng: u16 CFA mosaics\n"
      "               (Sony RGGB, make Sony, model ILCE-7SM2; Fuji X-Trans, FUJIFILM X-T30) with\n"
      "               iso, exposure_time, black/white levels for raw.write_dng\n"
      "  microscopy   microscopy/structures/<S>/Cell_NN/RawSIMData_level_XX.mrc (noisy) and\n"
      "               RawSIMData_gt.mrc (clean); ER: RawGTSIMData_level_XX / GTSIM_level_XX: (9, H, W)\n"
      "               u16 stripe-illuminated filaments (3 angles x 3 phases) for mrc.write\n"
      "  astronomy    astronomy/hla_associations/<obsid>_{detection,g800l}_sci.fits: f32 star\n"
      "               fields (deep = clean, 20x fainter = noisy) with TELESCOP, INSTRUME, DETECTOR,\n"
      "               CCDGAIN, READNSEA, EXPTIME for fits.write\n"
      "Clean and noisy files of one scene show the same scene (same seed), with Poisson shot\n"
      "noise and Gaussian read noise at the gain and read noise of the facility tables (see\n"
      "plugins/synth/multidomain.hpp). Meta tree_path is the relative path (a writer's\n"
      "name: \"{tree_path}\"), true_data_type, true_gain_e_per_adu, true_read_noise_e the truth.\n"
      "Each file is its own work unit and depends on (seed, path) only.\n"
      "\n"
      "Example (pipelines/multidomain-make-tree.yaml runs all three domains):\n"
      "  - id: photos\n"
      "    use: synth.multidomain\n"
      "    with: {domain: photography, scenes: 2}\n"
      "  - id: dng\n"
      "    use: raw.write_dng\n"
      "    with: {name: \"{tree_path}\"}\n";
  static constexpr bool concurrent = true;

  Param<std::string> domain{this, "domain", std::string("photography"), "which part of the tree to make",
                            OneOf{{"photography", "microscopy", "astronomy"}}};
  Param<std::int64_t> scenes{
      this, "scenes", 2, "scenes: SID scenes per camera, cells per BioSR structure, or HLA obsids", Min{1}, Max{10000}};
  Param<std::int64_t> noisy_per_scene{this,
                                      "noisy_per_scene",
                                      2,
                                      "noisy files per scene: short shots per SID scene, SNR levels per BioSR cell "
                                      "(astronomy: always one g800l per obsid)",
                                      Min{1},
                                      Max{99}};
  Param<std::vector<std::string>> structures{this, "structures", std::vector<std::string>{"Microtubules", "ER"},
                                             "BioSR structure folders (ER uses the ER file names)", Length{1, 64}};
  Param<std::int64_t> photo_height{this,    "photo_height", 288,       "mosaic height (a multiple of 6: X-Trans)",
                                   Min{12}, Max{20000},     Unit{"px"}};
  Param<std::int64_t> photo_width{this,    "photo_width", 432,       "mosaic width (a multiple of 6: X-Trans)",
                                  Min{12}, Max{20000},    Unit{"px"}};
  Param<std::int64_t> micro_size{this, "micro_size", 128, "BioSR frame size (square)", Min{8}, Max{8192}, Unit{"px"}};
  Param<std::int64_t> astro_size{this, "astro_size", 256, "FITS frame size (square)", Min{8}, Max{16384}, Unit{"px"}};
  Param<double> exposure_ratio{this,   "exposure_ratio",
                               250.0,  "long / short exposure of SID pairs (10 s long; 250 gives 0.04 s short frames)",
                               Min{1}, Max{100000}};
  Param<std::int64_t> seed{this, "seed", 1, "random seed of scenes and noise", Min{0}};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"tree_path", "domain"}, .units = ""}};

  void validate() const override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;

private:
  [[nodiscard]] MultidomainSpec spec() const;
  std::vector<TreeFile> files_; // made in plan(), read concurrently
};

class Items final : public Reader {
public:
  static constexpr const char* summary = "Tiny items filled with their index, for measuring host overhead";
  static constexpr const char* doc =
      "Makes `count` items, one work unit each, with id items/NNNNNN, meta index and an u8\n"
      "array image of height x width filled with (index mod 256). The work per item is\n"
      "negligible, so a pipeline of synth.items -> synth.noop measures the host's own cost\n"
      "per item (queues, threads, events, ledger).\n"
      "\n"
      "Example:\n"
      "  - id: many\n"
      "    use: synth.items\n"
      "    with: {count: 100000}\n"
      "  - id: pass\n"
      "    use: synth.noop\n";
  static constexpr bool concurrent = true;

  Param<std::int64_t> count{this, "count", 1000, "number of items (and work units)", Min{1}};
  Param<int> width{this, "width", 8, "image width", Min{1}, Max{65536}, Unit{"px"}};
  Param<int> height{this, "height", 8, "image height", Min{1}, Max{65536}, Unit{"px"}};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"index"}, .units = ""}};

  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;
};

class Noop final : public Transform {
public:
  static constexpr const char* summary = "Passes every item on unchanged (for host-overhead benchmarks)";
  static constexpr const char* doc =
      "Does nothing: each item is emitted as received. With synth.items it measures what the\n"
      "host itself costs per item.\n"
      "\n"
      "Example:\n"
      "  - id: pass\n"
      "    use: synth.noop\n";
  static constexpr bool concurrent = true;

  void process(Item& item, Emit& emit) override { emit(std::move(item)); }
};

} // namespace lumen::synth
