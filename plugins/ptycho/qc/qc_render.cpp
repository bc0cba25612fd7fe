// The QC pictures (see qc_render.hpp): qc_maps.png drawn with cairo, thumbnails encoded with the
// png set's encoder, and a static HTML gallery.
//
// The maps are drawn in device pixels on an RGB image surface: each panel maps its data box
// (stage coordinates in a readable unit) onto a plot box with one scale for both axes (equal
// aspect), draws one marker per frame — on a raster (most nearest neighbours along x or y) a cell
// of the two raster steps, otherwise a disc 1.5 x the median nearest-neighbour distance across,
// so a raster fills the box and a spiral keeps its shape — in order of increasing distance from
// the median value so isolated anomalies stay on top, then the axes, a colour bar and the reject
// rings. Colour limits: percentiles 1 and 99 (DPC: +-the 99th percentile of |v|); the score keeps
// its own 0..1 scale. Text uses cairo's toy text API (fontconfig picks the face).
#include "qc/qc_render.hpp"

#include "lumen/atomic_file.hpp"
#include "lumen/error.hpp"
#include "png_io.hpp"

#include <algorithm>
#include <array>
#include <cairo.h>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <span>

namespace lumen::ptycho::qc {

namespace {

namespace fs = std::filesystem;

// ---- colours ----------------------------------------------------------------------------------

struct Rgb {
  double r, g, b;
};

struct Knot {
  double t;
  Rgb c;
};

// viridis (matplotlib's perceptually uniform map, CC0), every 16th entry of its 256-entry table
// plus the last, interpolated linearly between knots.
constexpr std::array<Knot, 17> kViridis{{
    {0.0 / 255, {0.267004, 0.004874, 0.329415}},
    {16.0 / 255, {0.282327, 0.094955, 0.417331}},
    {32.0 / 255, {0.278826, 0.175490, 0.483397}},
    {48.0 / 255, {0.258965, 0.251537, 0.524736}},
    {64.0 / 255, {0.229739, 0.322361, 0.545706}},
    {80.0 / 255, {0.199430, 0.387607, 0.554642}},
    {96.0 / 255, {0.172719, 0.448791, 0.557885}},
    {112.0 / 255, {0.149039, 0.508051, 0.557250}},
    {128.0 / 255, {0.127568, 0.566949, 0.550556}},
    {144.0 / 255, {0.120638, 0.625828, 0.533488}},
    {160.0 / 255, {0.157851, 0.683765, 0.501686}},
    {176.0 / 255, {0.246070, 0.738910, 0.452024}},
    {192.0 / 255, {0.369214, 0.788888, 0.382914}},
    {208.0 / 255, {0.515992, 0.831158, 0.294279}},
    {224.0 / 255, {0.678489, 0.863742, 0.189503}},
    {240.0 / 255, {0.845561, 0.887322, 0.099702}},
    {255.0 / 255, {0.993248, 0.906157, 0.143936}},
}};

constexpr Rgb hex(unsigned v) {
  return {((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0};
}

// ColorBrewer RdBu (11 classes), reversed: blue for negative, near-white at 0, red for positive.
constexpr std::array<Knot, 11> kRdBu{{
    {0.0, hex(0x053061)},
    {0.1, hex(0x2166ac)},
    {0.2, hex(0x4393c3)},
    {0.3, hex(0x92c5de)},
    {0.4, hex(0xd1e5f0)},
    {0.5, hex(0xf7f7f7)},
    {0.6, hex(0xfddbc7)},
    {0.7, hex(0xf4a582)},
    {0.8, hex(0xd6604d)},
    {0.9, hex(0xb2182b)},
    {1.0, hex(0x67001f)},
}};

enum class Colormap { viridis, diverging };

Rgb lookup(std::span<const Knot> knots, double t) {
  t = std::clamp(t, 0.0, 1.0);
  std::size_t i = 1;
  while (i + 1 < knots.size() && knots[i].t < t) ++i;
  const Knot& a = knots[i - 1];
  const Knot& b = knots[i];
  const double f = b.t > a.t ? (t - a.t) / (b.t - a.t) : 0.0;
  return {a.c.r + f * (b.c.r - a.c.r), a.c.g + f * (b.c.g - a.c.g), a.c.b + f * (b.c.b - a.c.b)};
}

Rgb colour_of(Colormap map, double t) {
  return map == Colormap::viridis ? lookup(kViridis, t) : lookup(kRdBu, t);
}

constexpr Rgb kRejectRed{0.90, 0.0, 0.0};
constexpr Rgb kMaskedGrey{0.80, 0.80, 0.80};
constexpr Rgb kNanGrey{0.45, 0.45, 0.45};
constexpr Rgb kInk{0.13, 0.13, 0.13};
constexpr Rgb kPlotBackground{0.96, 0.96, 0.96};

// ---- units and numbers ------------------------------------------------------------------------

// Metres per `unit`, or nullopt for a unit that is not a length (then positions are drawn as
// given and labelled with the unit's own name).
std::optional<double> metres_per(const std::string& unit) {
  if (unit == "m" || unit == "meter" || unit == "metre" || unit == "meters" || unit == "metres") return 1.0;
  if (unit == "mm") return 1e-3;
  if (unit == "um" || unit == "\u00b5m" || unit == "\u03bcm" || unit == "micron" || unit == "microns") return 1e-6;
  if (unit == "nm") return 1e-9;
  return std::nullopt;
}

struct DisplayUnit {
  double factor = 1.0; // display value = input value * factor
  std::string name;
};

// The largest of m, mm, µm, nm in which `extent` (in `unit`) is at least 1, so tick labels read
// like "0, 5, 10 µm" rather than "0, 5e-06, 1e-05 m".
DisplayUnit pick_unit(const std::string& unit, double extent) {
  const auto per = metres_per(unit);
  if (!per) return {1.0, unit};
  const double metres = extent * *per;
  static constexpr std::array<std::pair<double, const char*>, 4> kUnits{
      {{1.0, "m"}, {1e-3, "mm"}, {1e-6, "\u00b5m"}, {1e-9, "nm"}}};
  if (!(metres > 0) || !std::isfinite(metres)) {
    for (const auto& [scale, name] : kUnits)
      if (std::abs(scale - *per) < 1e-3 * scale) return {1.0, name};
    return {1.0, unit};
  }
  for (const auto& [scale, name] : kUnits)
    if (metres / scale >= 1.0) return {*per / scale, name};
  return {*per / 1e-9, "nm"};
}

// 1, 2 or 5 times a power of ten, near range / target.
double nice_step(double range, int target) {
  const double raw = range / std::max(target, 1);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double m = raw / p;
  return (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0) * p;
}

std::vector<double> ticks_in(double lo, double hi, double step) {
  std::vector<double> out;
  if (!(step > 0) || !std::isfinite(step) || !std::isfinite(lo) || !std::isfinite(hi)) return out;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int i = 0; i < 100; ++i) {
    const double v = first + i * step;
    if (v > hi + step * 1e-9) break;
    out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  return out;
}

std::string format_tick(double v, double step) {
  char buf[64];
  const double mag = std::max(std::abs(v), step);
  if (mag >= 1e6 || step < 1e-4) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 6);
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  }
  std::string s = buf;
  if (s.starts_with('-')) s = "\u2212" + s.substr(1); // a real minus sign
  return s;
}

// The value at fraction `q` of the sorted values (nearest rank).
double quantile(std::vector<double> v, double q) {
  const auto k = static_cast<std::ptrdiff_t>(std::llround(q * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[static_cast<std::size_t>(k)];
}

// ---- cairo helpers ----------------------------------------------------------------------------

struct SurfaceFree {
  void operator()(cairo_surface_t* s) const noexcept { cairo_surface_destroy(s); }
};
struct ContextFree {
  void operator()(cairo_t* c) const noexcept { cairo_destroy(c); }
};
struct PatternFree {
  void operator()(cairo_pattern_t* p) const noexcept { cairo_pattern_destroy(p); }
};

void set_colour(cairo_t* cr, Rgb c) {
  cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

enum class Align { left, centre, right };

struct Text {
  cairo_t* cr;
  double scale; // of the whole figure (1 at 1600 px wide)

  void font(double size, bool bold = false) const {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size * scale);
  }
  [[nodiscard]] double width(const std::string& s) const {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    return e.x_advance;
  }
  // Baseline at y; vertical centring uses the font's ascent so digits sit on the tick.
  void draw(const std::string& s, double x, double y, Align align, bool centre_vertically = false) const {
    double dx = 0;
    if (align == Align::centre) dx = -width(s) / 2;
    if (align == Align::right) dx = -width(s);
    double dy = 0;
    if (centre_vertically) {
      cairo_font_extents_t fe;
      cairo_font_extents(cr, &fe);
      dy = (fe.ascent - fe.descent) / 2;
    }
    cairo_move_to(cr, x + dx, y + dy);
    cairo_show_text(cr, s.c_str());
  }
  // Rotated 90° anticlockwise, centred on (x, y).
  void draw_vertical(const std::string& s, double x, double y) const {
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -M_PI / 2);
    draw(s, 0, 0, Align::centre, true);
    cairo_restore(cr);
  }
  // Shrinks the font until `s` fits in `max_width`.
  void fit(const std::string& s, double size, double max_width, bool bold = false) const {
    font(size, bold);
    const double w = width(s);
    if (w > max_width && w > 0) font(size * max_width / w, bold);
  }
};

void disc(cairo_t* cr, double x, double y, double r) {
  cairo_new_sub_path(cr);
  cairo_arc(cr, x, y, r, 0, 2 * M_PI);
}

// The red ring (with a white halo so it reads on every colour) that marks a rejected frame.
void reject_ring(cairo_t* cr, double x, double y, double r, double line) {
  cairo_new_path(cr);
  disc(cr, x, y, r);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_set_line_width(cr, line * 2.2);
  cairo_stroke_preserve(cr);
  set_colour(cr, kRejectRed);
  cairo_set_line_width(cr, line);
  cairo_stroke(cr);
}

// ---- the maps ---------------------------------------------------------------------------------

struct Panel {
  const std::vector<double>* values;
  std::string title;
  std::string bar_label;
  Colormap map;
  bool unit_range = false; // a 0..1 quantity: the full 0..1 range when every value is in it
};

struct Limits {
  double lo = 0, hi = 1;
  bool below = false, above = false; // values outside [lo, hi] exist (drawn as bar extensions)
};

// Percentile limits over the finite values of unmasked frames (all frames when every frame is
// masked): [p1, p99] for sequential maps, ±p99 of |v| for diverging ones, widened when flat.
Limits robust_limits(const std::vector<double>& v, const std::vector<std::uint8_t>& masked, Colormap map,
                     bool unit_range) {
  std::vector<double> use;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (std::isfinite(v[i]) && !(i < masked.size() && masked[i])) use.push_back(v[i]);
  if (use.empty())
    for (double x : v)
      if (std::isfinite(x)) use.push_back(x);
  Limits l;
  if (use.empty()) return l;
  if (unit_range && std::all_of(use.begin(), use.end(), [](double x) { return x >= 0 && x <= 1; })) return l;
  if (map == Colormap::diverging) {
    std::vector<double> mag(use.size());
    std::transform(use.begin(), use.end(), mag.begin(), [](double x) { return std::abs(x); });
    double m = quantile(mag, 0.99);
    if (!(m > 0)) m = *std::max_element(mag.begin(), mag.end());
    if (!(m > 0)) m = 1.0; // all zero
    l.lo = -m;
    l.hi = m;
  } else {
    l.lo = quantile(use, 0.01);
    l.hi = quantile(use, 0.99);
    if (!(l.hi > l.lo)) {
      const double c = l.lo;
      const double half = std::max(std::abs(c) * 0.05, 0.5);
      l.lo = c - half;
      l.hi = c + half;
    }
  }
  for (double x : use) {
    l.below = l.below || x < l.lo;
    l.above = l.above || x > l.hi;
  }
  return l;
}

// Distance from frame i to its nearest other frame at a different position whose offset
// (da along the sort axis, db across) passes `keep`, for every frame (infinity when none). A
// sweep over frames sorted by `a`: it stops once |da| exceeds the best distance found, so a scan
// grid costs about n x (frames per column); at most kMaxLook neighbours are tried each way.
template <typename Keep>
std::vector<double> nearest_distances(const std::vector<double>& a, const std::vector<double>& b, Keep keep) {
  constexpr std::ptrdiff_t kMaxLook = 4096;
  const auto n = static_cast<std::ptrdiff_t>(a.size());
  std::vector<std::size_t> order(a.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t p, std::size_t q) { return a[p] < a[q]; });
  std::vector<double> best(a.size(), std::numeric_limits<double>::infinity());
  for (std::ptrdiff_t k = 0; k < n; ++k) {
    const std::size_t i = order[static_cast<std::size_t>(k)];
    double& d_best = best[i];
    for (std::ptrdiff_t dir : {-1, 1})
      for (std::ptrdiff_t m = k + dir, look = 0; m >= 0 && m < n && look < kMaxLook; m += dir, ++look) {
        const std::size_t j = order[static_cast<std::size_t>(m)];
        const double da = a[j] - a[i], db = b[j] - b[i];
        if (da * da >= d_best * d_best) break;
        const double d = std::hypot(da, db);
        if (d > 0 && d < d_best && keep(std::abs(da), std::abs(db))) d_best = d;
      }
  }
  return best;
}

// The median of the finite values, 0 when fewer than `min_count` are finite.
double finite_median(const std::vector<double>& v, std::size_t min_count) {
  std::vector<double> f;
  for (double x : v)
    if (std::isfinite(x)) f.push_back(x);
  return f.size() < std::max<std::size_t>(min_count, 1) ? 0.0 : quantile(f, 0.5);
}

struct Box {
  double x, y, w, h;
};

struct Geometry {
  std::vector<double> x, y; // display units
  DisplayUnit unit;
  double x0, x1, y0, y1;         // data box
  double spacing;                // median nearest-neighbour distance, display units (0 if none)
  double cell_w = 0, cell_h = 0; // raster steps when the scan is a grid (rectangular markers), else 0
};

Geometry scan_geometry(const ScanMaps& m) {
  Geometry g;
  const auto [xmin_it, xmax_it] = std::minmax_element(m.x.begin(), m.x.end());
  const auto [ymin_it, ymax_it] = std::minmax_element(m.y.begin(), m.y.end());
  double extent = std::max(*xmax_it - *xmin_it, *ymax_it - *ymin_it);
  if (!(extent > 0))
    extent = std::max({std::abs(*xmin_it), std::abs(*xmax_it), std::abs(*ymin_it), std::abs(*ymax_it)});
  g.unit = pick_unit(m.position_unit, extent);
  g.x.resize(m.x.size());
  g.y.resize(m.y.size());
  std::transform(m.x.begin(), m.x.end(), g.x.begin(), [&](double v) { return v * g.unit.factor; });
  std::transform(m.y.begin(), m.y.end(), g.y.begin(), [&](double v) { return v * g.unit.factor; });
  // A raster: most frames have their nearest neighbour along x or y (within ~17 degrees).
  // Then each frame is drawn as a cell of the two raster steps; otherwise as a disc.
  const auto any = [](double, double) { return true; };
  const auto along = [](double da, double db) { return db <= 0.3 * da; };
  const std::vector<double> nn = nearest_distances(g.x, g.y, any);
  g.spacing = finite_median(nn, 1);
  if (g.x.size() >= 4 && g.spacing > 0) {
    const std::vector<double> hx = nearest_distances(g.x, g.y, along);
    const std::vector<double> vy = nearest_distances(g.y, g.x, along);
    std::size_t aligned = 0;
    for (std::size_t i = 0; i < nn.size(); ++i)
      aligned +=
          std::isfinite(nn[i]) && (std::abs(hx[i] - nn[i]) < 1e-9 * nn[i] || std::abs(vy[i] - nn[i]) < 1e-9 * nn[i]);
    const double sx = finite_median(hx, g.x.size() / 2), sy = finite_median(vy, g.x.size() / 2);
    if (aligned >= (7 * nn.size()) / 10) {
      // A line scan has one step: use it for both sides.
      g.cell_w = sx > 0 ? sx : sy;
      g.cell_h = sy > 0 ? sy : sx;
      if (std::max(g.cell_w, g.cell_h) > 10 * std::min(g.cell_w, g.cell_h)) g.cell_w = g.cell_h = 0;
    }
  }
  g.x0 = *xmin_it * g.unit.factor;
  g.x1 = *xmax_it * g.unit.factor;
  g.y0 = *ymin_it * g.unit.factor;
  g.y1 = *ymax_it * g.unit.factor;
  // Pad by about one marker, and give a degenerate axis (one frame, a line scan) some width.
  double span = std::max(g.x1 - g.x0, g.y1 - g.y0);
  if (!(span > 0)) {
    const double c = std::max(std::abs(g.x0), std::abs(g.y0));
    span = c > 0 ? std::pow(10.0, std::floor(std::log10(c))) : 1.0;
  }
  const double pad = g.cell_w > 0    ? 0.75 * std::max(g.cell_w, g.cell_h)
                     : g.spacing > 0 ? 0.75 * g.spacing
                                     : 0.05 * span;
  const auto widen = [&](double& a, double& b) {
    if (b - a < 0.2 * span) {
      const double c = (a + b) / 2;
      a = c - 0.1 * span;
      b = c + 0.1 * span;
    }
    a -= pad;
    b += pad;
  };
  widen(g.x0, g.x1);
  widen(g.y0, g.y1);
  return g;
}

void draw_colour_bar(const Text& text, const Box& bar, const Panel& panel, const Limits& lim) {
  cairo_t* cr = text.cr;
  const double s = text.scale;
  std::unique_ptr<cairo_pattern_t, PatternFree> grad(cairo_pattern_create_linear(0, bar.y + bar.h, 0, bar.y));
  for (int i = 0; i <= 64; ++i) {
    const double t = i / 64.0;
    const Rgb c = colour_of(panel.map, t);
    cairo_pattern_add_color_stop_rgb(grad.get(), t, c.r, c.g, c.b);
  }
  cairo_rectangle(cr, bar.x, bar.y, bar.w, bar.h);
  cairo_set_source(cr, grad.get());
  cairo_fill(cr);
  // Triangles beyond the ends say "values were clipped to this colour".
  const double tri = bar.w * 0.9;
  if (lim.above) {
    set_colour(cr, colour_of(panel.map, 1.0));
    cairo_move_to(cr, bar.x, bar.y);
    cairo_line_to(cr, bar.x + bar.w / 2, bar.y - tri);
    cairo_line_to(cr, bar.x + bar.w, bar.y);
    cairo_close_path(cr);
    cairo_fill_preserve(cr);
    set_colour(cr, kInk);
    cairo_set_line_width(cr, 1.0 * s);
    cairo_stroke(cr);
  }
  if (lim.below) {
    set_colour(cr, colour_of(panel.map, 0.0));
    cairo_move_to(cr, bar.x, bar.y + bar.h);
    cairo_line_to(cr, bar.x + bar.w / 2, bar.y + bar.h + tri);
    cairo_line_to(cr, bar.x + bar.w, bar.y + bar.h);
    cairo_close_path(cr);
    cairo_fill_preserve(cr);
    set_colour(cr, kInk);
    cairo_set_line_width(cr, 1.0 * s);
    cairo_stroke(cr);
  }
  set_colour(cr, kInk);
  cairo_set_line_width(cr, 1.0 * s);
  cairo_rectangle(cr, bar.x, bar.y, bar.w, bar.h);
  cairo_stroke(cr);

  const double step = nice_step(lim.hi - lim.lo, 5);
  text.font(13);
  double label_w = 0;
  for (double v : ticks_in(lim.lo, lim.hi, step)) {
    const double py = bar.y + bar.h * (1 - (v - lim.lo) / (lim.hi - lim.lo));
    cairo_move_to(cr, bar.x + bar.w, py);
    cairo_line_to(cr, bar.x + bar.w + 5 * s, py);
    cairo_stroke(cr);
    const std::string label = format_tick(v, step);
    text.draw(label, bar.x + bar.w + 8 * s, py, Align::left, true);
    label_w = std::max(label_w, text.width(label));
  }
  text.font(14);
  text.draw_vertical(panel.bar_label, bar.x + bar.w + 8 * s + label_w + 14 * s, bar.y + bar.h / 2);
}

void draw_axes(const Text& text, const Box& plot, const Geometry& g, double k) {
  cairo_t* cr = text.cr;
  const double s = text.scale;
  set_colour(cr, kInk);
  cairo_set_line_width(cr, 1.2 * s);
  cairo_rectangle(cr, plot.x, plot.y, plot.w, plot.h);
  cairo_stroke(cr);
  // One tick step for both axes (equal aspect), chosen for the longer one.
  const double step = nice_step(std::max(g.x1 - g.x0, g.y1 - g.y0), 6);
  text.font(13);
  cairo_set_line_width(cr, 1.0 * s);
  for (double v : ticks_in(g.x0, g.x1, step)) {
    const double px = plot.x + (v - g.x0) * k;
    cairo_move_to(cr, px, plot.y + plot.h);
    cairo_line_to(cr, px, plot.y + plot.h + 6 * s);
    cairo_stroke(cr);
    text.draw(format_tick(v, step), px, plot.y + plot.h + 22 * s, Align::centre);
  }
  double label_w = 0;
  for (double v : ticks_in(g.y0, g.y1, step)) {
    const double py = plot.y + plot.h - (v - g.y0) * k;
    cairo_move_to(cr, plot.x, py);
    cairo_line_to(cr, plot.x - 6 * s, py);
    cairo_stroke(cr);
    const std::string label = format_tick(v, step);
    text.draw(label, plot.x - 9 * s, py, Align::right, true);
    label_w = std::max(label_w, text.width(label));
  }
  text.font(14);
  const std::string unit = g.unit.name.empty() ? "" : " (" + g.unit.name + ")";
  text.draw("x" + unit, plot.x + plot.w / 2, plot.y + plot.h + 44 * s, Align::centre);
  text.draw_vertical("y" + unit, plot.x - 9 * s - label_w - 14 * s, plot.y + plot.h / 2);
}

void draw_panel(const Text& text, const Box& cell, const Panel& panel, const ScanMaps& m, const Geometry& g) {
  cairo_t* cr = text.cr;
  const double s = text.scale;
  const std::vector<double>& v = *panel.values;
  const std::size_t n = v.size();
  const auto flag = [](const std::vector<std::uint8_t>& f, std::size_t i) { return i < f.size() && f[i] != 0; };

  // Cell layout: title on top, y labels left, x labels below, colour bar right.
  const Box area{cell.x + 92 * s, cell.y + 48 * s, cell.w - (92 + 150) * s, cell.h - (48 + 62) * s};
  set_colour(cr, kInk);
  text.fit(panel.title, 18, cell.w - 40 * s, true);
  text.draw(panel.title, cell.x + cell.w / 2, cell.y + 28 * s, Align::centre);
  if (area.w < 10 || area.h < 10) return;

  const double k = std::min(area.w / (g.x1 - g.x0), area.h / (g.y1 - g.y0)); // px per unit, both axes
  const Box plot{area.x + (area.w - (g.x1 - g.x0) * k) / 2, area.y + (area.h - (g.y1 - g.y0) * k) / 2,
                 (g.x1 - g.x0) * k, (g.y1 - g.y0) * k};
  const auto px = [&](std::size_t i) { return plot.x + (g.x[i] - g.x0) * k; };
  const auto py = [&](std::size_t i) { return plot.y + plot.h - (g.y[i] - g.y0) * k; };

  cairo_rectangle(cr, plot.x, plot.y, plot.w, plot.h);
  set_colour(cr, kPlotBackground);
  cairo_fill(cr);

  // Markers: on a raster a cell of the two steps (25 % overlap hides seams and position jitter);
  // elsewhere a disc 1.5 x the nearest-neighbour spacing across, so a spiral fills without holes.
  const double cap = 0.12 * std::min(plot.w, plot.h);
  const bool cells = g.cell_w > 0;
  const double cw = std::clamp(1.25 * g.cell_w * k, 1.0, cap), chh = std::clamp(1.25 * g.cell_h * k, 1.0, cap);
  double r = g.spacing > 0 ? 0.75 * g.spacing * k : 0.04 * std::min(plot.w, plot.h);
  r = std::clamp(r, 1.0 * s, cap);
  if (cells) r = std::min(cw, chh) / 2;

  const Limits lim = robust_limits(v, m.masked, panel.map, panel.unit_range);
  std::vector<double> mid_values;
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(v[i]) && !flag(m.masked, i)) mid_values.push_back(v[i]);
  const double centre = panel.map == Colormap::diverging ? 0.0 : mid_values.empty() ? 0.0 : quantile(mid_values, 0.5);

