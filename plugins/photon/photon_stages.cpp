// The `photon` plugin set: stage implementations and the plugin entry point. What each stage
// does and its parameters are declared in photon_stages.hpp; the math is in anscombe.cpp and
// gain_estimate.cpp.
#include "photon_stages.hpp"

#include "lumen/atomic_file.hpp"
#include "movie_reader.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace lumen::photon {

namespace {

constexpr const char* kEstimateError = "photon_estimate_error";

std::string who(const Item& item) {
  return "item '" + item.id() + "'";
}

// The noise model an item carries in meta, or an InputError saying which stage puts it there.
NoiseModel model_from_meta(const Item& item) {
  if (const auto failed = item.meta.get_string(kEstimateError)) throw InputError(*failed);
  const auto gain = item.meta.get_number(key::gain);
  if (!gain)
    throw InputError(who(item) + " has no meta photon_gain: put photon.estimate before this stage (or, to invert a "
                                 "store, read it with zarr.read, which restores the codec parameters)");
  NoiseModel m;
  m.gain = *gain;
  m.zero_level = item.meta.get_number(key::zero_level).value_or(0.0);
  m.read_noise = item.meta.get_number(key::read_noise).value_or(0.0);
  m.check(who(item));
  return m;
}

DType parse_dtype(std::string_view name, const Item& item) {
  for (const DType t : {DType::u8, DType::u16, DType::i16, DType::u32, DType::i32, DType::f32, DType::f64})
    if (dtype_name(t) == name) return t;
  throw InputError(who(item) + ": meta photon_source_dtype '" + std::string(name) + "' is not a Lumen dtype");
}

} // namespace

// ---- photon.estimate ---------------------------------------------------------------------------

void PhotonEstimate::stamp(Item& item, const Movie& movie) const {
  const NoiseModel& m = *movie.model;
  item.meta.set(key::gain, MetaValue{m.gain}, "camera gain", "ADU/photon");
  item.meta.set(key::zero_level, MetaValue{m.zero_level}, "value of zero photons", "ADU");
  item.meta.set(key::read_noise, MetaValue{m.read_noise}, "Gaussian read noise RMS", "ADU");
  const bool estimated = !(*gain > 0);
  item.meta.set("photon_gain_source", estimated ? "estimated" : "given", "how photon_gain was obtained");
  if (estimated) {
    item.meta.set("photon_fit_r2", MetaValue{movie.fit.r_squared}, "R^2 of the variance-mean fit");
    item.meta.set("photon_fit_bins", movie.fit.bins, "intensity bins in the fit");
    item.meta.set("photon_fit_outliers", MetaValue{movie.fit.outlier_fraction},
                  "share of bins down-weighted by the robust fit");
    item.meta.set("photon_fit_frames", movie.fit.frames, "frames the estimate used");
  }
}

void PhotonEstimate::conclude(Movie& movie, Emit& emit) {
  if (movie.failure) return;
  if (!movie.model) {
    const std::string where = "photon.estimate, movie '" + movie.name + "'";
    try {
      movie.fit = movie.estimator.fit(where);
      if (movie.fit.r_squared < *min_r2)
        throw InputError(where + ": the variance-mean fit has R^2 " + format_number(movie.fit.r_squared) +
                         " < min_r2 " + format_number(*min_r2) + " (" + std::to_string(movie.fit.bins) +
                         " bins); the data may not be raw counts, or activity dominates: give gain and "
                         "zero_level explicitly, or lower min_r2 after looking at the fit in artifacts/");
      NoiseModel m;
      m.gain = movie.fit.gain;
      m.read_noise = *read_noise;
      m.zero_level = movie.fit.zero_level + (*read_noise) * (*read_noise) / m.gain;
      movie.model = m;
      ctx().log(LogLevel::info, "movie '" + movie.name + "': gain " + format_number(m.gain) +
                                    " ADU/photon, zero level " + format_number(m.zero_level) + " ADU (R^2 " +
                                    format_number(movie.fit.r_squared) + ", " + std::to_string(movie.fit.bins) +
                                    " bins, " + std::to_string(movie.fit.samples) + " pixel triplets from " +
                                    std::to_string(movie.fit.frames) + " frames)");
      nlohmann::json report = {{"movie", movie.name},
                               {"gain_adu_per_photon", m.gain},
                               {"zero_level_adu", m.zero_level},
                               {"effective_zero_level_adu", movie.fit.zero_level},
                               {"read_noise_adu", m.read_noise},
                               {"r_squared", movie.fit.r_squared},
                               {"outlier_fraction", movie.fit.outlier_fraction},
                               {"bins", movie.fit.bins},
                               {"samples", movie.fit.samples},
                               {"frames", movie.fit.frames}};
      nlohmann::json levels = nlohmann::json::array();
      for (const FitLevel& l : movie.fit.levels)
        levels.push_back(
            {{"mean_adu", l.mean}, {"variance_adu2", l.variance}, {"samples", l.samples}, {"weight", l.weight}});
      report["levels"] = std::move(levels);
      std::string safe = movie.name;
      for (char& c : safe)
        if (c == '/' || c == '\\') c = '_';
      AtomicFile out(ctx().artifacts_dir() / (safe + "_gain_fit.json"));
      const std::string text = report.dump(2) + "\n";
      out.write(text.data(), text.size());
      out.commit();
    } catch (const InputError& e) {
      // Every held item fails downstream with this reason (dropping them would count their
      // work units as done).
      ctx().log(LogLevel::error, e.what());
      for (Item& item : movie.held) {
        item.meta.set(kEstimateError, std::string(e.what()));
        emit(std::move(item));
      }
      movie.held.clear();
      movie.failure = e.what(); // later items of this movie fail with it too
      return;
    }
  }
  for (Item& item : movie.held) {
    stamp(item, movie);
    emit(std::move(item));
  }
  movie.held.clear();
}

