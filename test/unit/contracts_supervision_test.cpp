// The supervision contract (SUP-3..5, BIZ-3..6) and the validity rules added for plausible dates
// and agreeing code/name pairs, on the in-process test chain.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "contracts/rules.h"
#include "contracts/supervision.h"
#include "contracts_fixture.h"

using namespace meterchain;
using namespace meterchain::contracts;
using namespace meterchain::contracts::testing;

namespace {

const std::string kBatch = "AB20990001";
const std::string kMaker = "M09";

std::string Bar(int i) { return SampleBarCode(1000 + i); }

v1::VerificationResult VeriResult(int i, const std::string& kind = "全检") {
    auto m = SampleRecord(v1::RECORD_VERIFICATION_RESULT, 1000 + i);
    auto r = static_cast<v1::VerificationResult&>(*m);
    r.set_bar_code(Bar(i));
    r.set_inspection_kind(kind);
    return r;
}

// A batch of `meters` meters, all verified qualified by TJ-IM (the institute), except those in
// `failed_items` whose BASIC_ERROR item failed.
void LoadBatch(TestChain& chain, int meters, const std::set<int>& failed = {},
               const std::string& batch_no = kBatch, int offset = 0) {
    v1::ArrivalBatch batch;
    batch.set_arrival_batch_no(batch_no);
    batch.set_manufacturer(kMaker);
    batch.set_arrival_date("2024-01-10");
    std::vector<v1::RecordSubmission> assets{
        chain.Submit("utility", v1::RECORD_ARRIVAL_BATCH, batch)};
    for (int i = offset; i < offset + meters; ++i) {
        auto m = SampleRecord(v1::RECORD_METER_ASSET, 1000 + i);
        auto& a = static_cast<v1::MeterAsset&>(*m);
        a.set_arrival_batch_no(batch_no);
        a.set_manufacturer(kMaker);
        a.set_supply_station(i % 2 == 0 ? "SS01" : "SS02");
        a.set_install_date(i % 3 == 0 ? "2015-05-01" : "2021-05-01");
        assets.push_back(chain.Submit("utility", v1::RECORD_METER_ASSET, a));
    }
    REQUIRE(chain.Upload("utility", assets).valid());
    std::vector<v1::RecordSubmission> results;
    for (int i = offset; i < offset + meters; ++i) {
        auto r = VeriResult(i, i % 4 == 3 ? "抽检" : "全检");
        if (failed.count(i) != 0) {
            r.set_basic_error_conc_code("不合格");
            r.set_veri_result("不合格");
        }
        results.push_back(chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT, r));
    }
    auto v = chain.Upload("institute", results);
    INFO((v.results_size() ? v.results(0).rule_id() + " " + v.results(0).reason() : ""));
    REQUIRE(v.valid());
}

template <typename M>
M Query(const TestChain& chain, const std::string& method, const std::string& id = "") {
    v1::QueryArgs q;
    q.set_id(id);
    auto bytes = chain.Query(kSupervisionContract, method, q);
    REQUIRE(bytes.ok());
    M m;
    REQUIRE(m.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
    return m;
}

Status CreatePlan(TestChain& chain, const std::string& id, const std::string& level,
                  const std::string& aql, uint64_t lot = 0, const std::string& org = "regulator",
                  const std::string& batch_no = kBatch) {
    v1::SamplingPlanArgs a;
    a.set_plan_id(id);
    a.set_arrival_batch_no(batch_no);
    a.set_level(level);
    a.set_aql(aql);
    a.set_lot_size(lot);
    return chain.Call(org, kSupervisionContract, "CreatePlan", a);
}

Status Draw(TestChain& chain, const std::string& id, const std::vector<std::string>& chosen,
            bool random_fill) {
    v1::DrawSampleArgs a;
    a.set_plan_id(id);
    for (const auto& b : chosen) a.add_bar_codes(b);
    a.set_random_fill(random_fill);
    return chain.Call("regulator", kSupervisionContract, "DrawSample", a);
}

// Bar codes of the sample (the test knows every bar code of the batch).
std::vector<std::string> SampleBars(const TestChain& chain, const std::string& plan, int meters,
                                    int offset = 0) {
    auto sample = Query<v1::SampleSet>(chain, "Sample", plan);
    std::vector<std::string> bars;
    for (const auto& key : sample.meter_keys()) {
        for (int i = offset; i < offset + meters; ++i) {
            if (DigestHex(Bar(i)) == key) bars.push_back(Bar(i));
        }
    }
    REQUIRE(bars.size() == static_cast<size_t>(sample.meter_keys_size()));
    return bars;
}

// Re-check results agreeing with the first verification, except the first `inconsistent`.
v1::RecheckImportArgs Recheck(const std::string& plan, const std::vector<std::string>& bars,
                              int inconsistent, const std::string& batch_no = kBatch) {
    v1::RecheckImportArgs a;
    a.set_plan_id(plan);
    a.set_arrival_batch_no(batch_no);
    for (size_t i = 0; i < bars.size(); ++i) {
        auto* r = a.add_results();
        r->set_bar_code(bars[i]);
        bool bad = static_cast<int>(i) < inconsistent;
        r->set_veri_result(bad ? "不合格" : "合格");
        auto* c = r->add_conclusions();
        c->set_name("BASIC_ERROR_CONC_CODE");
        c->set_value(bad ? "不合格" : "合格");
        c = r->add_conclusions();
        c->set_name("VOLT_CONC_CODE");
        c->set_value("合格");
    }
    return a;
}

}  // namespace

