#include "contracts/sampling.h"

#include <array>
#include <utility>

namespace meterchain::contracts {

namespace {

constexpr std::string_view kLetters = "ABCDEFGHJKLMNPQR";
constexpr int kRows = 16;

// GB/T 2828.1-2012 Table 1 (= ISO 2859-1:1999 Table 1), sample size code letters.
// Columns: S-1 S-2 S-3 S-4 I II III.
struct LotRange {
    uint64_t max_lot;  // upper bound of the lot size range (the last row is open-ended)
    const char* letters;
};
constexpr std::array<LotRange, 15> kTable1 = {{
    {8, "AAAAAAB"},
    {15, "AAAAABC"},
    {25, "AABBBCD"},
    {50, "ABBCCDE"},
    {90, "BBCCCEF"},
    {150, "BBCDDFG"},
    {280, "BCDEEGH"},
    {500, "BCDEFHJ"},
    {1200, "CCEFGJK"},
    {3200, "CDEGHKL"},
    {10000, "CDFGJLM"},
    {35000, "CDFHKMN"},
    {150000, "DEGJLNP"},
    {500000, "DEGJMPQ"},
    {UINT64_MAX, "DEHKNQR"},
}};

// Sample sizes of the code letters A..R: Tables 2-A and 2-B (and 2-B's extra row S = 3150),
// and Table 2-C (reduced inspection).
constexpr std::array<uint32_t, kRows> kSampleSize = {2,   3,   5,   8,   13,  20,  32,   50,
                                                     80,  125, 200, 315, 500, 800, 1250, 2000};
constexpr uint32_t kTightenedRowS = 3150;
constexpr std::array<uint32_t, kRows> kReducedSampleSize = {2,  2,  2,   3,   5,   8,   13,  20,
                                                            32, 50, 80, 125, 200, 315, 500, 800};

// AQL columns in thousandths of a percent: 0.010 .. 1000.
constexpr std::array<uint32_t, kAqlColumns> kAqlMilli = {
    10,    15,    25,    40,     65,     100,    150,    250,    400,
    650,   1000,  1500,  2500,   4000,   6500,   10000,  15000,  25000,
    40000, 65000, 100000, 150000, 250000, 400000, 650000, 1000000};

// The master tables, one row per code letter and one cell per AQL column (0.010 .. 1000).
// A number is the acceptance number Ac (in the 1999 edition Re = Ac + 1 in every single
// sampling cell, reduced inspection included); D = "↓" (use the first plan below the arrow),
// U = "↑" (use the first plan above the arrow).
//
// GB/T 2828.1-2012 Table 2-A (= ISO 2859-1:1999 Table 2-A): single sampling, normal inspection.
// Row A, AQL 10 is printed "↑" with no plan above it in that column; it resolves to row A's own
// plan (n = 2, Ac 0, Re 1), the nearest plan in the printed direction. Row R, AQL 0.015 is
// printed "↑" (there is no row below R).
constexpr std::array<const char*, kRows> kTable2A = {
    " D  D  D  D  D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21 30",  // A
    " D  D  D  D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21 30 44",  // B
    " D  D  D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21 30 44  U",  // C
    " D  D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21 30 44  U  U",  // D
    " D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21 30 44  U  U  U",  // E
    " D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U",  // F
    " D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U",  // G
    " D  D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U",  // H
    " D  D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U  U",  // J
    " D  D  D  D  D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U  U  U",  // K
    " D  D  D  D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U  U  U  U",  // L
    " D  D  D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U  U  U  U  U",  // M
    " D  D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U  U  U  U  U  U",  // N
    " D  0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // P
    " 0  U  D  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // Q
    " U  U  1  2  3  5  7 10 14 21  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // R
};

// GB/T 2828.1-2012 Table 2-B (= ISO 2859-1:1999 Table 2-B): single sampling, tightened
// inspection. The "↓" of row R under AQL 0.015 and 0.025 leads to the table's extra row S
// (n = 3150, Ac 1, Re 2), kTable2BRowS.
constexpr std::array<const char*, kRows> kTable2B = {
    " D  D  D  D  D  D  D  D  D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18 27",  // A
    " D  D  D  D  D  D  D  D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18 27 41",  // B
    " D  D  D  D  D  D  D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18 27 41  U",  // C
    " D  D  D  D  D  D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18 27 41  U  U",  // D
    " D  D  D  D  D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18 27 41  U  U  U",  // E
    " D  D  D  D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U",  // F
    " D  D  D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U",  // G
    " D  D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U",  // H
    " D  D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U  U",  // J
    " D  D  D  D  D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U  U  U",  // K
    " D  D  D  D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U  U  U  U",  // L
    " D  D  D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U  U  U  U  U",  // M
    " D  D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U  U  U  U  U  U",  // N
    " D  D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // P
    " D  0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // Q
    " 0  D  D  1  2  3  5  8 12 18  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // R
};
// Row S of Table 2-B: only reached from the arrows above it (AQL 0.015 and 0.025).
constexpr const char* kTable2BRowS =
    " -  1  1  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -  -";

// GB/T 2828.1-2012 Table 2-C (= ISO 2859-1:1999 Table 2-C): single sampling, reduced
// inspection, with the reduced sample sizes (kReducedSampleSize) and, since the 1999 edition,
// Re = Ac + 1 (no gap between acceptance and rejection numbers). Same arrow layout as 2-A.
constexpr std::array<const char*, kRows> kTable2C = {
    " D  D  D  D  D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14 21",  // A
    " D  D  D  D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14 21  U",  // B
    " D  D  D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14 21  U  U",  // C
    " D  D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14 21  U  U  U",  // D
    " D  D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14 21  U  U  U  U",  // E
    " D  D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U",  // F
    " D  D  D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U",  // G
    " D  D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U",  // H
    " D  D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U  U",  // J
    " D  D  D  D  D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U  U  U",  // K
    " D  D  D  D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U  U  U  U",  // L
    " D  D  D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U  U  U  U  U",  // M
    " D  D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U  U  U  U  U  U",  // N
    " D  0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // P
    " 0  U  D  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // Q
    " U  U  1  2  3  5  6  8 10 14  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U  U",  // R
};

// One cell of a row string: 'D', 'U', '-' or the acceptance number.
struct Cell {
    char arrow = 0;  // 'D', 'U', '-' or 0 for a plan
    uint32_t ac = 0;
};

Cell ReadCell(const char* row, int column) {
    std::string_view text(row);
    int index = 0;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && text[i] == ' ') ++i;
        size_t start = i;
        while (i < text.size() && text[i] != ' ') ++i;
        if (start == i) break;
        if (index == column) {
            std::string_view token = text.substr(start, i - start);
            Cell cell;
            if (token == "D" || token == "U" || token == "-") {
                cell.arrow = token[0];
            } else {
                for (char c : token) cell.ac = cell.ac * 10 + static_cast<uint32_t>(c - '0');
            }
            return cell;
        }
        ++index;
    }
    return Cell{'-', 0};
}

