// The engine's per-process record of pipes and sockets: round trip, and a
// damaged record is refused with a clear message instead of misread.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "channel_records.hpp"

using namespace ckpt::image;

namespace {

ProcessChannels sample() {
  ProcessChannels channels;
  channels.coordinator_stdio_mask = 0b101;
  channels.uses = {{0, 0, 1}, {7, 1, 2}, {9, 0, 1}};
  ChannelDescription pipe;
  pipe.id = 1;
  pipe.kind = ChannelKind::kPipe;
  pipe.object = 4242;
  pipe.status_flags = 04000;  // O_NONBLOCK
  pipe.pipe_capacity = 65536;
  pipe.has_data = true;
  pipe.in_flight = {1, 2, 3, 0, 255};
  ChannelDescription listen;
  listen.id = 2;
  listen.kind = ChannelKind::kTcpListen;
  listen.object = 99;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(8080);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  listen.address.resize(sizeof address);
  std::memcpy(listen.address.data(), &address, sizeof address);
  listen.name = "name";
  channels.descriptions = {pipe, listen};
  return channels;
}

}  // namespace

TEST_CASE("channel records survive a round trip") {
  const ProcessChannels original = sample();
  const ProcessChannels back = decode_channels(encode_channels(original));
  CHECK(back.coordinator_stdio_mask == 0b101);
  REQUIRE(back.uses.size() == 3);
  CHECK(back.uses[1].fd == 7);
  CHECK(back.uses[1].fd_flags == 1);
  CHECK(back.uses[1].description == 2);
  REQUIRE(back.descriptions.size() == 2);
  CHECK(back.descriptions[0].kind == ChannelKind::kPipe);
  CHECK(back.descriptions[0].in_flight == std::vector<std::uint8_t>{1, 2, 3, 0, 255});
  CHECK(back.descriptions[0].pipe_capacity == 65536);
  CHECK(back.descriptions[0].status_flags == 04000);
  CHECK(back.descriptions[1].name == "name");
  CHECK(socket_address_text(back.descriptions[1].address) == "127.0.0.1:8080");
  CHECK(restart_outcome(back.descriptions[1], 7) == "listens again on 127.0.0.1:8080");
}

TEST_CASE("a damaged channel record is refused") {
  auto blob = encode_channels(sample());
  SECTION("cut short") {
    blob.resize(blob.size() - 3);
    CHECK_THROWS_WITH(decode_channels(blob), "damaged pipe/socket record (cut short)");
  }
  SECTION("bad magic") {
    blob[0] ^= 0xff;
    CHECK_THROWS_WITH(decode_channels(blob), "damaged pipe/socket record (bad magic)");
  }
  SECTION("trailing bytes") {
    blob.push_back(0);
    CHECK_THROWS_WITH(decode_channels(blob), "damaged pipe/socket record (trailing bytes)");
  }
  SECTION("a length beyond the end") {
    // the first use's count claims far more uses than there are
    blob[8 + 4] = 0xff;
    CHECK_THROWS_WITH(decode_channels(blob), "damaged pipe/socket record (cut short)");
  }
}
