// A synthetic multi-domain tree of small raw files with clean/noisy pairs, laid out as the real
// data sets are, so the tile pipelines (pipelines/multidomain-tiles.yaml) run end to end without
// any real data. `synth.multidomain` emits one item per file; the writers raw.write_dng,
// mrc.write and fits.write put each at its `tree_path` (pipelines/multidomain-make-tree.yaml):
//
//   SID/Sony/short/00001_00_0.04s.dng   Bayer RGGB mosaic, Sony ILCE-7SM2, ISO 4000 (noisy)
//   SID/Sony/long/00001_00_10s.dng      same scene, ISO 2000, 250x the exposure (clean)
//   SID/Fuji/short/00001_00_0.04s.dng   X-Trans mosaic, FUJIFILM X-T30, ISO 12800 (noisy)
//   SID/Fuji/long/00001_00_10s.dng      same scene, ISO 160 (clean)
//   microscopy/structures/<S>/Cell_NN/RawSIMData_level_XX.mrc   (9, H, W) u16 SIM frames, noisy
//   microscopy/structures/<S>/Cell_NN/RawSIMData_gt.mrc         high-SNR frames, clean
//   microscopy/structures/ER/Cell_NN/RawGTSIMData_level_XX.mrc  ER naming: noisy
//   microscopy/structures/ER/Cell_NN/GTSIM_level_XX.mrc         ER naming: clean
//   astronomy/hla_associations/<obsid>_detection_sci.fits  f32 star field, deep (clean)
//   astronomy/hla_associations/<obsid>_g800l_sci.fits      same field, 20x fainter (noisy)
//
// Physics (all in electrons, then ADU = e- / gain + black, rounded and clipped for u16):
//  - photography: a scene per (camera, scene number) of smooth colour blobs, edges and a
//    gradient (expected e- per colour channel), sampled through the CFA; Poisson shot noise and
//    Gaussian read noise with the gain and read noise of the facility tables at the frame's ISO
//    (Sony 0.79 e-/ADU, 2.5 e- at ISO 4000 and 2.1, 6.0 at ISO 2000; Fuji 0.75, 2.5 at ISO 12800
//    and 1.8, 3.75 at ISO 160); black 512 (Sony) / 1024 (Fuji), white 16383 (14 bit). The clean
//    frame (10 s) peaks at ~60 % of full scale; the noisy one (10 s / exposure_ratio, written in
//    its name) collects exposure_ratio times fewer electrons.
//  - microscopy (BioSR-shaped): filaments (random smooth curves with a Gaussian profile) per
//    (structure, cell) under stripe illumination I = 1 + 0.8 cos(2 pi k.r + phase), 3 angles
//    (0, 60, 120 degrees) x 3 phases (0, 2 pi/3, 4 pi/3) = 9 frames; peak 12 e- x level for the
//    noisy levels, 600 e- for the ground truth; Poisson + Gaussian read noise 1.5 e-, gain 1,
//    offset 100 ADU.
//  - astronomy: synth.starfield's renderer (Gaussian PSF stars, sky, Poisson + read noise) with
//    the ACS/WFC table values (gain 1.0, read noise 3.5), one catalogue per obsid; meta TELESCOP,
//    INSTRUME, DETECTOR, CCDGAIN, READNSEA, EXPTIME become FITS cards.
// Every file depends on (seed, its path) only, so any file can be remade alone and the tree is
// reproducible (for a given C++ standard library: std::poisson_distribution is implementation-
// defined).
#pragma once

#include "lumen/item.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace lumen::synth {

struct MultidomainSpec {
  std::string domain = "photography"; // photography | microscopy | astronomy
  std::int64_t scenes = 2;            // SID scenes per camera / cells per structure / obsids
  std::int64_t noisy_per_scene = 2;   // short shots per SID scene / SNR levels per BioSR cell
  std::vector<std::string> structures{"Microtubules", "ER"};
  std::int64_t photo_height = 288, photo_width = 432; // mosaic size (multiples of 6: X-Trans)
  std::int64_t micro_size = 128;                      // BioSR frames are micro_size^2
  std::int64_t astro_size = 256;
  double exposure_ratio = 250; // long / short exposure (SID: 10 s / 0.04 s)
  std::uint64_t seed = 1;
};

/// One file of the tree: where it goes (relative path) and what makes it.
struct TreeFile {
  std::string path;       // e.g. "SID/Sony/short/00001_00_0.04s.dng"
  std::string camera;     // photography: "sony" | "fuji"
  std::string structure;  // microscopy
  std::int64_t scene = 0; // SID scene number / cell number / obsid number (1-based)
  std::int64_t shot = 0;  // SID shot / BioSR level (0 for ground truth)
  bool clean = false;
};

/// The files of `spec.domain`, in a fixed order.
[[nodiscard]] std::vector<TreeFile> tree_files(const MultidomainSpec& spec);

/// The item for one file: array "image" and the meta its writer and reader need, plus
/// tree_path (the relative path) and the truth (true_gain_e_per_adu, true_read_noise_e,
/// true_data_type).
[[nodiscard]] Item make_tree_item(const MultidomainSpec& spec, const TreeFile& file);

} // namespace lumen::synth