const std::array<const char*, kRows>& TableOf(Severity severity) {
    switch (severity) {
        case Severity::kTightened:
            return kTable2B;
        case Severity::kReduced:
            return kTable2C;
        default:
            return kTable2A;
    }
}

uint32_t RowSampleSize(int row, Severity severity) {
    if (row == kRows) return kTightenedRowS;
    return severity == Severity::kReduced ? kReducedSampleSize[row] : kSampleSize[row];
}

Cell RowCell(int row, int column, Severity severity) {
    if (row == kRows) return ReadCell(kTable2BRowS, column);
    return ReadCell(TableOf(severity)[row], column);
}

}  // namespace

Result<InspectionLevel> ParseInspectionLevel(std::string_view text) {
    static constexpr std::array<std::pair<std::string_view, InspectionLevel>, 7> kNames = {{
        {"S-1", InspectionLevel::kS1},
        {"S-2", InspectionLevel::kS2},
        {"S-3", InspectionLevel::kS3},
        {"S-4", InspectionLevel::kS4},
        {"I", InspectionLevel::kI},
        {"II", InspectionLevel::kII},
        {"III", InspectionLevel::kIII},
    }};
    for (const auto& [name, level] : kNames) {
        if (name == text) return level;
    }
    return InvalidArgument("inspection level must be one of S-1, S-2, S-3, S-4, I, II, III");
}

