#include "lumen/stage.hpp"

#include <catch2/catch.hpp>

namespace {
struct Demo final : lumen::Transform {
  lumen::Param<double> gain{this, "gain", 1.0, "conversion gain", lumen::Min{0.0}, lumen::Max{100.0}};
  lumen::Param<int> level{this, "level", 1, "compression level", lumen::Min{0}, lumen::Max{9}};
  lumen::Param<std::string> mode{this, "mode", std::string("fast"), "mode", lumen::OneOf{{"fast", "best"}}};
  lumen::Param<std::vector<std::int64_t>> roi{this,         "roi", lumen::Required{}, "ROI size", lumen::Length{2, 2},
                                              lumen::Min{1}};
  void process(lumen::Item&, lumen::Emit&) override {}
};
} // namespace

TEST_CASE("Params register in declaration order with their specs", "[params]") {
  Demo d;
  REQUIRE(d.params().size() == 4);
  REQUIRE(d.params()[0]->spec().name == "gain");
  REQUIRE(d.params()[3]->spec().required());
  REQUIRE(*d.gain == 1.0);
  REQUIRE(d.params()[1]->spec().type == lumen::ParamType::integer);
}

TEST_CASE("ParamSpec::check enforces type, range, choices and length", "[params]") {
  Demo d;
  const auto& gain = d.params()[0]->spec();
  REQUIRE(gain.check(lumen::ParamValue{2.5}).empty());
  REQUIRE(gain.check(lumen::ParamValue{-1.0}) == "-1 is below the minimum 0");
  REQUIRE(gain.check(lumen::ParamValue{std::string("x")}) == "expected a value of type number");
  const auto& level = d.params()[1]->spec();
  REQUIRE(level.check(lumen::ParamValue{std::int64_t{12}}) == "12 is above the maximum 9");
  const auto& mode = d.params()[2]->spec();
  REQUIRE(mode.check(lumen::ParamValue{std::string("slow")}) == "\"slow\" is not one of: fast, best");
  const auto& roi = d.params()[3]->spec();
  REQUIRE(roi.check(lumen::ParamValue{std::vector<std::int64_t>{1}}) == "expected exactly 2 elements, got 1");
  REQUIRE(roi.check(lumen::ParamValue{std::vector<std::int64_t>{256, 0}}) == "element 0 is below the minimum 1");
  REQUIRE(roi.check(lumen::ParamValue{std::vector<std::int64_t>{256, 256}}).empty());
}

TEST_CASE("Param<int> rejects values outside the int range instead of truncating", "[params]") {
  struct Wide final : lumen::Transform {
    lumen::Param<int> width{this, "width", 512, "width"};
    lumen::Param<int> small{this, "small", 1, "small", lumen::Min{0}, lumen::Max{9}};
    void process(lumen::Item&, lumen::Emit&) override {}
  } w;
  const auto& spec = w.params()[0]->spec();
  REQUIRE(spec.check(lumen::ParamValue{std::int64_t{5000000000}}) == "5000000000 is above the maximum 2147483647");
  REQUIRE(spec.check(lumen::ParamValue{std::int64_t{-5}}).empty());
  REQUIRE(*w.params()[1]->spec().max == 9.0); // a narrower range stays
}

TEST_CASE("Param assign and value text", "[params]") {
  Demo d;
  d.params()[0]->assign(lumen::ParamValue{3.25});
  REQUIRE(*d.gain == 3.25);
  REQUIRE(d.params()[0]->is_set());
  d.params()[1]->assign(lumen::ParamValue{std::int64_t{7}});
  REQUIRE(*d.level == 7);
  REQUIRE(lumen::param_value_text(lumen::ParamValue{0.1}) == "0.1");
  REQUIRE(lumen::param_value_text(lumen::ParamValue{std::vector<std::string>{"a", "b\"c"}}) == R"(["a", "b\"c"])");
  REQUIRE(lumen::param_value_text(lumen::ParamValue{std::vector<double>{1, 2.5}}) == "[1, 2.5]");
}
