// The device side of the split virtqueue against a fake driver: good chains,
// then every malformed ring and chain a hostile guest can build (virtio 1.2
// §2.7), then notification suppression and 16-bit index wrap-around.
#include "devices/virtio/virtqueue.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "tests/support/virtio_driver.h"

using Catch::Matchers::Contains;
using kvmm::GuestAddress;
using kvmm::GuestMemory;
using kvmm::Virtqueue;
using kvmm::testing::Access;
using kvmm::testing::FakeDriver;
using kvmm::testing::kDescIndirect;
using kvmm::testing::kDescNext;
using kvmm::testing::kDescWrite;
using kvmm::testing::RawDescriptor;
using PopStatus = Virtqueue::PopStatus;

namespace {

constexpr uint64_t kRamBytes = 1 << 20;
constexpr GuestAddress kRingBase{0x1000};
constexpr bool kIndirect = true;
constexpr bool kEventIdx = true;

GuestMemory ram() {
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, kRamBytes);
  return memory;
}

// A queue of `size` set up by `driver` and activated with the given features.
struct Setup {
  GuestMemory memory = ram();
  FakeDriver driver;
  Virtqueue queue;
  explicit Setup(uint16_t size = 8, bool indirect = kIndirect, bool event_idx = false)
      : driver(memory, size, kRingBase), queue(size) {
    driver.configure(queue);
    REQUIRE_FALSE(queue.validate(memory).has_value());
    queue.activate(memory, indirect, event_idx);
  }
  // Pops one chain that must be malformed, returns why, and checks the
  // device can hand it back with length 0.
  std::string pop_bad(uint16_t expected_head) {
    Virtqueue::PopResult result = queue.pop();
    REQUIRE(result.status == PopStatus::kBadChain);
    CHECK(result.chain.head == expected_head);
    CHECK(result.chain.readable.empty());
    CHECK(result.chain.writable.empty());
    CHECK(queue.add_used(result.chain.head, 0));
    auto used = driver.next_used();
    REQUIRE(used.has_value());
    CHECK(used->id == expected_head);
    CHECK(used->len == 0);
    CHECK_FALSE(queue.broken());
    return result.error;
  }
  // One raw descriptor as a whole chain, published.
  std::string pop_bad_single(const RawDescriptor& descriptor) {
    driver.write_descriptor(0, descriptor);
    driver.make_available(0);
    driver.publish();
    return pop_bad(0);
  }
};

}  // namespace

TEST_CASE("Virtqueue pops a readable then writable chain and returns it used") {
  Setup s;
  CHECK(s.queue.pop().status == PopStatus::kEmpty);
  const GuestAddress header = s.driver.allocate(16);
  const GuestAddress data = s.driver.allocate(512);
  const GuestAddress status = s.driver.allocate(1);
  const uint16_t head = s.driver.add_chain({{header, 16, Access::kReadable},
                                            {data, 512, Access::kWritable},
                                            {status, 1, Access::kWritable}});
  // Not visible until published.
  CHECK(s.queue.pop().status == PopStatus::kEmpty);
  s.driver.publish();

  Virtqueue::PopResult result = s.queue.pop();
  REQUIRE(result.status == PopStatus::kChain);
  CHECK(result.chain.head == head);
  REQUIRE(result.chain.readable.size() == 1);
  REQUIRE(result.chain.writable.size() == 2);
  CHECK(result.chain.readable[0].gpa == header);
  CHECK(result.chain.readable[0].host.data() == s.memory.slice(header, 16)->data());
  CHECK(result.chain.readable[0].host.size() == 16);
  CHECK(result.chain.writable[0].gpa == data);
  CHECK(result.chain.writable[1].gpa == status);
  CHECK(result.chain.readable_bytes == 16);
  CHECK(result.chain.writable_bytes == 513);
  CHECK(s.queue.pop().status == PopStatus::kEmpty);

  result.chain.writable[1].host[0] = 0x5a;
  REQUIRE(s.queue.add_used(head, 513));
  CHECK(s.driver.used_idx() == 1);
  auto used = s.driver.next_used();
  REQUIRE(used.has_value());
  CHECK(used->id == head);
  CHECK(used->len == 513);
  CHECK(s.driver.read(status, 1)[0] == 0x5a);
  CHECK_FALSE(s.driver.next_used().has_value());
}

