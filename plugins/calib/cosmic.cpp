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

// Batcher's odd-even merge of the two sorted halves of the virtual positions [lo, hi], step r.
void odd_even_merge(int lo, int hi, int r, std::vector<std::pair<int, int>>& out) {
  const int step = 2 * r;
  if (step < hi - lo) {
    odd_even_merge(lo, hi, step, out);
    odd_even_merge(lo + r, hi, step, out);
    for (int i = lo + r; i < hi - r; i += step) out.emplace_back(i, i + r);
  } else {
    out.emplace_back(lo, lo + r);
  }
}

// Merges the sorted runs held at positions a and b (ascending) with Batcher's network, both
// padded with virtual +inf to a power of two; appends the compare-exchanges on real positions
// and returns the positions of the merged run in ascending order.
std::vector<int> merge_runs(const std::vector<int>& a, const std::vector<int>& b, Network& net) {
  std::size_t m = 1;
  while (m < std::max(a.size(), b.size())) m *= 2;
  std::vector<int> slot(2 * m, -1); // virtual position -> real position, -1 = +inf
  std::copy(a.begin(), a.end(), slot.begin());
  std::copy(b.begin(), b.end(), slot.begin() + static_cast<std::ptrdiff_t>(m));
  std::vector<std::pair<int, int>> virt;
  odd_even_merge(0, static_cast<int>(2 * m) - 1, 1, virt);
  for (const auto& [va, vb] : virt) {
    const int pa = slot[static_cast<std::size_t>(va)], pb = slot[static_cast<std::size_t>(vb)];
    if (pb < 0) continue; // min(x, +inf) = x: nothing moves
    if (pa < 0) {         // +inf against a value: the value moves down; relabel, no data moves
      slot[static_cast<std::size_t>(va)] = pb;
      slot[static_cast<std::size_t>(vb)] = -1;
      continue;
    }
    net.emplace_back(static_cast<std::uint8_t>(pa), static_cast<std::uint8_t>(pb));
  }
  std::vector<int> merged;
  for (const int p : slot)
    if (p >= 0) merged.push_back(p);
  return merged;
}

// Keeps only the compare-exchanges that position `target` depends on.
Network prune_for(const Network& net, int target) {
  std::array<bool, 32> needed{};
  needed[static_cast<std::size_t>(target)] = true;
  Network kept;
  for (auto it = net.rbegin(); it != net.rend(); ++it) {
    if (!needed[it->first] && !needed[it->second]) continue;
    needed[it->first] = needed[it->second] = true;
    kept.push_back(*it);
  }
  std::reverse(kept.begin(), kept.end());
  return kept;
}

// A full sorting network for n <= 16 inputs (merge sort of single elements).
Network sorting_network(int n, std::vector<int>* order) {
  std::vector<std::vector<int>> runs;
  for (int i = 0; i < n; ++i) runs.push_back({i});
  Network net;
  while (runs.size() > 1) {
    std::vector<std::vector<int>> next;
    for (std::size_t i = 0; i + 1 < runs.size(); i += 2) next.push_back(merge_runs(runs[i], runs[i + 1], net));
    if (runs.size() % 2) next.push_back(runs.back());
    runs = std::move(next);
  }
  if (order) *order = runs[0];
  return net;
}

MedianNetwork make_median5_network() {
  MedianNetwork m;
  std::vector<int> order;
  const Network sort = sorting_network(5, &order);
  m.target = order[2];
  m.pairs = prune_for(sort, m.target);
  return m;
}

// Median of 25 whose 5 columns (positions dx, 5 + dx, ..., 20 + dx) are already sorted: the
// columns are merged pairwise with Batcher's merge, then pruned to the median.
MedianNetwork make_median25_network() {
  std::array<std::vector<int>, 5> cols;
  for (int dx = 0; dx < 5; ++dx)
    for (int dy = 0; dy < 5; ++dy) cols[static_cast<std::size_t>(dx)].push_back(dy * 5 + dx);
  Network net;
  const auto ab = merge_runs(cols[0], cols[1], net);
  const auto cd = merge_runs(cols[2], cols[3], net);
  const auto abcd = merge_runs(ab, cd, net);
  const auto all = merge_runs(abcd, cols[4], net);
  MedianNetwork m;
  m.target = all[12];
  m.pairs = prune_for(net, m.target);
  return m;
}