TEST_CASE("supervision: a plan for an arrival batch is stored with its GB/T 2828.1 parameters",
          "[contracts][supervision]") {
    TestChain chain;
    LoadBatch(chain, 20);
    // lot 3200 at level II, AQL 1.0: K, n = 125, Ac 3, Re 4
    REQUIRE(CreatePlan(chain, "P1", "II", "1.0", 3200).ok());
    auto plan = Query<v1::SamplingPlan>(chain, "Plan", "P1");
    CHECK(plan.code_letter() == "K");
    CHECK(plan.sample_size() == 125);
    CHECK(plan.ac() == 3);
    CHECK(plan.re() == 4);
    CHECK(plan.severity() == "normal");
    CHECK(plan.series() == kMaker);
    CHECK(plan.regulator() == "regulator");
    // lot = the verified count (20) at level II: C, n = 5; AQL 6.5 -> Ac 0 Re 1 at n = 5? C@6.5
    // is "↓" -> D: n = 8, Ac 1, Re 2
    REQUIRE(CreatePlan(chain, "P2", "II", "6.5").ok());
    plan = Query<v1::SamplingPlan>(chain, "Plan", "P2");
    CHECK(plan.lot_size() == 20);
    CHECK(plan.code_letter() == "C");
    CHECK(plan.plan_letter() == "D");
    CHECK(plan.sample_size() == 8);
    CHECK(plan.ac() == 1);

    CHECK(CreatePlan(chain, "P2", "II", "6.5").code() == StatusCode::kAlreadyExists);
    CHECK(CreatePlan(chain, "P3", "G-2", "1.0").code() == StatusCode::kInvalidArgument);
    CHECK(CreatePlan(chain, "P3", "II", "2.0").code() == StatusCode::kInvalidArgument);
    CHECK(CreatePlan(chain, "P3", "II", "1.0", 0, "institute").code() ==
          StatusCode::kPermissionDenied);
    CHECK(CreatePlan(chain, "P3", "II", "1.0", 0, "regulator", "AB20990999").code() ==
          StatusCode::kFailedPrecondition);
}