TEST_CASE("Virtqueue pops an indirect chain and direct descriptors ending in an indirect one") {
  Setup s;
  const GuestAddress in = s.driver.allocate(64);
  const GuestAddress out = s.driver.allocate(64);
  const uint16_t head =
      s.driver.add_indirect_chain({{in, 64, Access::kReadable}, {out, 64, Access::kWritable}});
  s.driver.publish();
  Virtqueue::PopResult result = s.queue.pop();
  REQUIRE(result.status == PopStatus::kChain);
  CHECK(result.chain.head == head);
  REQUIRE(result.chain.readable.size() == 1);
  REQUIRE(result.chain.writable.size() == 1);
  CHECK(result.chain.readable[0].gpa == in);
  CHECK(result.chain.writable[0].gpa == out);

  // §2.7.5.3.2: zero or more direct descriptors, then one indirect.
  const GuestAddress table = s.driver.allocate(32);
  s.driver.write_descriptor_at(table, RawDescriptor{out.value, 8, kDescWrite, 0});
  s.driver.write_descriptor(3, RawDescriptor{in.value, 4, kDescNext, 4});
  // The WRITE flag on the descriptor naming the table is ignored (§2.7.5.3.2).
  s.driver.write_descriptor(4, RawDescriptor{table.value, 16, kDescIndirect | kDescWrite, 0});
  s.driver.make_available(3);
  s.driver.publish();
  result = s.queue.pop();
  REQUIRE(result.status == PopStatus::kChain);
  CHECK(result.chain.readable_bytes == 4);
  CHECK(result.chain.writable_bytes == 8);
}

TEST_CASE("Virtqueue accepts a chain as long as the queue and an exactly full ring") {
  Setup s(4);
  const GuestAddress buffer = s.driver.allocate(4);
  s.driver.add_chain({{buffer, 1}, {buffer, 1}, {buffer, 1}, {buffer, 1, Access::kWritable}});
  s.driver.publish();
  Virtqueue::PopResult result = s.queue.pop();
  REQUIRE(result.status == PopStatus::kChain);
  CHECK(result.chain.readable.size() == 3);
  REQUIRE(s.queue.add_used(result.chain.head, 0));
  REQUIRE(s.driver.next_used().has_value());

  for (int i = 0; i < 4; ++i) s.driver.add_chain({{buffer, 1}});
  s.driver.publish();  // avail.idx is exactly a queue ahead.
  for (int i = 0; i < 4; ++i) CHECK(s.queue.pop().status == PopStatus::kChain);
  CHECK(s.queue.pop().status == PopStatus::kEmpty);
}

TEST_CASE("Virtqueue skips zero-length descriptors without looking at their address") {
  Setup s;
  const GuestAddress buffer = s.driver.allocate(16);
  s.driver.add_chain({{buffer, 16},
                      {GuestAddress{0xdead0000000}, 0},
                      {GuestAddress{~0ull}, 0, Access::kWritable},
                      {buffer, 1, Access::kWritable}});
  s.driver.publish();
  Virtqueue::PopResult result = s.queue.pop();
  REQUIRE(result.status == PopStatus::kChain);
  CHECK(result.chain.readable.size() == 1);
  CHECK(result.chain.writable.size() == 1);
  CHECK(result.chain.readable_bytes == 16);
  CHECK(result.chain.writable_bytes == 1);
}

TEST_CASE("Virtqueue validate refuses bad queue sizes") {
  GuestMemory memory = ram();
  FakeDriver driver(memory, 8, kRingBase);
  Virtqueue queue(8);
  driver.configure(queue);
  for (uint16_t size : {0, 3, 6, 7, 12}) {
    queue.config().size = size;
    auto why = queue.validate(memory);
    REQUIRE(why.has_value());
    CHECK_THAT(*why, Contains("not a power of two"));
  }
  queue.config().size = 16;
  auto why = queue.validate(memory);
  REQUIRE(why.has_value());
  CHECK_THAT(*why, Contains("exceeds the maximum 8"));
  queue.config().size = 4;  // Smaller than the maximum is fine.
  CHECK_FALSE(queue.validate(memory).has_value());
}