void PhotonEstimate::process(Item& item, Emit& emit) {
  const std::int64_t file_index = item.meta.get_int("file_index").value_or(0);
  if (movie_ && movie_->file_index != file_index) {
    conclude(*movie_, emit);
    movie_.reset();
  }
  if (!movie_) {
    movie_.emplace();
    movie_->file_index = file_index;
    const std::string& src = item.provenance.source_file;
    movie_->name = src.empty() ? item.id().substr(0, item.id().find('/')) : std::filesystem::path(src).stem().string();
    if (*gain > 0) movie_->model = NoiseModel{.gain = *gain, .zero_level = *zero_level, .read_noise = *read_noise};
  }
  Movie& movie = *movie_;
  if (movie.failure) {
    item.meta.set(kEstimateError, *movie.failure);
    emit(std::move(item));
    return;
  }
  if (movie.model) {
    stamp(item, movie);
    emit(std::move(item));
    return;
  }
  const Array& image = item.array("image");
  if (movie.estimator.frames() < *estimate_frames) {
    const std::int64_t have = image.ndim() == 3 ? image.dim(0) : 1;
    const std::int64_t want = std::min(have, *estimate_frames - movie.estimator.frames());
    movie.estimator.add(want == have ? image : image.slice(0, want), who(item));
  }
  movie.held.push_back(std::move(item));
  if (movie.estimator.frames() >= *estimate_frames) conclude(movie, emit);
}

void PhotonEstimate::finish(Emit& emit) {
  if (movie_) conclude(*movie_, emit);
  movie_.reset();
}

// ---- photon.anscombe ---------------------------------------------------------------------------

void PhotonAnscombe::process(Item& item, Emit& emit) {
  const NoiseModel model = model_from_meta(item);
  Array& image = item.array("image");
  if (*mode == "forward") {
    const std::string units = item.meta.get_string(keys::units).value_or("");
    if (units == "anscombe")
      throw InputError(who(item) + " is already Anscombe-transformed (units anscombe): did you mean mode: inverse?");
    item.meta.set(key::source_dtype, std::string(dtype_name(image.dtype())), "dtype before the transform");
    item.meta.set(key::source_units, units, "units before the transform");
    image = forward(image, model, *negatives == "clip" ? NegativePolicy::clip : NegativePolicy::error, who(item));
    item.meta.set(key::transform, model.read_noise > 0 ? "generalized_anscombe" : "anscombe",
                  "y = 2 sqrt((x - zero) / gain + 3/8 + (read_noise / gain)^2)");
    item.meta.set(keys::units, "anscombe");
  } else {
    const std::string units = item.meta.get_string(keys::units).value_or("");
    if (units != "anscombe")
      throw InputError(who(item) + " has units '" + units +
                       "', not anscombe: the inverse takes the output of photon.anscombe or photon.quantize (or a "
                       "store written from them)");
    const double beta = item.meta.get_number(key::beta).value_or(0.0);
    DType output = DType::f32;
    if (*dtype == "source") {
      const auto source = item.meta.get_string(key::source_dtype);
      if (!source) throw InputError(who(item) + ": dtype: source needs meta photon_source_dtype, which is missing");
      output = parse_dtype(*source, item);
    }
    image = photon::inverse(image, beta, model, parse_inverse(*inverse), output, who(item));
    item.meta.set(keys::units, item.meta.get_string(key::source_units).value_or("adu"));
    item.meta.set("photon_inverse", *inverse, "inverse transform applied");
  }
  emit(std::move(item));
}

// ---- photon.quantize ---------------------------------------------------------------------------

void PhotonQuantize::process(Item& item, Emit& emit) {
  const NoiseModel model = model_from_meta(item);
  if (const std::string units = item.meta.get_string(keys::units).value_or(""); units != "anscombe")
    throw InputError(who(item) + " has units '" + units +
                     "': photon.quantize takes the output of photon.anscombe (units anscombe); put photon.anscombe "
                     "before it");
  Array& image = item.array("image");
  if (*beta > 0) {
    image = quantize(image, *beta, *dtype == "u16" ? DType::u16 : DType::u8, who(item));
    item.meta.set(key::codec, "anscombe-quantize", "q = round(y / photon_beta); invert with photon.anscombe");
  } else {
    if (image.dtype() != DType::f32) image = image.as(DType::f32);
    item.meta.set(key::codec, "anscombe-f32", "unquantised stabilised values; invert with photon.anscombe");
  }
  item.meta.set(key::beta, MetaValue{*beta}, "quantisation step in noise sigmas (0: none)");
  const double s = model.read_noise_photons();
  const double bound = *beta > 0 ? max_error_photons(1.0, *beta, s) / std::sqrt(1.0 + s * s) : 0.0;
  item.meta.set("photon_max_error_sigma", MetaValue{bound},
                "bound on the round-trip error in noise sigmas, for 1 photon or more");
  emit(std::move(item));
}

} // namespace lumen::photon

LUMEN_PLUGIN("photon", "1.0.0", "MIT", lumen::stage<lumen::photon::MovieRead>("photon.read_movie"),
             lumen::stage<lumen::photon::PhotonEstimate>("photon.estimate"),
             lumen::stage<lumen::photon::PhotonAnscombe>("photon.anscombe"),
             lumen::stage<lumen::photon::PhotonQuantize>("photon.quantize"));
