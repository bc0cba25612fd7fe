// The synthetic multi-domain tree; see multidomain.hpp for the layout and the physics.
#include "multidomain.hpp"

#include "starfield.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>

namespace lumen::synth {

namespace {

constexpr double kPi = std::numbers::pi;
constexpr std::uint64_t kStreamScene = 11, kStreamNoise = 12;

// The standard X-Trans layout (LibRaw's, top-left of the visible area; plugins/raw/cfa.hpp).
constexpr const char* kXTrans = "GGRGGBGGBGGRBRGRBGGGBGGRGGRGGBRBGBRG";

std::uint64_t path_hash(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull; // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string number(const char* fmt, std::int64_t v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, static_cast<long long>(v));
  return buf;
}

// Poisson(lambda) + Normal(0, sigma) electrons.
double noisy_electrons(std::mt19937_64& rng, double lambda, double sigma) {
  const double shot = lambda > 0 ? static_cast<double>(std::poisson_distribution<long long>(lambda)(rng)) : 0.0;
  return shot + (sigma > 0 ? std::normal_distribution<double>(0.0, sigma)(rng) : 0.0);
}

std::uint16_t to_u16(double adu, double white) {
  return static_cast<std::uint16_t>(std::clamp(std::round(adu), 0.0, white));
}

// ---- photography -------------------------------------------------------------------------------

struct Blob {
  double y, x, sigma;
  std::array<double, 3> rgb;
};

// Expected relative radiance (0..1) of colour c at (y, x) for one scene.
struct PhotoScene {
  std::vector<Blob> blobs;
  double gy = 0, gx = 0, edge_y = 0, edge_x = 0;
  std::array<double, 3> edge_rgb{};

  PhotoScene(std::uint64_t seed, double h, double w) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    for (int i = 0; i < 12; ++i)
      blobs.push_back({u(rng) * h, u(rng) * w, (0.04 + 0.12 * u(rng)) * std::min(h, w), {u(rng), u(rng), u(rng)}});
    gy = u(rng);
    gx = u(rng);
    edge_y = (0.3 + 0.4 * u(rng)) * h;
    edge_x = (0.3 + 0.4 * u(rng)) * w;
    edge_rgb = {u(rng), u(rng), u(rng)};
  }
  [[nodiscard]] double radiance(double y, double x, int c, double h, double w) const {
    double v = 0.08 + 0.12 * (gy * y / h + gx * x / w);
    if (y > edge_y && x > edge_x) v += 0.25 * edge_rgb[static_cast<std::size_t>(c)]; // a sharp-edged patch
    for (const Blob& b : blobs) {
      const double d2 = (y - b.y) * (y - b.y) + (x - b.x) * (x - b.x);
      v += 0.5 * b.rgb[static_cast<std::size_t>(c)] * std::exp(-d2 / (2 * b.sigma * b.sigma));
    }
    return std::min(v, 1.0);
  }
};

Item photo_item(const MultidomainSpec& spec, const TreeFile& f) {
  const bool sony = f.camera == "sony";
  const std::int64_t h = spec.photo_height, w = spec.photo_width;
  // ISO, gain and read noise of the facility tables at that ISO (see multidomain.hpp).
  const double iso = sony ? (f.clean ? 2000 : 4000) : (f.clean ? 160 : 12800);
  const double gain = sony ? (f.clean ? 2.1 : 0.79) : (f.clean ? 1.8 : 0.75);
  const double read_noise = sony ? (f.clean ? 6.0 : 2.5) : (f.clean ? 3.75 : 2.5);
  const double black = sony ? 512 : 1024, white = 16383;
  const double exposure = f.clean ? 10.0 : 10.0 / spec.exposure_ratio;
  // The clean frame peaks at ~60 % of full scale; the noisy one collects exposure_ratio times
  // fewer electrons (the same light for a shorter time; ISO changes the gain, not the electrons).
  const double clean_gain = sony ? 2.1 : 1.8;
  const double clean_peak_e = 0.6 * (white - black) * clean_gain;
  const double peak_e = f.clean ? clean_peak_e : clean_peak_e / spec.exposure_ratio;
  const PhotoScene scene(stream_seed(spec.seed, kStreamScene, static_cast<std::int64_t>(path_hash(f.camera)) + f.scene),
                         static_cast<double>(h), static_cast<double>(w));
  std::mt19937_64 rng(stream_seed(spec.seed, kStreamNoise, static_cast<std::int64_t>(path_hash(f.path) >> 1)));
  Array img = Array::uninitialized(DType::u16, Shape{h, w});
  std::uint16_t* p = img.writable<std::uint16_t>().begin();
  const std::string letters = sony ? "RGGB" : kXTrans;
  const int rep = sony ? 2 : 6;
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      const char l = letters[static_cast<std::size_t>((y % rep) * rep + (x % rep))];
      const int c = l == 'R' ? 0 : l == 'G' ? 1 : 2;
      const double e = noisy_electrons(
          rng, peak_e * scene.radiance(static_cast<double>(y), static_cast<double>(x), c, double(h), double(w)),
          read_noise);
      p[y * w + x] = to_u16(e / gain + black, white);
    }
  Item item(f.path);
  item.set("image", std::move(img));
  item.meta.set("units", "adu");
  item.meta.set("domain", "photography");
  item.meta.set("cfa", sony ? "RGGB" : "XTRANS");
  if (!sony) item.meta.set("cfa_pattern", kXTrans);
  item.meta.set("black_level", MetaValue{black}, "black level", "ADU");
  if (sony) item.meta.set("black_level_per_channel", MetaValue{std::vector<double>{black, black, black, black}});
  item.meta.set("white_level", MetaValue{white}, "white level", "ADU");
  item.meta.set("make", sony ? "Sony" : "FUJIFILM");
  item.meta.set("model", sony ? "ILCE-7SM2" : "X-T30");
  item.meta.set("iso", MetaValue{iso});
  item.meta.set("exposure_time", MetaValue{exposure}, "exposure", "s");
  item.meta.set("true_gain_e_per_adu", MetaValue{gain}, "gain the frame was made with", "e-/ADU");
  item.meta.set("true_read_noise_e", MetaValue{read_noise}, "read noise the frame was made with", "e-");
  return item;
}

