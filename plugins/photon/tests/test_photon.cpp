// Tests of the photon codec: transform math (against exact Poisson expectations), the error
// bound, gain estimation on synthetic movies with known truth, the stages and their errors.
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "photon_movie.hpp"
#include "photon_stages.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>

using namespace lumen;
using namespace lumen::photon;
using lumen::test::error_of;
using lumen::test::same_pixels;
using lumen::test::TempDir;

namespace {

template <typename S> void set(Param<S>& p, const S& v) {
  using Stored = std::conditional_t<std::is_same_v<S, int>, std::int64_t, S>;
  p.assign(ParamValue{Stored(v)});
}

Array movie(const synth::PhotonMovieSpec& spec) {
  const synth::PhotonScene scene(spec);
  return synth::render_photon_frames(scene, 0, spec.frames);
}

// E[f(P)] for P ~ Poisson(lambda), summed over the pmf.
template <typename F> double poisson_expectation(double lambda, F f) {
  double sum = 0, p = std::exp(-lambda);
  for (int k = 0; k < 2000; ++k) {
    sum += p * f(static_cast<double>(k));
    p *= lambda / (k + 1);
    if (k > lambda && p < 1e-18) break;
  }
  return sum;
}

Item block_item(const std::string& id, Array frames, std::int64_t index, std::int64_t file_index = 0) {
  Item item(id);
  item.set("image", std::move(frames));
  item.meta.set("index", index);
  item.meta.set("file_index", file_index);
  item.meta.set(keys::units, "adu");
  return item;
}

} // namespace

TEST_CASE("Anscombe transform stabilises Poisson noise to unit variance", "[photon][math]") {
  for (const double lambda : {3.0, 5.0, 10.0, 30.0, 100.0}) {
    const double m = poisson_expectation(lambda, [](double k) { return forward_value(k, 0); });
    const double m2 = poisson_expectation(lambda, [](double k) { return std::pow(forward_value(k, 0), 2); });
    const double sd = std::sqrt(m2 - m * m);
    INFO("lambda " << lambda << " sd " << sd);
    CHECK(std::abs(sd - 1.0) < (lambda < 4 ? 0.06 : 0.03));
  }
}

TEST_CASE("the unbiased inverse maps E[y] back to lambda, the algebraic one is biased", "[photon][math]") {
  for (const double lambda : {1.0, 2.0, 5.0, 20.0, 100.0}) {
    const double ey = poisson_expectation(lambda, [](double k) { return forward_value(k, 0); });
    const double unbiased = inverse_value(ey, 0, Inverse::unbiased);
    const double algebraic = inverse_value(ey, 0, Inverse::algebraic);
    INFO("lambda " << lambda << " unbiased " << unbiased << " algebraic " << algebraic);
    CHECK(std::abs(unbiased - lambda) < 0.02 * lambda + 0.01);
    CHECK(algebraic < lambda - 0.15); // the known bias of the algebraic inverse
  }
  // The algebraic inverse undoes the forward transform exactly, with and without read noise.
  for (const double s : {0.0, 1.5})
    for (const double z : {0.0, 1.0, 7.0, 1234.0})
      CHECK(inverse_value(forward_value(z, s), s, Inverse::algebraic) == Approx(z).margin(1e-9));
}

TEST_CASE("forward and inverse arrays round-trip counts with gain, zero level and read noise", "[photon][math]") {
  Array counts(DType::u16, Shape{2, 3, 4});
  auto v = counts.writable<std::uint16_t>();
  std::iota(v.begin(), v.end(), std::uint16_t{100});
  for (auto& x : v) x = static_cast<std::uint16_t>(x * 37 % 60000 + 100);
  const NoiseModel model{.gain = 2.5, .zero_level = 100, .read_noise = 3};
  const Array y = forward(counts, model, NegativePolicy::error, "test");
  REQUIRE(y.dtype() == DType::f32);
  REQUIRE(y.shape() == counts.shape());
  const Array back = inverse(y, 0.0, model, Inverse::algebraic, DType::f32, "test");
  const auto b = back.view<float>();
  for (std::int64_t i = 0; i < counts.size(); ++i) CHECK(std::nearbyint(b.data()[i]) == v.data()[i]);
  // Expected value of one element by hand: z = (x - 100) / 2.5, s = 3 / 2.5.
  const double x0 = v.data()[5];
  const double z = (x0 - 100) / 2.5, s = 1.2;
  CHECK(y.view<float>().data()[5] == Approx(2 * std::sqrt(z + 0.375 + s * s)).epsilon(1e-6));
}

