// Remote error model of a transformer area: estimates every user meter's relative error from
// interval energy data (the area's summary meter against its user meters, with line loss).
//
// Model, for every interval t (docs/CALIBRATION.md, "The model"):
//   S_t = sum_i c_i m_{i,t} + L0 + k (sum_i m_{i,t})^2 + noise,   c_i = 1 / (1 + e_i)
// S is the summary meter, m_i the user meter readings, e_i the relative error of meter i, L0 the
// fixed loss per interval and k the load-dependent (copper) loss. A loss proportional to the load
// is not a separate unknown: it is indistinguishable from every meter sharing one error, so it is
// part of the c_i (documented limit).
//
// The unknowns (c, L0, k) are solved as a ridge-regularised least-squares problem (Eigen,
// Cholesky of the column-scaled normal equations, regularised towards c_i = 1). Before anything
// is trusted the model checks the conditioning: the numerical rank and condition number of the
// column-scaled design, and each meter's standard uncertainty from the covariance. A meter
// whose error cannot be pinned down is reported as not computable, never guessed.
//
// Floating point: this library runs off chain (the utility's service, meterctl); its results
// enter the chain as integers (parts per million) in a signed transaction.
//
// Thread-safety: free functions over caller-owned data; safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "node/base/status.h"

namespace meterchain::errmodel {

// Identifies the model (the formula, the regularisation and the decision rule) in results on
// chain. Bump it whenever any of them changes.
inline constexpr std::string_view kModelVersion = "adaptive-ridge-loss2-v1";

// One transformer area: `summary[t]` and `meters[t * meter_count + i]` in kWh.
struct Area {
    size_t meter_count = 0;
    std::vector<double> summary;
    std::vector<double> meters;  // row-major, interval by interval
    size_t IntervalCount() const { return summary.size(); }
};

// Parses the area.jsonl format (docs/CALIBRATION.md, "Input"): one line per interval,
// {"interval": t, "summary_kwh": S, "meters_kwh": [m_0, ..., m_{n-1}]}. kInvalidArgument naming
// the line and what is wrong (missing field, wrong meter count, a negative or non-finite value).
Result<Area> ParseArea(std::istream& in);
Result<Area> LoadAreaFile(const std::string& path);
// The SM3 digest (hex) of the file's bytes, stored on chain with the result.
Result<std::string> FileDigestHex(const std::string& path);

// Maximum permissible relative error of an accuracy class ("2" -> 0.02, "1" -> 0.01, "0.5S" ->
// 0.005, "A"/"B"/"C"/"D" of GB/T 17215.321 -> 0.02/0.01/0.005/0.002). kInvalidArgument otherwise.
Result<double> ToleranceForClass(std::string_view accuracy_class);

struct Options {
    // Smallest standard deviation of the prior on a meter's error ("the meter is exact"): the
    // regularisation (errmodel.cpp: adaptive, wider for a meter the data show far off).
    double prior_sd = 0.01;
    // Numerical ridge on the column-scaled normal matrix (whose diagonal is 1).
    double ridge = 1e-9;
    // Above this condition number of the column-scaled design the area as a whole is not
    // computable.
    double max_condition = 1e6;
    // A meter is computable only when its posterior standard uncertainty is at most this share
    // of its prior's: the data, not the assumption "exact", determine it.
    double max_prior_share = 0.5;
    // A verdict (within / out of tolerance) only when it holds at this many standard
    // uncertainties (2: about 95%); otherwise the meter is not computable.
    double coverage = 2.0;
    // Needs at least this many intervals per unknown.
    double min_intervals_per_unknown = 3.0;
};

enum class Verdict { kWithinTolerance, kOutOfTolerance, kNotComputable };
std::string_view VerdictName(Verdict verdict);  // "within_tolerance" | "out_of_tolerance" | ...

struct MeterEstimate {
    size_t index = 0;
    double error = 0;        // estimated relative error e_i (0.01 = +1%)
    double uncertainty = 0;  // standard uncertainty of e_i
    double tolerance = 0;
    Verdict verdict = Verdict::kNotComputable;
    std::string reason;      // why not computable; empty otherwise
};

struct AreaEstimate {
    std::vector<MeterEstimate> meters;
    bool computable = false;     // false: every meter is kNotComputable, `reason` says why
    std::string reason;
    double condition_number = 0; // of the column-scaled design matrix
    size_t rank = 0;             // numerical rank of the design (unknowns: meter_count + 2)
    size_t unknowns = 0;
    double fixed_loss_kwh = 0;   // L0 per interval
    double load_loss_coeff = 0;  // k, kWh per kWh^2
    double residual_sigma_kwh = 0;
};

// Estimates every meter of `area`. `tolerances` holds one tolerance per meter, or one value for
// all. kInvalidArgument for an empty area or a tolerance count that fits neither. An area that
// cannot be solved is not an error: the result says "not computable" with the reason.
Result<AreaEstimate> Estimate(const Area& area, const std::vector<double>& tolerances,
                              const Options& options = {});

// The result as JSON (one object: model version, area figures, one entry per meter).
std::string ToJson(const AreaEstimate& estimate, std::string_view input_digest_hex);

}  // namespace meterchain::errmodel