// ---- microscopy --------------------------------------------------------------------------------

Item micro_item(const MultidomainSpec& spec, const TreeFile& f) {
  const std::int64_t n = spec.micro_size;
  const std::int64_t plane = n * n;
  // Filament density (0..~1) for the (structure, cell) scene.
  std::vector<double> density(static_cast<std::size_t>(plane), 0.0);
  std::mt19937_64 srng(
      stream_seed(spec.seed, kStreamScene, static_cast<std::int64_t>(path_hash(f.structure) >> 1) + f.scene));
  std::uniform_real_distribution<double> u(0, 1);
  const int filaments = f.structure == "ER" ? 30 : 14;
  const double sigma = 1.2;
  for (int k = 0; k < filaments; ++k) {
    double y = u(srng) * n, x = u(srng) * n, a = u(srng) * 2 * kPi;
    const double turn = (u(srng) - 0.5) * 0.06;
    for (int s = 0; s < 6 * n; ++s) { // steps of 0.5 px
      a += turn + (u(srng) - 0.5) * 0.05;
      y += 0.5 * std::sin(a);
      x += 0.5 * std::cos(a);
      const auto cy = static_cast<std::int64_t>(std::lround(y)), cx = static_cast<std::int64_t>(std::lround(x));
      for (std::int64_t yy = std::max<std::int64_t>(0, cy - 3); yy <= std::min(n - 1, cy + 3); ++yy)
        for (std::int64_t xx = std::max<std::int64_t>(0, cx - 3); xx <= std::min(n - 1, cx + 3); ++xx) {
          const double d2 = (double(yy) - y) * (double(yy) - y) + (double(xx) - x) * (double(xx) - x);
          density[static_cast<std::size_t>(yy * n + xx)] += 0.15 * std::exp(-d2 / (2 * sigma * sigma));
        }
    }
  }
  for (double& d : density) d = std::min(d, 1.0);
  const double peak = f.clean ? 600.0 : 12.0 * static_cast<double>(f.shot), background = 2.0;
  const double gain = 1.0, read_noise = 1.5, offset = 100.0;
  std::mt19937_64 rng(stream_seed(spec.seed, kStreamNoise, static_cast<std::int64_t>(path_hash(f.path) >> 1)));
  Array img = Array::uninitialized(DType::u16, Shape{9, n, n});
  std::uint16_t* p = img.writable<std::uint16_t>().begin();
  const double period = 6.0;
  for (int frame = 0; frame < 9; ++frame) {
    const double angle = (frame / 3) * kPi / 3, phase = (frame % 3) * 2 * kPi / 3;
    const double ky = std::sin(angle) * 2 * kPi / period, kx = std::cos(angle) * 2 * kPi / period;
    for (std::int64_t y = 0; y < n; ++y)
      for (std::int64_t x = 0; x < n; ++x) {
        const double illum = 1 + 0.8 * std::cos(ky * double(y) + kx * double(x) + phase);
        const double lambda = background + peak * density[static_cast<std::size_t>(y * n + x)] * illum / 1.8;
        p[frame * plane + y * n + x] = to_u16(noisy_electrons(rng, lambda, read_noise) / gain + offset, 65535);
      }
  }
  Item item(f.path);
  item.set("image", std::move(img));
  item.meta.set("domain", "microscopy");
  item.meta.set("true_gain_e_per_adu", MetaValue{gain}, "gain the frames were made with", "e-/ADU");
  item.meta.set("true_read_noise_e", MetaValue{read_noise}, "read noise per frame", "e-");
  item.meta.set("true_offset_adu", MetaValue{offset}, "camera offset per frame", "ADU");
  return item;
}

