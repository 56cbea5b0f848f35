#include "vmm/console/escape_parser.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using kvmm::EscapeParser;
using kvmm::EscapeResult;

namespace {

EscapeResult feed(EscapeParser& parser, std::string_view text) {
  return parser.feed(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace

TEST_CASE("Escape parser passes ordinary input through unchanged") {
  EscapeParser parser;
  const std::string input("ls -l\r\x03\x1b[A\x7f", 11);
  const EscapeResult result = feed(parser, input);
  CHECK(result.to_guest == input);
  CHECK_FALSE(result.quit);
  CHECK_FALSE(result.help);
}

TEST_CASE("Escape parser quits on Ctrl-A x and drops what follows it") {
  EscapeParser parser;
  const EscapeResult result = feed(parser, "ab\x01xcd");
  CHECK(result.to_guest == "ab");
  CHECK(result.quit);
}

TEST_CASE("Escape parser turns Ctrl-A Ctrl-A into one Ctrl-A for the guest") {
  EscapeParser parser;
  const EscapeResult result = feed(parser, "a\x01\x01" "b");
  CHECK(result.to_guest == "a\x01" "b");
  CHECK_FALSE(result.quit);
}

TEST_CASE("Escape parser swallows unknown commands, escape and byte both") {
  EscapeParser parser;
  const EscapeResult result = feed(parser, "a\x01zb\x01X");
  CHECK(result.to_guest == "ab");
  CHECK_FALSE(result.quit);  // Only lower-case x quits, as in QEMU.
}

TEST_CASE("Escape parser keeps an escape split across reads") {
  EscapeParser parser;
  EscapeResult first = feed(parser, "abc\x01");
  CHECK(first.to_guest == "abc");
  CHECK_FALSE(first.quit);
  EscapeResult second = feed(parser, "x");
  CHECK(second.to_guest.empty());
  CHECK(second.quit);

  EscapeParser other;
  CHECK(feed(other, "\x01").to_guest.empty());
  CHECK(feed(other, "\x01").to_guest == "\x01");
  CHECK(feed(other, "x").to_guest == "x");  // The pair was complete: x is data.
}

TEST_CASE("Escape parser reports a help request and shows raw-mode line ends") {
  EscapeParser parser;
  EscapeResult result = feed(parser, "\x01h");
  CHECK(result.help);
  CHECK(result.to_guest.empty());
  CHECK(feed(parser, "\x01?").help);
  CHECK_FALSE(feed(parser, "h").help);
  const std::string_view help = EscapeParser::help_text();
  CHECK(help.find("Ctrl-A x") != std::string_view::npos);
  CHECK(help.find("\r\n") != std::string_view::npos);
}

TEST_CASE("Escape parser handles empty input without changing state") {
  EscapeParser parser;
  CHECK(feed(parser, "\x01").to_guest.empty());
  CHECK(feed(parser, "").to_guest.empty());
  CHECK(feed(parser, "x").quit);
}