TEST_CASE("Virtqueue validate refuses misaligned rings") {
  GuestMemory memory = ram();
  FakeDriver driver(memory, 8, kRingBase);
  Virtqueue queue(8);
  driver.configure(queue);
  queue.config().desc_table += 8;
  CHECK_THAT(queue.validate(memory).value_or(""),
             Contains("descriptor table at 0x1008 is not 16-byte aligned"));
  driver.configure(queue);
  queue.config().avail_ring += 1;
  CHECK_THAT(queue.validate(memory).value_or(""), Contains("available ring at"));
  driver.configure(queue);
  queue.config().used_ring += 2;
  CHECK_THAT(queue.validate(memory).value_or(""), Contains("used ring at"));
  CHECK_THAT(queue.validate(memory).value_or(""), Contains("4-byte aligned"));
}

TEST_CASE("Virtqueue validate refuses rings not wholly inside guest memory") {
  GuestMemory memory = ram();
  FakeDriver driver(memory, 8, kRingBase);
  Virtqueue queue(8);
  driver.configure(queue);
  queue.config().desc_table = kRamBytes;
  CHECK_THAT(queue.validate(memory).value_or(""), Contains("descriptor table"));
  CHECK_THAT(queue.validate(memory).value_or(""), Contains("not inside guest memory"));
  // Only the trailing used_event (§2.7.6) sticks out: still refused.
  driver.configure(queue);
  queue.config().avail_ring = kRamBytes - (4 + 2 * 8);
  CHECK_THAT(queue.validate(memory).value_or(""), Contains("available ring"));
  queue.config().avail_ring = kRamBytes - (4 + 2 * 8 + 2);
  CHECK_FALSE(queue.validate(memory).has_value());
  // Only avail_event (§2.7.8) sticks out.
  driver.configure(queue);
  queue.config().used_ring = kRamBytes - (4 + 8 * 8);
  CHECK_THAT(queue.validate(memory).value_or(""), Contains("used ring"));
  // Wrapping past 2^64.
  driver.configure(queue);
  queue.config().used_ring = ~0ull - 3;
  CHECK_THAT(queue.validate(memory).value_or(""), Contains("used ring"));
}

TEST_CASE("Virtqueue activated with a configuration validate refuses is broken") {
  GuestMemory memory = ram();
  Virtqueue queue(8);
  CHECK(queue.pop().status == PopStatus::kBroken);  // Never activated.
  queue.config().size = 3;
  queue.activate(memory, kIndirect, kEventIdx);
  CHECK(queue.broken());
  Virtqueue::PopResult result = queue.pop();
  CHECK(result.status == PopStatus::kBroken);
  CHECK_THAT(result.error, Contains("power of two"));
}

TEST_CASE("Virtqueue refuses buffers outside guest memory") {
  Setup s;
  CHECK_THAT(s.pop_bad_single({kRamBytes, 1, 0, 0}), Contains("not inside guest memory"));
  CHECK_THAT(s.pop_bad_single({kRamBytes - 1, 2, kDescWrite, 0}),
             Contains("not inside guest memory"));
  // A 4 GiB - 1 length from a valid address.
  CHECK_THAT(s.pop_bad_single({0x8000, 0xffffffff, 0, 0}), Contains("not inside guest memory"));
  // An address that wraps past 2^64.
  CHECK_THAT(s.pop_bad_single({~0ull - 7, 16, 0, 0}), Contains("not inside guest memory"));
  // The queue keeps going: the next good chain is served.
  const GuestAddress buffer = s.driver.allocate(8);
  s.driver.write_descriptor(1, RawDescriptor{buffer.value, 8, 0, 0});
  s.driver.make_available(1);
  s.driver.publish();
  CHECK(s.queue.pop().status == PopStatus::kChain);
}