// ---- astronomy ---------------------------------------------------------------------------------

Item astro_item(const MultidomainSpec& spec, const TreeFile& f) {
  StarfieldSpec s;
  s.width = s.height = spec.astro_size;
  s.seed = stream_seed(spec.seed, kStreamScene, 1000 + f.scene); // one sky per obsid
  s.stars = 60;
  s.fwhm_px = 2.2;
  s.sky_e = f.clean ? 200.0 : 10.0;
  s.peak_e_max = f.clean ? 40000.0 : 2000.0;
  s.gain_e_per_adu = 1.0; // ACS/WFC table values
  s.read_noise_e = 3.5;
  s.bias_adu = 0; // _sci images are bias-subtracted
  s.hot_pixels = 0;
  s.dtype = DType::f32;
  Item item(f.path);
  item.set("image", make_starfield(s, f.clean ? 0 : 1));
  item.meta.set("TELESCOP", "HST", "telescope used to acquire data");
  item.meta.set("INSTRUME", "ACS", "identifier for instrument used to acquire data");
  item.meta.set("DETECTOR", "WFC", "detector in use: UVIS or IR");
  item.meta.set("CCDGAIN", MetaValue{1.0}, "commanded gain of CCD");
  item.meta.set("READNSEA", MetaValue{3.5}, "calibrated read noise for amplifier A");
  item.meta.set("EXPTIME", MetaValue{f.clean ? 2000.0 : 100.0}, "exposure duration (seconds)");
  item.meta.set("OBJECT", "synthetic field " + std::to_string(f.scene), "synthetic (Lumen synth.multidomain)");
  item.meta.set("domain", "astronomy");
  item.meta.set("units", "adu");
  return item;
}

} // namespace

std::vector<TreeFile> tree_files(const MultidomainSpec& spec) {
  std::vector<TreeFile> files;
  if (spec.domain == "photography") {
    for (const char* camera : {"sony", "fuji"}) {
      const std::string root = std::string("SID/") + (camera[0] == 's' ? "Sony" : "Fuji") + "/";
      char short_exp[32];
      std::snprintf(short_exp, sizeof short_exp, "%gs", 10.0 / spec.exposure_ratio);
      for (std::int64_t s = 1; s <= spec.scenes; ++s) {
        const std::string scene = number("%05lld", s);
        for (std::int64_t shot = 0; shot < spec.noisy_per_scene; ++shot)
          files.push_back({root + "short/" + scene + "_" + number("%02lld", shot) + "_" + short_exp + ".dng", camera,
                           "", s, shot, false});
        files.push_back({root + "long/" + scene + "_00_10s.dng", camera, "", s, 0, true});
      }
    }
  } else if (spec.domain == "microscopy") {
    for (const auto& structure : spec.structures)
      for (std::int64_t c = 1; c <= spec.scenes; ++c) {
        const std::string dir = "microscopy/structures/" + structure + "/Cell_" + number("%02lld", c) + "/";
        const bool er = structure == "ER";
        if (!er) files.push_back({dir + "RawSIMData_gt.mrc", "", structure, c, 0, true});
        for (std::int64_t l = 1; l <= spec.noisy_per_scene; ++l) {
          const std::string level = number("%02lld", l);
          if (er) files.push_back({dir + "GTSIM_level_" + level + ".mrc", "", structure, c, 0, true});
          files.push_back(
              {dir + (er ? "RawGTSIMData_level_" : "RawSIMData_level_") + level + ".mrc", "", structure, c, l, false});
        }
      }
  } else {
    for (std::int64_t s = 1; s <= spec.scenes; ++s) {
      const std::string obsid = "jsyn" + number("%04lld", s);
      files.push_back({"astronomy/hla_associations/" + obsid + "_detection_sci.fits", "", "", s, 0, true});
      files.push_back({"astronomy/hla_associations/" + obsid + "_g800l_sci.fits", "", "", s, 0, false});
    }
  }
  return files;
}

Item make_tree_item(const MultidomainSpec& spec, const TreeFile& file) {
  Item item = spec.domain == "photography"  ? photo_item(spec, file)
              : spec.domain == "microscopy" ? micro_item(spec, file)
                                            : astro_item(spec, file);
  item.meta.set("tree_path", MetaValue{file.path}, "where the file goes in the multi-domain tree");
  item.meta.set("true_data_type", file.clean ? "clean" : "noisy", "what the file is (truth)");
  return item;
}

} // namespace lumen::synth
