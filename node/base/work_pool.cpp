#include "node/base/work_pool.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "node/base/thread_name.h"

namespace meterchain::base {

WorkPool::WorkPool(unsigned threads, int background_nice) {
    m_urgent_threads = threads == 0 ? 1 : threads;
    m_threads.reserve(2 * m_urgent_threads);
    for (unsigned i = 0; i < m_urgent_threads; ++i) {
        m_threads.emplace_back([this] {
            NameThisThread("mc-pool");
            Run(Priority::kUrgent);
        });
        m_threads.emplace_back([this, background_nice] {
            // Linux applies a nice value per thread. Raising it needs no privilege; failing
            // only leaves this thread at normal priority.
            NameThisThread("mc-pool-bg");
            (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)),
                              background_nice);
            Run(Priority::kBackground);
        });
    }
}

WorkPool::~WorkPool() { Stop(); }

void WorkPool::Stop() {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) return;
        m_stopping = true;
        m_background.clear();
    }
    m_urgent_cv.notify_all();
    m_background_cv.notify_all();
    for (auto& t : m_threads) {
        if (t.joinable()) t.join();
    }
}

void WorkPool::Post(Priority priority, std::function<void()> job) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) return;
        (priority == Priority::kUrgent ? m_urgent : m_background).push_back(std::move(job));
    }
    (priority == Priority::kUrgent ? m_urgent_cv : m_background_cv).notify_one();
}

void WorkPool::Run(Priority kind) {
    auto& queue = kind == Priority::kUrgent ? m_urgent : m_background;
    auto& cv = kind == Priority::kUrgent ? m_urgent_cv : m_background_cv;
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(m_mutex);
            cv.wait(lock, [&] { return m_stopping || !queue.empty(); });
            // Stop() has already dropped the background queue; urgent work still runs.
            if (queue.empty()) return;
            job = std::move(queue.front());
            queue.pop_front();
        }
        job();
    }
}

void WorkPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
    if (n == 0) return;
    if (n == 1) {
        fn(0);
        return;
    }
    // Indices are claimed one at a time from a shared counter, by the caller and by up to
    // threads() helpers; the caller then waits only for calls already running elsewhere.
    struct Shared {
        std::atomic<size_t> next{0};
        std::mutex mutex;
        std::condition_variable cv;
        size_t done = 0;  // guarded by mutex
    };
    auto shared = std::make_shared<Shared>();
    auto work = [shared, n, &fn] {
        size_t finished = 0;
        for (size_t i = shared->next.fetch_add(1); i < n; i = shared->next.fetch_add(1)) {
            fn(i);
            ++finished;
        }
        if (finished == 0) return;
        std::lock_guard lock(shared->mutex);
        shared->done += finished;
        if (shared->done == n) shared->cv.notify_all();
    };
    const size_t helpers = std::min<size_t>(m_urgent_threads, n - 1);
    for (size_t i = 0; i < helpers; ++i) Post(Priority::kUrgent, work);
    work();
    std::unique_lock lock(shared->mutex);
    shared->cv.wait(lock, [&] { return shared->done == n; });
}

}  // namespace meterchain::base
