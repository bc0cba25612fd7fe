// Bilinear demosaicing by normalised convolution (see demosaic.hpp for the rule).
//
// The weights depend only on the CFA phase of the pixel, so they are tabulated once per phase
// and colour (at most 9 taps). Pixels at least 2 away from the border walk the table with
// constant tap offsets, phase by phase along each row; the border pixels redo the normalised
// convolution with mirrored coordinates.
//
// Example: Array rgb = lumen::calib::demosaic_bilinear(mosaic, lumen::raw::parse_cfa("RGGB"));
#include "demosaic.hpp"

#include "downsample.hpp" // mirror_index
#include "lumen/error.hpp"
#include "parallel.hpp"

#include <array>
#include <cstdlib>
#include <string>
#include <vector>

namespace lumen::calib {

namespace {

struct Tap {
  int dy = 0, dx = 0;
  float w = 0;
};

// Tent weight at (dy, dx) for a window of radius r.
int tent(int dy, int dx, int r) {
  return (r + 1 - std::abs(dy)) * (r + 1 - std::abs(dx));
}

// The normalised taps of colour c at CFA phase (py, px), over a periodic pattern.
std::vector<Tap> taps_for(const raw::CfaPattern& cfa, int py, int px, int c) {
  if (cfa.color(py, px) == c) return {Tap{0, 0, 1.0f}};
  for (int r = 1; r <= 2; ++r) {
    std::vector<Tap> taps;
    double sum = 0;
    for (int dy = -r; dy <= r; ++dy)
      for (int dx = -r; dx <= r; ++dx)
        if (cfa.color(py + dy + 6 * cfa.rows, px + dx + 6 * cfa.cols) == c) {
          taps.push_back({dy, dx, static_cast<float>(tent(dy, dx, r))});
          sum += tent(dy, dx, r);
        }
    if (taps.empty()) continue;
    for (Tap& t : taps) t.w = static_cast<float>(t.w / sum);
    return taps;
  }
  throw InputError("calib.demosaic: the CFA pattern " + cfa.letters() + " has no " + std::string(1, "RGB"[c]) +
                   " site within 2 pixels of some pixel");
}

} // namespace

Array demosaic_bilinear(const Array& mosaic, const raw::CfaPattern& cfa, ThreadPool* pool) {
  if (mosaic.empty() || mosaic.ndim() != 2)
    throw InputError("calib.demosaic needs an (H, W) CFA mosaic, got shape " + mosaic.shape().str());
  const std::int64_t h = mosaic.dim(0), w = mosaic.dim(1);
  const Array src = mosaic.as(DType::f32).contiguous_copy();
  const float* in = static_cast<const float*>(src.raw());
  Array out = Array::uninitialized(DType::f32, Shape{h, w, 3});
  float* dst = out.writable<float>().data();
  const int pr = cfa.rows, pc = cfa.cols;

  // taps[(py * pc + px) * 3 + c]
  std::vector<std::vector<Tap>> taps(static_cast<std::size_t>(pr * pc * 3));
  int radius = 0;
  for (int py = 0; py < pr; ++py)
    for (int px = 0; px < pc; ++px)
      for (int c = 0; c < 3; ++c) {
        auto& t = taps[static_cast<std::size_t>((py * pc + px) * 3 + c)];
        t = taps_for(cfa, py, px, c);
        for (const Tap& k : t) radius = std::max({radius, std::abs(k.dy), std::abs(k.dx)});
      }

  // A border pixel: the same rule with mirrored coordinates and the colours of the mirrored sites.
  const auto border_pixel = [&](std::int64_t y, std::int64_t x) {
    float* o = dst + (y * w + x) * 3;
    const int own = cfa.color(y, x);
    for (int c = 0; c < 3; ++c) {
      if (c == own) {
        o[c] = in[y * w + x];
        continue;
      }
      double sum = 0, wsum = 0;
      for (int r = 1; r <= 2 && wsum == 0; ++r)
        for (int dy = -r; dy <= r; ++dy)
          for (int dx = -r; dx <= r; ++dx) {
            const std::int64_t yy = image::mirror_index(y + dy, h), xx = image::mirror_index(x + dx, w);
            if (cfa.color(yy, xx) != c) continue;
            sum += tent(dy, dx, r) * static_cast<double>(in[yy * w + xx]);
            wsum += tent(dy, dx, r);
          }
      // An image too small to hold colour c near this pixel: the mean of the other two.
      o[c] = wsum > 0 ? static_cast<float>(sum / wsum) : in[y * w + x];
    }
  };

  const std::int64_t r = radius;
  image::parallel_rows(pool, h, [&](std::int64_t y0, std::int64_t y1) {
    for (std::int64_t y = y0; y < y1; ++y) {
      if (y < r || y >= h - r || w <= 2 * r) {
        for (std::int64_t x = 0; x < w; ++x) border_pixel(y, x);
        continue;
      }
      for (std::int64_t x = 0; x < r; ++x) border_pixel(y, x);
      for (std::int64_t x = w - r; x < w; ++x) border_pixel(y, x);
      const int py = static_cast<int>(y % pr);
      for (int px = 0; px < pc; ++px) {
        // First interior x with phase px.
        std::int64_t x0 = r + ((px - r) % pc + pc) % pc;
        for (int c = 0; c < 3; ++c) {
          const auto& t = taps[static_cast<std::size_t>((py * pc + px) * 3 + c)];
          std::array<std::int64_t, 25> off{};
          std::array<float, 25> wt{};
          const std::size_t n = t.size();
          for (std::size_t k = 0; k < n; ++k) {
            off[k] = t[k].dy * w + t[k].dx;
            wt[k] = t[k].w;
          }
          for (std::int64_t x = x0; x < w - r; x += pc) {
            const float* s = in + y * w + x;
            float v = 0;
            for (std::size_t k = 0; k < n; ++k) v += wt[k] * s[off[k]];
            dst[(y * w + x) * 3 + c] = v;
          }
        }
      }
    }
  });
  return out;
}

} // namespace lumen::calib
