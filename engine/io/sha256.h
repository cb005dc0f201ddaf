// sha256.h: SHA-256 (FIPS 180-4), to fingerprint weights files (`source` in safetensors
// metadata, docs/DESIGN.md) and datasets, so that a run records exactly which bytes it used.
// Streaming: feed any number of update() calls, then final(). Not a general crypto library
// (no HMAC, no constant-time guarantees: these are checksums, not secrets).
// Tested in tests/ops/test_io.cpp (-tc="sha256*") with the FIPS test vectors.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cudistill {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  void update(const std::string& s) { update(s.data(), s.size()); }
  // The 32-byte digest; the object is spent afterwards (update/final again is an error).
  std::array<uint8_t, 32> final();
  std::string final_hex();  // 64 lowercase hex digits

 private:
  void block(const uint8_t* p);  // compresses one 64-byte block into state_
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buf_;
  size_t buf_len_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

std::string sha256_hex(const std::string& bytes);
// Streams the file in 1 MiB chunks; an unreadable file is a user error naming the path.
std::string sha256_file(const std::string& path);

}  // namespace cudistill