  // Masked and NaN frames first (under), then the others by increasing distance from the
  // median, so a lone anomaly in a smooth map is drawn last and stays whole.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const auto rank = [&](std::size_t i) {
    if (flag(m.masked, i)) return -2.0;
    if (!std::isfinite(v[i])) return -1.0;
    return std::abs(v[i] - centre);
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rank(a) < rank(b); });

  cairo_save(cr);
  cairo_rectangle(cr, plot.x, plot.y, plot.w, plot.h);
  cairo_clip(cr);
  for (std::size_t i : order) {
    Rgb c = kNanGrey;
    if (flag(m.masked, i))
      c = kMaskedGrey;
    else if (std::isfinite(v[i]))
      c = colour_of(panel.map, (v[i] - lim.lo) / (lim.hi - lim.lo));
    set_colour(cr, c);
    cairo_new_path(cr);
    if (cells)
      cairo_rectangle(cr, px(i) - cw / 2, py(i) - chh / 2, cw, chh);
    else
      disc(cr, px(i), py(i), r);
    cairo_fill(cr);
  }
  const double ring_r = std::max(r * 0.95, 4.5 * s);
  const double ring_line = std::clamp(r * 0.25, 1.6 * s, 3.0 * s);
  for (std::size_t i = 0; i < n; ++i)
    if (flag(m.rejected, i)) reject_ring(cr, px(i), py(i), ring_r, ring_line);
  cairo_restore(cr);

  draw_axes(text, plot, g, k);
  const Box bar{area.x + area.w + 24 * s, area.y + 14 * s, 22 * s, area.h - 28 * s};
  draw_colour_bar(text, bar, panel, lim);
}

