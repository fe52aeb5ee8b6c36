// User active calibration (BIZ-1), its work orders (DATA-2) and their supervision (BIZ-7):
// contract "calibration", on the in-process test chain of contracts_fixture.h.
#include <catch2/catch.hpp>

#include "contracts/calibration.h"
#include "contracts/governance.h"
#include "test/unit/contracts_fixture.h"

using namespace meterchain;
using namespace meterchain::contracts;
using namespace meterchain::contracts::testing;

namespace {

constexpr uint64_t kDay = 24ull * 3600 * 1000;

template <typename M>
M CalQuery(const TestChain& chain, std::string_view method, const std::string& id,
           uint64_t as_of = 0) {
    v1::CalibrationQueryArgs q;
    q.set_id(id);
    q.set_as_of_ms(as_of);
    auto bytes = chain.registry.Find(kCalibrationContract)
                     ->Query(method, AsBytes(q.SerializeAsString()), chain.state);
    INFO(bytes.status().ToString());
    REQUIRE(bytes.ok());
    M m;
    REQUIRE(m.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
    return m;
}

// A chain with meter TJ9000000 (class 2, in service) registered through Validity.
struct CalFixture {
    TestChain chain;
    int requests = 0;
    int runs = 0;
    CalFixture() { chain.SeedReferences(); }

    void AddMeter(int n, const std::string& state, const std::string& accuracy_class = "2") {
        auto meter = SampleRecord(v1::RECORD_METER_ASSET, n);
        SetField(*meter, "state", state);
        SetField(*meter, "accuracyClass", accuracy_class);
        REQUIRE(chain.Upload("utility", {chain.Submit("utility", v1::RECORD_METER_ASSET, *meter)})
                    .valid());
    }

    void Result(const std::string& asset, v1::ErrorVerdict verdict, int64_t error_ppm) {
        v1::ErrorModelSubmission sub;
        sub.set_run_id("RUN" + std::to_string(++runs));
        sub.set_model_version("adaptive-ridge-loss2-v1");
        sub.set_input_digest(std::string(32, '\x11'));
        sub.set_area("AREA-1");
        auto* r = sub.add_results();
        r->set_asset_no(asset);
        r->set_verdict(verdict);
        r->set_error_ppm(error_ppm);
        r->set_uncertainty_ppm(2000);
        r->set_tolerance_ppm(20000);
        REQUIRE(chain.Call("utility", kCalibrationContract, "SubmitErrorResults", sub).ok());
    }

    v1::CalibrationAnswer Request(const std::string& asset) {
        v1::CalibrationRequestArgs req;
        req.set_request_no("REQ" + std::to_string(++requests));
        req.set_asset_no(asset);
        req.set_service_channel("95598");
        REQUIRE(chain.Call("utility", kCalibrationContract, "Request", req).ok());
        return CalQuery<v1::CalibrationAnswer>(chain, "Answer", req.request_no());
    }

    Status Move(const std::string& org, std::string_view method, const std::string& order) {
        v1::WorkOrderTransitionArgs t;
        t.set_order_no(order);
        t.set_handler("张工");
        t.set_conclusion("合格");
        t.set_verifying_unit("TJ-MVS");
        t.set_satisfaction("满意");
        t.set_visit_date("2024-03-10");
        return chain.Call(org, kCalibrationContract, method, t);
    }
};

const std::string kMeter = "TJ9000000";  // SampleRecord(RECORD_METER_ASSET, 0)

}  // namespace

TEST_CASE("calibration check 1: an unknown asset number is refused as UNKNOWN_METER",
          "[contracts][calibration]") {
    CalFixture f;
    auto a = f.Request("TJ-NO-SUCH");
    CHECK(a.outcome() == v1::CALIBRATION_REFUSED);
    CHECK(a.refusal() == kRefuseUnknownMeter);
    CHECK(a.order_no().empty());
}

TEST_CASE("calibration check 1: a meter that is not in service is refused as NOT_IN_SERVICE",
          "[contracts][calibration]") {
    CalFixture f;
    f.AddMeter(1, "库存");
    auto a = f.Request("TJ9000001");
    CHECK(a.outcome() == v1::CALIBRATION_REFUSED);
    CHECK(a.refusal() == kRefuseNotInService);
}

TEST_CASE("calibration check 2: an unfinished work order refuses the request and returns its "
          "progress",
          "[contracts][calibration]") {
    CalFixture f;
    f.Result(kMeter, v1::ERROR_OUT_OF_TOLERANCE, 61000);
    auto first = f.Request(kMeter);
    REQUIRE(first.outcome() == v1::CALIBRATION_FURTHER_INSPECTION);
    REQUIRE(f.Move("utility", "Accept", first.order_no()).ok());

    auto again = f.Request(kMeter);
    CHECK(again.outcome() == v1::CALIBRATION_REFUSED);
    CHECK(again.refusal() == kRefuseOpenOrder);
    CHECK(again.open_order_kind() == "calibration");
    CHECK(again.order_no() == first.order_no());
    CHECK(again.open_order().state() == v1::ORDER_ACCEPTED);
    CHECK(again.open_order().transitions_size() == 2);

    // Closed orders no longer block a new request.
    REQUIRE(f.Move("utility", "Handle", first.order_no()).ok());
    REQUIRE(f.Move("utility", "Evaluate", first.order_no()).ok());
    REQUIRE(f.Move("utility", "Close", first.order_no()).ok());
    f.Result(kMeter, v1::ERROR_WITHIN_TOLERANCE, -3000);
    CHECK(f.Request(kMeter).outcome() == v1::CALIBRATION_QUALIFIED);
}

TEST_CASE("calibration check 2: an unfinished fault-replacement order refuses the request",
          "[contracts][calibration]") {
    CalFixture f;
    auto order = SampleRecord(v1::RECORD_REPLACEMENT_ORDER, 5);
    SetField(*order, "barCode", SampleBarCode(0));
    ClearField(*order, "completedTime");
    REQUIRE(f.chain.Upload("utility", {f.chain.Submit("utility", v1::RECORD_REPLACEMENT_ORDER,
                                                      *order)})
                .valid());
    f.Result(kMeter, v1::ERROR_WITHIN_TOLERANCE, 0);
    auto a = f.Request(kMeter);
    CHECK(a.refusal() == kRefuseOpenOrder);
    CHECK(a.open_order_kind() == "replacement");
    CHECK(a.order_no() == "RO000005");
}

TEST_CASE("calibration check 3: within tolerance answers qualified with the service hotline",
          "[contracts][calibration]") {
    CalFixture f;
    f.Result(kMeter, v1::ERROR_WITHIN_TOLERANCE, -15000);
    auto a = f.Request(kMeter);
    CHECK(a.outcome() == v1::CALIBRATION_QUALIFIED);
    CHECK(a.service_hotline() == "95598");
    CHECK(a.order_no().empty());
    CHECK(a.error_result().run_id() == "RUN1");
    CHECK(a.error_result().model_version() == "adaptive-ridge-loss2-v1");
    CHECK(a.error_result().input_digest().size() == 32);
    auto stats = CalQuery<v1::CalibrationStats>(f.chain, "Stats", "");
    CHECK(stats.requests() == 1);
    CHECK(stats.qualified() == 1);
    CHECK(stats.orders_opened() == 0);
}

TEST_CASE("calibration check 3: out of tolerance needs inspection, records an anomaly and opens "
          "a work order",
          "[contracts][calibration]") {
    CalFixture f;
    f.Result(kMeter, v1::ERROR_OUT_OF_TOLERANCE, -61000);
    auto a = f.Request(kMeter);
    CHECK(a.outcome() == v1::CALIBRATION_FURTHER_INSPECTION);
    CHECK(a.service_hotline().empty());
    REQUIRE_FALSE(a.order_no().empty());
    auto order = CalQuery<v1::WorkOrder>(f.chain, "Order", a.order_no());
    CHECK(order.state() == v1::ORDER_OPENED);
    CHECK(order.cause() == v1::ERROR_OUT_OF_TOLERANCE);
    CHECK(order.error_ppm() == -61000);
    CHECK(order.asset_no() == kMeter);
    CHECK(order.accept_deadline_ms() == order.opened_ms() + kDay);
    auto anomaly = CalQuery<v1::CalibrationAnomaly>(f.chain, "Anomaly", a.order_no());
    CHECK(anomaly.verdict() == v1::ERROR_OUT_OF_TOLERANCE);
    CHECK(anomaly.request_no() == a.request_no());
}

TEST_CASE("calibration check 3: the tolerance is the asset record's class, not the model's",
          "[contracts][calibration]") {
    CalFixture f;
    f.AddMeter(2, "运行", "1");  // class 1: +-1%
    f.Result("TJ9000002", v1::ERROR_WITHIN_TOLERANCE, 15000);  // judged against 2% off chain
    CHECK(f.Request("TJ9000002").outcome() == v1::CALIBRATION_FURTHER_INSPECTION);
}

TEST_CASE("calibration check 3: not computable, or no result at all, needs inspection",
          "[contracts][calibration]") {
    CalFixture f;
    f.AddMeter(3, "运行");
    f.Result(kMeter, v1::ERROR_NOT_COMPUTABLE, 0);
    auto a = f.Request(kMeter);
    CHECK(a.outcome() == v1::CALIBRATION_FURTHER_INSPECTION);
    CHECK(CalQuery<v1::WorkOrder>(f.chain, "Order", a.order_no()).cause() ==
          v1::ERROR_NOT_COMPUTABLE);
    auto none = f.Request("TJ9000003");
    CHECK(none.outcome() == v1::CALIBRATION_FURTHER_INSPECTION);
    CHECK(CalQuery<v1::CalibrationAnomaly>(f.chain, "Anomaly", none.order_no()).verdict() ==
          v1::ERROR_VERDICT_UNSPECIFIED);
}

TEST_CASE("calibration: every work-order transition by an allowed role, and refused for others",
          "[contracts][calibration]") {
    CalFixture f;
    f.Result(kMeter, v1::ERROR_OUT_OF_TOLERANCE, 70000);
    const std::string order = f.Request(kMeter).order_no();
    // Out of order: nothing but Accept applies to an opened order.
    CHECK(f.Move("utility", "Handle", order).code() == StatusCode::kFailedPrecondition);
    CHECK(f.Move("utility", "Close", order).code() == StatusCode::kFailedPrecondition);

    struct Step {
        const char* method;
        const char* refused;
        const char* allowed;
        v1::WorkOrderState after;
    };
    const Step steps[] = {{"Accept", "regulator", "utility", v1::ORDER_ACCEPTED},
                          {"Handle", "third-party", "institute", v1::ORDER_HANDLED},
                          {"Evaluate", "institute", "utility", v1::ORDER_EVALUATED},
                          {"Close", "regulator", "utility", v1::ORDER_CLOSED}};
    for (const Step& s : steps) {
        INFO(s.method);
        CHECK(f.Move(s.refused, s.method, order).code() == StatusCode::kPermissionDenied);
        CHECK(f.Move("outsider", s.method, order).code() == StatusCode::kPermissionDenied);
        REQUIRE(f.Move(s.allowed, s.method, order).ok());
        CHECK(CalQuery<v1::WorkOrder>(f.chain, "Order", order).state() == s.after);
        // The same transition twice is refused.
        CHECK(f.Move(s.allowed, s.method, order).code() == StatusCode::kFailedPrecondition);
    }
    auto o = CalQuery<v1::WorkOrder>(f.chain, "Order", order);
    REQUIRE(o.transitions_size() == 5);
    CHECK(o.transitions(2).by() == "institute");
    CHECK(o.handler() == "张工");
    CHECK(o.verifying_unit() == "TJ-MVS");
    CHECK(o.satisfaction() == "满意");
    for (int i = 1; i < o.transitions_size(); ++i) {
        CHECK(o.transitions(i).time_ms() > o.transitions(i - 1).time_ms());  // block time
    }

    // Filing requests and submitting results are roles too.
    v1::CalibrationRequestArgs req;
    req.set_request_no("REQ-R");
    req.set_asset_no(kMeter);
    CHECK(f.chain.Call("regulator", kCalibrationContract, "Request", req).code() ==
          StatusCode::kPermissionDenied);
    v1::ErrorModelSubmission sub;
    sub.set_run_id("RUN-X");
    sub.set_model_version("v");
    sub.set_input_digest(std::string(32, '\x01'));
    auto* r = sub.add_results();
    r->set_asset_no(kMeter);
    r->set_verdict(v1::ERROR_WITHIN_TOLERANCE);
    CHECK(f.chain.Call("institute", kCalibrationContract, "SubmitErrorResults", sub).code() ==
          StatusCode::kPermissionDenied);
    REQUIRE(f.chain.Call("utility", kCalibrationContract, "SubmitErrorResults", sub).ok());
    CHECK(f.chain.Call("utility", kCalibrationContract, "SubmitErrorResults", sub).code() ==
          StatusCode::kAlreadyExists);
    // A request number is used once.
    req.set_request_no("REQ1");
    CHECK(f.chain.Call("utility", kCalibrationContract, "Request", req).code() ==
          StatusCode::kAlreadyExists);
}

TEST_CASE("calibration supervision: counters at write time, mean handling time, and alerts "
          "by block time",
          "[contracts][calibration][supervision]") {
    CalFixture f;
    f.AddMeter(4, "运行");
    f.AddMeter(5, "运行");
    f.Result(kMeter, v1::ERROR_OUT_OF_TOLERANCE, 70000);
    f.Result("TJ9000004", v1::ERROR_NOT_COMPUTABLE, 0);
    f.Result("TJ9000005", v1::ERROR_WITHIN_TOLERANCE, 100);
    const std::string a = f.Request(kMeter).order_no();
    const std::string b = f.Request("TJ9000004").order_no();
    CHECK(f.Request("TJ9000005").outcome() == v1::CALIBRATION_QUALIFIED);
    const uint64_t opened = CalQuery<v1::WorkOrder>(f.chain, "Order", a).opened_ms();

    // Two days later (block time) neither order is accepted: both are overdue for acceptance.
    auto stats = CalQuery<v1::CalibrationStats>(f.chain, "Stats", "", opened + 2 * kDay);
    CHECK(stats.requests() == 3);
    CHECK(stats.qualified() == 1);
    CHECK(stats.orders_opened() == 2);
    CHECK(stats.in_progress() == 2);
    CHECK(stats.overdue_not_accepted() == 2);
    CHECK(stats.overdue_not_handled() == 0);
    // Before the deadline nothing is overdue.
    CHECK(CalQuery<v1::CalibrationStats>(f.chain, "Stats", "", opened + 1000).overdue_not_accepted() ==
          0);

    // Order a: accepted late (block time after the deadline), handled, evaluated dissatisfied.
    f.chain.now_ms = opened + 2 * kDay;
    REQUIRE(f.Move("utility", "Accept", a).ok());
    REQUIRE(f.Move("institute", "Handle", a).ok());
    const uint64_t handled_at = CalQuery<v1::WorkOrder>(f.chain, "Order", a).handled_ms();
    v1::WorkOrderTransitionArgs eval;
    eval.set_order_no(a);
    eval.set_satisfaction("不满意");
    eval.set_opinion("太慢");
    REQUIRE(f.chain.Call("utility", kCalibrationContract, "Evaluate", eval).ok());
    REQUIRE(f.Move("utility", "Close", a).ok());
    CHECK(CalQuery<v1::WorkOrder>(f.chain, "Order", a).accepted_late());

    stats = CalQuery<v1::CalibrationStats>(f.chain, "Stats", "", opened + 6 * kDay);
    CHECK(stats.completed() == 1);
    CHECK(stats.in_progress() == 1);
    CHECK(stats.handled() == 1);
    CHECK(stats.mean_handling_ms() == handled_at - opened);
    CHECK(stats.accepted_late() == 1);
    CHECK(stats.dissatisfied() == 1);
    CHECK(stats.overdue_not_accepted() == 1);  // b
    CHECK(stats.overdue_not_handled() == 1);   // b, 5 days
    int dissatisfied = 0, not_handled = 0;
    for (const auto& alert : stats.alerts()) {
        dissatisfied += alert.kind() == kAlertDissatisfied && alert.order_no() == a;
        not_handled += alert.kind() == kAlertOverdueNotHandled && alert.order_no() == b;
    }
    CHECK(dissatisfied == 1);
    CHECK(not_handled == 1);
    CHECK(f.chain.state.data() == f.chain.replica.data());
}

TEST_CASE("calibration supervision: thresholds are chain configuration changed by governance",
          "[contracts][calibration][governance]") {
    CalFixture f;
    auto settings = CalQuery<v1::CalibrationSettings>(f.chain, "Settings", "");
    CHECK(settings.accept_overdue_ms() == kDay);
    settings.set_accept_overdue_ms(3600 * 1000);
    settings.set_service_hotline("022-95598");
    v1::ProposeArgs propose;
    *propose.add_actions()->mutable_set_calibration_settings() = settings;
    Hash256 tx;
    REQUIRE(f.chain.Call("utility", kGovernanceContract, "Propose", propose, &tx).ok());
    v1::ApproveArgs approve;
    approve.set_proposal_id(ToHex(tx));
    REQUIRE(f.chain.Call("regulator", kGovernanceContract, "Approve", approve).ok());
    REQUIRE(f.chain.Call("institute", kGovernanceContract, "Approve", approve).ok());
    CHECK(CalQuery<v1::CalibrationSettings>(f.chain, "Settings", "").accept_overdue_ms() ==
          3600 * 1000);
    f.Result(kMeter, v1::ERROR_WITHIN_TOLERANCE, 0);
    CHECK(f.Request(kMeter).service_hotline() == "022-95598");

    // An invalid configuration is refused when proposed.
    settings.clear_accept_roles();
    v1::ProposeArgs bad;
    *bad.add_actions()->mutable_set_calibration_settings() = settings;
    CHECK_FALSE(f.chain.Call("utility", kGovernanceContract, "Propose", bad).ok());
}
