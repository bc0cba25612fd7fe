// The `synth` plugin set: synthetic sources and helper stages for tests and benchmarks.
//
//   synth.starfield  reader     deterministic star fields in ADU (Poisson + read noise, bias, hot pixels)
//   synth.items      reader     N tiny items filled with their index (measures host overhead)
//   synth.noop       transform  passes items on unchanged (measures host overhead)
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
#include "starfield.hpp"

#include <cstdint>
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
