// Unit tests for the `fits` set: write/read round trips for every dtype and 2-D/3-D shapes,
// header cards of every type (long strings, HISTORY, HIERARCH, Lumen keys), the real sample
// files checked against MANIFEST.md, real files through read -> write -> read with every card
// kept, fitsverify and astropy cross-checks of written files, and bad input (truncated,
// flipped bytes, not FITS, header sizes beyond the file, zero dims, missing HDUs); the direct
// (pread) reads against CFITSIO's for every BITPIX with and without BZERO/BSCALE.
//
// Run: build/bin/test_fits   (or ctest -R fits)
#include "fits_io.hpp"
#include "fits_stages.hpp"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fitsio.h>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using lumen::Array;
using lumen::DType;
using lumen::Meta;
using lumen::test::TempDir;
using namespace lumen::fits;

namespace {

using lumen::test::same_pixels;

template <typename T> Array random_array(const lumen::Shape& shape, unsigned seed) {
  Array a(lumen::dtype_of_v<T>, shape);
  std::mt19937_64 rng(seed);
  for (T& v : a.writable<T>()) {
    if constexpr (std::is_floating_point_v<T>)
      v = static_cast<T>(std::uniform_real_distribution<double>(-1e6, 1e6)(rng));
    else
      v = static_cast<T>(rng()); // the full range, including the extremes BZERO must map
  }
  return a;
}

std::vector<lumen::Item> read_all(const fs::path& file, const std::string& hdu = "") {
  FitsRead reader;
  reader.path.assign(lumen::ParamValue{file.string()});
  reader.hdu.assign(lumen::ParamValue{hdu});
  return lumen::testing::read_all(reader, lumen::testing::Context(file.parent_path()));
}

std::string read_error(const fs::path& file, const std::string& hdu = "") {
  try {
    (void)read_all(file, hdu);
  } catch (const lumen::InputError& e) {
    return e.what();
  }
  return "no error";
}

template <typename T> std::pair<double, double> min_max(const Array& a) {
  const auto v = a.view<T>();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return {static_cast<double>(*lo), static_cast<double>(*hi)};
}

fs::path write_with_stage(const lumen::Item& item_in, const fs::path& dir, bool checksum = false,
                          lumen::testing::Context* ctx_out = nullptr) {
  FitsWrite writer;
  writer.checksum.assign(lumen::ParamValue{checksum});
  writer.validate();
  lumen::testing::Context ctx(dir);
  writer.attach(ctx);
  writer.start();
  lumen::testing::Collect out;
  lumen::Item item = item_in;
  writer.process(item, out);
  REQUIRE(out.items.size() == 1);
  REQUIRE(ctx.recorded.size() == 1);
  if (ctx_out) ctx_out->logged = ctx.logged;
  return ctx.recorded.front().first;
}

// fitsverify's verdict: "" when it reports 0 errors, else its output; nullopt when absent.
std::optional<std::string> fitsverify_errors(const fs::path& file) {
  if (std::system("command -v fitsverify >/dev/null 2>&1") != 0) return std::nullopt;
  const std::string cmd = "fitsverify -e '" + file.string() + "' 2>&1";
  std::string text;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) text += buf;
    const int rc = pclose(p);
    if (text.find(" 0 error") != std::string::npos && rc == 0) return std::string();
  }
  return text.empty() ? std::string("fitsverify failed") : text;
}