TEST_CASE("Virtqueue refuses buffers in or across the MMIO hole") {
  // RAM on both sides of the 3-4 GiB hole, as kvmm lays out a large guest.
  GuestMemory memory;
  constexpr uint64_t kHoleStart = 3ull << 30;
  constexpr uint64_t kHighStart = 4ull << 30;
  memory.add_region(GuestAddress{kHoleStart - kRamBytes}, kRamBytes);
  memory.add_region(GuestAddress{kHighStart}, kRamBytes);
  FakeDriver driver(memory, 8, GuestAddress{kHoleStart - kRamBytes});
  Virtqueue queue(8);
  driver.configure(queue);
  queue.activate(memory, kIndirect, false);
  REQUIRE_FALSE(queue.broken());

  const RawDescriptor bad[] = {
      {kHoleStart - 16, 32, 0, 0},          // Runs from RAM into the hole.
      {kHoleStart + 0x1000, 16, 0, 0},      // Inside the hole.
      {kHighStart - 8, 16, kDescWrite, 0},  // Runs from the hole into high RAM.
      {kHoleStart - 16, 0xffffffff, 0, 0},  // Across the hole into high RAM.
  };
  for (const RawDescriptor& descriptor : bad) {
    driver.write_descriptor(0, descriptor);
    driver.make_available(0);
    driver.publish();
    Virtqueue::PopResult result = queue.pop();
    CHECK(result.status == PopStatus::kBadChain);
    CHECK_THAT(result.error, Contains("not inside guest memory"));
  }
  driver.write_descriptor(0, RawDescriptor{kHighStart, 16, 0, 0});
  driver.make_available(0);
  driver.publish();
  CHECK(queue.pop().status == PopStatus::kChain);
}

TEST_CASE("Virtqueue refuses a chain whose total length does not fit used.len") {
  // 2 GiB of (untouched, overcommitted) RAM lets two in-memory buffers add
  // up to 4 GiB.
  GuestMemory memory;
  memory.add_region(GuestAddress{0}, (2ull << 30) + kRamBytes);
  FakeDriver driver(memory, 8, kRingBase);
  Virtqueue queue(8);
  driver.configure(queue);
  queue.activate(memory, kIndirect, false);
  driver.write_descriptor(0, RawDescriptor{0x100000, 0x80000000, kDescNext, 1});
  driver.write_descriptor(1, RawDescriptor{0x100000, 0x80000000, kDescWrite, 0});
  driver.make_available(0);
  driver.publish();
  Virtqueue::PopResult result = queue.pop();
  CHECK(result.status == PopStatus::kBadChain);
  CHECK_THAT(result.error, Contains("chain totals more than 0xffffffff bytes"));
  // One byte less in all is fine.
  driver.write_descriptor(1, RawDescriptor{0x100000, 0x7fffffff, kDescWrite, 0});
  driver.make_available(0);
  driver.publish();
  result = queue.pop();
  REQUIRE(result.status == PopStatus::kChain);
  CHECK(result.chain.readable_bytes + result.chain.writable_bytes == 0xffffffff);
}

TEST_CASE("Virtqueue refuses loops and next indices beyond the table") {
  Setup s;
  CHECK_THAT(s.pop_bad_single({0x8000, 1, kDescNext, 0}), Contains("(a loop?)"));
  s.driver.write_descriptor(2, RawDescriptor{0x8000, 1, kDescNext, 5});
  s.driver.write_descriptor(5, RawDescriptor{0x8000, 1, kDescNext, 2});
  s.driver.make_available(2);
  s.driver.publish();
  CHECK_THAT(s.pop_bad(2), Contains("longer than the queue size 8"));
  CHECK_THAT(s.pop_bad_single({0x8000, 1, kDescNext, 8}),
             Contains("chains to 8, beyond the queue size 8"));
}

