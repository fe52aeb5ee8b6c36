// GB/T 2828.1-2012 (= ISO 2859-1:1999) single sampling: Table 1, Tables 2-A/2-B/2-C and the
// switching rules, checked cell by cell against the standard.
#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "contracts/sampling.h"

using namespace meterchain;
using namespace meterchain::contracts;

namespace {

InspectionLevel Level(const char* name) { return *ParseInspectionLevel(name); }

SamplingPlanCell Plan(char letter, const char* aql, Severity severity) {
    auto column = ParseAql(aql);
    REQUIRE(column.ok());
    auto plan = MasterTablePlan(letter, *column, severity);
    REQUIRE(plan.ok());
    return *plan;
}

// {letter, AQL, sample size of the plan used, Ac, Re}
using Expected = std::tuple<char, const char*, uint32_t, uint32_t, uint32_t>;

void CheckCells(Severity severity, const std::vector<Expected>& cells) {
    for (const auto& [letter, aql, n, ac, re] : cells) {
        INFO("letter " << letter << " AQL " << aql << " " << SeverityName(severity));
        auto plan = Plan(letter, aql, severity);
        CHECK(plan.table_sample_size == n);
        CHECK(plan.ac == ac);
        CHECK(plan.re == re);
    }
}

}  // namespace

TEST_CASE("Table 1: every lot-size boundary gives the standard's code letter at every level",
          "[sampling]") {
    // lot sizes at both ends of every range; letters for S-1 S-2 S-3 S-4 I II III
    const std::vector<std::tuple<uint64_t, uint64_t, const char*>> ranges = {
        {2, 8, "AAAAAAB"},          {9, 15, "AAAAABC"},        {16, 25, "AABBBCD"},
        {26, 50, "ABBCCDE"},        {51, 90, "BBCCCEF"},       {91, 150, "BBCDDFG"},
        {151, 280, "BCDEEGH"},      {281, 500, "BCDEFHJ"},     {501, 1200, "CCEFGJK"},
        {1201, 3200, "CDEGHKL"},    {3201, 10000, "CDFGJLM"},  {10001, 35000, "CDFHKMN"},
        {35001, 150000, "DEGJLNP"}, {150001, 500000, "DEGJMPQ"}, {500001, 100000000, "DEHKNQR"},
    };
    const char* levels[] = {"S-1", "S-2", "S-3", "S-4", "I", "II", "III"};
    for (const auto& [low, high, letters] : ranges) {
        for (int l = 0; l < 7; ++l) {
            INFO("lot " << low << ".." << high << " level " << levels[l]);
            CHECK(*CodeLetter(low, Level(levels[l])) == letters[l]);
            CHECK(*CodeLetter(high, Level(levels[l])) == letters[l]);
        }
    }
    CHECK_FALSE(CodeLetter(1, InspectionLevel::kII).ok());
    CHECK_FALSE(CodeLetter(0, InspectionLevel::kII).ok());
}

TEST_CASE("Inspection levels and AQLs are read only in the standard's spellings", "[sampling]") {
    CHECK_FALSE(ParseInspectionLevel("G-2").ok());
    CHECK_FALSE(ParseInspectionLevel("ii").ok());
    CHECK(*ParseAql("1.0") == 10);
    CHECK(*ParseAql("1") == 10);
    CHECK(*ParseAql("1.00") == 10);
    CHECK(*ParseAql("0.010") == 0);
    CHECK(*ParseAql("0.01") == 0);
    CHECK(*ParseAql("0.65") == 9);
    CHECK(*ParseAql("1000") == 25);
    CHECK_FALSE(ParseAql("2.0").ok());
    CHECK_FALSE(ParseAql("0.0105").ok());
    CHECK_FALSE(ParseAql("-1").ok());
    CHECK_FALSE(ParseAql("1e3").ok());
    CHECK_FALSE(ParseAql("").ok());
    for (int i = 0; i < kAqlColumns; ++i) CHECK(*ParseAql(AqlText(i)) == i);
    CHECK(AqlText(0) == "0.010");
    CHECK(AqlText(5) == "0.10");
    CHECK(AqlText(10) == "1.0");
    CHECK(AqlText(15) == "10");
}