bool python_has(const std::string& module) {
  return std::system(("/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0;
}

std::string run_python(const std::string& script) {
  const std::string cmd = "/usr/bin/python3 -c \"" + script + "\" 2>&1";
  std::string text;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) text += buf;
    pclose(p);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// A minimal FITS file made by hand (independent of fits_io): header cards then `data_bytes`
// zero bytes (padded to 2880 when `pad`).
void hand_made(const fs::path& file, const std::vector<std::string>& cards, std::size_t data_bytes, bool pad = true) {
  std::string h;
  for (const auto& c : cards) {
    std::string card = c;
    card.resize(80, ' ');
    h += card;
  }
  std::string end = "END";
  end.resize(80, ' ');
  h += end;
  h.resize((h.size() + 2879) / 2880 * 2880, ' ');
  std::string data(data_bytes, '\0');
  if (pad) data.resize((data.size() + 2879) / 2880 * 2880, '\0');
  std::ofstream(file, std::ios::binary) << h << data;
}

std::string kv(const std::string& key, const std::string& value) {
  std::string k = key;
  k.resize(8, ' ');
  std::string v = value;
  if (v.size() < 20) v.insert(0, 20 - v.size(), ' ');
  return k + "= " + v;
}

} // namespace

// ---- round trips ---------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("every dtype survives write and read bit for bit, 2-D and 3-D", "[fits][roundtrip]", std::uint8_t,
                   std::int16_t, std::uint16_t, std::int32_t, std::uint32_t, float, double) {
  TempDir tmp("fits-rt");
  for (const lumen::Shape& shape : {lumen::Shape{37, 53}, lumen::Shape{3, 17, 11}}) {
    const Array a = random_array<TestType>(shape, 7);
    const fs::path file = tmp.path() / ("rt_" + std::to_string(shape.ndim) + ".fits");
    (void)write_fits(file, a, Meta{});
    FitsFile f(file);
    REQUIRE(f.hdus().size() == 1);
    const Array b = f.pixels(0);
    CHECK(b.dtype() == a.dtype());
    CHECK(b.shape() == a.shape());
    CHECK(same_pixels(a, b));
    const Meta h = f.header(0);
    CHECK(h.get_int("NAXIS") == shape.ndim);
    CHECK(h.get_int("NAXIS1") == shape[shape.ndim - 1]); // the last axis is NAXIS1
    if constexpr (std::is_same_v<TestType, std::uint16_t>) {
      CHECK(h.get_int("BITPIX") == 16);
      CHECK(h.get_number("BZERO") == 32768.0);
    }
    if constexpr (std::is_same_v<TestType, std::uint32_t>) {
      CHECK(h.get_int("BITPIX") == 32);
      CHECK(h.get_number("BZERO") == 2147483648.0);
    }
    if (const auto v = fitsverify_errors(file)) CHECK(*v == "");
  }
}

TEST_CASE("header cards of every type round-trip with their comments", "[fits][meta]") {
  TempDir tmp("fits-meta");
  Meta m;
  m.set("OBSERVER", "Edwin O'Hubble", "who observed");
  m.set("EXPTIME", 150.04, "exposure time [s]");
  m.set("TINY", 1.0e-300, "a tiny real");
  m.set("THIRD", 1.0 / 3.0, "shortest exact text");
  m.set("WHOLE", 2.0, "a real with an integral value stays a real");
  m.set("NCOMBINE", std::int64_t{-12345678901}, "a big integer");
  m.set("FLAT", true, "logical true");
  m.set("DARK", false, "logical false");
  m.set("DATE-OBS", "2013-07-13T21:01:02.5", "start of exposure");
  m.set("A_0_2", -2.1e-6, "SIP coefficient");
  m.set("PV1_10", 0.25, "TPV coefficient");
  const std::string long_text(200, 'x');
  m.set("LONGSTR", long_text + "end", "a string longer than a card");
  m.set("HISTORY", "first history line\nsecond history line");
  m.set("COMMENT", "a comment");
  m.set("HIERARCH ESO DET DIT", 1.5, "a HIERARCH keyword");
  m.set("BITPIX", std::int64_t{-64}, "structural: recomputed by the writer");
  m.set("units", "electrons");
  m.set("gain_e_per_adu", 1.9);
  m.set("read_noise_e", 5.0);
  m.set("index", std::int64_t{3});
  m.set("badlist", std::vector<double>{1, 2});
  m.set("BADLIST", std::vector<double>{1, 2});
  m.set("NOTANUM", std::numeric_limits<double>::quiet_NaN());
  m.set("TOOLONGKEY_x", 1.0);

  const Array a = random_array<std::int16_t>(lumen::Shape{4, 5}, 1);
  const fs::path file = tmp.path() / "meta.fits";
  const WriteReport report = write_fits(file, a, m);
  FitsFile f(file);
  const Meta h = f.header(0);
  for (const char* k : {"OBSERVER", "EXPTIME", "TINY", "THIRD", "WHOLE", "NCOMBINE", "FLAT", "DARK", "DATE-OBS",
                        "A_0_2", "PV1_10", "LONGSTR", "HISTORY", "COMMENT"}) {
    INFO(k);
    const auto* in = m.find(k);
    const auto* back = h.find(k);
    REQUIRE(back != nullptr);
    CHECK(back->value == in->value);
    if (std::string(k) != "HISTORY" && std::string(k) != "COMMENT") CHECK(back->comment == in->comment);
  }
  CHECK(h.get_number("HIERARCH ESO DET DIT") == 1.5);
  CHECK(h.get_int("BITPIX") == 16);
  CHECK(h.get_string("BUNIT") == "ELECTRONS");
  CHECK(h.get_number("GAIN") == 1.9);
  CHECK(h.get_number("RDNOISE") == 5.0);
  CHECK_FALSE(h.has("index"));
  CHECK_FALSE(h.has("NOTANUM"));
  const auto skipped = [&](const std::string& k) {
    return std::any_of(report.skipped.begin(), report.skipped.end(),
                       [&](const std::string& s) { return s.rfind(k + ":", 0) == 0; });
  };
  CHECK(skipped("BADLIST"));
  CHECK(skipped("NOTANUM"));
  CHECK(skipped("TOOLONGKEY_x"));
  CHECK(skipped("index"));
  if (const auto v = fitsverify_errors(file)) CHECK(*v == "");
}