TEST_CASE("supervision: the sample is drawn deterministically from the remainder, never beyond "
          "the verified count",
          "[contracts][supervision]") {
    TestChain chain;
    LoadBatch(chain, 20);
    // n = 125 > 20 verified meters: refused
    REQUIRE(CreatePlan(chain, "BIG", "II", "1.0", 3200).ok());
    Status s = Draw(chain, "BIG", {}, true);
    CHECK(s.code() == StatusCode::kFailedPrecondition);
    CHECK(s.message().find("exceeds the 20 verified meters") != std::string::npos);

    REQUIRE(CreatePlan(chain, "P", "II", "6.5").ok());  // n = 8
    CHECK(Draw(chain, "P", {Bar(0), Bar(0)}, true).code() == StatusCode::kInvalidArgument);
    CHECK(Draw(chain, "P", {SampleBarCode(5)}, true).code() == StatusCode::kInvalidArgument);
    CHECK(Draw(chain, "P", {Bar(1)}, false).code() == StatusCode::kInvalidArgument);
    REQUIRE(Draw(chain, "P", {Bar(3), Bar(7)}, true).ok());
    auto sample = Query<v1::SampleSet>(chain, "Sample", "P");
    CHECK(sample.meter_keys_size() == 8);
    CHECK(sample.chosen_count() == 2);
    CHECK(sample.drawn_count() == 6);
    CHECK(sample.meter_keys(0) == DigestHex(Bar(3)));
    CHECK(sample.meter_keys(1) == DigestHex(Bar(7)));
    std::set<std::string> distinct(sample.meter_keys().begin(), sample.meter_keys().end());
    CHECK(distinct.size() == 8);
    CHECK(SampleBars(chain, "P", 20).size() == 8);
    CHECK(Draw(chain, "P", {}, true).code() == StatusCode::kAlreadyExists);
    // every replica drew the same meters
    CHECK(chain.state.data() == chain.replica.data());

    // the whole batch when the plan asks for all verified meters (lot 8 -> 100%)
    REQUIRE(CreatePlan(chain, "ALL", "II", "0.010", 20).ok());
    auto all = Query<v1::SamplingPlan>(chain, "Plan", "ALL");
    CHECK(all.full_inspection());
    CHECK(all.sample_size() == 20);
    REQUIRE(Draw(chain, "ALL", {}, true).ok());
    sample = Query<v1::SampleSet>(chain, "Sample", "ALL");
    distinct = std::set<std::string>(sample.meter_keys().begin(), sample.meter_keys().end());
    CHECK(distinct.size() == 20);
}

TEST_CASE("supervision: re-check import with exactly 2 inconsistent meters raises 2 alerts and "
          "the batch stands",
          "[contracts][supervision]") {
    TestChain chain;
    LoadBatch(chain, 20);
    REQUIRE(CreatePlan(chain, "P", "II", "6.5").ok());
    REQUIRE(Draw(chain, "P", {}, true).ok());
    auto bars = SampleBars(chain, "P", 20);
    REQUIRE(chain.Call("regulator", kSupervisionContract, "ImportRecheck", Recheck("P", bars, 2))
                .ok());
    auto report = Query<v1::RecheckReport>(chain, "Recheck", "P");
    CHECK(report.inconsistent_count() == 2);
    CHECK_FALSE(report.batch_failed());
    CHECK(report.nonconforming_count() == 2);
    CHECK_FALSE(report.lot_accepted());  // Ac 1
    int consistent = 0;
    for (const auto& m : report.meters()) {
        if (m.consistent()) {
            ++consistent;
        } else {
            CHECK(m.inst_id() == "TJ-IM");
            CHECK(std::vector<std::string>(m.differing_fields().begin(),
                                           m.differing_fields().end()) ==
                  std::vector<std::string>{"BASIC_ERROR_CONC_CODE", "veriResult"});
        }
    }
    CHECK(consistent == 6);
    auto alerts = Query<v1::AlertList>(chain, "Alerts", "institute");
    REQUIRE(alerts.alerts_size() == 2);
    CHECK(alerts.alerts(0).kind() == "RECHECK_INCONSISTENT");
    CHECK(alerts.alerts(0).institution() == "TJ-IM");
    CHECK(Query<v1::AlertList>(chain, "Alerts", "utility").alerts_size() == 0);
    auto batch = Query<v1::BatchStats>(chain, "Batch", kBatch);
    CHECK_FALSE(batch.first_verification_failed());
    CHECK(batch.rechecked() == 8);
    CHECK(batch.recheck_inconsistent() == 2);
}

TEST_CASE("supervision: exactly 3 inconsistent meters fail the batch's first verification",
          "[contracts][supervision]") {
    TestChain chain;
    LoadBatch(chain, 20);
    REQUIRE(CreatePlan(chain, "P", "II", "6.5").ok());
    REQUIRE(Draw(chain, "P", {}, true).ok());
    auto bars = SampleBars(chain, "P", 20);
    REQUIRE(chain.Call("regulator", kSupervisionContract, "ImportRecheck", Recheck("P", bars, 3))
                .ok());
    auto report = Query<v1::RecheckReport>(chain, "Recheck", "P");
    CHECK(report.inconsistent_count() == 3);
    CHECK(report.batch_failed());
    auto batch = Query<v1::BatchStats>(chain, "Batch", kBatch);
    CHECK(batch.first_verification_failed());
    CHECK(batch.needs_reverification());
    auto alerts = Query<v1::AlertList>(chain, "Alerts", "institute");
    REQUIRE(alerts.alerts_size() == 4);  // 3 meters + the batch
    CHECK(alerts.alerts(3).kind() == "BATCH_FIRST_VERIFICATION_FAILED");
    auto overview = Query<v1::VerificationOverview>(chain, "Overview");
    CHECK(overview.failed_batches() == 1);
    CHECK(overview.alerts() == 4);
    CHECK(chain.state.data() == chain.replica.data());
}