TEST_CASE("Virtqueue refuses device-readable buffers after device-writable ones") {
  Setup s;
  const GuestAddress buffer = s.driver.allocate(16);
  s.driver.add_chain({{buffer, 4, Access::kWritable}, {buffer, 4, Access::kReadable}});
  s.driver.publish();
  CHECK_THAT(s.pop_bad(0), Contains("device-readable buffer after a device-writable one"));
  // The same inside an indirect table, and across the switch to it.
  const uint16_t head =
      s.driver.add_indirect_chain({{buffer, 4, Access::kWritable}, {buffer, 4, Access::kReadable}});
  s.driver.publish();
  CHECK_THAT(s.pop_bad(head), Contains("device-readable"));
  const GuestAddress table = s.driver.allocate(16);
  s.driver.write_descriptor_at(table, RawDescriptor{buffer.value, 4, 0, 0});
  s.driver.write_descriptor(6, RawDescriptor{buffer.value, 4, kDescWrite | kDescNext, 7});
  s.driver.write_descriptor(7, RawDescriptor{table.value, 16, kDescIndirect, 0});
  s.driver.make_available(6);
  s.driver.publish();
  CHECK_THAT(s.pop_bad(6), Contains("device-readable"));
}

TEST_CASE("Virtqueue refuses malformed indirect descriptors") {
  Setup s;
  const GuestAddress buffer = s.driver.allocate(16);
  const GuestAddress table = s.driver.allocate(16 * 16);
  for (uint16_t i = 0; i < 16; ++i) {
    s.driver.write_descriptor_at(
        GuestAddress{table.value + 16 * i},
        RawDescriptor{buffer.value, 1, kDescNext, static_cast<uint16_t>(i + 1)});
  }
  s.driver.write_descriptor_at(GuestAddress{table.value + 16 * 15},
                               RawDescriptor{buffer.value, 1, 0, 0});

  SECTION("bad table lengths") {
    for (uint32_t length : {0u, 8u, 17u, 33u}) {
      CHECK_THAT(s.pop_bad_single({table.value, length, kDescIndirect, 0}),
                 Contains("not a nonzero multiple of 16"));
    }
  }
  SECTION("a table longer than the queue") {
    CHECK_THAT(s.pop_bad_single({table.value, 16 * 9, kDescIndirect, 0}),
               Contains("more than the queue size 8"));
  }
  SECTION("a table outside guest memory") {
    CHECK_THAT(s.pop_bad_single({kRamBytes - 16, 32, kDescIndirect, 0}),
               Contains("not inside guest memory"));
  }
  SECTION("an indirect table inside an indirect table") {
    s.driver.write_descriptor_at(GuestAddress{table.value + 16 * 2},
                                 RawDescriptor{table.value, 16, kDescIndirect, 0});
    CHECK_THAT(s.pop_bad_single({table.value, 16 * 8, kDescIndirect, 0}),
               Contains("entry 2 is itself indirect"));
  }
  SECTION("INDIRECT together with NEXT") {
    CHECK_THAT(s.pop_bad_single({table.value, 16, kDescIndirect | kDescNext, 1}),
               Contains("both INDIRECT and NEXT"));
  }
  SECTION("a loop inside the table") {
    s.driver.write_descriptor_at(GuestAddress{table.value + 16 * 3},
                                 RawDescriptor{buffer.value, 1, kDescNext, 1});
    CHECK_THAT(s.pop_bad_single({table.value, 16 * 8, kDescIndirect, 0}), Contains("(a loop?)"));
  }
  SECTION("next beyond the table") {
    CHECK_THAT(s.pop_bad_single({table.value, 16 * 4, kDescIndirect, 0}),
               Contains("beyond the table's 4 entries"));
  }
  SECTION("indirect when the feature was not negotiated") {
    Setup plain(8, !kIndirect);
    CHECK_THAT(plain.pop_bad_single({table.value, 16, kDescIndirect, 0}),
               Contains("VIRTIO_F_INDIRECT_DESC was not negotiated"));
  }
}