TEST_CASE("quantised round trip stays within the documented bound", "[photon][math]") {
  for (const double beta : {0.25, 0.5, 1.0}) {
    for (const double s : {0.0, 2.0}) {
      const NoiseModel model{.gain = 1.7, .zero_level = 50, .read_noise = s * 1.7};
      Array counts(DType::u16, Shape{1, 64, 64});
      auto c = counts.writable<std::uint16_t>();
      for (std::size_t i = 0; i < c.span().size(); ++i) c.data()[i] = static_cast<std::uint16_t>(50 + (i * 7) % 3000);
      const Array q = quantize(forward(counts, model, NegativePolicy::error, "t"), beta, DType::u16, "t");
      const Array back = inverse(q, beta, model, Inverse::algebraic, DType::f32, "t");
      double worst = 0;
      for (std::size_t i = 0; i < c.span().size(); ++i) {
        const double z = (c.data()[i] - 50) / 1.7;
        const double err = std::abs(back.view<float>().data()[i] - c.data()[i]) / 1.7;
        const double bound = max_error_photons(z, beta, s);
        worst = std::max(worst, err / bound);
        REQUIRE(err <= bound * (1 + 1e-4) + 1e-3);
      }
      INFO("beta " << beta << " worst error / bound " << worst);
      CHECK(worst > 0.5); // the bound is tight, not vacuous
    }
  }
}

TEST_CASE("the table inverse of quantised values equals the direct formula, also rounded and saturated",
          "[photon][math]") {
  const NoiseModel model{.gain = 2.5, .zero_level = 100, .read_noise = 2};
  Array q(DType::u8, Shape{2, 128});
  auto v = q.writable<std::uint8_t>();
  for (std::size_t i = 0; i < 256; ++i) v.data()[i] = static_cast<std::uint8_t>(i);
  for (const Inverse kind : {Inverse::algebraic, Inverse::unbiased}) {
    const Array f = inverse(q, 0.5, model, kind, DType::f32, "t");
    const Array u = inverse(q, 0.5, model, kind, DType::u16, "t");
    const Array s8 = inverse(q, 0.5, model, kind, DType::u8, "t");
    for (std::size_t i = 0; i < 256; ++i) {
      const double expect = inverse_value(0.5 * static_cast<double>(i), 0.8, kind) * 2.5 + 100;
      CHECK(f.view<float>().data()[i] == Approx(expect).epsilon(1e-6));
      CHECK(u.view<std::uint16_t>().data()[i] == static_cast<std::uint16_t>(std::min(65535.0, std::nearbyint(expect))));
      CHECK(s8.view<std::uint8_t>().data()[i] == static_cast<std::uint8_t>(std::min(255.0, std::nearbyint(expect))));
    }
  }
}

TEST_CASE("quantize refuses values that do not fit and non-finite input", "[photon][errors]") {
  Array y(DType::f32, Shape{2, 2});
  y.writable<float>().data()[3] = 200.0f;
  CHECK(error_of([&] { (void)quantize(y, 0.5, DType::u8, "item 'a'"); }).find("dtype: u16") != std::string::npos);
  CHECK_NOTHROW(quantize(y, 0.5, DType::u16, "item 'a'"));
  y.writable<float>().data()[1] = std::nanf("");
  CHECK(error_of([&] { (void)quantize(y, 0.5, DType::u16, "item 'a'"); }).find("NaN") != std::string::npos);
}

