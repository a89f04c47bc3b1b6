// Runs fn(0) ... fn(count - 1) on n = min(threads, count) threads (this one included), each
// index once. Thread w runs the indices w, w + n, ... in order, always: state kept per thread (such
// as LibTorch's autograd sequence numbers, which order the backward pass) is then the same in
// every run with the same thread count. Plain std::thread: the training library builds against
// LibTorch alone (no TBB on a GPU box). An exception thrown by an item is rethrown here after
// every thread has finished.
#pragma once

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace flowdesign::simulator::training {

template <typename Fn>
void ParallelFor(int count, int threads, const Fn& fn) {
  const int workers = std::max(1, std::min(threads, count));
  if (workers == 1) {
    for (int i = 0; i < count; ++i) fn(i);
    return;
  }
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&](int worker) {
    for (int i = worker; i < count; i += workers) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace flowdesign::simulator::training
