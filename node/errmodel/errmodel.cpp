// The regularised least-squares solve and its conditioning checks (errmodel.h).
#include "node/errmodel/errmodel.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace meterchain::errmodel {
namespace {

std::string Fmt(const char* format, double a, double b = 0) {
    char buf[160];
    std::snprintf(buf, sizeof buf, format, a, b);
    return buf;
}

}  // namespace

Result<AreaEstimate> Estimate(const Area& area, const std::vector<double>& tolerances,
                              const Options& options) {
    const size_t n = area.meter_count;
    const size_t t_count = area.IntervalCount();
    if (n == 0 || t_count == 0) return InvalidArgument("the area has no meters or no intervals");
    if (area.meters.size() != n * t_count) {
        return InvalidArgument("meter readings do not match meter count x interval count");
    }
    if (tolerances.size() != 1 && tolerances.size() != n) {
        return InvalidArgument("need one tolerance, or one per meter (" + std::to_string(n) + ")");
    }
    for (double tol : tolerances) {
        if (!(tol > 0)) return InvalidArgument("tolerances must be positive");
    }

    AreaEstimate out;
    out.meters.resize(n);
    for (size_t i = 0; i < n; ++i) {
        out.meters[i].index = i;
        out.meters[i].tolerance = tolerances.size() == 1 ? tolerances[0] : tolerances[i];
        out.meters[i].error = std::numeric_limits<double>::quiet_NaN();
        out.meters[i].uncertainty = std::numeric_limits<double>::infinity();
    }
    auto all_not_computable = [&](std::string reason) {
        out.computable = false;
        out.reason = reason;
        for (MeterEstimate& m : out.meters) {
            m.verdict = Verdict::kNotComputable;
            m.reason = reason;
        }
        return out;
    };

    // Design matrix columns: the meters that recorded any energy, then the fixed loss (ones) and
    // the load loss (total load squared). A meter with no energy at all has no information.
    using Eigen::Index;
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> m(
        area.meters.data(), static_cast<Index>(t_count), static_cast<Index>(n));
    Eigen::Map<const Eigen::VectorXd> s(area.summary.data(), static_cast<Index>(t_count));
    std::vector<Index> active;
    for (size_t i = 0; i < n; ++i) {
        if (m.col(static_cast<Index>(i)).squaredNorm() > 0) {
            active.push_back(static_cast<Index>(i));
        } else {
            out.meters[i].verdict = Verdict::kNotComputable;
            out.meters[i].reason = "the meter recorded no energy";
        }
    }
    const Index k = static_cast<Index>(active.size());
    const Index p = k + 2;
    out.unknowns = static_cast<size_t>(p);
    if (k == 0) return all_not_computable("no meter recorded any energy");
    if (static_cast<double>(t_count) < options.min_intervals_per_unknown * static_cast<double>(p)) {
        return all_not_computable("too few intervals: " + std::to_string(t_count) + " for " +
                                  std::to_string(p) + " unknowns");
    }

    Eigen::MatrixXd a(static_cast<Index>(t_count), p);
    for (Index j = 0; j < k; ++j) a.col(j) = m.col(active[static_cast<size_t>(j)]);
    a.col(k).setOnes();
    a.col(k + 1) = m.rowwise().sum().array().square().matrix();

    // Column scaling makes the condition number a property of the data's shape, not of units.
    Eigen::VectorXd norms = a.colwise().norm().transpose();
    if (norms(k + 1) == 0) norms(k + 1) = 1;
    const Eigen::VectorXd inv_norms = norms.cwiseInverse();
    a = a * inv_norms.asDiagonal();

    Eigen::MatrixXd normal = Eigen::MatrixXd::Zero(p, p);
    normal.selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
    normal.triangularView<Eigen::Upper>() = normal.transpose();
    const Eigen::VectorXd rhs = a.transpose() * s;

    // Conditioning of the scaled design: singular values are the square roots of the normal
    // matrix's eigenvalues.
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(normal);
    if (eig.info() != Eigen::Success) return all_not_computable("eigen decomposition failed");
    const Eigen::VectorXd& ev = eig.eigenvalues();  // ascending
    const double ev_max = ev(p - 1);
    const double ev_min = std::max(ev(0), 0.0);
    out.condition_number =
        ev_min > 0 ? std::sqrt(ev_max / ev_min) : std::numeric_limits<double>::infinity();
    out.rank = static_cast<size_t>((ev.array() > ev_max * 1e-12).count());

    // First pass, barely regularised: the residual noise level sigma. An ill-conditioned design
    // still fits the data well, so sigma is meaningful even when the c_i are not.
    const Eigen::MatrixXd& v = eig.eigenvectors();
    const Eigen::VectorXd shrink = (ev.array() + options.ridge).inverse();
    const Eigen::VectorXd y0 = v * (shrink.asDiagonal() * (v.transpose() * rhs));
    const double dof = static_cast<double>(static_cast<Index>(t_count) - p);
    const double sigma = std::sqrt((s - a * y0).squaredNorm() / dof);
    out.residual_sigma_kwh = sigma;

    // Second pass, the regularised estimate: a Gaussian prior "the meter is exact" on every
    // e_i (on c_i = 1/(1+e_i) to first order) whose standard deviation is adaptive,
    // prior_j = max(prior_sd, |first-pass e_j|): small errors are shrunk towards 0, a large one
    // that the data clearly shows is not (an adaptive ridge, close to an L1 penalty: most meters
    // are exact, a few are not). In scaled coordinates y_j = x_j * norm_j the penalty
    // (sigma/prior_j)^2 (x_j - 1)^2 adds mu_j = sigma^2 / (prior_j^2 norm_j^2) to the diagonal
    // and mu_j norm_j to the right side.
    Eigen::MatrixXd lhs = normal;
    Eigen::VectorXd b = rhs;
    std::vector<double> prior_sd(static_cast<size_t>(k));
    for (Index j = 0; j < k; ++j) {
        const double c0 = y0(j) * inv_norms(j);
        const double e0 = c0 > 0 ? std::abs(1.0 / c0 - 1.0) : 1.0;
        const double sd = std::clamp(e0, options.prior_sd, 1.0);
        prior_sd[static_cast<size_t>(j)] = sd;
        const double mu = sigma * sigma / (sd * sd * norms(j) * norms(j));
        lhs(j, j) += mu + options.ridge;
        b(j) += mu * norms(j);
    }
    lhs(k, k) += options.ridge;
    lhs(k + 1, k + 1) += options.ridge;
    Eigen::LLT<Eigen::MatrixXd> llt(lhs);
    if (llt.info() != Eigen::Success) return all_not_computable("the normal equations are singular");
    const Eigen::VectorXd y = llt.solve(b);
    out.fixed_loss_kwh = y(k) * inv_norms(k);
    out.load_loss_coeff = y(k + 1) * inv_norms(k + 1);

    if (!(out.condition_number <= options.max_condition)) {
        return all_not_computable(
            Fmt("ill-conditioned area: condition number %.3g exceeds %.3g (the users' load "
                "shapes cannot be told apart)",
                out.condition_number, options.max_condition));
    }
    out.computable = true;

    // Posterior covariance sigma^2 (N + M)^-1: its diagonal is each unknown's variance.
    const Eigen::MatrixXd inverse = llt.solve(Eigen::MatrixXd::Identity(p, p));
    for (Index j = 0; j < k; ++j) {
        MeterEstimate& est = out.meters[static_cast<size_t>(active[static_cast<size_t>(j)])];
        const double c = y(j) * inv_norms(j);
        const double sd_c = sigma * std::sqrt(std::max(inverse(j, j), 0.0)) * inv_norms(j);
        if (!(c > 0)) {
            est.verdict = Verdict::kNotComputable;
            est.reason = "the fitted coefficient is not positive";
            continue;
        }
        est.error = 1.0 / c - 1.0;
        est.uncertainty = sd_c / (c * c);
        // The data, not the prior, must determine the estimate: posterior spread at most
        // max_prior_share of the prior's (else the answer would be the assumption "exact").
        if (est.uncertainty > options.max_prior_share * prior_sd[static_cast<size_t>(j)]) {
            est.verdict = Verdict::kNotComputable;
            est.reason = Fmt("the data do not determine the error (uncertainty %.3g against a "
                             "prior of %.3g)",
                             est.uncertainty, prior_sd[static_cast<size_t>(j)]);
            continue;
        }
        // A verdict only when it holds at `coverage` standard uncertainties either way.
        const double margin = options.coverage * est.uncertainty;
        if (std::abs(est.error) - margin > est.tolerance) {
            est.verdict = Verdict::kOutOfTolerance;
        } else if (std::abs(est.error) + margin <= est.tolerance) {
            est.verdict = Verdict::kWithinTolerance;
        } else {
            est.verdict = Verdict::kNotComputable;
            est.reason = Fmt("cannot tell: the error %.3g is within %.3g standard uncertainties "
                             "of the tolerance",
                             est.error, options.coverage);
        }
    }
    return out;
}

}  // namespace meterchain::errmodel
