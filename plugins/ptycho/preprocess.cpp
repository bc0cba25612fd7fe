// Ptychography preprocessing: pixel operations (see preprocess.hpp for the conventions).
#include "preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <type_traits>

namespace lumen::ptycho {

namespace {

std::string number(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

// The (ny, nx) calibration array `name` as a contiguous f32 copy, after checking its shape.
Array calibration_f32(const Array& a, const char* name, const FrameShape& f, const std::string& who) {
  if (a.ndim() != 2 || a.dim(0) != f.ny || a.dim(1) != f.nx)
    throw InputError(who + ": array \"" + name + "\" has shape " + a.shape().str() + ", the frames are " +
                     std::to_string(f.ny) + " x " + std::to_string(f.nx) +
                     " (a calibration array must be (ny, nx), the frame shape)");
  return a.as(DType::f32).contiguous_copy();
}

// Output shape: the input's rank with n frames of (ny, nx).
Shape frames_like(const Array& a, std::int64_t n, std::int64_t ny, std::int64_t nx) {
  return a.ndim() == 2 ? Shape{ny, nx} : Shape{n, ny, nx};
}

// The lower median (rank floor((m - 1) / 2), ascending) of the m finite values whose mask is 0,
// then min(median, sat) when sat > 0: clipping is monotonic, so clipping the median is clipping
// every value first. -inf when no value is left. u8, u16 and i16 count a histogram.
template <typename T>
double clipped_lower_median(const T* v, std::int64_t count, const std::uint8_t* mask, double sat) {
  double median = -std::numeric_limits<double>::infinity();
  if constexpr (std::is_integral_v<T> && sizeof(T) <= 2) {
    constexpr std::int64_t lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    std::vector<std::uint32_t> hist(static_cast<std::size_t>(hi - lo + 1), 0);
    std::int64_t m = 0;
    for (std::int64_t p = 0; p < count; ++p)
      if (mask == nullptr || mask[p] == 0) {
        ++hist[static_cast<std::size_t>(static_cast<std::int64_t>(v[p]) - lo)];
        ++m;
      }
    if (m == 0) return median;
    const std::int64_t rank = (m - 1) / 2;
    std::int64_t below = 0;
    for (std::size_t b = 0; b < hist.size(); ++b) {
      below += hist[b];
      if (below > rank) {
        median = static_cast<double>(static_cast<std::int64_t>(b) + lo);
        break;
      }
    }
  } else {
    std::vector<T> keep;
    keep.reserve(static_cast<std::size_t>(count));
    for (std::int64_t p = 0; p < count; ++p) {
      if (mask != nullptr && mask[p] != 0) continue;
      if constexpr (std::is_floating_point_v<T>)
        if (!std::isfinite(v[p])) continue;
      keep.push_back(v[p]);
    }
    if (keep.empty()) return median;
    const auto mid = keep.begin() + static_cast<std::ptrdiff_t>((keep.size() - 1) / 2);
    std::nth_element(keep.begin(), mid, keep.end());
    median = static_cast<double>(*mid);
  }
  return sat > 0 ? std::min(median, sat) : median;
}

// flags[p] |= 1 where v[p] >= level (exactly, for every dtype), over `count` values.
template <typename T>
void flag_at_or_above(const T* __restrict v, std::int64_t count, double level, std::uint8_t* __restrict flags) {
  if constexpr (std::is_integral_v<T>) {
    const double c = std::ceil(level); // integers: v >= level <=> v >= ceil(level)
    if (c > static_cast<double>(std::numeric_limits<T>::max())) return;
    const T threshold = c <= static_cast<double>(std::numeric_limits<T>::lowest()) ? std::numeric_limits<T>::lowest()
                                                                                   : static_cast<T>(c);
    for (std::int64_t p = 0; p < count; ++p) flags[p] |= static_cast<std::uint8_t>(v[p] >= threshold);
  } else {
    for (std::int64_t p = 0; p < count; ++p) flags[p] |= static_cast<std::uint8_t>(static_cast<double>(v[p]) >= level);
  }
}

// flags[p] |= 1 where v[p] is NaN or infinite (x - x is 0 only for finite x).
template <typename T> void flag_nonfinite(const T* __restrict v, std::int64_t count, std::uint8_t* __restrict flags) {
  for (std::int64_t p = 0; p < count; ++p) flags[p] |= static_cast<std::uint8_t>(!(v[p] - v[p] == T{0}));
}

// o = (v - d) / s * keep, in f32.
template <typename T>
void correct_frame(const T* __restrict v, const float* __restrict d, const float* __restrict s,
                   const float* __restrict keep, float* __restrict o, std::int64_t count) {
  for (std::int64_t p = 0; p < count; ++p) o[p] = (static_cast<float>(v[p]) - d[p]) / s[p] * keep[p];
}

} // namespace

FrameShape frame_shape(const Array& a, const std::string& who) {
  FrameShape f;
  if (a.ndim() == 2)
    f = {1, a.dim(0), a.dim(1)};
  else if (a.ndim() == 3)
    f = {a.dim(0), a.dim(1), a.dim(2)};
  else
    throw InputError(who + ": \"image\" has shape " + a.shape().str() +
                     "; a scan block is (n, ny, nx) frames, or one (ny, nx) frame");
  if (f.ny <= 0 || f.nx <= 0)
    throw InputError(who + ": \"image\" has shape " + a.shape().str() + ", frames without pixels");
  return f;
}

Array mask_u8(const Array& mask) {
  if (mask.dtype() == DType::u8) {
    bool binary = true;
    const Array c = mask.contiguous_copy();
    for (const std::uint8_t v : c.view<std::uint8_t>())
      if (v > 1) {
        binary = false;
        break;
      }
    if (binary) return c;
  }
  Array out = Array::uninitialized(DType::u8, mask.shape());
  const Array c = mask.contiguous_copy();
  auto o = out.writable<std::uint8_t>();
  visit_dtype(c.dtype(), [&]<typename T>(T) {
    const T* in = c.view<T>().data();
    for (std::int64_t i = 0; i < c.size(); ++i) o.data()[i] = in[i] != T{0} ? 1 : 0;
  });
  return out;
}

// ---- dark / flat / saturation ------------------------------------------------------------------

SatMode parse_sat_mode(const std::string& name) {
  if (name == "mask") return SatMode::mask;
  if (name == "keep") return SatMode::keep;
  throw Error("\"" + name + "\" is not one of: mask, keep");
}

DarkFlatResult dark_flat(const Array& raw_in, const DarkFlatInput& in, const std::string& who) {
  const FrameShape f = frame_shape(raw_in, who);
  const std::int64_t npix = f.ny * f.nx;
  const Array raw = raw_in.contiguous_copy();

  // Per pixel: offset d, divisor s, and `bad` (flagged, value becomes 0).
  std::vector<float> d(static_cast<std::size_t>(npix), 0.0f), s(static_cast<std::size_t>(npix), 1.0f);
  std::vector<std::uint8_t> bad(static_cast<std::size_t>(npix), 0);
  DarkFlatResult r;
  if (in.dark != nullptr) {
    const Array dark = calibration_f32(*in.dark, "dark", f, who);
    const float* dv = dark.view<float>().data();
    for (std::int64_t p = 0; p < npix; ++p) {
      if (std::isfinite(dv[p]))
        d[p] = dv[p];
      else {
        bad[p] = 1;
        ++r.bad_dark_pixels;
      }
    }
  }
  if (in.flat != nullptr) {
    const Array flat = calibration_f32(*in.flat, "flat", f, who);
    const float* fv = flat.view<float>().data();
    for (std::int64_t p = 0; p < npix; ++p) {
      if (std::isfinite(fv[p]) && fv[p] > 0)
        s[p] = fv[p];
      else {
        bad[p] = 1;
        ++r.bad_flat_pixels;
      }
    }
  }
  std::vector<std::uint8_t> saturated(static_cast<std::size_t>(npix), 0);
  std::vector<std::uint8_t> nonfinite(static_cast<std::size_t>(npix), 0);

  r.image = Array::uninitialized(DType::f32, raw.shape());
  float* out = r.image.writable<float>().data();
  visit_dtype(raw.dtype(), [&]<typename T>(T) {
    const T* v = raw.view<T>().data();
    if (in.sat > 0)
      for (std::int64_t i = 0; i < f.n; ++i) flag_at_or_above(v + i * npix, npix, in.sat, saturated.data());
    bool any_nonfinite = false;
    if constexpr (std::is_floating_point_v<T>) {
      for (std::int64_t i = 0; i < f.n; ++i) flag_nonfinite(v + i * npix, npix, nonfinite.data());
      any_nonfinite = std::find(nonfinite.begin(), nonfinite.end(), 1) != nonfinite.end();
    }
    // keep[p] is 1, or 0 for pixels whose values become 0.
    std::vector<float> keep(static_cast<std::size_t>(npix));
    for (std::int64_t p = 0; p < npix; ++p) {
      const bool zero = bad[p] != 0 || nonfinite[p] != 0 || (saturated[p] != 0 && in.sat_mode == SatMode::mask);
      keep[p] = zero ? 0.0f : 1.0f;
    }
    for (std::int64_t i = 0; i < f.n; ++i) {
      float* o = out + i * npix;
      correct_frame(v + i * npix, d.data(), s.data(), keep.data(), o, npix);
      if (any_nonfinite)
        for (std::int64_t p = 0; p < npix; ++p)
          if (nonfinite[p] != 0) o[p] = 0.0f; // NaN * 0 is NaN
    }
  });

  r.mask = Array::uninitialized(DType::u8, Shape{f.ny, f.nx});
  std::uint8_t* m = r.mask.writable<std::uint8_t>().data();
  if (in.mask != nullptr) {
    if (in.mask->ndim() != 2 || in.mask->dim(0) != f.ny || in.mask->dim(1) != f.nx)
      throw InputError(who + ": array \"mask\" has shape " + in.mask->shape().str() + ", the frames are " +
                       std::to_string(f.ny) + " x " + std::to_string(f.nx) +
                       " (a calibration array must be (ny, nx), the frame shape)");
    const Array old = mask_u8(*in.mask);
    std::memcpy(m, old.view<std::uint8_t>().data(), static_cast<std::size_t>(npix));
  } else {
    std::memset(m, 0, static_cast<std::size_t>(npix));
  }
  for (std::int64_t p = 0; p < npix; ++p) {
    r.saturated_pixels += saturated[p];
    r.nonfinite_pixels += nonfinite[p];
    m[p] |= static_cast<std::uint8_t>(bad[p] | saturated[p] | nonfinite[p]);
    r.masked_pixels += m[p];
  }
  return r;
}

// ---- grouping ----------------------------------------------------------------------------------

Grouping parse_grouping(const std::string& name) {
  for (const Grouping g : {Grouping::sum, Grouping::mean, Grouping::first, Grouping::best, Grouping::none})
    if (name == grouping_name(g)) return g;
  throw Error("\"" + name + "\" is not one of: sum, mean, first, best, none");
}

const char* grouping_name(Grouping g) noexcept {
  switch (g) {
  case Grouping::sum:
    return "sum";
  case Grouping::mean:
    return "mean";
  case Grouping::first:
    return "first";
  case Grouping::best:
    return "best";
  case Grouping::none:
    break;
  }
  return "none";
}

double best_frame_score(const Array& frame_in, const Array* mask, double sat) {
  const Array frame = frame_in.contiguous_copy();
  Array m;
  if (mask != nullptr) {
    if (mask->size() != frame.size())
      throw Error("best_frame_score: mask " + mask->shape().str() + " does not match frame " + frame.shape().str());
    m = mask_u8(*mask);
  }
  const std::uint8_t* mp = m.empty() ? nullptr : m.view<std::uint8_t>().data();
  return visit_dtype(frame.dtype(), [&]<typename T>(T) {
    return clipped_lower_median(frame.view<T>().data(), frame.size(), mp, sat);
  });
}

GroupResult group_frames(const Array& frames_in, std::int64_t fpp, Grouping grouping, const Array* mask, double sat) {
  const FrameShape f = frame_shape(frames_in, "group_frames");
  if (fpp < 1 || f.n % fpp != 0)
    throw Error("group_frames: " + std::to_string(f.n) + " frames are not a multiple of " + std::to_string(fpp));
  const std::int64_t groups = f.n / fpp, npix = f.ny * f.nx;
  GroupResult r;
  r.selected.resize(static_cast<std::size_t>(grouping == Grouping::none ? f.n : groups));
  for (std::size_t g = 0; g < r.selected.size(); ++g)
    r.selected[g] = grouping == Grouping::none ? static_cast<std::int64_t>(g) : static_cast<std::int64_t>(g) * fpp;
  if (grouping == Grouping::none) {
    r.image = frames_in;
    return r;
  }
  const Array frames = frames_in.contiguous_copy();
  const Shape out_shape = frames_like(frames, groups, f.ny, f.nx);

  if (grouping == Grouping::sum || grouping == Grouping::mean) {
    r.image = Array::uninitialized(DType::f32, out_shape);
    float* out = r.image.writable<float>().data();
    std::vector<double> acc(static_cast<std::size_t>(npix));
    const double scale = grouping == Grouping::mean ? 1.0 / static_cast<double>(fpp) : 1.0;
    visit_dtype(frames.dtype(), [&]<typename T>(T) {
      const T* v = frames.view<T>().data();
      for (std::int64_t g = 0; g < groups; ++g) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (std::int64_t k = 0; k < fpp; ++k) {
          const T* frame = v + (g * fpp + k) * npix;
          for (std::int64_t p = 0; p < npix; ++p) acc[p] += static_cast<double>(frame[p]);
        }
        float* o = out + g * npix;
        for (std::int64_t p = 0; p < npix; ++p) o[p] = static_cast<float>(acc[p] * scale);
      }
    });
    return r;
  }

