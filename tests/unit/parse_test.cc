// The shared integer parser and list splitter (base/util/parse.h).
#include "base/util/parse.h"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace kvmm;

TEST_CASE("parse_integer takes whole decimal numbers") {
  CHECK(parse_integer<uint32_t>("0") == 0u);
  CHECK(parse_integer<uint32_t>("4096") == 4096u);
  CHECK(parse_integer<uint64_t>("18446744073709551615") == UINT64_MAX);
  CHECK(parse_integer<int>("-7") == -7);  // A signed type takes a minus sign.
}

TEST_CASE("parse_integer refuses empty text, signs, spaces and trailing junk") {
  CHECK_FALSE(parse_integer<uint32_t>(""));
  CHECK_FALSE(parse_integer<uint32_t>("-1"));  // No sign on an unsigned type...
  CHECK_FALSE(parse_integer<uint32_t>("+1"));  // ...and never a plus.
  CHECK_FALSE(parse_integer<int>("+1"));
  CHECK_FALSE(parse_integer<uint32_t>(" 1"));
  CHECK_FALSE(parse_integer<uint32_t>("1 "));
  CHECK_FALSE(parse_integer<uint32_t>("12x"));
  CHECK_FALSE(parse_integer<uint32_t>("1.5"));
  CHECK_FALSE(parse_integer<uint32_t>("0x10"));
}

TEST_CASE("parse_integer refuses values that overflow the type") {
  CHECK(parse_integer<uint8_t>("255") == 255);
  CHECK_FALSE(parse_integer<uint8_t>("256"));
  CHECK(parse_integer<uint32_t>("4294967295") == UINT32_MAX);
  CHECK_FALSE(parse_integer<uint32_t>("4294967296"));
  CHECK_FALSE(parse_integer<uint64_t>("18446744073709551616"));
  CHECK_FALSE(parse_integer<uint64_t>("99999999999999999999999999"));
  CHECK_FALSE(parse_integer<int>("-2147483649"));
}

TEST_CASE("parse_integer reads hex without a prefix") {
  CHECK(parse_integer<uint8_t>("ff", 16) == 0xff);
  CHECK(parse_integer<uint8_t>("AB", 16) == 0xab);
  CHECK_FALSE(parse_integer<uint8_t>("100", 16));
  CHECK_FALSE(parse_integer<uint8_t>("0xf", 16));
  CHECK_FALSE(parse_integer<uint8_t>("g0", 16));
}

TEST_CASE("leading_digits stops at the first non-digit") {
  CHECK(leading_digits("123 45") == "123");
  CHECK(leading_digits("64M") == "64");
  CHECK(leading_digits("M") == "");
  CHECK(leading_digits("") == "");
}

TEST_CASE("split keeps every field, empty ones too") {
  using List = std::vector<std::string_view>;
  CHECK(split("a,b,c", ',') == List{"a", "b", "c"});
  CHECK(split("", ',') == List{""});
  CHECK(split("a,,b,", ',') == List{"a", "", "b", ""});
  CHECK(split("52:54:00", ':') == List{"52", "54", "00"});
}

TEST_CASE("split_key_values splits each field at its first '='") {
  const std::vector<KeyValue> fields = split_key_values("disk.img,ro,serial=a=b,cache=");
  REQUIRE(fields.size() == 4);
  CHECK(fields[0].key == "disk.img");
  CHECK_FALSE(fields[0].value);
  CHECK(fields[1].field == "ro");
  CHECK_FALSE(fields[1].value);
  CHECK(fields[2].key == "serial");
  CHECK(fields[2].value == "a=b");
  CHECK(fields[2].field == "serial=a=b");
  CHECK(fields[3].key == "cache");
  CHECK(fields[3].value == "");  // "key=" has an empty value, not none.
  CHECK(split_key_values("").size() == 1);
}
