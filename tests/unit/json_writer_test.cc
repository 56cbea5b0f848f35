// base/util/json_writer.h: kvmm's one JSON emitter. Its output is read back
// with nlohmann::json, the library the tests use to read kvmm's JSON.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "base/util/error.h"
#include "base/util/json_writer.h"

using namespace kvmm;

TEST_CASE("the JSON writer nests, separates and escapes") {
  JsonWriter json;
  json.begin_object();
  json.member("name", "a \"quoted\"\n\\ line\x01");
  json.member("count", uint64_t{3});
  json.member("delta", int64_t{-4});
  json.member("ratio", 2.5);
  json.member("whole", 2300000.0);
  json.member("flag", true);
  json.member_null("nothing");
  json.key("list").begin_array().value(uint64_t{1}).value("x").end_array();
  json.key("empty").begin_object().end_object();
  json.end_object();
  const std::string text = json.finish();
  CHECK(text ==
        "{\n"
        "  \"name\": \"a \\\"quoted\\\"\\n\\\\ line\\u0001\",\n"
        "  \"count\": 3,\n"
        "  \"delta\": -4,\n"
        "  \"ratio\": 2.5,\n"
        "  \"whole\": 2300000,\n"
        "  \"flag\": true,\n"
        "  \"nothing\": null,\n"
        "  \"list\": [\n"
        "    1,\n"
        "    \"x\"\n"
        "  ],\n"
        "  \"empty\": {}\n"
        "}\n");
}

TEST_CASE("the JSON writer refuses unbalanced documents") {
  JsonWriter open;
  open.begin_object();
  CHECK_THROWS_AS(open.finish(), Error);
  JsonWriter keyless;
  keyless.begin_object();
  CHECK_THROWS_AS(keyless.value(uint64_t{1}), Error);
  JsonWriter wrong;
  wrong.begin_array();
  CHECK_THROWS_AS(wrong.end_object(), Error);
}

TEST_CASE("inline JSON containers stay on one line, with everything in them") {
  JsonWriter json;
  json.begin_object();
  json.key("summary").begin_object(JsonWriter::Layout::kInline);
  json.member("count", uint64_t{3});
  json.member("mean", 2.5);
  json.key("pin").begin_array().value(uint64_t{0}).value(uint64_t{1}).end_array();
  json.key("none").begin_array().end_array();
  json.end_object();
  json.key("rows").begin_array();
  json.begin_object(JsonWriter::Layout::kInline).member("vcpu", uint64_t{0}).end_object();
  json.begin_object(JsonWriter::Layout::kInline).member("vcpu", uint64_t{1}).end_object();
  json.end_array();
  json.end_object();
  CHECK(json.finish() ==
        "{\n"
        "  \"summary\": {\"count\": 3, \"mean\": 2.5, \"pin\": [0, 1], \"none\": []},\n"
        "  \"rows\": [\n"
        "    {\"vcpu\": 0},\n"
        "    {\"vcpu\": 1}\n"
        "  ]\n"
        "}\n");
}

TEST_CASE("JSON numbers are fixed-point with at most three decimals") {
  JsonWriter json;
  json.begin_array(JsonWriter::Layout::kInline);
  json.value(0.1 + 0.2).value(-0.0001).value(1e15).value(std::numeric_limits<double>::infinity());
  json.value(int32_t{-7});
  json.value(JsonWriter::Fixed{0.75, 3});
  json.end_array();
  CHECK(json.finish() == "[0.3, 0, 1000000000000000, null, -7, 0.750]\n");
}

TEST_CASE("what the JSON writer emits parses back to the same values") {
  JsonWriter json;
  json.begin_object();
  json.member("text", "tab\there \"q\" \\ \x1f end");
  json.member("count", uint64_t{18446744073709551615u});
  json.member("ratio", 0.125);
  json.key("list").begin_array(JsonWriter::Layout::kInline).value(true).null().end_array();
  json.end_object();
  const nlohmann::json parsed = nlohmann::json::parse(json.finish());
  CHECK(parsed.at("text") == "tab\there \"q\" \\ \x1f end");
  CHECK(parsed.at("count").get<uint64_t>() == 18446744073709551615u);
  CHECK(parsed.at("ratio").get<double>() == 0.125);
  CHECK(parsed.at("list") == nlohmann::json::array({true, nullptr}));
}