  if (grouping == Grouping::best) {
    Array m;
    if (mask != nullptr) {
      if (mask->ndim() != 2 || mask->dim(0) != f.ny || mask->dim(1) != f.nx)
        throw Error("group_frames: mask " + mask->shape().str() + " is not the frame shape");
      m = mask_u8(*mask);
    }
    const std::uint8_t* mp = m.empty() ? nullptr : m.view<std::uint8_t>().data();
    visit_dtype(frames.dtype(), [&]<typename T>(T) {
      const T* v = frames.view<T>().data();
      for (std::int64_t g = 0; g < groups; ++g) {
        double best = 0;
        for (std::int64_t k = 0; k < fpp; ++k) {
          const double score = clipped_lower_median(v + (g * fpp + k) * npix, npix, mp, sat);
          if (k == 0 || score > best) { // strictly higher: ties keep the earlier frame
            best = score;
            r.selected[static_cast<std::size_t>(g)] = g * fpp + k;
          }
        }
      }
    });
  }
  if (fpp == 1) {
    r.image = frames_in;
    return r;
  }
  r.image = Array::uninitialized(frames.dtype(), out_shape);
  const std::size_t frame_bytes = static_cast<std::size_t>(npix) * dtype_size(frames.dtype());
  const auto* src = static_cast<const unsigned char*>(frames.raw());
  auto* dst = static_cast<unsigned char*>(r.image.raw());
  for (std::int64_t g = 0; g < groups; ++g)
    std::memcpy(dst + static_cast<std::size_t>(g) * frame_bytes,
                src + static_cast<std::size_t>(r.selected[static_cast<std::size_t>(g)]) * frame_bytes, frame_bytes);
  return r;
}

Array reduce_rows(const Array& rows_in, std::int64_t fpp, RowReduce how, const std::vector<std::int64_t>& selected) {
  if (rows_in.ndim() < 1 || rows_in.ndim() > 2 || fpp < 1 || rows_in.dim(0) % fpp != 0)
    throw Error("reduce_rows: shape " + rows_in.shape().str() + " cannot be grouped by " + std::to_string(fpp));
  const Array rows = rows_in.as(DType::f64).contiguous_copy();
  const std::int64_t n = rows.dim(0), k = rows.ndim() == 2 ? rows.dim(1) : 1, groups = n / fpp;
  Array out(DType::f64, rows.ndim() == 2 ? Shape{groups, k} : Shape{groups});
  const double* in = rows.view<double>().data();
  double* o = out.writable<double>().data();
  for (std::int64_t g = 0; g < groups; ++g) {
    if (how == RowReduce::selected) {
      const std::int64_t row = selected.at(static_cast<std::size_t>(g));
      for (std::int64_t c = 0; c < k; ++c) o[g * k + c] = in[row * k + c];
      continue;
    }
    for (std::int64_t c = 0; c < k; ++c) {
      double sum = 0;
      for (std::int64_t j = 0; j < fpp; ++j) sum += in[(g * fpp + j) * k + c];
      o[g * k + c] = how == RowReduce::mean ? sum / static_cast<double>(fpp) : sum;
    }
  }
  return out;
}

double max_group_spread(const Array& rows_in, std::int64_t fpp) {
  if (fpp <= 1 || rows_in.ndim() < 1 || rows_in.dim(0) % fpp != 0) return 0;
  const Array rows = rows_in.as(DType::f64).contiguous_copy();
  const std::int64_t n = rows.dim(0), k = rows.ndim() == 2 ? rows.dim(1) : 1;
  const double* in = rows.view<double>().data();
  double worst = 0;
  for (std::int64_t g = 0; g < n / fpp; ++g)
    for (std::int64_t j = 1; j < fpp; ++j)
      for (std::int64_t c = 0; c < k; ++c) {
        const double diff = std::abs(in[(g * fpp + j) * k + c] - in[g * fpp * k + c]);
        worst = std::isnan(diff) ? std::numeric_limits<double>::infinity() : std::max(worst, diff);
      }
  return worst;
}

// ---- region of interest ------------------------------------------------------------------------

RoiWindow roi_window(std::int64_t frame_ny, std::int64_t frame_nx, const std::vector<std::int64_t>& roi,
                     const std::vector<double>& center, const std::string& who) {
  if (roi.size() != 2 || roi[0] <= 0 || roi[1] <= 0) throw Error("roi_window: roi must be [ny, nx] with ny, nx > 0");
  if (!center.empty() && center.size() != 2) throw Error("roi_window: roi_center must be [cy, cx] or empty");
  RoiWindow w;
  w.ny = roi[0];
  w.nx = roi[1];
  const std::vector<double> c = center.empty() ? std::vector<double>{0.5, 0.5} : center;
  const auto is_fraction = [](double v) { return v >= 0 && v < 1; };
  w.fractions = is_fraction(c[0]) && is_fraction(c[1]);
  w.cy = w.fractions ? c[0] * static_cast<double>(frame_ny) : c[0];
  w.cx = w.fractions ? c[1] * static_cast<double>(frame_nx) : c[1];
  const double y0 = std::floor(w.cy - static_cast<double>(w.ny) / 2 + 0.5);
  const double x0 = std::floor(w.cx - static_cast<double>(w.nx) / 2 + 0.5);
  const bool inside = std::isfinite(y0) && std::isfinite(x0) && y0 >= 0 && x0 >= 0 &&
                      y0 + static_cast<double>(w.ny) <= static_cast<double>(frame_ny) &&
                      x0 + static_cast<double>(w.nx) <= static_cast<double>(frame_nx);
  if (!inside) {
    std::string centre = "(" + number(w.cy) + ", " + number(w.cx) + ") pixels";
    if (center.empty())
      centre += " (the frame centre)";
    else if (w.fractions)
      centre += " (roi_center [" + number(c[0]) + ", " + number(c[1]) + "] as fractions of the frame)";
    throw InputError(who + ": roi [" + std::to_string(w.ny) + ", " + std::to_string(w.nx) + "] centred at " + centre +
                     " needs rows " + number(y0) + ".." + number(y0 + static_cast<double>(w.ny) - 1) + " and columns " +
                     number(x0) + ".." + number(x0 + static_cast<double>(w.nx) - 1) + ", outside the " +
                     std::to_string(frame_ny) + " x " + std::to_string(frame_nx) + " frame (rows 0.." +
                     std::to_string(frame_ny - 1) + ", columns 0.." + std::to_string(frame_nx - 1) +
                     "): move roi_center or make roi smaller");
  }
  w.y0 = static_cast<std::int64_t>(y0);
  w.x0 = static_cast<std::int64_t>(x0);
  return w;
}

Array crop_frames(const Array& a, const RoiWindow& w) {
  const int ya = a.ndim() - 2;
  if (w.y0 == 0 && w.x0 == 0 && w.ny == a.dim(ya) && w.nx == a.dim(ya + 1)) return a;
  return a.crop(w.y0, w.x0, w.ny, w.nx).contiguous_copy();
}

// ---- orientation -------------------------------------------------------------------------------

Flip parse_flip(const std::string& name) {
  for (const Flip f : {Flip::none, Flip::h, Flip::v, Flip::hv})
    if (name == flip_name(f)) return f;
  throw Error("\"" + name + "\" is not one of: none, h, v, hv");
}

const char* flip_name(Flip f) noexcept {
  switch (f) {
  case Flip::h:
    return "h";
  case Flip::v:
    return "v";
  case Flip::hv:
    return "hv";
  case Flip::none:
    break;
  }
  return "none";
}

Array orient(const Array& a, int rotate, Flip flip) {
  if (rotate != 0 && rotate != 90 && rotate != 180 && rotate != 270)
    throw Error("orient: rotate must be 0, 90, 180 or 270, got " + std::to_string(rotate));
  const FrameShape f = frame_shape(a, "orient");
  if (rotate == 0 && flip == Flip::none) return a;
  const int ya = a.ndim() - 2;
  const std::int64_t sy = a.stride(ya), sx = a.stride(ya + 1), sn = a.ndim() == 3 ? a.stride(0) : 0;
  // out(i, j) = in[off + i * si + j * sj] within a frame (strides in elements, maybe negative).
  std::int64_t off = 0, si = sy, sj = sx, ho = f.ny, wo = f.nx;
  switch (rotate) {
  case 90: // a(j, W - 1 - i)
    off = (f.nx - 1) * sx, si = -sx, sj = sy, ho = f.nx, wo = f.ny;
    break;
  case 180: // a(H - 1 - i, W - 1 - j)
    off = (f.ny - 1) * sy + (f.nx - 1) * sx, si = -sy, sj = -sx;
    break;
  case 270: // a(H - 1 - j, i)
    off = (f.ny - 1) * sy, si = sx, sj = -sy, ho = f.nx, wo = f.ny;
    break;
  default:
    break;
  }
  if (flip == Flip::h || flip == Flip::hv) off += (wo - 1) * sj, sj = -sj;
  if (flip == Flip::v || flip == Flip::hv) off += (ho - 1) * si, si = -si;

  Array out = Array::uninitialized(a.dtype(), frames_like(a, f.n, ho, wo));
  visit_dtype(a.dtype(), [&]<typename T>(T) {
    const T* in = a.view<T>().data();
    T* o = out.writable<T>().data();
    constexpr std::int64_t tile = 64; // square tiles keep the strided reads of 90/270 in cache
    for (std::int64_t k = 0; k < f.n; ++k) {
      const T* src = in + k * sn + off;
      T* dst = o + k * ho * wo;
      for (std::int64_t i0 = 0; i0 < ho; i0 += tile)
        for (std::int64_t j0 = 0; j0 < wo; j0 += tile) {
          const std::int64_t i1 = std::min(ho, i0 + tile), j1 = std::min(wo, j0 + tile);
          for (std::int64_t i = i0; i < i1; ++i) {
            const T* s = src + i * si;
            T* d = dst + i * wo;
            for (std::int64_t j = j0; j < j1; ++j) d[j] = s[j * sj];
          }
        }
    }
  });
  return out;
}

} // namespace lumen::ptycho
