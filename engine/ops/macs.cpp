// macs.cpp: the thread-local chain of live MacCounters (nested counters all see the MACs).
#include "engine/ops/macs.h"

namespace cudistill {

namespace {
thread_local MacCounter* g_counter = nullptr;
}

MacCounter::MacCounter() : prev_(g_counter) { g_counter = this; }
MacCounter::~MacCounter() { g_counter = prev_; }

void count_macs(int64_t n) {
  for (MacCounter* c = g_counter; c; c = c->prev_) c->total_ += n;
}

}  // namespace cudistill
