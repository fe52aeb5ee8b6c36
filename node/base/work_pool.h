// Worker threads for two kinds of work. Urgent work (what a block, a consensus message or a
// waiting client needs now) runs on `threads` threads at normal priority. Background work
// (verifying gossiped transactions) runs on as many threads of their own, lowered by
// `background_nice` (setpriority), so that under overload a backlog of gossip takes only the
// CPU the consensus path leaves over, and never delays it.
//
// Thread-safety: every member function may be called from any thread, including from a job
// running on the pool. The destructor (or Stop) finishes the queued urgent jobs, drops the
// background ones and joins the threads; no job may be posted after that.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace meterchain::base {

class WorkPool {
public:
    enum class Priority { kUrgent, kBackground };

    // `threads` >= 1 of each kind.
    explicit WorkPool(unsigned threads, int background_nice = 10);
    ~WorkPool();
    WorkPool(const WorkPool&) = delete;
    WorkPool& operator=(const WorkPool&) = delete;

    void Post(Priority priority, std::function<void()> job);

    // Runs fn(0) .. fn(n-1) on the pool and on the calling thread (which takes a share of
    // the indices itself, so this never waits on a pool that is busy elsewhere), as urgent
    // work; returns when every call has returned. fn must be safe to call concurrently.
    void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

    unsigned threads() const { return m_urgent_threads; }

    void Stop();

private:
    void Run(Priority kind);

    mutable std::mutex m_mutex;
    std::condition_variable m_urgent_cv;
    std::condition_variable m_background_cv;
    std::deque<std::function<void()>> m_urgent;      // guarded by m_mutex
    std::deque<std::function<void()>> m_background;  // guarded by m_mutex
    bool m_stopping = false;                         // guarded by m_mutex
    unsigned m_urgent_threads = 1;
    std::vector<std::thread> m_threads;
};

}  // namespace meterchain::base