TEST_CASE("forward refuses NaN, negative photon counts and bad gains with the position", "[photon][errors]") {
  Array x(DType::f32, Shape{2, 3});
  x.writable<float>().data()[4] = std::nanf("");
  const NoiseModel model{.gain = 1, .zero_level = 0, .read_noise = 0};
  const std::string nan = error_of([&] { (void)forward(x, model, NegativePolicy::error, "item 'm'"); });
  CHECK(nan.find("y 1, x 1") != std::string::npos);
  CHECK(nan.find("not a finite number") != std::string::npos);

  Array counts(DType::u16, Shape{3, 2, 2});
  counts.writable<std::uint16_t>().data()[6] = 90; // 10 ADU below a zero level of 100, gain 2: -5 photons
  for (std::size_t i = 0; i < 12; ++i)
    if (i != 6) counts.writable<std::uint16_t>().data()[i] = 120;
  const NoiseModel camera{.gain = 2, .zero_level = 100, .read_noise = 0};
  const std::string neg = error_of([&] { (void)forward(counts, camera, NegativePolicy::error, "item 'm'"); });
  CHECK(neg.find("frame 1, y 1, x 0") != std::string::npos);
  CHECK(neg.find("negatives: clip") != std::string::npos);
  const Array clipped = forward(counts, camera, NegativePolicy::clip, "item 'm'");
  CHECK(clipped.view<float>().data()[6] == 0.0f);
  // -2.5 photons is within what rounding and an estimated zero level explain: no error.
  counts.writable<std::uint16_t>().data()[6] = 95;
  CHECK_NOTHROW(forward(counts, camera, NegativePolicy::error, "item 'm'"));

  const NoiseModel bad{.gain = 0, .zero_level = 0, .read_noise = 0};
  CHECK(error_of([&] { (void)forward(counts, bad, NegativePolicy::error, "item 'm'"); }).find("gain must be > 0") !=
        std::string::npos);
  const NoiseModel negative{.gain = -2, .zero_level = 0, .read_noise = 0};
  CHECK_THROWS_AS(forward(counts, negative, NegativePolicy::error, "item 'm'"), InputError);
}

TEST_CASE("gain and zero level are estimated within 5 % on synthetic movies", "[photon][estimate]") {
  struct Case {
    double gain, zero, read_noise;
    int cells;
  };
  for (const Case c : {Case{2.0, 100, 0, 40}, Case{0.8, 400, 0, 0}, Case{3.7, 1000, 0, 40}, Case{1.3, 200, 2.0, 40}}) {
    synth::PhotonMovieSpec spec;
    spec.width = 160;
    spec.height = 128;
    spec.frames = 120;
    spec.gain = c.gain;
    spec.zero_level = c.zero;
    spec.read_noise = c.read_noise;
    spec.cells = c.cells;
    spec.seed = 7;
    GainEstimator est;
    est.add(movie(spec), "test");
    const GainFit fit = est.fit("test");
    const double zero = fit.zero_level + c.read_noise * c.read_noise / fit.gain;
    INFO("gain " << c.gain << " -> " << fit.gain << ", zero " << c.zero << " -> " << zero << ", R2 " << fit.r_squared
                 << ", bins " << fit.bins);
    CHECK(std::abs(fit.gain / c.gain - 1) < 0.05);
    CHECK(std::abs(zero / c.zero - 1) < 0.05);
    CHECK(fit.r_squared > 0.95);
  }
}

TEST_CASE("without activity the gain estimate is within 1.5 %", "[photon][estimate]") {
  synth::PhotonMovieSpec spec;
  spec.width = 160;
  spec.height = 128;
  spec.frames = 120;
  spec.gain = 3.7;
  spec.zero_level = 1000;
  spec.event_rate = 0; // cells shine steadily: only photon noise changes between frames
  GainEstimator est;
  est.add(movie(spec), "test");
  const GainFit fit = est.fit("test");
  CHECK(std::abs(fit.gain / 3.7 - 1) < 0.015);
  CHECK(std::abs(fit.zero_level - 1000) < 2);
}