TEST_CASE("units from BUNIT, gain and read noise from the usual cards", "[fits][meta]") {
  const auto units_of = [](const std::string& bunit) {
    Meta m;
    m.set("BUNIT", bunit);
    physics_from_header(m);
    return *m.get_string("units");
  };
  CHECK(units_of("ELECTRONS") == "electrons");
  CHECK(units_of("e-") == "electrons");
  CHECK(units_of("ELECTRONS/S") == "electrons/s");
  CHECK(units_of("e-/s") == "electrons/s");
  CHECK(units_of("COUNTS") == "counts");
  CHECK(units_of("adu") == "adu");
  CHECK(units_of("Jy/beam") == "Jy/beam");
  Meta none;
  physics_from_header(none);
  CHECK(none.get_string("units") == "adu");
  CHECK(none.get_string("domain") == "astronomy");
  CHECK_FALSE(none.has("gain_e_per_adu"));

  Meta acs;
  acs.set("CCDGAIN", 2.0);
  acs.set("CCDAMP", "CD");
  acs.set("READNSEA", 1.0);
  acs.set("READNSEB", 2.0);
  acs.set("READNSEC", 5.0);
  acs.set("READNSED", 7.0);
  physics_from_header(acs);
  CHECK(acs.get_number("gain_e_per_adu") == 2.0);
  CHECK(acs.get_number("read_noise_e") == Approx(6.0)); // amplifiers C and D only
  acs.erase("CCDAMP");
  acs.erase("read_noise_e");
  physics_from_header(acs);
  CHECK(acs.get_number("read_noise_e") == Approx(3.75));
}

TEST_CASE("hdu selector syntax", "[fits][params]") {
  CHECK(parse_hdu_selector("").kind == HduSelector::Kind::automatic);
  CHECK(parse_hdu_selector("auto").kind == HduSelector::Kind::automatic);
  CHECK(parse_hdu_selector("3").number == 3);
  const auto s = parse_hdu_selector("sci, 2");
  CHECK(s.kind == HduSelector::Kind::name);
  CHECK(s.extname == "SCI");
  CHECK(s.extver == 2);
  CHECK_THROWS_WITH(parse_hdu_selector("SCI,x"), Catch::Contains("EXTVER"));
  CHECK_THROWS_WITH(parse_hdu_selector("[1]"), Catch::Contains("HDU number"));
  FitsRead reader;
  reader.path.assign(lumen::ParamValue{std::string("x.fits")});
  reader.hdu.assign(lumen::ParamValue{std::string("SCI,0")});
  CHECK_THROWS_AS(reader.validate(), lumen::ConfigError);
}

// ---- real files (MANIFEST.md) --------------------------------------------------------------------

TEST_CASE("SAAO 1.0m frame: int16 + BZERO -> u16, GAIN and RDNOISE", "[fits][real]") {
  LUMEN_SHARED_FILE(file, "fits/saao1m_STE3_a8280271.fits");
  const auto items = read_all(file);
  REQUIRE(items.size() == 1);
  const auto& it = items[0];
  CHECK(it.id() == "saao1m_STE3_a8280271");
  const Array& img = it.array("image");
  CHECK(img.dtype() == DType::u16);
  CHECK(img.shape() == lumen::Shape{520, 536});
  CHECK(min_max<std::uint16_t>(img) == std::pair<double, double>{187, 1715});
  CHECK(it.meta.get_number("GAIN") == 1.9);
  CHECK(it.meta.get_number("RDNOISE") == 5.0);
  CHECK(it.meta.get_number("gain_e_per_adu") == 1.9);
  CHECK(it.meta.get_number("read_noise_e") == 5.0);
  CHECK(it.meta.get_number("EXPTIME") == 150.04);
  CHECK(it.meta.get_string("TELESCOP") == "SAAO 1.0m");
  CHECK(it.meta.get_string("INSTRUME") == "STE3 CCD");
  CHECK(it.meta.get_string("IMAGETYP") == "object");
  CHECK_THAT(*it.meta.get_string("DATE-OBS"), Catch::StartsWith("2013-07-13"));
  CHECK(it.meta.get_string("units") == "adu");
  CHECK(it.meta.get_string("domain") == "astronomy");
  CHECK(it.meta.get_int("index") == 0);
  CHECK_FALSE(it.meta.find("GAIN")->comment.empty()); // comments are kept
}