std::string_view InspectionLevelName(InspectionLevel level) {
    static constexpr std::array<std::string_view, 7> kNames = {"S-1", "S-2", "S-3", "S-4",
                                                               "I",   "II",  "III"};
    return kNames[static_cast<size_t>(level)];
}

std::string_view SeverityName(Severity severity) {
    switch (severity) {
        case Severity::kTightened:
            return "tightened";
        case Severity::kReduced:
            return "reduced";
        default:
            return "normal";
    }
}

Result<Severity> ParseSeverity(std::string_view text) {
    if (text == "normal") return Severity::kNormal;
    if (text == "tightened") return Severity::kTightened;
    if (text == "reduced") return Severity::kReduced;
    return InvalidArgument("inspection severity must be normal, tightened or reduced");
}

Result<int> ParseAql(std::string_view text) {
    // Decimal text -> thousandths of a percent, without floating point.
    auto bad = [&] {
        return InvalidArgument("AQL '" + std::string(text) +
                               "' is not a preferred AQL of GB/T 2828.1 (0.010 .. 1000)");
    };
    if (text.empty() || text.size() > 12) return bad();
    uint64_t whole = 0, fraction = 0;
    int fraction_digits = 0;
    bool seen_point = false, seen_digit = false;
    for (char c : text) {
        if (c == '.') {
            if (seen_point) return bad();
            seen_point = true;
            continue;
        }
        if (c < '0' || c > '9') return bad();
        seen_digit = true;
        if (!seen_point) {
            whole = whole * 10 + static_cast<uint64_t>(c - '0');
        } else {
            if (fraction_digits == 3) {
                if (c != '0') return bad();  // finer than a thousandth: not a preferred AQL
                continue;
            }
            fraction = fraction * 10 + static_cast<uint64_t>(c - '0');
            ++fraction_digits;
        }
    }
    if (!seen_digit) return bad();
    while (fraction_digits < 3) {
        fraction *= 10;
        ++fraction_digits;
    }
    uint64_t milli = whole * 1000 + fraction;
    for (int i = 0; i < kAqlColumns; ++i) {
        if (kAqlMilli[static_cast<size_t>(i)] == milli) return i;
    }
    return bad();
}

std::string AqlText(int column) {
    if (column < 0 || column >= kAqlColumns) return {};
    uint32_t milli = kAqlMilli[static_cast<size_t>(column)];
    if (milli >= 10000) return std::to_string(milli / 1000);  // 10, 15, ..., 1000
    std::string fraction = std::to_string(milli % 1000);
    fraction.insert(0, 3 - fraction.size(), '0');
    if (milli >= 1000) {
        // 1.0, 1.5, 2.5, 4.0, 6.5: one decimal as the standard prints them.
        return std::to_string(milli / 1000) + "." + fraction.substr(0, 1);
    }
    if (milli >= 100) {
        // 0.10, 0.15, 0.25, 0.40, 0.65
        return "0." + fraction.substr(0, 2);
    }
    return "0." + fraction;  // 0.010, 0.015, 0.025, 0.040, 0.065
}

Result<char> CodeLetter(uint64_t lot_size, InspectionLevel level) {
    if (lot_size < 2) return InvalidArgument("lot size must be at least 2");
    for (const auto& range : kTable1) {
        if (lot_size <= range.max_lot) return range.letters[static_cast<size_t>(level)];
    }
    return kTable1.back().letters[static_cast<size_t>(level)];
}