TEST_CASE("gain estimation fails clearly on data that cannot give it", "[photon][estimate][errors]") {
  GainEstimator one;
  one.add(Array(DType::u16, Shape{1, 8, 8}), "movie 'm'");
  CHECK(error_of([&] { (void)one.fit("movie 'm'"); }).find("at least 3 frames") != std::string::npos);
  GainEstimator flat; // a constant movie: one intensity level
  flat.add(Array(DType::u16, Shape{10, 64, 64}), "movie 'm'");
  CHECK(error_of([&] { (void)flat.fit("movie 'm'"); }).find("3 or more") != std::string::npos);
  GainEstimator floats;
  CHECK(error_of([&] {
          floats.add(Array(DType::f32, Shape{2, 4, 4}), "movie 'm'");
        }).find("integer camera counts") != std::string::npos);
}

TEST_CASE("photon.estimate holds the first frames, fits, stamps every block in order", "[photon][stage]") {
  TempDir dir("photon");
  testing::Context ctx(dir.path(), "calib");
  PhotonEstimate stage;
  set(stage.estimate_frames, std::int64_t{50});
  stage.attach(ctx);
  stage.start();
  synth::PhotonMovieSpec spec;
  spec.width = 128;
  spec.height = 128;
  spec.frames = 100;
  spec.gain = 2.5;
  spec.zero_level = 300;
  const synth::PhotonScene scene(spec);
  testing::Collect out;
  for (std::int64_t b = 0; b < 100; b += 20) {
    Item item = block_item("m/" + std::to_string(b), synth::render_photon_frames(scene, b, b + 20), b);
    stage.process(item, out);
    CHECK(out.items.size() == (b + 20 < 60 ? 0u : static_cast<std::size_t>(b / 20 + 1)));
  }
  stage.finish(out);
  REQUIRE(out.items.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(out.items[i].meta.get_int("index") == static_cast<std::int64_t>(i) * 20);
    CHECK(std::abs(*out.items[i].meta.get_number(key::gain) / 2.5 - 1) < 0.05);
    CHECK(out.items[i].meta.get_string("photon_gain_source") == "estimated");
  }
  CHECK(std::filesystem::exists(ctx.artifacts_dir() / "m_gain_fit.json"));
}

TEST_CASE("photon.estimate failure makes every item of the movie fail downstream with the reason", "[photon][stage]") {
  TempDir dir("photon");
  testing::Context ctx(dir.path(), "calib");
  PhotonEstimate stage;
  set(stage.estimate_frames, std::int64_t{4});
  stage.attach(ctx);
  testing::Collect out;
  for (int b = 0; b < 3; ++b) {
    Item item = block_item("flat/" + std::to_string(b), Array(DType::u16, Shape{2, 32, 32}), b * 2);
    stage.process(item, out);
  }
  stage.finish(out);
  REQUIRE(out.items.size() == 3);
  PhotonAnscombe vst;
  vst.attach(ctx);
  for (auto& item : out.items) {
    testing::Collect sink;
    CHECK(error_of([&] { vst.process(item, sink); }).find("3 or more") != std::string::npos);
  }
}