TEST_CASE("Gemini GMOS-N MEF: three SCI items with their own GAIN and RDNOISE", "[fits][real]") {
  LUMEN_SHARED_FILE(file, "fits/gemini_GMOS-N_multi_mef.fits");
  const auto items = read_all(file);
  REQUIRE(items.size() == 3);
  const double gain[] = {2.1, 2.337, 2.3}, rn[] = {3.5, 3.3, 3.0};
  for (int i = 0; i < 3; ++i) {
    INFO("SCI " << i + 1);
    const auto& it = items[static_cast<std::size_t>(i)];
    CHECK(it.id() == "gemini_GMOS-N_multi_mef/000" + std::to_string(i));
    CHECK(it.meta.get_int("index") == i);
    CHECK(it.meta.get_string("EXTNAME") == "SCI");
    CHECK(it.meta.get_int("EXTVER") == i + 1);
    CHECK(it.meta.get_int("fits_hdu") == i + 1);
    CHECK(it.array("image").dtype() == DType::u16);
    CHECK(it.array("image").shape() == lumen::Shape{288, 132});
    CHECK(it.meta.get_number("gain_e_per_adu") == gain[i]);
    CHECK(it.meta.get_number("read_noise_e") == rn[i]);
    CHECK(it.meta.get_string("CTYPE1") == "RA---TAN");
    // merged from the primary header
    CHECK(it.meta.get_string("OBJECT") == "NGC1068");
    CHECK(it.meta.get_number("EXPTIME") == Approx(60.0).margin(0.01));
    CHECK_THAT(*it.meta.get_string("FILTER1") + *it.meta.get_string("FILTER2"), Catch::Contains("g_G0301"));
  }
  const auto one = read_all(file, "SCI,2");
  REQUIRE(one.size() == 1);
  CHECK(one[0].id() == "gemini_GMOS-N_multi_mef");
  CHECK(one[0].meta.get_number("GAIN") == 2.337);
  CHECK(read_all(file, "3").at(0).meta.get_number("GAIN") == 2.3);
}

TEST_CASE("HST ACS FLT headers: two SCI items, CCDGAIN, READNSEA, SIP WCS, BUNIT ELECTRONS", "[fits][real]") {
  LUMEN_SHARED_FILE(file, "fits/hst_acs_wfc_j94f05bgq_flt_headers_1x1.fits");
  const auto items = read_all(file);
  REQUIRE(items.size() == 2);
  for (const auto& it : items) {
    CHECK(it.array("image").shape() == lumen::Shape{1, 1});
    CHECK(it.array("image").dtype() == DType::f32);
    CHECK(it.meta.get_int("CCDGAIN") == 1);
    CHECK(it.meta.get_number("READNSEA") == Approx(4.97));
    CHECK(it.meta.get_number("gain_e_per_adu") == 1.0);
    CHECK(it.meta.get_number("read_noise_e") > 4.0);
    CHECK(it.meta.get_string("units") == "electrons");
    CHECK(it.meta.get_string("CTYPE1") == "RA---TAN-SIP");
    CHECK(it.meta.has("A_ORDER"));
    CHECK(it.meta.has("B_0_2"));
    CHECK(it.meta.get_string("FILTER1").has_value());
    CHECK(it.meta.get_string("EXTNAME") == "SCI");
  }
  CHECK(items[1].meta.get_int("EXTVER") == 2);
  // ERR holds no data: the message says so and lists the HDUs.
  const std::string err = read_error(file, "ERR");
  CHECK_THAT(err, Catch::Contains(file.string()));
  CHECK_THAT(err, Catch::Contains("holds no image data"));
  CHECK_THAT(err, Catch::Contains("4 SCI,2 image 1x1"));
}