TEST_CASE("supervision: a wrong batch, a wrong count, a meter not in the sample and a duplicate "
          "import are refused without writes",
          "[contracts][supervision]") {
    TestChain chain;
    LoadBatch(chain, 20);
    REQUIRE(CreatePlan(chain, "P", "II", "6.5").ok());
    CHECK(chain.Call("regulator", kSupervisionContract, "ImportRecheck", Recheck("P", {}, 0))
              .code() == StatusCode::kFailedPrecondition);  // no sample yet
    REQUIRE(Draw(chain, "P", {}, true).ok());
    auto bars = SampleBars(chain, "P", 20);
    auto before = chain.state.data();

    Status s = chain.Call("regulator", kSupervisionContract, "ImportRecheck",
                          Recheck("P", bars, 0, "AB20990002"));
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message().find("does not match the plan's batch") != std::string::npos);

    auto short_list = bars;
    short_list.pop_back();
    s = chain.Call("regulator", kSupervisionContract, "ImportRecheck", Recheck("P", short_list, 0));
    CHECK(s.message().find("7 re-check results, the sample holds 8") != std::string::npos);

    std::set<std::string> sampled(bars.begin(), bars.end());
    auto outsider = bars;
    for (int i = 0; i < 20; ++i) {
        if (sampled.count(Bar(i)) == 0) {
            outsider.back() = Bar(i);
            break;
        }
    }
    s = chain.Call("regulator", kSupervisionContract, "ImportRecheck", Recheck("P", outsider, 0));
    CHECK(s.message().find("not in the plan's sample") != std::string::npos);

    auto twice = bars;
    twice.back() = twice.front();
    s = chain.Call("regulator", kSupervisionContract, "ImportRecheck", Recheck("P", twice, 0));
    CHECK(s.message().find("given twice") != std::string::npos);

    s = chain.Call("institute", kSupervisionContract, "ImportRecheck", Recheck("P", bars, 0));
    CHECK(s.code() == StatusCode::kPermissionDenied);
    CHECK(chain.state.data() == before);

    REQUIRE(chain.Call("regulator", kSupervisionContract, "ImportRecheck", Recheck("P", bars, 0))
                .ok());
    s = chain.Call("regulator", kSupervisionContract, "ImportRecheck", Recheck("P", bars, 0));
    CHECK(s.code() == StatusCode::kAlreadyExists);
    auto report = Query<v1::RecheckReport>(chain, "Recheck", "P");
    CHECK(report.inconsistent_count() == 0);
    CHECK(report.lot_accepted());
}

TEST_CASE("supervision: lots not accepted switch the manufacturer's next plan to tightened",
          "[contracts][supervision]") {
    TestChain chain;
    LoadBatch(chain, 20);
    for (const std::string id : {"L1", "L2"}) {
        REQUIRE(CreatePlan(chain, id, "II", "6.5").ok());
        REQUIRE(Draw(chain, id, {}, true).ok());
        auto bars = SampleBars(chain, id, 20);
        REQUIRE(chain.Call("regulator", kSupervisionContract, "ImportRecheck",
                           Recheck(id, bars, 2))
                    .ok());  // 2 nonconforming > Ac 1: not accepted
    }
    auto sw = Query<v1::SwitchingRecord>(chain, "Switching", kMaker);
    CHECK(sw.severity() == "tightened");
    CHECK(sw.lots() == 2);
    REQUIRE(CreatePlan(chain, "L3", "II", "6.5").ok());
    auto plan = Query<v1::SamplingPlan>(chain, "Plan", "L3");
    CHECK(plan.severity() == "tightened");
    // Table 2-B, C@6.5 -> "↓" to E: n = 13, Ac 1
    CHECK(plan.sample_size() == 13);
    CHECK(plan.ac() == 1);
}