TEST_CASE("Virtqueue breaks on an available index more than a queue ahead") {
  Setup s;
  s.driver.set_avail_idx(9);
  Virtqueue::PopResult result = s.queue.pop();
  CHECK(result.status == PopStatus::kBroken);
  CHECK_THAT(result.error, Contains("9 entries ahead"));
  CHECK(s.queue.broken());
  // It stays broken even after the driver puts the index back.
  s.driver.set_avail_idx(1);
  CHECK(s.queue.pop().status == PopStatus::kBroken);
  CHECK_FALSE(s.queue.add_used(0, 0));
  CHECK_FALSE(s.queue.needs_notification());
  CHECK_FALSE(s.queue.enable_notification());
  // A device reset brings it back.
  s.queue.reset();
  CHECK_FALSE(s.queue.broken());
  CHECK(s.queue.config().size == 0);
  CHECK_FALSE(s.queue.config().ready);
  CHECK(s.queue.config().desc_table == 0);
  CHECK(s.queue.config().used_ring == 0);
}

TEST_CASE("Virtqueue breaks on a head index beyond the queue") {
  Setup s;
  s.driver.make_available(8);
  s.driver.publish();
  Virtqueue::PopResult result = s.queue.pop();
  CHECK(result.status == PopStatus::kBroken);
  CHECK_THAT(result.error, Contains("names descriptor 8"));
  CHECK(s.queue.broken());
}

TEST_CASE("Virtqueue reset and a new activation start the indices from 0") {
  Setup s;
  const GuestAddress buffer = s.driver.allocate(8);
  s.driver.add_chain({{buffer, 8}});
  s.driver.publish();
  REQUIRE(s.queue.pop().status == PopStatus::kChain);
  REQUIRE(s.queue.add_used(0, 0));
  s.queue.reset();
  // The driver re-initialises the rings after a reset (§3.1.1).
  FakeDriver driver(s.memory, 8, kRingBase);
  driver.configure(s.queue);
  s.queue.activate(s.memory, kIndirect, false);
  CHECK(s.queue.pop().status == PopStatus::kEmpty);
  const uint16_t head = driver.add_chain({{buffer, 8}});
  driver.publish();
  Virtqueue::PopResult result = s.queue.pop();
  REQUIRE(result.status == PopStatus::kChain);
  REQUIRE(s.queue.add_used(head, 3));
  CHECK(driver.used_idx() == 1);
  CHECK(driver.next_used()->len == 3);
}

TEST_CASE("Virtqueue honours VIRTQ_AVAIL_F_NO_INTERRUPT without EVENT_IDX") {
  Setup s(8, kIndirect, !kEventIdx);
  const GuestAddress buffer = s.driver.allocate(8);
  CHECK_FALSE(s.queue.needs_notification());  // Nothing used yet.
  auto complete_one = [&] {
    const uint16_t head = s.driver.add_chain({{buffer, 8}});
    s.driver.publish();
    REQUIRE(s.queue.pop().status == PopStatus::kChain);
    REQUIRE(s.queue.add_used(head, 0));
    REQUIRE(s.driver.next_used().has_value());
  };
  complete_one();
  CHECK(s.queue.needs_notification());
  CHECK_FALSE(s.queue.needs_notification());  // Nothing new since.
  s.driver.set_avail_flags(kvmm::testing::kAvailNoInterrupt);
  complete_one();
  CHECK_FALSE(s.queue.needs_notification());
  s.driver.set_avail_flags(0);
  complete_one();
  CHECK(s.queue.needs_notification());
  // Without EVENT_IDX the device writes neither used.flags nor avail_event.
  CHECK_FALSE(s.queue.enable_notification());
  CHECK(s.driver.used_flags() == 0);
  CHECK(s.driver.avail_event() == 0);
  s.driver.add_chain({{buffer, 8}});
  s.driver.publish();
  CHECK(s.queue.enable_notification());
}