TEST_CASE("CTIO TPV frame and HST cutout: float32 images and their WCS", "[fits][real]") {
  {
    LUMEN_SHARED_FILE(file, "fits/ctio4m_mosaic2_tpv.fits");
    const auto items = read_all(file);
    REQUIRE(items.size() == 1);
    const Array& img = items[0].array("image");
    CHECK(img.dtype() == DType::f32);
    CHECK(img.shape() == lumen::Shape{512, 512});
    const auto [lo, hi] = min_max<float>(img);
    CHECK(lo == Approx(2170).margin(1));
    CHECK(hi == Approx(63922).margin(1));
    CHECK(items[0].meta.get_string("CTYPE1") == "RA---TPV");
    CHECK(items[0].meta.has("PV1_1"));
    CHECK(items[0].meta.get_string("DETECTOR") == "Mosaic2");
    CHECK(items[0].meta.get_number("EXPTIME") == 420.0);
    CHECK_FALSE(items[0].meta.has("gain_e_per_adu"));
  }
  {
    LUMEN_SHARED_FILE(file, "fits/hst_acs_wfc_F814W_cosmos_cutout_j8pu25fvq.fits");
    const auto items = read_all(file);
    REQUIRE(items.size() == 1);
    CHECK(items[0].array("image").shape() == lumen::Shape{543, 543});
    CHECK(items[0].meta.get_string("FILTER2") == "F814W");
    CHECK(items[0].meta.get_string("DETECTOR") == "WFC");
    CHECK(items[0].meta.get_number("EXPTIME") == 4056.0);
  }
}

TEST_CASE("M13 series: 1392x1040 u16 frames with HISTORY", "[fits][real]") {
  const std::pair<const char*, double> frames[] = {{"astro_series/M13_blue_0001.fits", 701},
                                                   {"astro_series/M13_blue_0002.fits", 1010},
                                                   {"astro_series/M13_blue_0003.fits", 697}};
  for (const auto& [rel, hi] : frames) {
    LUMEN_SHARED_FILE(file, rel);
    const auto items = read_all(file);
    REQUIRE(items.size() == 1);
    const Array& img = items[0].array("image");
    CHECK(img.dtype() == DType::u16);
    CHECK(img.shape() == lumen::Shape{1040, 1392});
    CHECK(min_max<std::uint16_t>(img) == std::pair<double, double>{0, hi});
    CHECK(items[0].meta.get_string("INSTRUME") == "Orion SSDSI");
    CHECK(items[0].meta.get_number("PEDESTAL") == -500);
    CHECK_THAT(*items[0].meta.get_string("HISTORY"), Catch::Contains("Calibrate"));
  }
}

TEST_CASE("real files survive fits.read -> fits.write -> fits.read with every card", "[fits][real][roundtrip]") {
  const char* files[] = {"fits/saao1m_STE3_a8280271.fits",
                         "fits/gemini_GMOS-N_multi_mef.fits",
                         "fits/hst_acs_wfc_j94f05bgq_flt_headers_1x1.fits",
                         "fits/ctio4m_mosaic2_tpv.fits",
                         "fits/hst_acs_wfc_F814W_cosmos_cutout_j8pu25fvq.fits",
                         "astro_series/M13_blue_0001.fits"};
  TempDir tmp("fits-real-rt");
  for (const char* rel : files) {
    LUMEN_SHARED_FILE(file, rel);
    for (const auto& item : read_all(file)) {
      INFO(item.id());
      const fs::path written = write_with_stage(item, tmp.path(), true);
      const auto back = read_all(written);
      REQUIRE(back.size() == 1);
      CHECK(same_pixels(item.array("image"), back[0].array("image")));
      for (const auto& e : item.meta.entries()) {
        if (is_structural_key(e.key) || e.key == "index" || e.key == "file_index" || e.key == "fits_hdu" ||
            e.key == "EXTNAME" || e.key == "EXTVER" || e.key == "BLANK")
          continue;
        INFO(e.key);
        const auto* b = back[0].meta.find(e.key);
        REQUIRE(b != nullptr);
        CHECK(b->value == e.value);
        const bool lumen_key = std::any_of(e.key.begin(), e.key.end(), [](char c) { return c >= 'a' && c <= 'z'; });
        if (e.key != "HISTORY" && e.key != "COMMENT" && !lumen_key) CHECK(b->comment == e.comment);
      }
      for (const char* k : {"GAIN", "RDNOISE", "CCDGAIN", "READNSEA", "EXPTIME", "INSTRUME", "DETECTOR", "FILTER1",
                            "FILTER2", "DATE-OBS", "CTYPE1", "CRVAL1", "CD1_1", "A_ORDER", "PV1_1"})
        CHECK(item.meta.has(k) == back[0].meta.has(k));
      CHECK(back[0].meta.get_string("CHECKSUM").has_value());
      if (const auto v = fitsverify_errors(written)) CHECK(*v == "");
    }
  }
}

