// random.h: a small seeded generator (PCG32) so that every random draw in the engine is
// reproducible across compilers and platforms (std::normal_distribution is not).
#pragma once
#include <cmath>
#include <cstdint>

namespace cudistill {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x853c49e6748fea9bULL) {
    state_ = 0;
    next_u32();
    state_ += seed;
    next_u32();
  }
  uint32_t next_u32() {
    uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t xorshifted = uint32_t(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = uint32_t(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
  }
  // uniform in [0, 1) with 53 random bits
  double uniform() {
    uint64_t hi = next_u32() >> 5, lo = next_u32() >> 6;
    return double(hi * 67108864ULL + lo) / 9007199254740992.0;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // standard normal by Box-Muller (one value per call; simplicity over speed)
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // integer in [0, n)
  uint32_t below(uint32_t n) { return uint32_t(uniform() * n); }

 private:
  uint64_t state_;
};

}  // namespace cudistill