TEST_CASE("given gain skips estimation; anscombe + quantize + inverse restore the movie", "[photon][stage]") {
  TempDir dir("photon");
  testing::Context ctx(dir.path(), "s");
  PhotonEstimate calib;
  set(calib.gain, 2.0);
  set(calib.zero_level, 100.0);
  PhotonAnscombe vst, inv;
  PhotonQuantize quant;
  set(inv.mode, std::string("inverse"));
  set(inv.dtype, std::string("source"));
  for (Stage* s : std::initializer_list<Stage*>{&calib, &vst, &quant, &inv}) s->attach(ctx);

  synth::PhotonMovieSpec spec;
  spec.width = 64;
  spec.height = 48;
  spec.frames = 10;
  const Array original = movie(spec);
  for (const double beta : {0.0, 0.5}) {
    set(quant.beta, beta);
    testing::Collect a, b, c, d;
    Item item = block_item("m/0", original.clone(), 0);
    calib.process(item, a);
    REQUIRE(a.items.size() == 1);
    vst.process(a.items[0], b);
    CHECK(b.items[0].meta.get_string(keys::units) == "anscombe");
    quant.process(b.items[0], c);
    CHECK(c.items[0].array("image").dtype() == (beta > 0 ? DType::u8 : DType::f32));
    inv.process(c.items[0], d);
    const Array& back = d.items[0].array("image");
    REQUIRE(back.dtype() == DType::u16);
    const auto o = original.view<std::uint16_t>();
    const auto r = back.view<std::uint16_t>();
    double worst_sigma = 0;
    for (std::int64_t i = 0; i < original.size(); ++i) {
      const double z = std::max(1.0, (o.data()[i] - 100) / 2.0);
      worst_sigma = std::max(worst_sigma, std::abs(double(r.data()[i]) - o.data()[i]) / 2.0 / std::sqrt(z));
    }
    INFO("beta " << beta << ": worst error " << worst_sigma << " sigma");
    if (beta == 0)
      CHECK(worst_sigma == 0); // bit-exact
    else
      CHECK(worst_sigma <= 0.30 + 0.5 / 2.0); // the bound plus rounding to whole ADU (0.5 ADU / gain)
    CHECK(d.items[0].meta.get_string(keys::units) == "adu");
  }
}

TEST_CASE("stage errors name the item and say what to do", "[photon][stage][errors]") {
  TempDir dir("photon");
  testing::Context ctx(dir.path(), "s");
  PhotonAnscombe vst;
  vst.attach(ctx);
  testing::Collect out;
  Item bare = block_item("m/0", Array(DType::u16, Shape{4, 4}), 0);
  CHECK(error_of([&] { vst.process(bare, out); }).find("put photon.estimate before") != std::string::npos);
  Item neg = block_item("m/0", Array(DType::u16, Shape{4, 4}), 0);
  neg.meta.set(key::gain, MetaValue{-1.0});
  CHECK(error_of([&] { vst.process(neg, out); }).find("gain must be > 0") != std::string::npos);

  PhotonAnscombe inv;
  set(inv.mode, std::string("inverse"));
  inv.attach(ctx);
  Item raw = block_item("m/0", Array(DType::u16, Shape{4, 4}), 0);
  raw.meta.set(key::gain, MetaValue{1.0});
  CHECK(error_of([&] { inv.process(raw, out); }).find("not anscombe") != std::string::npos);
  Item q = block_item("m/0", Array(DType::u8, Shape{4, 4}), 0);
  q.meta.set(key::gain, MetaValue{1.0});
  q.meta.set(keys::units, "anscombe");
  CHECK(error_of([&] { inv.process(q, out); }).find("photon_beta") != std::string::npos);
}

TEST_CASE("synthetic photon movies are reproducible per block and Poisson-distributed", "[photon][synth]") {
  synth::PhotonMovieSpec spec;
  spec.width = 40;
  spec.height = 30;
  spec.frames = 12;
  const synth::PhotonScene scene(spec);
  const Array whole = synth::render_photon_frames(scene, 0, 12);
  const Array part = synth::render_photon_frames(scene, 5, 9);
  CHECK(same_pixels(whole.slice(5, 9).contiguous_copy(), part));
  // Sampler moments at several rates.
  synth::PoissonSampler rng(3);
  for (const double lambda : {0.5, 4.0, 12.0, 80.0}) {
    double s = 0, s2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      const double k = static_cast<double>(rng(lambda));
      s += k;
      s2 += k * k;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    INFO("lambda " << lambda << " mean " << mean << " var " << var);
    CHECK(std::abs(mean - lambda) < 4 * std::sqrt(lambda / n) + 1e-3);
    CHECK(std::abs(var / lambda - 1) < 0.03);
  }
}