TEST_CASE("Virtqueue with EVENT_IDX notifies only when used idx passes used_event") {
  Setup s(8, kIndirect, kEventIdx);
  const GuestAddress buffer = s.driver.allocate(8);
  auto complete = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const uint16_t head = s.driver.add_chain({{buffer, 8}});
      s.driver.publish();
      REQUIRE(s.queue.pop().status == PopStatus::kChain);
      REQUIRE(s.queue.add_used(head, 0));
      REQUIRE(s.driver.next_used().has_value());
    }
  };
  // The driver asks to hear about the entry at index 3 (used.idx reaching 4).
  s.driver.set_used_event(3);
  complete(1);
  CHECK(s.queue.needs_notification());  // The first decision always notifies.
  complete(1);                          // used.idx 2
  CHECK_FALSE(s.queue.needs_notification());
  complete(1);  // used.idx 3
  CHECK_FALSE(s.queue.needs_notification());
  complete(2);  // used.idx 5: the batch wrote entry 3
  CHECK(s.queue.needs_notification());
  complete(1);  // Past used_event: quiet again.
  CHECK_FALSE(s.queue.needs_notification());
  // The flags bit is ignored with EVENT_IDX (§2.7.7.2).
  s.driver.set_used_event(6);
  s.driver.set_avail_flags(kvmm::testing::kAvailNoInterrupt);
  complete(1);
  CHECK(s.queue.needs_notification());
  // used_event behind across the 16-bit wrap: entry 65535 is never written
  // in this batch, so no notification.
  s.driver.set_used_event(0xffff);
  complete(1);
  CHECK_FALSE(s.queue.needs_notification());
}

TEST_CASE("Virtqueue with EVENT_IDX publishes avail_event when re-enabling notifications") {
  Setup s(8, kIndirect, kEventIdx);
  const GuestAddress buffer = s.driver.allocate(8);
  CHECK_FALSE(s.queue.enable_notification());
  CHECK(s.driver.avail_event() == 0);
  s.driver.add_chain({{buffer, 8}});
  s.driver.add_chain({{buffer, 8}});
  s.driver.publish();
  // Buffers arrived: re-check instead of sleeping.
  CHECK(s.queue.enable_notification());
  REQUIRE(s.queue.pop().status == PopStatus::kChain);
  REQUIRE(s.queue.pop().status == PopStatus::kChain);
  CHECK_FALSE(s.queue.enable_notification());
  CHECK(s.driver.avail_event() == 2);  // Notify me when you write entry 2.
  CHECK(s.driver.used_flags() == 0);   // §2.7.10.2: flags stay 0 with EVENT_IDX.
}

TEST_CASE("Virtqueue indices wrap at 65536 through a small queue") {
  for (bool event_idx : {false, true}) {
    Setup s(4, kIndirect, event_idx);
    const GuestAddress in = s.driver.allocate(8);
    const GuestAddress out = s.driver.allocate(8);
    constexpr uint32_t kRequests = 70000;
    uint32_t notifications = 0;
    for (uint32_t i = 0; i < kRequests; ++i) {
      // Alternate direct and indirect chains; publish in pairs so the avail
      // index sometimes jumps by two across the wrap.
      const bool indirect = i % 3 == 0;
      const std::vector<kvmm::testing::Buffer> buffers = {{in, 8}, {out, 4, Access::kWritable}};
      const uint16_t head = indirect ? s.driver.add_indirect_chain(GuestAddress{0x20000}, buffers)
                                     : s.driver.add_chain(buffers);
      s.driver.publish();
      Virtqueue::PopResult result = s.queue.pop();
      REQUIRE(result.status == PopStatus::kChain);
      REQUIRE(result.chain.head == head);
      REQUIRE(result.chain.writable_bytes == 4);
      REQUIRE(s.queue.add_used(head, i % 5));
      if (s.queue.needs_notification()) ++notifications;
      auto used = s.driver.next_used();
      REQUIRE(used.has_value());
      REQUIRE(used->id == head);
      REQUIRE(used->len == i % 5);
    }
    CHECK(s.driver.used_idx() == static_cast<uint16_t>(kRequests));
    CHECK(s.driver.avail_idx() == static_cast<uint16_t>(kRequests));
    CHECK(s.queue.pop().status == PopStatus::kEmpty);
    // used_event stays 0: with EVENT_IDX once at the start and once per wrap.
    CHECK(notifications == (event_idx ? 2u : kRequests));
  }
}