TEST_CASE("supervision: verification overview and out-of-tolerance statistics are kept as "
          "records are written",
          "[contracts][supervision]") {
    TestChain chain;
    LoadBatch(chain, 12, {1, 2, 5});
    auto overview = Query<v1::VerificationOverview>(chain, "Overview");
    CHECK(overview.all().total() == 12);
    CHECK(overview.all().qualified() == 9);
    CHECK(overview.all().pass_rate_permille() == 750);
    CHECK(overview.sampling().total() == 3);  // i % 4 == 3: 3, 7, 11
    CHECK(overview.full_inspection().total() == 9);
    CHECK(overview.full_inspection().qualified() == 6);
    CHECK(overview.sampling().qualified() == 3);
    REQUIRE(overview.top_failing_items_size() == 1);
    CHECK(overview.top_failing_items(0).field() == "BASIC_ERROR_CONC_CODE");
    CHECK(overview.top_failing_items(0).failures() == 3);
    CHECK(overview.arrival_batches() == 1);
    auto batch = Query<v1::BatchStats>(chain, "Batch", kBatch);
    CHECK(batch.arrivals() == 12);
    CHECK(batch.verification().pass_rate_permille() == 750);
    CHECK(batch.arrival_date() == "2024-01-10");

    v1::OutOfTolerance oot;
    oot.set_bar_code(Bar(0));
    oot.set_cause("基本误差超差");
    oot.set_detect_time("2025-03-01 10:00:00");
    v1::OutOfTolerance oot2 = oot;
    oot2.set_bar_code(Bar(1));
    v1::ReplacementOrder order;
    order.set_work_order_no("RO000001");
    order.set_bar_code(Bar(0));
    order.set_created_time("2025-03-02 10:00:00");
    order.set_completed_time("2025-03-03 10:00:00");
    order.set_timely(true);
    order.set_accurate(true);
    v1::StateEvaluation ev;
    ev.set_bar_code(Bar(0));
    ev.set_model_result("超差");
    ev.set_eval_time("2025-02-01 00:00:00");
    ev.set_run_id("RUN2025Q1");
    v1::StateEvaluation ev2 = ev;
    ev2.set_bar_code(Bar(4));
    ev2.set_model_result("正常");
    ev2.set_eval_time("2025-02-03 00:00:00");
    auto v = chain.Upload("utility", {chain.Submit("utility", v1::RECORD_OUT_OF_TOLERANCE, oot),
                                      chain.Submit("utility", v1::RECORD_OUT_OF_TOLERANCE, oot2),
                                      chain.Submit("utility", v1::RECORD_REPLACEMENT_ORDER, order),
                                      chain.Submit("utility", v1::RECORD_STATE_EVALUATION, ev),
                                      chain.Submit("utility", v1::RECORD_STATE_EVALUATION, ev2)});
    INFO((v.results_size() ? v.results(0).rule_id() + " " + v.results(0).reason() : ""));
    REQUIRE(v.valid());
    auto out = Query<v1::OutOfToleranceOverview>(chain, "OutOfTolerance", "2026");
    REQUIRE(out.runs_size() == 1);
    CHECK(out.runs(0).count() == 2);
    CHECK(out.runs(0).out_of_tolerance() == 1);
    CHECK(out.runs(0).first_eval_time() == "2025-02-01 00:00:00");
    CHECK(out.runs(0).last_eval_time() == "2025-02-03 00:00:00");
    CHECK(out.replacement().orders() == 1);
    CHECK(out.replacement().out_of_tolerance_meters() == 2);
    CHECK(out.replacement().conversion_permille() == 500);
    CHECK(out.replacement().timely_permille() == 1000);
    REQUIRE(out.manufacturers_size() == 1);
    CHECK(out.manufacturers(0).key() == kMaker);
    CHECK(out.manufacturers(0).arrivals() == 12);
    CHECK(out.manufacturers(0).out_of_tolerance() == 2);
    CHECK(out.manufacturers(0).out_of_tolerance_permille() == 166);
    REQUIRE(out.stations_size() == 2);
    // SS01 = even meters 0..10 (6), installed 2015 when i % 3 == 0: 0, 6 -> over 8 years in 2026
    const auto& ss01 = out.stations(0).key() == "SS01" ? out.stations(0) : out.stations(1);
    CHECK(ss01.in_service() == 6);
    CHECK(ss01.over_8_years() == 2);
    CHECK(ss01.out_of_tolerance() == 1);
    CHECK(ss01.over_8_years_out_of_tolerance() == 1);
    auto batch_after = Query<v1::BatchStats>(chain, "Batch", kBatch);
    CHECK(batch_after.out_of_tolerance() == 2);
}

