// GB/T 2828.1-2012 (identical to ISO 2859-1:1999) single sampling for inspection by attributes:
// sample size code letters (Table 1), the master tables of single sampling plans for normal,
// tightened and reduced inspection (Tables 2-A, 2-B, 2-C) and the switching rules between them
// (clause 9). Pure functions over integers: deterministic, no floating point, thread-safe.
//
// AQL values are written as text ("1.0", "0.65", "1000") and held as thousandths of a percent
// (1.0 -> 1000), so that no float enters a contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "node/base/status.h"

namespace meterchain::contracts {

enum class InspectionLevel { kS1, kS2, kS3, kS4, kI, kII, kIII };
enum class Severity { kNormal, kTightened, kReduced };

// "S-1".."S-4", "I", "II", "III" (also "S1", "s-1", "1".."3" are refused: only the standard's
// spellings). kInvalidArgument otherwise.
Result<InspectionLevel> ParseInspectionLevel(std::string_view text);
std::string_view InspectionLevelName(InspectionLevel level);
std::string_view SeverityName(Severity severity);  // "normal" | "tightened" | "reduced"
Result<Severity> ParseSeverity(std::string_view text);

// The 26 AQL columns of Tables 2-A..2-C, 0.010 .. 1000. Returns the column index (0..25) of an
// AQL written as text ("1", "1.0", "1.00", "0.65", "1000"); kInvalidArgument when the value is
// not one of the standard's preferred AQLs.
Result<int> ParseAql(std::string_view text);
std::string AqlText(int column);  // "0.010", ..., "1.0", ..., "1000"
inline constexpr int kAqlColumns = 26;

// Table 1: the sample size code letter ('A'..'R') for a lot size (>= 2) and inspection level.
// kInvalidArgument for a lot size below 2.
Result<char> CodeLetter(uint64_t lot_size, InspectionLevel level);

// A single sampling plan as the master table gives it, after following the arrows.
struct SamplingPlanCell {
    char code_letter = 0;       // from Table 1
    char plan_letter = 0;       // the row whose plan is used (differs after an arrow; 'S' is
                                // Table 2-B's extra row of sample size 3150)
    uint32_t table_sample_size = 0;  // sample size of the plan's row
    uint32_t sample_size = 0;        // what is inspected: min(table_sample_size, lot_size)
    uint32_t ac = 0;                 // acceptance number
    uint32_t re = 0;                 // rejection number
    bool full_inspection = false;    // sample size >= lot size: inspect 100%
    bool followed_arrow = false;
};

// The plan of Table 2-A / 2-B / 2-C for a code letter and AQL column, following the arrows:
// "↓" = first plan below the arrow, "↑" = first plan above, each with its own sample size.
// kInvalidArgument for an unknown letter or column.
Result<SamplingPlanCell> MasterTablePlan(char code_letter, int aql_column, Severity severity);

// Table 1 + master table + the 100% rule: the plan for a lot.
Result<SamplingPlanCell> PlanForLot(uint64_t lot_size, InspectionLevel level, int aql_column,
                                    Severity severity);

// Switching rules of clause 9 (GB/T 2828.1-2012 / ISO 2859-1:1999), applied lot by lot to one
// series of lots (one manufacturer's product here):
//   normal -> tightened   when 2 of at most 5 consecutive lots are not accepted (9.3.1);
//   tightened -> normal   when 5 consecutive lots are accepted (9.3.2);
//   normal -> reduced     when the switching score reaches 30 (9.3.3; the score adds 2 for an
//                         accepted lot when Ac <= 1, 3 when Ac >= 2 and the lot would also have
//                         been accepted at the next tighter AQL, and resets to 0 otherwise);
//   reduced -> normal     when a lot is not accepted (9.3.4);
//   discontinued          when 5 lots in total are not accepted while tightened (9.4).
// The regulator's decision stands in for "production steady / authority approves": recording the
// lot through the supervision contract is that decision.
struct SwitchingState {
    Severity severity = Severity::kNormal;
    uint32_t recent_normal = 0;     // outcomes of the last <= 5 normal lots, bit 0 = newest,
                                    // 1 = not accepted
    uint32_t recent_count = 0;      // how many bits of recent_normal are valid (<= 5)
    uint32_t consecutive_accepted = 0;  // under tightened
    uint32_t tightened_rejections = 0;  // lots not accepted since tightened began
    uint32_t switching_score = 0;       // under normal
    bool discontinued = false;
};

struct LotOutcome {
    bool accepted = false;
    // Normal inspection only: accepted also at the AQL one step tighter (same code letter).
    bool accepted_one_step_tighter = false;
    uint32_t ac = 0;  // acceptance number of the plan used
};

// The state after one more lot. A discontinued series stays discontinued.
SwitchingState ApplySwitching(const SwitchingState& state, const LotOutcome& lot);

}  // namespace meterchain::contracts