TEST_CASE("astropy reads what fits.write wrote", "[fits][python]") {
  if (!python_has("astropy") || !python_has("numpy")) {
    WARN("SKIPPED: /usr/bin/python3 with astropy and numpy is not available");
    return;
  }
  TempDir tmp("fits-astropy");
  const Array a = random_array<std::uint16_t>(lumen::Shape{2, 30, 40}, 5);
  lumen::Item item("cube");
  item.set("image", a);
  item.meta.set("OBJECT", "M 13", "target");
  item.meta.set("EXPTIME", 5.0, "seconds");
  const fs::path file = write_with_stage(item, tmp.path(), true);
  std::uint64_t sum = 0;
  for (std::uint16_t v : a.view<std::uint16_t>()) sum += v;
  const std::string got = run_python("from astropy.io import fits; h=fits.open('" + file.string() +
                                     "', checksum=True); d=h[0].data; "
                                     "print(d.dtype.name, d.shape, int(d.astype('u8').sum()), h[0].header['OBJECT'], "
                                     "h[0].header['EXPTIME'])");
  CHECK(got == "uint16 (2, 30, 40) " + std::to_string(sum) + " M 13 5.0");
}

// ---- bad input -----------------------------------------------------------------------------------

TEST_CASE("truncated and corrupted real files fail with the file named, never crash", "[fits][bad]") {
  TempDir tmp("fits-bad");
  for (const char* rel : {"fits/saao1m_STE3_a8280271.fits", "fits/gemini_GMOS-N_multi_mef.fits"}) {
    LUMEN_SHARED_FILE(file, rel);
    for (const auto& bad : lumen::test::corrupt_variants(file, tmp.path(), 2880 * 2, 64)) {
      INFO(bad.what);
      std::string message;
      try {
        const auto items = read_all(bad.path);
        for (const auto& it : items) CHECK(it.array("image").size() > 0);
      } catch (const lumen::InputError& e) {
        message = e.what();
      }
      if (bad.truncated) REQUIRE_FALSE(message.empty());
      if (!message.empty()) CHECK_THAT(message, Catch::Contains(bad.path.string()));
    }
  }
}

TEST_CASE("data beyond the end of the file is refused before allocation", "[fits][bad]") {
  TempDir tmp("fits-big");
  const fs::path file = tmp.path() / "huge.fits";
  hand_made(file,
            {kv("SIMPLE", "T"), kv("BITPIX", "-32"), kv("NAXIS", "2"), kv("NAXIS1", "100000"), kv("NAXIS2", "100000")},
            2880, false);
  const std::string err = read_error(file);
  CHECK_THAT(err, Catch::Contains(file.string()));
  CHECK_THAT(err, Catch::Contains("truncated FITS file"));
  CHECK_THAT(err, Catch::Contains("40000000000 data bytes"));
}

// ---- direct reads (pread + byte swap) against CFITSIO ---------------------------------------------