// Title, counts and the legend of the marks, across the top of the figure.
void draw_header(const Text& text, const ScanMaps& m, const Geometry& g, double width) {
  cairo_t* cr = text.cr;
  const double s = text.scale;
  const auto count = [](const std::vector<std::uint8_t>& f) {
    return std::count_if(f.begin(), f.end(), [](std::uint8_t b) { return b != 0; });
  };
  const auto rejected = count(m.rejected);
  const auto masked = count(m.masked);
  bool any_nan = false;
  for (const auto* v : {&m.score, &m.stxm, &m.dpcx, &m.dpcy})
    any_nan = any_nan || std::any_of(v->begin(), v->end(), [](double x) { return !std::isfinite(x); });

  set_colour(cr, kInk);
  const std::string title = m.title.empty() ? "Ptychography scan QC" : m.title;
  text.fit(title, 24, width - 60 * s, true);
  text.draw(title, width / 2, 38 * s, Align::centre);

  // Legend items, laid out centred on one line.
  struct Item {
    std::string label;
    int kind; // 0 ring, 1 masked disc, 2 NaN disc
  };
  std::vector<Item> items;
  const std::string frames = std::to_string(m.x.size()) + (m.x.size() == 1 ? " frame" : " frames");
  if (title.find(frames) == std::string::npos) items.push_back({frames, -1}); // unless the title says it
  char buf[128];
  if (g.cell_w > 0) {
    std::snprintf(buf, sizeof buf, "raster step %.3g \u00d7 %.3g %s", g.cell_w, g.cell_h, g.unit.name.c_str());
    items.push_back({buf, -1});
  } else if (g.spacing > 0) {
    std::snprintf(buf, sizeof buf, "median spacing %.3g %s", g.spacing, g.unit.name.c_str());
    items.push_back({buf, -1});
  }
  items.push_back({"rejected (" + std::to_string(rejected) + ")", 0});
  if (masked > 0) items.push_back({"outside region, not scored (" + std::to_string(masked) + ")", 1});
  if (any_nan) items.push_back({"no value (NaN)", 2});
  text.font(15);
  const double mark = 22 * s, gap = 34 * s;
  double total = 0;
  for (const auto& it : items) total += (it.kind >= 0 ? mark : 0) + text.width(it.label) + gap;
  total -= gap;
  double x = std::max(10 * s, (width - total) / 2);
  const double y = 72 * s;
  for (const auto& it : items) {
    if (it.kind == 0) reject_ring(cr, x + 8 * s, y - 5 * s, 6.5 * s, 2.0 * s);
    if (it.kind == 1 || it.kind == 2) {
      set_colour(cr, it.kind == 1 ? kMaskedGrey : kNanGrey);
      cairo_new_path(cr);
      disc(cr, x + 8 * s, y - 5 * s, 7 * s);
      cairo_fill(cr);
    }
    if (it.kind >= 0) x += mark;
    set_colour(cr, kInk);
    text.draw(it.label, x, y, Align::left);
    x += text.width(it.label) + gap;
  }
}