TEST_CASE("Table 2-A normal inspection: plan cells and the arrows lead to the standard's plans",
          "[sampling]") {
    CheckCells(Severity::kNormal, {
        // plain cells along the table
        {'A', "6.5", 2, 0, 1},     {'A', "25", 2, 1, 2},      {'A', "65", 2, 3, 4},
        {'A', "650", 2, 21, 22},   {'A', "1000", 2, 30, 31},  {'B', "4.0", 3, 0, 1},
        {'B', "1000", 3, 44, 45},  {'C', "650", 5, 44, 45},   {'E', "1.0", 13, 0, 1},
        {'E', "250", 13, 44, 45},  {'E', "150", 13, 30, 31},  {'F', "65", 20, 21, 22},
        {'H', "1.0", 50, 1, 2},    {'J', "1.0", 80, 2, 3},    {'K', "0.65", 125, 2, 3},
        {'K', "1.0", 125, 3, 4},   {'K', "1.5", 125, 5, 6},   {'K', "2.5", 125, 7, 8},
        {'K', "4.0", 125, 10, 11}, {'K', "6.5", 125, 14, 15}, {'K', "10", 125, 21, 22},
        {'L', "1.0", 200, 5, 6},   {'L', "0.065", 200, 0, 1}, {'M', "0.40", 315, 3, 4},
        {'N', "0.025", 500, 0, 1}, {'P', "0.25", 800, 5, 6},  {'Q', "0.010", 1250, 0, 1},
        {'Q', "0.40", 1250, 10, 11}, {'R', "0.025", 2000, 1, 2}, {'R', "0.65", 2000, 21, 22},
        // "↓": first plan below, with its own sample size
        {'A', "0.010", 1250, 0, 1}, {'A', "4.0", 3, 0, 1},    {'A', "15", 3, 1, 2},
        {'G', "1.0", 50, 1, 2},     {'J', "0.40", 125, 1, 2}, {'C', "0.10", 125, 0, 1},
        {'K', "0.15", 80, 0, 1},   {'K', "0.25", 200, 1, 2},
        // "↑": first plan above
        {'F', "1.0", 13, 0, 1},     {'B', "6.5", 2, 0, 1},    {'R', "0.010", 1250, 0, 1},
        {'R', "0.015", 800, 0, 1},  {'F', "100", 13, 21, 22}, {'G', "100", 13, 21, 22},
        {'F', "150", 13, 30, 31},   {'K', "15", 80, 21, 22}, {'R', "1.0", 1250, 21, 22},
        {'C', "1000", 3, 44, 45},   {'E', "1000", 3, 44, 45}, {'L', "1000", 3, 44, 45},
        // row A under 10: printed "↑" with nothing above; row A's own plan
        {'A', "10", 2, 0, 1},
    });
}

TEST_CASE("Table 2-B tightened inspection: plan cells, arrows and the extra row S", "[sampling]") {
    CheckCells(Severity::kTightened, {
        {'A', "10", 2, 0, 1},      {'A', "40", 2, 1, 2},       {'A', "1000", 2, 27, 28},
        {'B', "6.5", 3, 0, 1},     {'B', "1000", 3, 41, 42},   {'C', "15", 5, 1, 2},
        {'D', "2.5", 8, 0, 1},     {'E', "6.5", 13, 1, 2},     {'F', "15", 20, 5, 6},
        {'G', "15", 32, 8, 9},     {'H', "15", 50, 12, 13},    {'J', "15", 80, 18, 19},
        {'K', "0.65", 125, 1, 2},  {'K', "1.0", 125, 2, 3},    {'K', "1.5", 125, 3, 4},
        {'K', "2.5", 125, 5, 6},   {'K', "4.0", 125, 8, 9},    {'K', "6.5", 125, 12, 13},
        {'K', "10", 125, 18, 19},  {'L', "0.65", 200, 2, 3},   {'R', "0.010", 2000, 0, 1},
        {'R', "0.040", 2000, 1, 2},
        // "↓"
        {'C', "6.5", 13, 1, 2},     {'C', "10", 8, 1, 2},       {'H', "0.65", 125, 1, 2},
        {'J', "0.65", 125, 1, 2},  {'E', "1.0", 20, 0, 1},     {'R', "0.015", 3150, 1, 2},
        {'R', "0.025", 3150, 1, 2}, {'Q', "0.010", 2000, 0, 1},
        // "↑"
        {'K', "15", 80, 18, 19},  {'F', "100", 13, 18, 19}, {'L', "10", 125, 18, 19},
    });
}

TEST_CASE("Table 2-C reduced inspection: reduced sample sizes and Re = Ac + 1", "[sampling]") {
    CheckCells(Severity::kReduced, {
        {'A', "6.5", 2, 0, 1},    {'B', "4.0", 2, 0, 1},    {'C', "2.5", 2, 0, 1},
        {'K', "1.0", 50, 3, 4},   {'K', "0.65", 50, 2, 3},  {'K', "2.5", 50, 6, 7},
        {'K', "4.0", 50, 8, 9},   {'K', "10", 50, 14, 15},  {'R', "0.65", 800, 14, 15},
        {'A', "1000", 2, 21, 22},
        {'G', "1.0", 20, 1, 2},   {'F', "1.0", 5, 0, 1},    {'B', "1000", 2, 21, 22},
        {'K', "15", 32, 14, 15},
    });
}

