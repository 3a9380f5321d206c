// Redis Cluster key slots: CRC16 (XMODEM, as Redis's crc16.c) of the key's
// hash tag, modulo 16384.
//
//   KeySlot("foo") == 12182
//   KeySlot("{user1000}.following") == KeySlot("{user1000}.followers")
//
// Hash tag rule (the cluster spec's): if the key holds a '{' followed later
// by a '}' with at least one byte between them, only the bytes between the
// first '{' and the first '}' after it are hashed; otherwise the whole key.
// So "{}foo" and "foo{}{bar}" hash whole, "foo{{bar}}" hashes "{bar".
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace keel::redis {

inline constexpr int kClusterSlots = 16384;

std::uint16_t Crc16(std::string_view data);
// The part of `key` that is hashed.
std::string_view HashTag(std::string_view key);
// 0 .. kClusterSlots - 1.
int KeySlot(std::string_view key);

}  // namespace keel::redis