void check_maps(const ScanMaps& m, int width, int height) {
  if (width < 400 || height < 300 || width > 8000 || height > 8000)
    throw Error("render_qc_maps: image size " + std::to_string(width) + " x " + std::to_string(height) +
                " is out of range (400..8000 x 300..8000 px)");
  const std::size_t n = m.x.size();
  if (n == 0) throw Error("render_qc_maps: the scan has no frames (no positions): nothing to draw");
  const auto need = [&](std::size_t size, const char* what, bool may_be_empty) {
    if (size == n || (may_be_empty && size == 0)) return;
    throw Error(std::string("render_qc_maps: ") + what + " has " + std::to_string(size) + " values but x has " +
                std::to_string(n) + " (one per frame expected" + (may_be_empty ? ", or none" : "") + ")");
  };
  need(m.y.size(), "y", false);
  need(m.score.size(), "score", false);
  need(m.stxm.size(), "stxm", false);
  need(m.dpcx.size(), "dpcx", false);
  need(m.dpcy.size(), "dpcy", false);
  need(m.rejected.size(), "rejected", true);
  need(m.masked.size(), "masked", true);
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(m.x[i]) || !std::isfinite(m.y[i]))
      throw Error("render_qc_maps: frame " + std::to_string(i) + " has a non-finite stage position (" +
                  std::to_string(m.x[i]) + ", " + std::to_string(m.y[i]) + "); positions must be finite numbers");
}