TEST_CASE("A sample at least as large as the lot means 100% inspection", "[sampling]") {
    // lot 2..8 at level III is letter B (n = 3)
    auto plan = PlanForLot(2, InspectionLevel::kIII, *ParseAql("6.5"), Severity::kNormal);
    REQUIRE(plan.ok());
    CHECK(plan->full_inspection);
    CHECK(plan->sample_size == 2);
    // lot 10 at level II: letter B, AQL 0.10 leads down to K, n = 125: inspect all 10
    plan = PlanForLot(10, InspectionLevel::kII, *ParseAql("0.10"), Severity::kNormal);
    REQUIRE(plan.ok());
    CHECK(plan->code_letter == 'B');
    CHECK(plan->plan_letter == 'K');
    CHECK(plan->table_sample_size == 125);
    CHECK(plan->full_inspection);
    CHECK(plan->sample_size == 10);
    // the example: lot 3200, level II, AQL 1.0 -> K, n = 125, Ac 3, Re 4
    plan = PlanForLot(3200, InspectionLevel::kII, *ParseAql("1.0"), Severity::kNormal);
    REQUIRE(plan.ok());
    CHECK(plan->code_letter == 'K');
    CHECK(plan->sample_size == 125);
    CHECK(plan->ac == 3);
    CHECK(plan->re == 4);
    CHECK_FALSE(plan->full_inspection);
    CHECK_FALSE(plan->followed_arrow);
}

TEST_CASE("Every cell of every master table resolves to a plan whose Re is Ac + 1",
          "[sampling]") {
    for (Severity s : {Severity::kNormal, Severity::kTightened, Severity::kReduced}) {
        for (char letter : std::string("ABCDEFGHJKLMNPQR")) {
            for (int column = 0; column < kAqlColumns; ++column) {
                auto plan = MasterTablePlan(letter, column, s);
                INFO(SeverityName(s) << " " << letter << " " << AqlText(column));
                REQUIRE(plan.ok());
                CHECK(plan->re == plan->ac + 1);
                CHECK(plan->table_sample_size >= 2);
            }
        }
    }
    CHECK_FALSE(MasterTablePlan('I', 10, Severity::kNormal).ok());
    CHECK_FALSE(MasterTablePlan('A', 26, Severity::kNormal).ok());
}

TEST_CASE("Switching: normal to tightened when 2 of 5 or fewer consecutive lots are not accepted",
          "[sampling]") {
    SwitchingState s;
    LotOutcome ok{true, false, 3};
    LotOutcome bad{false, false, 3};
    s = ApplySwitching(s, bad);
    CHECK(s.severity == Severity::kNormal);
    for (int i = 0; i < 3; ++i) s = ApplySwitching(s, ok);
    CHECK(s.severity == Severity::kNormal);
    s = ApplySwitching(s, bad);  // second rejection within 5 lots
    CHECK(s.severity == Severity::kTightened);

    SwitchingState t;
    t = ApplySwitching(t, bad);
    for (int i = 0; i < 4; ++i) t = ApplySwitching(t, ok);  // the first rejection leaves the window
    t = ApplySwitching(t, bad);
    CHECK(t.severity == Severity::kNormal);
}

TEST_CASE("Switching: tightened back to normal after 5 consecutive accepted lots, and 5 rejections "
          "under tightened discontinue",
          "[sampling]") {
    SwitchingState s;
    s.severity = Severity::kTightened;
    LotOutcome ok{true, false, 2};
    LotOutcome bad{false, false, 2};
    for (int i = 0; i < 4; ++i) s = ApplySwitching(s, ok);
    CHECK(s.severity == Severity::kTightened);
    s = ApplySwitching(s, ok);
    CHECK(s.severity == Severity::kNormal);
    CHECK(s.switching_score == 0);

    SwitchingState d;
    d.severity = Severity::kTightened;
    for (int i = 0; i < 4; ++i) {
        d = ApplySwitching(d, bad);
        d = ApplySwitching(d, ok);
    }
    CHECK_FALSE(d.discontinued);
    d = ApplySwitching(d, bad);
    CHECK(d.discontinued);
    CHECK(ApplySwitching(d, ok).discontinued);
}

TEST_CASE("Switching: the switching score takes normal to reduced at 30, and a rejected lot "
          "takes reduced back to normal",
          "[sampling]") {
    SwitchingState s;
    LotOutcome small_ac{true, false, 1};  // Ac <= 1: +2 per accepted lot
    for (int i = 0; i < 14; ++i) s = ApplySwitching(s, small_ac);
    CHECK(s.switching_score == 28);
    CHECK(s.severity == Severity::kNormal);
    s = ApplySwitching(s, small_ac);
    CHECK(s.severity == Severity::kReduced);

    SwitchingState t;
    LotOutcome tighter{true, true, 5};  // Ac >= 2 and accepted one step tighter: +3
    LotOutcome not_tighter{true, false, 5};
    for (int i = 0; i < 9; ++i) t = ApplySwitching(t, tighter);
    CHECK(t.switching_score == 27);
    t = ApplySwitching(t, not_tighter);  // resets
    CHECK(t.switching_score == 0);
    for (int i = 0; i < 10; ++i) t = ApplySwitching(t, tighter);
    CHECK(t.severity == Severity::kReduced);
    t = ApplySwitching(t, LotOutcome{false, false, 5});
    CHECK(t.severity == Severity::kNormal);
}