// Applies a network to `count` lanes of rows v[i][0..count).
template <std::size_t Rows> void run_network(const Network& net, std::array<std::array<float, kBlock>, Rows>& v) {
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
  const bool inside_x = x0 - kHalo >= 0 && x0 - kHalo + lw <= f.w;
  for (std::int64_t i = 0; i < lh; ++i) {
    const std::int64_t y = image::mirror_index(y0 - kHalo + i, f.h);
    float* c_row = k.c.data() + i * lw;
    std::uint8_t* bad_row = k.bad.data() + i * lw;
    if (inside_x) { // no mirrored column: copy the row
      std::copy_n(f.clean + y * f.w + x0 - kHalo, lw, c_row);
      std::copy_n(f.bad + y * f.w + x0 - kHalo, lw, bad_row);
      continue;
    }
    for (std::int64_t j = 0; j < lw; ++j) {
      const std::int64_t x = image::mirror_index(x0 - kHalo + j, f.w);
      c_row[j] = f.clean[y * f.w + x];
      bad_row[j] = f.bad[y * f.w + x];
    }
  }
  const auto at = [lw](std::int64_t i, std::int64_t j) { return static_cast<std::size_t>(i * lw + j); };
  const float* c = k.c.data();
  // N = sqrt(med5(I) + rn^2) on margin 2 (med5 written into `noise`, then transformed).
  const auto median5 = o.separable_median ? median5_separable_valid : median5_valid;
  median5(c, lw, lw, lh, k.noise.data() + at(2, 2), lw);
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
  median5(k.s.data() + at(2, 2), lw, lw - 4, lh - 4, k.smed.data() + at(4, 4), lw);
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

const MedianNetwork& median25_network() {
  static const MedianNetwork network = make_median25_network(); // immutable after first use
  return network;
}

const MedianNetwork& median5_network() {
  static const MedianNetwork network = make_median5_network(); // immutable after first use
  return network;
}

const SortNetwork& sort5_network() {
  static const SortNetwork network = [] { // immutable after first use
    SortNetwork n;
    n.pairs = sorting_network(5, &n.order);
    return n;
  }();
  return network;
}

void median5_valid(const float* in, std::int64_t in_stride, std::int64_t w, std::int64_t h, float* out,
                   std::int64_t out_stride) {
  const MedianNetwork& med25 = median25_network();
  const SortNetwork& sort5 = sort5_network();
  const std::int64_t ow = w - 4, oh = h - 4;
  if (ow <= 0 || oh <= 0) return;
  alignas(64) std::array<std::array<float, kBlock>, 5> col;
  alignas(64) std::array<std::array<float, kBlock>, 25> v;
  for (std::int64_t y = 0; y < oh; ++y)
    for (std::int64_t x0 = 0; x0 < ow; x0 += kBlock - 4) {
      const std::int64_t n = std::min(kBlock - 4, ow - x0); // outputs; n + 4 columns
      // The 5 rows of the window, columns x0 .. x0 + n + 3, each column sorted (shared by the 5
      // windows that contain it).
      for (std::size_t dy = 0; dy < 5; ++dy) {
        const float* src = in + (y + static_cast<std::int64_t>(dy)) * in_stride + x0;
        std::copy(src, src + n + 4, col[dy].begin());
      }
      run_network(sort5.pairs, col);
      for (std::size_t t = 0; t < 25; ++t) {
        const float* src = col[static_cast<std::size_t>(sort5.order[t / 5])].data() + t % 5;
        std::copy(src, src + n, v[t].begin());
      }
      run_network(med25.pairs, v);
      std::copy(v[static_cast<std::size_t>(med25.target)].begin(),
                v[static_cast<std::size_t>(med25.target)].begin() + n, out + y * out_stride + x0);
    }
}

void median5_separable_valid(const float* in, std::int64_t in_stride, std::int64_t w, std::int64_t h, float* out,
                             std::int64_t out_stride) {
  const MedianNetwork& med5 = median5_network();
  const std::int64_t ow = w - 4, oh = h - 4;
  if (ow <= 0 || oh <= 0) return;
  std::vector<float> rows(static_cast<std::size_t>(h * ow)); // median of 5 along each row
  alignas(64) std::array<std::array<float, kBlock>, 5> v;
  const auto target = static_cast<std::size_t>(med5.target);
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x0 = 0; x0 < ow; x0 += kBlock) {
      const std::int64_t n = std::min(kBlock, ow - x0);
      for (std::size_t t = 0; t < 5; ++t) {
        const float* src = in + y * in_stride + x0 + static_cast<std::int64_t>(t);
        std::copy(src, src + n, v[t].begin());
      }
      run_network(med5.pairs, v);
      std::copy(v[target].begin(), v[target].begin() + n, rows.begin() + y * ow + x0);
    }
  for (std::int64_t y = 0; y < oh; ++y)
    for (std::int64_t x0 = 0; x0 < ow; x0 += kBlock) {
      const std::int64_t n = std::min(kBlock, ow - x0);
      for (std::size_t t = 0; t < 5; ++t) {
        const float* src = rows.data() + (y + static_cast<std::int64_t>(t)) * ow + x0;
        std::copy(src, src + n, v[t].begin());
      }
      run_network(med5.pairs, v);
      std::copy(v[target].begin(), v[target].begin() + n, out + y * out_stride + x0);
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
  // bad = 1: NaN (restored at the end); bad = 2: a saturated star (kept as it is).
  std::vector<std::uint8_t> bad(static_cast<std::size_t>(n), 0);
  std::vector<double> sample;
  const std::size_t stride = image::sample_stride(static_cast<std::size_t>(n), 1);
  for (std::int64_t i = 0; i < n; i += static_cast<std::int64_t>(stride))
    if (std::isfinite(clean[i])) sample.push_back(clean[i]);
  const auto background = sample.empty() ? 0.0f : static_cast<float>(image::percentile(sample, 50));
  bool any_nan = false;
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(clean[i])) {
      bad[static_cast<std::size_t>(i)] = 1;
      clean[i] = background;
      any_nan = true;
    }
  if (o.saturation > 0) {
    // Saturated stars (astroscrappy's update_mask): pixels at or above the level whose 5x5
    // median exceeds a tenth of it, grown by 2 pixels, are left alone.
    std::vector<std::int64_t> cores;
    std::array<float, 25> win{};
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        if (!(clean[y * w + x] >= o.saturation)) continue;
        std::size_t m = 0;
        for (std::int64_t dy = -2; dy <= 2; ++dy)
          for (std::int64_t dx = -2; dx <= 2; ++dx)
            win[m++] = clean[image::mirror_index(y + dy, h) * w + image::mirror_index(x + dx, w)];
        if (median_of(win.data(), m) > o.saturation / 10) cores.push_back(y * w + x);
      }
    for (const std::int64_t p : cores)
      for (std::int64_t y = std::max<std::int64_t>(0, p / w - 2); y <= std::min(h - 1, p / w + 2); ++y)
        for (std::int64_t x = std::max<std::int64_t>(0, p % w - 2); x <= std::min(w - 1, p % w + 2); ++x)
          if (!bad[static_cast<std::size_t>(y * w + x)]) bad[static_cast<std::size_t>(y * w + x)] = 2;
    r.saturated = static_cast<std::int64_t>(std::count(bad.begin(), bad.end(), std::uint8_t{2}));
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
  if (any_nan)
    for (std::int64_t i = 0; i < n; ++i)
      if (bad[static_cast<std::size_t>(i)] == 1) clean[i] = std::numeric_limits<float>::quiet_NaN();
  r.count = static_cast<std::int64_t>(flagged.size());
  return r;
}

} // namespace lumen::calib