cairo_status_t write_to_stream(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<std::FILE*>(closure);
  return std::fwrite(data, 1, length, out) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

void write_surface(cairo_surface_t* surface, const fs::path& png) {
  AtomicFile file(png);
  const cairo_status_t st = cairo_surface_write_to_png_stream(surface, write_to_stream, file.stream());
  if (st != CAIRO_STATUS_SUCCESS) throw Error(png.string() + ": cannot write the PNG: " + cairo_status_to_string(st));
  file.commit();
}

// ---- thumbnails -------------------------------------------------------------------------------

// Source index and weight of each contribution to each output sample of a box (area average)
// resampling of `in` samples to `out` samples.
struct Taps {
  std::vector<std::size_t> begin; // out + 1 offsets into index/weight
  std::vector<std::int64_t> index;
  std::vector<double> weight;
};

Taps area_taps(std::int64_t in, std::int64_t out) {
  Taps t;
  const double ratio = static_cast<double>(in) / static_cast<double>(out);
  t.begin.push_back(0);
  for (std::int64_t o = 0; o < out; ++o) {
    const double a = static_cast<double>(o) * ratio, b = static_cast<double>(o + 1) * ratio;
    for (auto i = static_cast<std::int64_t>(std::floor(a)); i < std::min(in, static_cast<std::int64_t>(std::ceil(b)));
         ++i) {
      const double w = std::min(b, static_cast<double>(i + 1)) - std::max(a, static_cast<double>(i));
      if (w <= 0) continue;
      t.index.push_back(i);
      t.weight.push_back(w / ratio);
    }
    t.begin.push_back(t.index.size());
  }
  return t;
}

// log1p(max(0, x)) (non-finite -> 0), area-averaged to at most `side` px, min..max to 0..255.
Array thumbnail(const Array& frame_in, int side, std::int64_t index) {
  Array frame = frame_in;
  if (frame.ndim() == 3 && frame.dim(0) == 1)
    frame = frame.slice(0, 1).contiguous_copy().reshape({frame.dim(1), frame.dim(2)});
  if (frame.empty() || frame.ndim() != 2 || frame.dim(0) < 1 || frame.dim(1) < 1)
    throw Error("write_thumbs_gallery: frame " + std::to_string(index) + " has shape " +
                (frame_in.empty() ? std::string("(empty)") : frame_in.shape().str()) +
                "; a thumbnail needs one 2-D frame (H, W)");
  const std::int64_t h = frame.dim(0), w = frame.dim(1);
  std::vector<float> logv(static_cast<std::size_t>(h * w));
  visit_dtype(frame.dtype(), [&]<typename T>(T) {
    const auto view = frame.view<T>();
    for (std::int64_t y = 0; y < h; ++y) {
      float* out = logv.data() + y * w;
      for (std::int64_t x = 0; x < w; ++x) {
        const auto v = static_cast<double>(view.at(y, x));
        out[x] = std::isfinite(v) && v > 0 ? static_cast<float>(std::log1p(v)) : 0.0f;
      }
    }
  });
  const double shrink = std::min(1.0, static_cast<double>(side) / static_cast<double>(std::max(h, w)));
  const std::int64_t oh = std::max<std::int64_t>(1, std::llround(static_cast<double>(h) * shrink));
  const std::int64_t ow = std::max<std::int64_t>(1, std::llround(static_cast<double>(w) * shrink));
  const Taps tx = area_taps(w, ow), ty = area_taps(h, oh);
  std::vector<double> rows(static_cast<std::size_t>(h * ow)); // columns first, row by row
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t o = 0; o < ow; ++o) {
      double acc = 0;
      for (std::size_t t = tx.begin[o]; t < tx.begin[o + 1]; ++t) acc += tx.weight[t] * logv[y * w + tx.index[t]];
      rows[y * ow + o] = acc;
    }
  std::vector<double> small(static_cast<std::size_t>(oh * ow), 0.0);
  for (std::int64_t o = 0; o < oh; ++o)
    for (std::size_t t = ty.begin[o]; t < ty.begin[o + 1]; ++t) {
      const double wt = ty.weight[t];
      const double* src = rows.data() + ty.index[t] * ow;
      double* dst = small.data() + o * ow;
      for (std::int64_t x = 0; x < ow; ++x) dst[x] += wt * src[x];
    }
  const auto [lo_it, hi_it] = std::minmax_element(small.begin(), small.end());
  const double lo = *lo_it, range = *hi_it - *lo_it;
  Array out(DType::u8, {oh, ow});
  auto* px = out.writable<std::uint8_t>().data();
  if (range > 0)
    for (std::size_t i = 0; i < small.size(); ++i)
      px[i] = static_cast<std::uint8_t>(std::lround(std::clamp((small[i] - lo) / range, 0.0, 1.0) * 255.0));
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

constexpr const char* kGalleryStyle = R"(
  body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; margin: 24px; background: #f4f4f4; color: #222; }
  h1 { font-size: 22px; margin: 0 0 4px 0; }
  p.note { margin: 0 0 18px 0; color: #555; font-size: 14px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 14px; }
  .card { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.18); overflow: hidden; }
  .pic { background: #000; }
  .card img { display: block; width: 100%; height: auto; image-rendering: pixelated; }
  .meta { padding: 8px 10px 10px 10px; font-size: 13px; line-height: 1.45; }
  .idx { font-weight: bold; font-size: 15px; }
  .score { float: right; font-weight: bold; color: #b00; }
  .pos { color: #444; font-variant-numeric: tabular-nums; }
  .reason { color: #666; font-style: italic; }
)";

} // namespace

void render_qc_maps(const ScanMaps& maps, const std::filesystem::path& png, int width, int height) {
  check_maps(maps, width, height);
  const Geometry g = scan_geometry(maps);

  std::unique_ptr<cairo_surface_t, SurfaceFree> surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
    throw Error("render_qc_maps: cannot create a " + std::to_string(width) + " x " + std::to_string(height) +
                " image: " + cairo_status_to_string(cairo_surface_status(surface.get())));
  std::unique_ptr<cairo_t, ContextFree> context(cairo_create(surface.get()));
  cairo_t* cr = context.get();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);

  // Everything scales with the figure; below 0.65 text would get too small to read.
  const double s = std::max(0.65, std::min(width / 1600.0, height / 1300.0));
  const Text text{cr, s};
  draw_header(text, maps, g, width);

  const std::array<Panel, 4> panels{{
      {&maps.score, "Deviation score", "anomaly score (0 = typical, 1 = worst)", Colormap::viridis, true},
      {&maps.stxm, "STXM: log of summed intensity", "log(sum of counts)", Colormap::viridis, false},
      {&maps.dpcx, "DPC-X: centre-of-mass shift", "\u0394 x of centre of mass (px)", Colormap::diverging, false},
      {&maps.dpcy, "DPC-Y: centre-of-mass shift", "\u0394 y of centre of mass (px)", Colormap::diverging, false},
  }};
  const double top = 95 * s;
  const double cw = width / 2.0, ch = (height - top) / 2.0;
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const Box cell{static_cast<double>(p % 2) * cw, top + static_cast<double>(p / 2) * ch, cw, ch};
    draw_panel(text, cell, panels[p], maps, g);
  }

  cairo_surface_flush(surface.get());
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
    throw Error("render_qc_maps: drawing failed: " + std::string(cairo_status_to_string(cairo_status(cr))));
  write_surface(surface.get(), png);
}

std::vector<std::filesystem::path> write_thumbs_gallery(const std::vector<Thumb>& thumbs,
                                                        const std::filesystem::path& dir, const std::string& title,
                                                        int side, const std::string& position_unit) {
  if (side < 1 || side > 4096)
    throw Error("write_thumbs_gallery: side " + std::to_string(side) + " px is out of range (1..4096)");
  std::set<std::int64_t> seen;
  for (const Thumb& t : thumbs) {
    if (t.index < 0) throw Error("write_thumbs_gallery: frame index " + std::to_string(t.index) + " is negative");
    if (!seen.insert(t.index).second)
      throw Error("write_thumbs_gallery: frame " + std::to_string(t.index) +
                  " appears twice; each frame gets one thumbnail");
  }

  // Highest score first; NaN scores last; ties by index.
  std::vector<const Thumb*> order;
  for (const Thumb& t : thumbs) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const Thumb* a, const Thumb* b) {
    const bool fa = std::isfinite(a->score), fb = std::isfinite(b->score);
    if (fa != fb) return fa;
    if (fa && a->score != b->score) return a->score > b->score;
    return a->index < b->index;
  });

  double extent = 0;
  for (const Thumb& t : thumbs)
    if (std::isfinite(t.x) && std::isfinite(t.y)) extent = std::max({extent, std::abs(t.x), std::abs(t.y)});
  const DisplayUnit unit = pick_unit(position_unit, extent);

  std::vector<fs::path> written;
  std::string cards;
  for (const Thumb* t : order) {
    const std::string name = "frame_" + std::to_string(t->index) + ".png";
    const Array img = thumbnail(t->frame, side, t->index);
    {
      AtomicFile file(dir / name);
      png::write_png(file.stream(), img, png::WriteOptions{6, png::Filter::all}, (dir / name).string());
      file.commit();
    }
    written.push_back(dir / name);
    const std::string score = std::isfinite(t->score) ? fmt("%.3f", t->score) : "n/a";
    const std::string pos = "x " + fmt("%.4g", t->x * unit.factor) + ", y " + fmt("%.4g", t->y * unit.factor) +
                            (unit.name.empty() ? "" : " " + unit.name);
    cards += "  <div class=\"card\">\n    <div class=\"pic\"><img src=\"" + name + "\" width=\"" +
             std::to_string(img.dim(1)) + "\" height=\"" + std::to_string(img.dim(0)) + "\" alt=\"frame " +
             std::to_string(t->index) + "\"></div>\n    <div class=\"meta\"><span class=\"score\">score " + score +
             "</span><span class=\"idx\">#" + std::to_string(t->index) + "</span><br><span class=\"pos\">" +
             html_escape(pos) + "</span>" +
             (t->reason.empty() ? std::string() : "<br><span class=\"reason\">" + html_escape(t->reason) + "</span>") +
             "</div>\n  </div>\n";
  }

  const std::string heading = title.empty() ? "Ptychography QC: outlier frames" : title;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                     html_escape(heading) + "</title>\n<style>" + kGalleryStyle + "</style>\n</head>\n<body>\n<h1>" +
                     html_escape(heading) + "</h1>\n<p class=\"note\">" + std::to_string(thumbs.size()) +
                     (thumbs.size() == 1 ? " frame" : " frames") +
                     ", highest anomaly score first. Thumbnails: log(1 + counts), scaled from each frame's minimum "
                     "to its maximum.</p>\n<div class=\"grid\">\n" +
                     cards + "</div>\n</body>\n</html>\n";
  write_file_atomic(dir / "index.html", html);
  written.push_back(dir / "index.html");
  return written;
}

} // namespace lumen::ptycho::qc
