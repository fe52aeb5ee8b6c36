#include "test/tools/area_gen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>

namespace meterchain::testtools {
namespace {

// Uniform in [0, 1) from 53 random bits, and a Box-Muller normal: portable, unlike
// std::uniform_real_distribution / std::normal_distribution.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_gen(seed) {}
    double Uniform() { return static_cast<double>(m_gen() >> 11) * 0x1.0p-53; }
    double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
    double Normal() {
        const double u1 = 1.0 - Uniform();  // (0, 1]
        const double u2 = Uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }
    size_t Index(size_t n) { return static_cast<size_t>(Uniform() * static_cast<double>(n)); }

private:
    std::mt19937_64 m_gen;
};

double Round4(double v) { return std::round(v * 1e4) / 1e4; }

// A daily load profile value at hour h for a user whose main peak is at `peak` (hours).
double Profile(double h, double peak, double evening) {
    auto bump = [](double x, double centre, double width) {
        double d = std::fmod(std::abs(x - centre), 24.0);
        d = std::min(d, 24.0 - d);
        return std::exp(-0.5 * (d / width) * (d / width));
    };
    return 0.25 + bump(h, peak, 2.0) + evening * bump(h, 19.5, 1.5);
}

}  // namespace

GeneratedArea GenerateArea(const AreaGenOptions& o) {
    Rng rng(o.seed);
    GeneratedArea g;
    g.ill_conditioned = o.ill_conditioned;
    const size_t n = o.meters;
    const size_t t_count = o.intervals;

    // Errors: most within tolerance, a chosen few beyond it.
    g.errors.resize(n);
    for (double& e : g.errors) {
        e = std::clamp(o.in_tolerance_sigma * rng.Normal(), -0.5 * o.tolerance, 0.5 * o.tolerance);
    }
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.Index(i)]);
    for (size_t k = 0; k < std::min(o.out_of_tolerance, n); ++k) {
        const double magnitude = rng.Uniform(o.min_bad, o.max_bad);
        g.errors[order[k]] = rng.Uniform() < 0.5 ? -magnitude : magnitude;
        g.out_of_tolerance.push_back(order[k]);
    }
    std::sort(g.out_of_tolerance.begin(), g.out_of_tolerance.end());

    // Users: a scale, a peak hour and an evening share; well-conditioned areas also get their
    // own day-to-day variation.
    std::vector<double> scale(n), peak(n), evening(n);
    for (size_t i = 0; i < n; ++i) {
        scale[i] = rng.Uniform(0.1, 1.0);
        peak[i] = rng.Uniform(6.0, 22.0);
        evening[i] = rng.Uniform(0.0, 1.5);
    }
    g.area.meter_count = n;
    g.area.summary.resize(t_count);
    g.area.meters.resize(n * t_count);
    std::vector<double> truth(n);
    for (size_t t = 0; t < t_count; ++t) {
        const double hour = static_cast<double>(t % 96) * 0.25;
        const double common = std::exp(0.15 * rng.Normal());  // weather, weekday
        double total = 0;
        for (size_t i = 0; i < n; ++i) {
            double x;
            if (o.ill_conditioned) {
                x = scale[i] * common * Profile(hour, 12.0, 0.8);
            } else {
                x = scale[i] * common * Profile(hour, peak[i], evening[i]) *
                    std::exp(0.35 * rng.Normal());
            }
            truth[i] = x;
            total += x;
        }
        double summary = total + o.fixed_loss_kwh + o.load_loss * total * total;
        summary *= 1.0 + o.noise * rng.Normal();
        g.area.summary[t] = Round4(summary);
        for (size_t i = 0; i < n; ++i) {
            g.area.meters[t * n + i] = Round4(truth[i] * (1.0 + g.errors[i]));
        }
    }
    return g;
}

Status WriteArea(const GeneratedArea& g, const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return IoError("cannot create " + dir + ": " + ec.message());
    const std::string area_path = dir + "/area.jsonl";
    std::ofstream area(area_path);
    if (!area) return IoError("cannot write " + area_path);
    char buf[64];
    const size_t n = g.area.meter_count;
    for (size_t t = 0; t < g.area.IntervalCount(); ++t) {
        std::snprintf(buf, sizeof buf, "%.4f", g.area.summary[t]);
        area << "{\"interval\": " << t << ", \"summary_kwh\": " << buf << ", \"meters_kwh\": [";
        for (size_t i = 0; i < n; ++i) {
            std::snprintf(buf, sizeof buf, "%.4f", g.area.meters[t * n + i]);
            area << (i ? ", " : "") << buf;
        }
        area << "]}\n";
    }
    if (!area.flush()) return IoError("cannot write " + area_path);
    const std::string truth_path = dir + "/truth.json";
    std::ofstream truth(truth_path);
    if (!truth) return IoError("cannot write " + truth_path);
    truth << "{\"errors\": [";
    for (size_t i = 0; i < g.errors.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%.17g", g.errors[i]);
        truth << (i ? ", " : "") << buf;
    }
    truth << "], \"out_of_tolerance\": [";
    for (size_t i = 0; i < g.out_of_tolerance.size(); ++i) {
        truth << (i ? ", " : "") << g.out_of_tolerance[i];
    }
    truth << "], \"ill_conditioned\": " << (g.ill_conditioned ? "true" : "false") << "}\n";
    if (!truth.flush()) return IoError("cannot write " + truth_path);
    return Status::Ok();
}

}  // namespace meterchain::testtools
