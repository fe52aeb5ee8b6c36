// Reading area.jsonl, accuracy-class tolerances, and the JSON form of a result.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "node/crypto/sm.h"
#include "node/errmodel/errmodel.h"

namespace meterchain::errmodel {
namespace {

// A cursor over one line of JSON. The format is fixed and flat (two numbers and one array of
// numbers), so a small scanner is enough; anything unexpected is an error naming the line.
class LineScanner {
public:
    LineScanner(std::string_view line, size_t line_no) : m_s(line), m_line_no(line_no) {}

    // Position just after `"name"` and the following ':'; npos when absent.
    size_t FindField(std::string_view name) const {
        std::string quoted = "\"" + std::string(name) + "\"";
        size_t at = m_s.find(quoted);
        if (at == std::string_view::npos) return at;
        at += quoted.size();
        while (at < m_s.size() && (m_s[at] == ' ' || m_s[at] == '\t')) ++at;
        if (at >= m_s.size() || m_s[at] != ':') return std::string_view::npos;
        return at + 1;
    }

    Status Number(size_t& at, double& out, const std::string& what) const {
        while (at < m_s.size() && (m_s[at] == ' ' || m_s[at] == '\t')) ++at;
        const char* begin = m_s.data() + at;
        const char* end = m_s.data() + m_s.size();
        auto [ptr, ec] = std::from_chars(begin, end, out);
        if (ec != std::errc() || !std::isfinite(out)) {
            return InvalidArgument(Where() + what + " is not a finite number");
        }
        at += static_cast<size_t>(ptr - begin);
        return Status::Ok();
    }

    void SkipSpace(size_t& at) const {
        while (at < m_s.size() && (m_s[at] == ' ' || m_s[at] == '\t')) ++at;
    }
    char At(size_t at) const { return at < m_s.size() ? m_s[at] : '\0'; }
    std::string Where() const { return "line " + std::to_string(m_line_no) + ": "; }

private:
    std::string_view m_s;
    size_t m_line_no;
};

}  // namespace

Result<Area> ParseArea(std::istream& in) {
    Area area;
    std::string line;
    size_t line_no = 0;
    std::vector<double> row;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        LineScanner scan(line, line_no);
        size_t at = scan.FindField("summary_kwh");
        if (at == std::string::npos) return InvalidArgument(scan.Where() + "summary_kwh is missing");
        double summary = 0;
        MC_RETURN_IF_ERROR(scan.Number(at, summary, "summary_kwh"));
        if (summary < 0) return InvalidArgument(scan.Where() + "summary_kwh is negative");

        at = scan.FindField("meters_kwh");
        if (at == std::string::npos) return InvalidArgument(scan.Where() + "meters_kwh is missing");
        scan.SkipSpace(at);
        if (scan.At(at) != '[') return InvalidArgument(scan.Where() + "meters_kwh is not an array");
        ++at;
        row.clear();
        scan.SkipSpace(at);
        if (scan.At(at) == ']') {
            ++at;
        } else {
            for (;;) {
                double v = 0;
                MC_RETURN_IF_ERROR(scan.Number(
                    at, v, "meters_kwh[" + std::to_string(row.size()) + "]"));
                if (v < 0) {
                    return InvalidArgument(scan.Where() + "meters_kwh[" +
                                           std::to_string(row.size()) + "] is negative");
                }
                row.push_back(v);
                scan.SkipSpace(at);
                if (scan.At(at) == ',') {
                    ++at;
                    continue;
                }
                if (scan.At(at) == ']') break;
                return InvalidArgument(scan.Where() + "meters_kwh: expected ',' or ']'");
            }
        }
        if (row.empty()) return InvalidArgument(scan.Where() + "meters_kwh is empty");
        if (area.summary.empty()) {
            area.meter_count = row.size();
        } else if (row.size() != area.meter_count) {
            return InvalidArgument(scan.Where() + "meters_kwh has " + std::to_string(row.size()) +
                                   " values, earlier lines " + std::to_string(area.meter_count));
        }
        area.summary.push_back(summary);
        area.meters.insert(area.meters.end(), row.begin(), row.end());
    }
    if (area.summary.empty()) return InvalidArgument("the area has no intervals");
    return area;
}

