// Generator of transformer areas with known injected meter errors, for testing and evaluating
// the remote error model (node/errmodel). Same data model as the shared examples
// (docs/CALIBRATION.md, "Evaluation"): summary = sum of true user energy + a fixed loss + a loss
// quadratic in the load + noise; a user meter reads true energy x (1 + its error), rounded to
// 0.0001 kWh.
//
// Deterministic: the same options (seed included) give the same area on every machine that has
// the same std::mt19937_64 and <cmath> (the distributions are implemented here, not taken from
// the standard library, whose distributions differ between implementations).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/errmodel/errmodel.h"

namespace meterchain::testtools {

struct AreaGenOptions {
    uint64_t seed = 1;
    size_t meters = 100;
    size_t intervals = 2880;            // 30 days of 15 minutes
    size_t out_of_tolerance = 5;        // meters given an error beyond the tolerance
    double tolerance = 0.02;
    double in_tolerance_sigma = 0.002;  // spread of the other meters' errors
    double min_bad = 0.05, max_bad = 0.08;  // |error| of the out-of-tolerance meters (the
                                             // shared examples: 6-7.5%)
    double noise = 0.0005;              // relative noise of the summary meter
    double fixed_loss_kwh = 0.4;        // per interval
    double load_loss = 2e-4;            // kWh per kWh^2 of total load
    // Every user follows one load shape (only its scale differs): the errors cannot be told
    // apart and a correct model answers "not computable".
    bool ill_conditioned = false;
};

struct GeneratedArea {
    errmodel::Area area;
    std::vector<double> errors;             // true relative error per meter
    std::vector<size_t> out_of_tolerance;   // indices beyond the tolerance, ascending
    bool ill_conditioned = false;
};

GeneratedArea GenerateArea(const AreaGenOptions& options);

// Writes area.jsonl and truth.json (the shared examples' format) into `dir` (created).
// kIoError naming the file.
Status WriteArea(const GeneratedArea& area, const std::string& dir);

}  // namespace meterchain::testtools
