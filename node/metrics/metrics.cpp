#include "node/metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace meterchain::metrics {
namespace {

bool ValidName(std::string_view name) {
    if (name.empty()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

const char* TypeName(Type t) {
    switch (t) {
        case Type::kCounter: return "counter";
        case Type::kGauge: return "gauge";
        case Type::kHistogram: return "histogram";
    }
    return "untyped";
}

// Help text escapes backslash and newline (the text format's rule for HELP lines).
std::string EscapeHelp(std::string_view help) {
    std::string out;
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string WithLabels(std::string_view name, std::string_view labels, std::string_view extra = {}) {
    std::string out(name);
    if (labels.empty() && extra.empty()) return out;
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
    return out;
}

}  // namespace

std::string FormatValue(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        return std::to_string(static_cast<long long>(v));
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

Histogram::Histogram(std::vector<double> bounds)
    : m_bounds(std::move(bounds)),
      m_buckets(std::make_unique<std::atomic<uint64_t>[]>(m_bounds.size() + 1)) {
    for (size_t i = 0; i <= m_bounds.size(); ++i) m_buckets[i].store(0);
}

void Histogram::Observe(double v) {
    size_t i = 0;
    while (i < m_bounds.size() && v > m_bounds[i]) ++i;
    m_buckets[i].fetch_add(1, std::memory_order_relaxed);
    m_sum.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
    Snapshot s;
    s.bounds = m_bounds;
    uint64_t running = 0;
    for (size_t i = 0; i <= m_bounds.size(); ++i) {
        running += m_buckets[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.sum = m_sum.load(std::memory_order_relaxed);
    return s;
}

Registry::Child& Registry::Slot(std::string_view name, std::string_view help, Type type,
                                std::string_view labels) {
    if (!ValidName(name)) {
        std::fprintf(stderr, "metrics: invalid metric name '%.*s'\n", static_cast<int>(name.size()),
                     name.data());
        std::abort();
    }
    auto it = m_families.find(name);
    if (it == m_families.end()) {
        it = m_families.emplace(std::string(name), Family{}).first;
        it->second.type = type;
        it->second.help = std::string(help);
    } else if (it->second.type != type) {
        std::fprintf(stderr, "metrics: '%.*s' registered twice with different types\n",
                     static_cast<int>(name.size()), name.data());
        std::abort();
    }
    return it->second.children[std::string(labels)];
}

Counter& Registry::AddCounter(std::string_view name, std::string_view help,
                              std::string_view labels) {
    std::lock_guard lock(m_mu);
    Child& c = Slot(name, help, Type::kCounter, labels);
    if (!c.counter) c.counter = std::make_unique<Counter>();
    return *c.counter;
}

Gauge& Registry::AddGauge(std::string_view name, std::string_view help, std::string_view labels) {
    std::lock_guard lock(m_mu);
    Child& c = Slot(name, help, Type::kGauge, labels);
    if (!c.gauge) c.gauge = std::make_unique<Gauge>();
    return *c.gauge;
}

Histogram& Registry::AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds, std::string_view labels) {
    std::lock_guard lock(m_mu);
    Child& c = Slot(name, help, Type::kHistogram, labels);
    if (!c.histogram) c.histogram = std::make_unique<Histogram>(std::move(bounds));
    return *c.histogram;
}

void Registry::AddCallback(std::string_view name, std::string_view help, Type type,
                           std::function<double()> read, std::string_view labels) {
    std::lock_guard lock(m_mu);
    Slot(name, help, type, labels).read = std::move(read);
}

std::string Registry::Render() const {
    std::lock_guard lock(m_mu);
    std::string out;
    out.reserve(4096);
    for (const auto& [name, family] : m_families) {
        out += "# HELP " + name + " " + EscapeHelp(family.help) + "\n";
        out += "# TYPE " + name + " " + TypeName(family.type) + "\n";
        for (const auto& [labels, child] : family.children) {
            if (child.histogram) {
                const auto s = child.histogram->Take();
                for (size_t i = 0; i < s.bounds.size(); ++i) {
                    out += WithLabels(name + "_bucket", labels,
                                      "le=\"" + FormatValue(s.bounds[i]) + "\"") +
                           " " + std::to_string(s.cumulative[i]) + "\n";
                }
                out += WithLabels(name + "_bucket", labels, "le=\"+Inf\"") + " " +
                       std::to_string(s.cumulative.back()) + "\n";
                out += WithLabels(name + "_sum", labels) + " " + FormatValue(s.sum) + "\n";
                out += WithLabels(name + "_count", labels) + " " +
                       std::to_string(s.cumulative.back()) + "\n";
                continue;
            }
            double v = 0;
            if (child.read) {
                v = child.read();
            } else if (child.counter) {
                v = static_cast<double>(child.counter->value());
            } else if (child.gauge) {
                v = child.gauge->value();
            }
            out += WithLabels(name, labels) + " " + FormatValue(v) + "\n";
        }
    }
    return out;
}

}  // namespace meterchain::metrics
