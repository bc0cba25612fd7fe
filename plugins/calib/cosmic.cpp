// L.A.Cosmic (see cosmic.hpp for the algorithm and the tile scheme).
//
// A tile is computed on a local copy of its core plus a 6-pixel halo (mirrored at the image
// edges), on which every intermediate image is valid over a shrinking margin:
//   med5(I), N, S: margin 2;  S', candidates (with F): margin 4;  first growth: margin 5;
//   second growth = the result: margin 6, the core.
// Values at mirrored positions equal the values at the positions they mirror (every filter here
// is symmetric), so tiles agree exactly with a whole-image computation with mirrored edges.
// 5x5 medians run a compare-exchange network over rows of up to 128 pixels at once (25 rows of
// shifted inputs, min/max per column), which the compiler vectorises.
//
// Example: auto r = lumen::calib::detect_cosmics(electrons, {.read_noise = 3.5}, pool.get());
#include "cosmic.hpp"

#include "downsample.hpp" // mirror_index
#include "lumen/error.hpp"
#include "parallel.hpp"
#include "to8bit.hpp" // percentile, sample_stride

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

namespace lumen::calib {

namespace {

constexpr std::int64_t kTile = 64;
constexpr std::int64_t kHalo = 6;
constexpr std::int64_t kBlock = 128; // pixels per median network pass

std::vector<std::pair<std::uint8_t, std::uint8_t>> make_median25_network() {
  constexpr int n = 32, used = 25, target = 12;
  std::vector<std::pair<int, int>> all;
  for (int p = 1; p < n; p *= 2)
    for (int k = p; k >= 1; k /= 2)
      for (int j = k % p; j + k < n; j += 2 * k)
        for (int i = 0; i < std::min(k, n - j - k); ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) all.emplace_back(i + j, i + j + k);
  // Inputs 25..31 are +inf: a compare-exchange (a, b), a < b, with b >= 25 changes nothing.
  std::vector<std::pair<int, int>> live;
  for (const auto& c : all)
    if (c.second < used) live.push_back(c);
  // Keep only what element 12 depends on, walking backwards.
  std::array<bool, n> needed{};
  needed[target] = true;
  std::vector<std::pair<std::uint8_t, std::uint8_t>> kept;
  for (auto it = live.rbegin(); it != live.rend(); ++it) {
    if (!needed[static_cast<std::size_t>(it->first)] && !needed[static_cast<std::size_t>(it->second)]) continue;
    needed[static_cast<std::size_t>(it->first)] = needed[static_cast<std::size_t>(it->second)] = true;
    kept.emplace_back(static_cast<std::uint8_t>(it->first), static_cast<std::uint8_t>(it->second));
  }
  std::reverse(kept.begin(), kept.end());
  return kept;
}

float median_of(float* v, std::size_t n) {
  const std::size_t mid = n / 2;
  std::nth_element(v, v + mid, v + n);
  if (n % 2 == 1) return v[mid];
  const float lower = *std::max_element(v, v + mid);
  return 0.5f * (lower + v[mid]);
}

// Per-thread scratch of one tile.
struct Scratch {
  std::vector<float> c, noise, s, smed, sp;
  std::vector<std::uint8_t> bad, st1, st2;
  void resize(std::size_t n) {
    for (auto* v : {&c, &noise, &s, &smed, &sp}) v->assign(n, 0.0f);
    for (auto* v : {&bad, &st1, &st2}) v->assign(n, 0);
  }
};

struct Frame {
  const float* clean;
  const std::uint8_t* bad;
  std::int64_t h, w;
};

// L.A.Cosmic on the tile core [y0, y1) x [x0, x1): writes 0/1 into found for every core pixel.
void run_tile(const Frame& f, std::int64_t y0, std::int64_t y1, std::int64_t x0, std::int64_t x1,
              const CosmicOptions& o, std::uint8_t* found, Scratch& k) {
  const std::int64_t lh = (y1 - y0) + 2 * kHalo, lw = (x1 - x0) + 2 * kHalo;
  k.resize(static_cast<std::size_t>(lh * lw));
  for (std::int64_t i = 0; i < lh; ++i) {
    const std::int64_t y = image::mirror_index(y0 - kHalo + i, f.h);
    for (std::int64_t j = 0; j < lw; ++j) {
      const std::int64_t x = image::mirror_index(x0 - kHalo + j, f.w);
      k.c[static_cast<std::size_t>(i * lw + j)] = f.clean[y * f.w + x];
      k.bad[static_cast<std::size_t>(i * lw + j)] = f.bad[y * f.w + x];
    }
  }
  const auto at = [lw](std::int64_t i, std::int64_t j) { return static_cast<std::size_t>(i * lw + j); };
  const float* c = k.c.data();
  // N = sqrt(med5(I) + rn^2) on margin 2 (med5 written into `noise`, then transformed).
  median5_valid(c, lw, lw, lh, k.noise.data() + at(2, 2), lw);
  const auto rn2 = static_cast<float>(o.read_noise * o.read_noise);
  for (std::int64_t i = 2; i < lh - 2; ++i)
    for (std::int64_t j = 2; j < lw - 2; ++j) {
      float& n = k.noise[at(i, j)];
      n = std::sqrt(std::max(n + rn2, 1e-5f));
      // L+ (subsample, Laplacian, clip, rebin) and S = L+ / (2 N).
      const float v2 = 2 * c[at(i, j)], up = c[at(i - 1, j)], dn = c[at(i + 1, j)], lf = c[at(i, j - 1)],
                  rt = c[at(i, j + 1)];
      const float lplus = 0.25f * (std::max(v2 - up - lf, 0.0f) + std::max(v2 - up - rt, 0.0f) +
                                   std::max(v2 - dn - lf, 0.0f) + std::max(v2 - dn - rt, 0.0f));
      k.s[at(i, j)] = lplus / (2 * n);
    }
  // S' = S - med5(S) on margin 4.
  median5_valid(k.s.data() + at(2, 2), lw, lw - 4, lh - 4, k.smed.data() + at(4, 4), lw);
  const auto sigclip = static_cast<float>(o.sigclip), siglow = static_cast<float>(o.sigfrac * o.sigclip);
  const auto objlim = static_cast<float>(o.objlim);
  std::array<float, 9> m9{};
  std::array<float, 49> m49{};
  for (std::int64_t i = 4; i < lh - 4; ++i)
    for (std::int64_t j = 4; j < lw - 4; ++j) {
      const float sp = k.s[at(i, j)] - k.smed[at(i, j)];
      k.sp[at(i, j)] = sp;
      bool cand = sp > sigclip && !k.bad[at(i, j)];
      if (cand) {
        // Fine structure: F = (med3(I) - med7(med3(I))) / N at this pixel.
        float m3_here = 0;
        for (std::int64_t a = -3; a <= 3; ++a)
          for (std::int64_t b = -3; b <= 3; ++b) {
            std::size_t q = 0;
            for (std::int64_t u = -1; u <= 1; ++u)
              for (std::int64_t v = -1; v <= 1; ++v) m9[q++] = c[at(i + a + u, j + b + v)];
            const float m3 = median_of(m9.data(), 9);
            m49[static_cast<std::size_t>((a + 3) * 7 + (b + 3))] = m3;
            if (a == 0 && b == 0) m3_here = m3;
          }
        const float m7 = median_of(m49.data(), 49);
        const float fine = std::max((m3_here - m7) / k.noise[at(i, j)], 0.01f);
        cand = sp / fine > objlim;
      }
      k.st1[at(i, j)] = cand;
    }
  // Growth: neighbours of candidates with S' > sigclip (margin 5), then of those with S' > sigfrac sigclip.
  const auto any3 = [&](const std::vector<std::uint8_t>& m, std::int64_t i, std::int64_t j) {
    return (m[at(i - 1, j - 1)] | m[at(i - 1, j)] | m[at(i - 1, j + 1)] | m[at(i, j - 1)] | m[at(i, j)] |
            m[at(i, j + 1)] | m[at(i + 1, j - 1)] | m[at(i + 1, j)] | m[at(i + 1, j + 1)]) != 0;
  };
  for (std::int64_t i = 5; i < lh - 5; ++i)
    for (std::int64_t j = 5; j < lw - 5; ++j)
      k.st2[at(i, j)] = !k.bad[at(i, j)] && k.sp[at(i, j)] > sigclip && any3(k.st1, i, j);
  for (std::int64_t i = kHalo; i < lh - kHalo; ++i)
    for (std::int64_t j = kHalo; j < lw - kHalo; ++j)
      found[(y0 - kHalo + i) * f.w + (x0 - kHalo + j)] =
          !k.bad[at(i, j)] && k.sp[at(i, j)] > siglow && any3(k.st2, i, j);
}

} // namespace

const std::vector<std::pair<std::uint8_t, std::uint8_t>>& median25_network() {
  static const auto network = make_median25_network(); // immutable after first use
  return network;
}

void median5_valid(const float* in, std::int64_t in_stride, std::int64_t w, std::int64_t h, float* out,
                   std::int64_t out_stride) {
  const auto& net = median25_network();
  const std::int64_t ow = w - 4, oh = h - 4;
  if (ow <= 0 || oh <= 0) return;
  alignas(64) std::array<std::array<float, kBlock>, 25> v;
  for (std::int64_t y = 0; y < oh; ++y)
    for (std::int64_t x0 = 0; x0 < ow; x0 += kBlock) {
      const std::int64_t n = std::min(kBlock, ow - x0);
      for (std::size_t t = 0; t < 25; ++t) {
        const float* src =
            in + (y + static_cast<std::int64_t>(t / 5)) * in_stride + x0 + static_cast<std::int64_t>(t % 5);
        std::copy(src, src + n, v[t].begin());
      }
      for (const auto& [a, b] : net) {
        float* __restrict pa = v[a].data();
        float* __restrict pb = v[b].data();
        for (std::int64_t i = 0; i < kBlock; ++i) { // the whole block: a fixed trip count vectorises best
          const float lo = pb[i] < pa[i] ? pb[i] : pa[i];
          const float hi = pb[i] < pa[i] ? pa[i] : pb[i];
          pa[i] = lo;
          pb[i] = hi;
        }
      }
      std::copy(v[12].begin(), v[12].begin() + n, out + y * out_stride + x0);
    }
}

CosmicResult detect_cosmics(const Array& image, const CosmicOptions& o, ThreadPool* pool) {
  if (image.empty() || image.ndim() != 2)
    throw InputError("calib.cosmic_rays needs an (H, W) image, got shape " + image.shape().str());
  const std::int64_t h = image.dim(0), w = image.dim(1);
  CosmicResult r;
  r.cleaned = image.as(DType::f32).clone();
  r.mask = Array(DType::u8, Shape{h, w});
  float* clean = r.cleaned.writable<float>().data();
  std::uint8_t* mask = r.mask.writable<std::uint8_t>().data();
  const std::int64_t n = h * w;
  if (n == 0) return r;

  // NaN pixels: never flagged, never used for replacements; computed as the image median.
  std::vector<std::uint8_t> bad(static_cast<std::size_t>(n), 0);
  std::vector<double> sample;
  const std::size_t stride = image::sample_stride(static_cast<std::size_t>(n), 1);
  for (std::int64_t i = 0; i < n; i += static_cast<std::int64_t>(stride))
    if (std::isfinite(clean[i])) sample.push_back(clean[i]);
  const auto background = sample.empty() ? 0.0f : static_cast<float>(image::percentile(sample, 50));
  bool any_bad = false;
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(clean[i])) {
      bad[static_cast<std::size_t>(i)] = 1;
      clean[i] = background;
      any_bad = true;
    }