Result<Area> LoadAreaFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) return IoError("cannot open " + path);
    auto area = ParseArea(in);
    if (!area.ok()) return Status(area.status().code(), path + ": " + area.status().message());
    return area;
}

Result<std::string> FileDigestHex(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return IoError("cannot open " + path);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Hash256 digest = crypto::Sm3(AsBytes(data));
    return ToHex(ByteView(digest.data(), digest.size()));
}

Result<double> ToleranceForClass(std::string_view c) {
    // Class indexes of GB/T 17215.2xx (percent) and the letter classes of GB/T 17215.321.
    struct Row {
        std::string_view name;
        double tolerance;
    };
    static constexpr Row kRows[] = {
        {"3", 0.03},    {"2", 0.02},   {"1", 0.01},  {"0.5", 0.005}, {"0.5S", 0.005},
        {"0.2", 0.002}, {"0.2S", 0.002}, {"A", 0.02}, {"B", 0.01},    {"C", 0.005},
        {"D", 0.002},   {"2.0", 0.02}, {"1.0", 0.01},
    };
    for (const Row& row : kRows) {
        if (row.name == c) return row.tolerance;
    }
    return InvalidArgument("unknown accuracy class '" + std::string(c) +
                           "' (known: 3, 2, 1, 0.5S, 0.2S, A, B, C, D)");
}

std::string_view VerdictName(Verdict verdict) {
    switch (verdict) {
        case Verdict::kWithinTolerance: return "within_tolerance";
        case Verdict::kOutOfTolerance: return "out_of_tolerance";
        case Verdict::kNotComputable: return "not_computable";
    }
    return "unknown";
}

namespace {
// JSON has no NaN or infinity: an undetermined figure is null.
std::string Num(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}
std::string JsonString(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
    }
    return out + "\"";
}
}  // namespace

std::string ToJson(const AreaEstimate& e, std::string_view input_digest_hex) {
    std::ostringstream out;
    out << "{\"model_version\": " << JsonString(kModelVersion)
        << ", \"input_digest\": " << JsonString(input_digest_hex)
        << ", \"computable\": " << (e.computable ? "true" : "false");
    if (!e.reason.empty()) out << ", \"reason\": " << JsonString(e.reason);
    out << ", \"condition_number\": " << Num(e.condition_number) << ", \"rank\": " << e.rank
        << ", \"unknowns\": " << e.unknowns << ", \"fixed_loss_kwh\": " << Num(e.fixed_loss_kwh)
        << ", \"load_loss_coeff\": " << Num(e.load_loss_coeff)
        << ", \"residual_sigma_kwh\": " << Num(e.residual_sigma_kwh) << ",\n \"meters\": [";
    for (size_t i = 0; i < e.meters.size(); ++i) {
        const MeterEstimate& m = e.meters[i];
        out << (i ? ",\n  " : "\n  ") << "{\"index\": " << m.index
            << ", \"verdict\": " << JsonString(VerdictName(m.verdict));
        if (m.verdict != Verdict::kNotComputable || std::isfinite(m.error)) {
            out << ", \"error\": " << Num(m.error);
        }
        out << ", \"uncertainty\": " << Num(m.uncertainty) << ", \"tolerance\": " << Num(m.tolerance)
            << ", \"out_of_tolerance\": "
            << (m.verdict == Verdict::kOutOfTolerance ? "true" : "false");
        if (!m.reason.empty()) out << ", \"reason\": " << JsonString(m.reason);
        out << "}";
    }
    out << "\n]}\n";
    return out.str();
}

}  // namespace meterchain::errmodel
