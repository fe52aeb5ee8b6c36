// A small metrics registry rendered in the Prometheus text exposition format (version 0.0.4).
//
// Components register their metrics once, at start-up, and keep the returned references; the
// registry owns every metric and outlives them. Updating a metric is one relaxed atomic
// operation (no lock, no allocation), so the consensus thread may update metrics on its hot
// path. Values that a component already counts elsewhere are registered as callbacks, read
// only when the registry is rendered (a scrape), never on the hot path.
//
// Names follow Prometheus conventions: `meterchain_<what>[_<unit>]`, counters end in `_total`.
// A metric family (one name) may have several children that differ by a label set given as
// pre-formatted text (`code="404"`); every child of a family has the same type and help.
//
// Thread-safety: registration and Render take a mutex and may run on any thread; Counter,
// Gauge and Histogram updates are lock-free and may run on any thread. A callback is called
// from the rendering thread and must be thread-safe itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace meterchain::metrics {

class Counter {
public:
    void Add(uint64_t n = 1) { m_value.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> m_value{0};
};

class Gauge {
public:
    void Set(double v) { m_value.store(v, std::memory_order_relaxed); }
    void Add(double v) { m_value.fetch_add(v, std::memory_order_relaxed); }
    double value() const { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_value{0};
};

// Cumulative histogram with fixed upper bounds (an implicit +Inf bucket follows the last).
class Histogram {
public:
    // `bounds` strictly increasing; an empty list keeps only +Inf.
    explicit Histogram(std::vector<double> bounds);
    void Observe(double v);

    struct Snapshot {
        std::vector<double> bounds;
        std::vector<uint64_t> cumulative;  // one per bound, then +Inf (= count)
        double sum = 0;
    };
    Snapshot Take() const;

private:
    const std::vector<double> m_bounds;
    std::unique_ptr<std::atomic<uint64_t>[]> m_buckets;  // per bucket (not cumulative), +Inf last
    std::atomic<double> m_sum{0};
};

enum class Type { kCounter, kGauge, kHistogram };

class Registry {
public:
    Registry() = default;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Each returns the metric for (name, labels), creating it on first use; asking again
    // returns the same object. Aborts when `name` was registered with another type (a
    // programming error) or is not a valid metric name.
    Counter& AddCounter(std::string_view name, std::string_view help, std::string_view labels = {});
    Gauge& AddGauge(std::string_view name, std::string_view help, std::string_view labels = {});
    Histogram& AddHistogram(std::string_view name, std::string_view help,
                            std::vector<double> bounds, std::string_view labels = {});
    // A counter or gauge whose value is read by `read` at every Render.
    void AddCallback(std::string_view name, std::string_view help, Type type,
                     std::function<double()> read, std::string_view labels = {});

    // Every family in name order, children in label order, in the text format.
    std::string Render() const;

private:
    struct Child {
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
        std::function<double()> read;
    };
    struct Family {
        Type type = Type::kCounter;
        std::string help;
        std::map<std::string, Child> children;  // by label text
    };
    Child& Slot(std::string_view name, std::string_view help, Type type, std::string_view labels);

    mutable std::mutex m_mu;
    std::map<std::string, Family, std::less<>> m_families;  // guarded by m_mu
};

// Formats a number as Prometheus text does: integers without a fraction, +Inf / -Inf / NaN.
std::string FormatValue(double v);

}  // namespace meterchain::metrics