TEST_CASE("validity: a verification date after the block time or before the arrival date is "
          "refused (VR-DATE-PLAUSIBLE)",
          "[contracts][supervision][rules]") {
    TestChain chain;
    LoadBatch(chain, 2);
    auto future = VeriResult(5);
    future.set_bar_code(Bar(0));
    future.set_veri_task_no("1201203101010001");
    future.set_veri_date("2031-01-01 10:00:00");
    auto early = VeriResult(6);
    early.set_bar_code(Bar(1));
    early.set_veri_task_no("1201202401010001");
    early.set_veri_date("2024-01-09 23:59:59");  // the batch arrived 2024-01-10
    auto ok = VeriResult(7);
    ok.set_bar_code(Bar(1));
    ok.set_veri_task_no("1201202401100001");
    ok.set_veri_date("2024-01-10 00:00:00");
    auto v = chain.Upload("institute",
                          {chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT, future),
                           chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT, early),
                           chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT, ok)});
    REQUIRE(v.results_size() == 3);
    CHECK(v.results(0).rule_id() == "VR-DATE-PLAUSIBLE");
    CHECK(v.results(0).reason().find("after the block time") != std::string::npos);
    CHECK(v.results(1).rule_id() == "VR-DATE-PLAUSIBLE");
    CHECK(v.results(1).reason().find("before the arrival date") != std::string::npos);
    CHECK(v.results(2).valid());
}

TEST_CASE("validity: a code whose name contradicts it is refused (VR-CODENAME-WIRE, "
          "MA-CODENAME-WIRE)",
          "[contracts][supervision][rules]") {
    TestChain chain;
    chain.SeedReferences();
    auto r = VeriResult(0);
    r.set_bar_code(SampleBarCode(0));
    r.set_wire_model("02");
    r.set_wire_mode_name("单相");
    auto good = VeriResult(1);
    good.set_bar_code(SampleBarCode(0));
    good.set_wire_model("02");
    good.set_wire_mode_name("三相四线");
    auto v = chain.Upload("institute",
                          {chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT, r),
                           chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT, good)});
    CHECK(v.results(0).rule_id() == "VR-CODENAME-WIRE");
    CHECK(v.results(1).valid());
    auto m = SampleRecord(v1::RECORD_METER_ASSET, 77);
    SetField(*m, "wireModel", "03");
    SetField(*m, "wireModeName", "三相四线");
    v = chain.Upload("utility", {chain.Submit("utility", v1::RECORD_METER_ASSET, *m)});
    CHECK(v.results(0).rule_id() == "MA-CODENAME-WIRE");
}

TEST_CASE("rules: local dates convert to block time without a clock", "[contracts][rules]") {
    // 2024-01-01 00:00:00 UTC+8 = 2023-12-31 16:00:00 UTC = 1704038400 s
    CHECK(*LocalDateToEpochMs("2024-01-01 00:00:00", "YYYY-MM-DD hh:mm:ss") ==
          1'704'038'400'000ull);
    CHECK(*LocalDateToEpochMs("2024-02-29", "YYYY-MM-DD") == 1'709'136'000'000ull);
    CHECK_FALSE(LocalDateToEpochMs("2023-02-29", "YYYY-MM-DD").has_value());
    v1::RuleSet bad;
    bad.set_version(1);
    auto* rule = bad.add_rules();
    rule->set_id("X");
    rule->set_record_type(v1::RECORD_VERIFICATION_RESULT);
    rule->set_kind(v1::RULE_CODE_NAME);
    rule->set_field("wireModel");
    rule->add_fields("wireModeName");
    CHECK(CompiledRules::Compile(bad).status().message().find("code_names is empty") !=
          std::string::npos);
    rule->set_kind(v1::RULE_DATE_PLAUSIBLE);
    rule->set_field("veriDate");
    rule->set_layout("hh:mm");
    CHECK_FALSE(CompiledRules::Compile(bad).ok());
}