  const std::int64_t ty = (h + kTile - 1) / kTile, tx = (w + kTile - 1) / kTile;
  std::vector<std::uint8_t> dirty(static_cast<std::size_t>(ty * tx), 1);
  std::vector<std::uint8_t> found(static_cast<std::size_t>(n), 0);
  std::vector<std::int64_t> flagged; // indices of masked pixels
  const Frame frame{clean, bad.data(), h, w};

  for (int it = 0; it < o.niter; ++it) {
    std::vector<std::int64_t> tiles;
    for (std::int64_t t = 0; t < ty * tx; ++t)
      if (dirty[static_cast<std::size_t>(t)]) tiles.push_back(t);
    if (tiles.empty()) break;
    r.tiles_run += static_cast<std::int64_t>(tiles.size());
    const auto core = [&](std::int64_t t) {
      const std::int64_t y0 = (t / tx) * kTile, x0 = (t % tx) * kTile;
      return std::array<std::int64_t, 4>{y0, std::min(h, y0 + kTile), x0, std::min(w, x0 + kTile)};
    };
    image::parallel_rows(
        pool, static_cast<std::int64_t>(tiles.size()),
        [&](std::int64_t a, std::int64_t b) {
          Scratch scratch;
          for (std::int64_t i = a; i < b; ++i) {
            const auto [y0, y1, x0, x1] = core(tiles[static_cast<std::size_t>(i)]);
            run_tile(frame, y0, y1, x0, x1, o, found.data(), scratch);
          }
        },
        1);
    r.iterations = it + 1;
    std::int64_t added = 0;
    for (const std::int64_t t : tiles) {
      const auto [y0, y1, x0, x1] = core(t);
      for (std::int64_t y = y0; y < y1; ++y)
        for (std::int64_t x = x0; x < x1; ++x)
          if (found[static_cast<std::size_t>(y * w + x)] && !mask[y * w + x]) {
            mask[y * w + x] = 1;
            flagged.push_back(y * w + x);
            ++added;
          }
    }
    if (added == 0) break;
    // Clean: every masked pixel becomes the median of the unmasked, finite pixels of its 5x5
    // neighbourhood (these are never rewritten here, so the order does not matter).
    std::fill(dirty.begin(), dirty.end(), o.full_recompute ? 1 : 0);
    std::array<float, 25> v{};
    for (const std::int64_t p : flagged) {
      const std::int64_t y = p / w, x = p % w;
      std::size_t m = 0;
      for (std::int64_t yy = std::max<std::int64_t>(0, y - 2); yy <= std::min(h - 1, y + 2); ++yy)
        for (std::int64_t xx = std::max<std::int64_t>(0, x - 2); xx <= std::min(w - 1, x + 2); ++xx)
          if (!mask[yy * w + xx] && !bad[static_cast<std::size_t>(yy * w + xx)]) v[m++] = clean[yy * w + xx];
      const float value = m > 0 ? median_of(v.data(), m) : background;
      if (value == clean[p]) continue;
      clean[p] = value;
      // Tiles whose core lies within the halo of this pixel must be recomputed.
      for (std::int64_t a = std::max<std::int64_t>(0, y - kHalo) / kTile; a <= std::min(h - 1, y + kHalo) / kTile; ++a)
        for (std::int64_t b = std::max<std::int64_t>(0, x - kHalo) / kTile; b <= std::min(w - 1, x + kHalo) / kTile;
             ++b)
          dirty[static_cast<std::size_t>(a * tx + b)] = 1;
    }
  }
  if (any_bad)
    for (std::int64_t i = 0; i < n; ++i)
      if (bad[static_cast<std::size_t>(i)]) clean[i] = std::numeric_limits<float>::quiet_NaN();
  r.count = static_cast<std::int64_t>(flagged.size());
  return r;
}

} // namespace lumen::calib