Result<SamplingPlanCell> MasterTablePlan(char code_letter, int aql_column, Severity severity) {
    size_t letter = kLetters.find(code_letter);
    if (letter == std::string_view::npos) {
        return InvalidArgument(std::string("unknown sample size code letter '") + code_letter +
                               "'");
    }
    if (aql_column < 0 || aql_column >= kAqlColumns) {
        return InvalidArgument("AQL column out of range");
    }
    SamplingPlanCell plan;
    plan.code_letter = code_letter;
    int row = static_cast<int>(letter);
    Cell cell = RowCell(row, aql_column, severity);
    int last_row = severity == Severity::kTightened ? kRows : kRows - 1;
    while (cell.arrow == 'D' || cell.arrow == 'U') {
        plan.followed_arrow = true;
        int next = cell.arrow == 'D' ? row + 1 : row - 1;
        if (next < 0) {
            // An "↑" in the first row: the nearest plan of that row in the printed direction
            // (to the left, i.e. the stricter AQL with the same sample size).
            int column = aql_column;
            while (column > 0 && cell.arrow != 0) cell = RowCell(row, --column, severity);
            break;
        }
        if (next > last_row) {
            return Internal("master table arrow leaves the table");  // a broken table, not input
        }
        row = next;
        cell = RowCell(row, aql_column, severity);
    }
    if (cell.arrow != 0) return Internal("master table cell without a plan");
    plan.plan_letter = row == kRows ? 'S' : kLetters[static_cast<size_t>(row)];
    plan.table_sample_size = RowSampleSize(row, severity);
    plan.sample_size = plan.table_sample_size;
    plan.ac = cell.ac;
    plan.re = cell.ac + 1;
    return plan;
}

Result<SamplingPlanCell> PlanForLot(uint64_t lot_size, InspectionLevel level, int aql_column,
                                    Severity severity) {
    auto letter = CodeLetter(lot_size, level);
    if (!letter.ok()) return letter.status();
    auto plan = MasterTablePlan(*letter, aql_column, severity);
    if (!plan.ok()) return plan.status();
    if (plan->table_sample_size >= lot_size) {
        plan->full_inspection = true;
        plan->sample_size = static_cast<uint32_t>(lot_size);
    }
    return plan;
}

SwitchingState ApplySwitching(const SwitchingState& state, const LotOutcome& lot) {
    SwitchingState next = state;
    if (next.discontinued) return next;
    switch (state.severity) {
        case Severity::kNormal: {
            next.recent_normal = ((state.recent_normal << 1) | (lot.accepted ? 0u : 1u)) & 0x1f;
            next.recent_count = state.recent_count < 5 ? state.recent_count + 1 : 5;
            uint32_t rejected = 0;
            for (uint32_t i = 0; i < next.recent_count; ++i) rejected += (next.recent_normal >> i) & 1u;
            if (rejected >= 2) {
                next = SwitchingState{};
                next.severity = Severity::kTightened;
                return next;
            }
            if (!lot.accepted) {
                next.switching_score = 0;
            } else if (lot.ac <= 1) {
                next.switching_score += 2;
            } else if (lot.accepted_one_step_tighter) {
                next.switching_score += 3;
            } else {
                next.switching_score = 0;
            }
            if (next.switching_score >= 30) {
                next = SwitchingState{};
                next.severity = Severity::kReduced;
            }
            return next;
        }
        case Severity::kTightened: {
            if (lot.accepted) {
                next.consecutive_accepted += 1;
                if (next.consecutive_accepted >= 5) {
                    next = SwitchingState{};  // back to normal with a fresh history and score
                }
            } else {
                next.consecutive_accepted = 0;
                next.tightened_rejections += 1;
                if (next.tightened_rejections >= 5) next.discontinued = true;
            }
            return next;
        }
        case Severity::kReduced:
            if (!lot.accepted) next = SwitchingState{};
            return next;
    }
    return next;
}

}  // namespace meterchain::contracts
