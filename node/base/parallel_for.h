// The shape of a parallel loop that the libraries take from their owner, so that they do not
// own threads themselves: the daemon passes base::WorkPool::ParallelFor, tests a plain loop.
#pragma once

#include <cstddef>
#include <functional>

namespace meterchain::base {

// Runs fn(0) .. fn(n-1), possibly concurrently, and returns when all have returned.
using ParallelFor = std::function<void(size_t n, const std::function<void(size_t)>& fn)>;

// A ParallelFor that runs everything in order on the calling thread.
inline ParallelFor SerialFor() {
    return [](size_t n, const std::function<void(size_t)>& fn) {
        for (size_t i = 0; i < n; ++i) fn(i);
    };
}

}  // namespace meterchain::base