namespace {

// A FITS file by hand whose data unit is `data` (big-endian bytes as stored), padded to 2880.
void hand_made_data(const fs::path& file, const std::vector<std::string>& cards, const std::string& data,
                    std::size_t keep = std::string::npos) {
  std::string h;
  for (auto card : cards) {
    card.resize(80, ' ');
    h += card;
  }
  std::string end = "END";
  end.resize(80, ' ');
  h += end;
  h.resize((h.size() + 2879) / 2880 * 2880, ' ');
  std::string d = data;
  d.resize((d.size() + 2879) / 2880 * 2880, '\0');
  std::string all = h + d;
  if (keep != std::string::npos) all.resize(keep);
  std::ofstream(file, std::ios::binary) << all;
}

bool same_bits(const Array& a, const Array& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

} // namespace

TEST_CASE("direct reads give CFITSIO's values bit for bit, every BITPIX, with and without BZERO/BSCALE",
          "[fits][direct]") {
  TempDir tmp("fits-direct");
  // Random bytes: for float data that includes NaNs, infinities, denormals and negative zeros.
  std::mt19937_64 rng(5);
  const auto random_bytes = [&](std::size_t n) {
    std::string d(n, '\0');
    for (char& c : d) c = static_cast<char>(rng() & 0xff);
    return d;
  };
  struct Case {
    int bitpix;
    std::vector<std::string> scaling;
    DType dtype;
    bool direct;
  };
  const std::vector<Case> cases = {
      {8, {}, DType::u8, true},
      {8, {kv("BZERO", "-128")}, DType::i16, false}, // signed bytes: CFITSIO converts
      {16, {}, DType::i16, true},
      {16, {kv("BSCALE", "1"), kv("BZERO", "32768")}, DType::u16, true},
      {16, {kv("BSCALE", "2.5"), kv("BZERO", "10")}, DType::f32, false},
      {32, {}, DType::i32, true},
      {32, {kv("BZERO", "2147483648")}, DType::u32, true},
      {-32, {}, DType::f32, true},
      {-32, {kv("BSCALE", "1.5"), kv("BZERO", "-3.25")}, DType::f32, true},
      {-64, {}, DType::f64, true},
      {-64, {kv("BSCALE", "0.5"), kv("BZERO", "100")}, DType::f64, true},
  };
  lumen::ThreadPool pool(1); // two parts: the caller and one worker
  for (const auto& c : cases) {
    INFO("BITPIX " << c.bitpix << (c.scaling.empty() ? "" : " scaled"));
    // About 9 MB of data: big enough to be read in two parts of several 1 MiB pieces, with an
    // odd width so that no part or piece boundary falls on a row.
    const std::int64_t w = 1501, h = (9 << 20) / (w * std::abs(c.bitpix) / 8);
    std::vector<std::string> cards = {kv("SIMPLE", "T"), kv("BITPIX", std::to_string(c.bitpix)), kv("NAXIS", "2"),
                                      kv("NAXIS1", std::to_string(w)), kv("NAXIS2", std::to_string(h))};
    cards.insert(cards.end(), c.scaling.begin(), c.scaling.end());
    const fs::path file =
        tmp.path() / ("bitpix" + std::to_string(c.bitpix) + "_" + std::to_string(cards.size()) + ".fits");
    hand_made_data(file, cards, random_bytes(static_cast<std::size_t>(w * h * std::abs(c.bitpix) / 8)));
    FitsFile f(file);
    CHECK(f.reads_directly(0) == c.direct);
    const Array cfitsio = f.pixels(0, nullptr, false);
    const Array one = f.pixels(0);
    const Array two = f.pixels(0, &pool);
    CHECK(cfitsio.dtype() == c.dtype);
    CHECK(cfitsio.shape() == lumen::Shape{h, w});
    CHECK(same_bits(one, cfitsio));
    CHECK(same_bits(two, cfitsio));
  }
}

TEST_CASE("direct reads: a data unit cut short is refused with the file named", "[fits][direct][bad]") {
  TempDir tmp("fits-direct-bad");
  const std::int64_t w = 1024, h = 1024;
  const std::vector<std::string> cards = {kv("SIMPLE", "T"), kv("BITPIX", "-32"), kv("NAXIS", "2"),
                                          kv("NAXIS1", std::to_string(w)), kv("NAXIS2", std::to_string(h))};
  const fs::path whole = tmp.path() / "whole.fits", cut = tmp.path() / "cut.fits", padless = tmp.path() / "pad.fits";
  const std::string data(static_cast<std::size_t>(w * h * 4), '\x3f');
  hand_made_data(whole, cards, data);
  hand_made_data(cut, cards, data, 2880 + data.size() / 2);
  hand_made_data(padless, cards, data, 2880 + data.size()); // pixels complete, padding missing
  FitsFile ok(whole);
  REQUIRE(ok.reads_directly(0));
  CHECK(ok.pixels(0).view<float>().at(5, 7) == Approx(0.7470588088)); // 0x3f3f3f3f
  for (const fs::path& bad : {cut, padless}) {
    const std::string err = read_error(bad);
    CHECK_THAT(err, Catch::Contains(bad.string()));
    CHECK_THAT(err, Catch::Contains("truncated FITS file"));
  }
}

TEST_CASE("tile-compressed images read as the image they hold, with the image's header", "[fits][compressed]") {
  TempDir tmp("fits-tiles");
  const fs::path file = tmp.path() / "rice.fits";
  const Array image = random_array<std::int16_t>(lumen::Shape{300, 200}, 9);
  {
    fitsfile* f = nullptr;
    int status = 0;
    long naxes[2] = {200, 300};
    double gain = 1.5;
    fits_create_file(&f, ("!" + file.string()).c_str(), &status);
    fits_create_img(f, SHORT_IMG, 0, nullptr, &status); // an empty primary HDU
    fits_set_compression_type(f, RICE_1, &status);
    fits_create_img(f, SHORT_IMG, 2, naxes, &status);
    fits_write_key(f, TDOUBLE, "GAIN", &gain, "e-/ADU", &status);
    fits_write_img(f, TSHORT, 1, image.size(), const_cast<void*>(image.raw()), &status);
    fits_close_file(f, &status);
    REQUIRE(status == 0);
  }
  const auto items = read_all(file);
  REQUIRE(items.size() == 1);
  CHECK(same_pixels(items[0].array("image"), image));
  const Meta& m = items[0].meta;
  CHECK(m.get_int("NAXIS1") == 200);
  CHECK(m.get_int("NAXIS2") == 300);
  CHECK(m.get_int("BITPIX") == 16);
  CHECK(m.get_string("XTENSION").value_or("") == "IMAGE");
  CHECK(m.get_number("GAIN") == 1.5);
  CHECK(m.get_string("fits_compression") == "RICE_1");
  for (const char* table_key : {"ZIMAGE", "ZBITPIX", "TFIELDS", "TTYPE1", "TFORM1", "ZTILE1", "ZCMPTYPE", "EXTNAME"})
    CHECK_FALSE(m.has(table_key));

  // A compressed HDU that claims a far larger image than its bytes could hold is refused.
  auto bytes = lumen::test::read_bytes(file);
  std::string text(bytes.begin(), bytes.end());
  const auto at = text.find("ZNAXIS1 =");
  REQUIRE(at != std::string::npos);
  const std::string huge = "ZNAXIS1 =            100000000";
  std::copy(huge.begin(), huge.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
  const fs::path liar = tmp.path() / "liar.fits";
  lumen::test::write_bytes(liar, bytes);
  const std::string err = read_error(liar);
  CHECK_THAT(err, Catch::Contains(liar.string()));
  CHECK_THAT(err, Catch::Contains("claims") || Catch::Contains("corrupt"));
}

TEST_CASE("not FITS, empty, zero dims and missing HDUs give clear messages", "[fits][bad]") {
  TempDir tmp("fits-msg");
  const fs::path text = tmp.path() / "notes.fits";
  std::ofstream(text) << std::string(4000, 'a');
  CHECK_THAT(read_error(text), Catch::Contains(text.string()) && Catch::Contains("not a readable FITS file"));

  const fs::path empty = tmp.path() / "empty.fits";
  std::ofstream(empty).close();
  CHECK_THAT(read_error(empty), Catch::Contains(empty.string()) && Catch::Contains("0 bytes"));

  const fs::path zero = tmp.path() / "zero.fits";
  hand_made(zero, {kv("SIMPLE", "T"), kv("BITPIX", "16"), kv("NAXIS", "2"), kv("NAXIS1", "0"), kv("NAXIS2", "10")}, 0);
  CHECK_THAT(read_error(zero), Catch::Contains(zero.string()) && Catch::Contains("no HDU holds image data") &&
                                   Catch::Contains("0 PRIMARY (no data)"));

  const fs::path good = tmp.path() / "good.fits";
  (void)write_fits(good, random_array<float>(lumen::Shape{4, 4}, 2), Meta{});
  const std::string missing = read_error(good, "5");
  CHECK_THAT(missing, Catch::Contains("HDU 5 does not exist") && Catch::Contains("0 PRIMARY image 4x4 BITPIX -32"));
  CHECK_THAT(read_error(good, "SCI"), Catch::Contains("no HDU with EXTNAME SCI"));
}

TEST_CASE("fits.write is atomic and reports keys it cannot write once", "[fits][write]") {
  TempDir tmp("fits-write");
  lumen::Item item("frame");
  item.set("image", random_array<float>(lumen::Shape{8, 8}, 3));
  item.meta.set("BADLIST", std::vector<double>{1, 2});
  lumen::testing::Context log_ctx(tmp.path());
  const fs::path out = write_with_stage(item, tmp.path(), false, &log_ctx);
  CHECK(out == tmp.path() / "frame.fits");
  CHECK(fs::exists(out));
  REQUIRE(log_ctx.logged.size() == 1);
  CHECK_THAT(log_ctx.logged[0].second, Catch::Contains("BADLIST"));
  for (const auto& e : fs::directory_iterator(tmp.path())) CHECK(e.path().extension() != ".lumen-tmp");

  // A 5-D array is refused without leaving a file behind.
  lumen::Item empty("none");
  empty.set("image", Array(DType::u8, lumen::Shape{0, 4}));
  FitsWrite writer;
  lumen::testing::Context ctx(tmp.path() / "sub");
  writer.attach(ctx);
  lumen::testing::Collect sink;
  CHECK_THROWS_WITH(writer.process(empty, sink), Catch::Contains("item 'none'") && Catch::Contains("empty image"));
  CHECK_FALSE(fs::exists(tmp.path() / "sub" / "none.fits"));
}
