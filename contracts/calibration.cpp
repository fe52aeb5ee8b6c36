#include "contracts/calibration.h"

#include <algorithm>
#include <cstdio>

#include "contracts/common.h"
#include "contracts/governance.h"
#include "node/base/codec.h"

namespace meterchain::contracts {
namespace {

const std::string kPrefix = std::string(kCalibrationContract) + "/";
const std::string kSettingsKey = kPrefix + "settings";
const std::string kStatsKey = kPrefix + "stats";
const std::string kLastTimeKey = kPrefix + "last-time";
const std::string kDueAcceptPrefix = kPrefix + "due/accept/";
const std::string kDueHandlePrefix = kPrefix + "due/handle/";
const std::string kDissatisfiedPrefix = kPrefix + "alert/dissatisfied/";

constexpr size_t kMaxAlertsListed = 100;
constexpr int kMaxResultsPerRun = 10000;
constexpr size_t kMaxTextLength = 1024;

Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }

std::string AssetKey(std::string_view asset_no) { return kPrefix + "asset/" + DigestHex(asset_no); }
std::string AssetOfKey(std::string_view bar_key) { return kPrefix + "asset-of/" + std::string(bar_key); }
std::string ReplacementKey(std::string_view bar_key) {
    return kPrefix + "replacement/" + std::string(bar_key);
}
std::string ResultKey(std::string_view asset_no) { return kPrefix + "result/" + DigestHex(asset_no); }
std::string RunKey(std::string_view org, std::string_view run_id) {
    return kPrefix + "run/" + std::string(org) + "/" + DigestHex(run_id);
}
std::string RequestKey(std::string_view request_no) {
    return kPrefix + "request/" + DigestHex(request_no);
}
std::string OrderKey(std::string_view order_no) { return kPrefix + "order/" + std::string(order_no); }
std::string OpenKey(std::string_view asset_no) { return kPrefix + "open/" + DigestHex(asset_no); }
std::string AnomalyKey(std::string_view order_no) {
    return kPrefix + "anomaly/" + std::string(order_no);
}
std::string Ms20(uint64_t ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(ms));
    return buf;
}
std::string DueKey(const std::string& prefix, uint64_t deadline, std::string_view order_no) {
    return prefix + Ms20(deadline) + "/" + std::string(order_no);
}

Result<uint64_t> ReadU64(const StateView& state, const std::string& key) {
    auto v = state.Get(key);
    if (!v) return uint64_t{0};
    if (v->size() != 8) return Corruption("state value at '" + key + "' is not a u64");
    return codec::DecodeU64(*v);
}

Result<v1::CalibrationSettings> LoadSettings(const StateView& state) {
    v1::CalibrationSettings settings;
    auto found = ReadProto(state, kSettingsKey, &settings);
    if (!found.ok()) return found.status();
    if (!*found) return FailedPrecondition("the calibration workflow is not configured (settings)");
    return settings;
}

Result<v1::CalibrationStats> LoadStats(const StateView& state) {
    v1::CalibrationStats stats;
    auto found = ReadProto(state, kStatsKey, &stats);
    if (!found.ok()) return found.status();
    return stats;
}

bool HasAnyRole(const v1::Organisation& org,
                const google::protobuf::RepeatedPtrField<std::string>& roles) {
    return std::any_of(roles.begin(), roles.end(),
                       [&](const std::string& role) { return HasRole(org, role); });
}

Status CheckText(std::string_view what, const std::string& value, bool required) {
    if (required && value.empty()) return InvalidArgument(std::string(what) + " is required");
    if (value.size() > kMaxTextLength) return InvalidArgument(std::string(what) + " is too long");
    return Status::Ok();
}

// The signer's organisation, if it holds one of `roles`.
Result<v1::Organisation> Authorise(const CallContext& ctx, const StateView& state,
                                   const google::protobuf::RepeatedPtrField<std::string>& roles,
                                   std::string_view action) {
    auto org = OrganisationOfSender(state, ctx.sender);
    if (!org.ok()) return org.status();
    if (!HasAnyRole(*org, roles)) {
        return PermissionDenied("organisation '" + org->name() + "' holds no role that may " +
                                std::string(action) + " (calibration settings)");
    }
    return org;
}

void AddTransition(v1::WorkOrder& order, v1::WorkOrderState state, const std::string& by,
                   const CallContext& ctx) {
    order.set_state(state);
    v1::WorkOrderTransition* t = order.add_transitions();
    t->set_state(state);
    t->set_by(by);
    t->set_height(ctx.height);
    t->set_time_ms(ctx.block_timestamp_ms);
    t->set_tx_hash(ToString(ToBytes(ctx.tx_hash)));
}

Status SubmitErrorResults(const CallContext& ctx, ByteView args, StateView& state) {
    v1::ErrorModelSubmission sub;
    MC_RETURN_IF_ERROR(ParseProto(args, &sub, "ErrorModelSubmission"));
    auto settings = LoadSettings(state);
    if (!settings.ok()) return settings.status();
    auto org = Authorise(ctx, state, settings->result_roles(), "submit remote error results");
    if (!org.ok()) return org.status();
    if (!IsSimpleName(sub.run_id())) return InvalidArgument("run_id must be a simple name");
    MC_RETURN_IF_ERROR(CheckText("model_version", sub.model_version(), true));
    MC_RETURN_IF_ERROR(CheckText("area", sub.area(), false));
    if (sub.input_digest().size() != 32) return InvalidArgument("input_digest must be 32 bytes");
    if (sub.results().empty() || sub.results_size() > kMaxResultsPerRun) {
        return InvalidArgument("results: 1 to " + std::to_string(kMaxResultsPerRun) + " meters");
    }
    const std::string run_key = RunKey(org->name(), sub.run_id());
    if (state.Get(run_key)) return AlreadyExists("run " + sub.run_id() + " was already submitted");
    for (int i = 0; i < sub.results_size(); ++i) {
        const v1::MeterErrorResult& r = sub.results(i);
        const std::string where = "results[" + std::to_string(i) + "]";
        if (!IsSimpleName(r.asset_no())) return InvalidArgument(where + ".asset_no is invalid");
        if (r.verdict() == v1::ERROR_VERDICT_UNSPECIFIED || !v1::ErrorVerdict_IsValid(r.verdict())) {
            return InvalidArgument(where + ".verdict must be set");
        }
        MC_RETURN_IF_ERROR(CheckText(where + ".reason", r.reason(), false));
        v1::StoredErrorResult stored;
        *stored.mutable_result() = r;
        stored.set_run_id(sub.run_id());
        stored.set_model_version(sub.model_version());
        stored.set_input_digest(sub.input_digest());
        stored.set_area(sub.area());
        stored.set_submitter(org->name());
        stored.set_height(ctx.height);
        stored.set_time_ms(ctx.block_timestamp_ms);
        stored.set_tx_hash(ToString(ToBytes(ctx.tx_hash)));
        WriteProto(state, ResultKey(r.asset_no()), stored);
    }
    state.Put(run_key, AsBytes(ToHex(ctx.tx_hash)));
    auto stats = LoadStats(state);
    if (!stats.ok()) return stats.status();
    stats->set_error_results(stats->error_results() + static_cast<uint64_t>(sub.results_size()));
    WriteProto(state, kStatsKey, *stats);
    return Status::Ok();
}

// BIZ-1 in the specification's order:
//  1. the asset exists (UNKNOWN_METER) and is in service (NOT_IN_SERVICE);
//  2. no unfinished calibration or fault-replacement order (OPEN_WORK_ORDER, with its progress);
//  3. the meter's latest remote error result, judged against the asset's accuracy class:
//     within tolerance -> QUALIFIED with the hotline; out of tolerance, not computable or no
//     result -> FURTHER_INSPECTION, an anomaly record and a new work order.
Status Request(const CallContext& ctx, ByteView args, StateView& state) {
    v1::CalibrationRequestArgs req;
    MC_RETURN_IF_ERROR(ParseProto(args, &req, "CalibrationRequestArgs"));
    auto settings = LoadSettings(state);
    if (!settings.ok()) return settings.status();
    auto org = Authorise(ctx, state, settings->request_roles(), "file calibration requests");
    if (!org.ok()) return org.status();
    if (!IsSimpleName(req.request_no())) return InvalidArgument("request_no must be a simple name");
    if (!IsSimpleName(req.asset_no())) return InvalidArgument("asset_no must be a simple name");
    MC_RETURN_IF_ERROR(CheckText("service_channel", req.service_channel(), false));
    if (!req.requester_digest().empty() && req.requester_digest().size() != 32) {
        return InvalidArgument("requester_digest must be empty or 32 bytes (SM3)");
    }
    const std::string request_key = RequestKey(req.request_no());
    if (state.Get(request_key)) {
        return AlreadyExists("request " + req.request_no() + " was already filed");
    }
    auto stats = LoadStats(state);
    if (!stats.ok()) return stats.status();
    stats->set_requests(stats->requests() + 1);

    v1::CalibrationAnswer answer;
    answer.set_request_no(req.request_no());
    answer.set_asset_no(req.asset_no());
    answer.set_height(ctx.height);
    answer.set_time_ms(ctx.block_timestamp_ms);
    auto finish = [&]() {
        WriteProto(state, request_key, answer);
        WriteProto(state, kStatsKey, *stats);
        return Status::Ok();
    };
    auto refuse = [&](std::string_view code, std::string reason) {
        answer.set_outcome(v1::CALIBRATION_REFUSED);
        answer.set_refusal(std::string(code));
        answer.set_reason(std::move(reason));
        stats->set_refused(stats->refused() + 1);
        return finish();
    };

    // 1. The asset.
    v1::AssetStatus asset;
    auto found = ReadProto(state, AssetKey(req.asset_no()), &asset);
    if (!found.ok()) return found.status();
    if (!*found) return refuse(kRefuseUnknownMeter, "no meter asset with this asset number");
    if (!asset.in_service()) return refuse(kRefuseNotInService, "the meter is not in service");

    // 2. Unfinished work orders.
    if (auto open = state.Get(OpenKey(req.asset_no()))) {
        auto order = FindWorkOrder(state, ToString(*open));
        if (!order.ok()) return order.status();
        if (!order->has_value()) return Corruption("open-order index names a missing order");
        answer.set_order_no((*order)->order_no());
        answer.set_open_order_kind("calibration");
        *answer.mutable_open_order() = **order;
        return refuse(kRefuseOpenOrder, "an unfinished calibration work order exists");
    }
    if (auto replacement = state.Get(ReplacementKey(asset.bar_code_key()))) {
        answer.set_order_no(ToString(*replacement));
        answer.set_open_order_kind("replacement");
        return refuse(kRefuseOpenOrder, "an unfinished fault-replacement work order exists");
    }

    // 3. The latest remote error result.
    v1::StoredErrorResult result;
    auto has_result = ReadProto(state, ResultKey(req.asset_no()), &result);
    if (!has_result.ok()) return has_result.status();
    v1::ErrorVerdict verdict = v1::ERROR_VERDICT_UNSPECIFIED;
    std::string reason = "no remote error result for the meter";
    if (*has_result) {
        *answer.mutable_error_result() = result;
        const v1::MeterErrorResult& r = result.result();
        verdict = r.verdict();
        if (verdict != v1::ERROR_NOT_COMPUTABLE) {
            // Judged against the asset record's class; the model's own tolerance only when the
            // class is not one we know.
            uint64_t tolerance = ClassTolerancePpm(asset.accuracy_class());
            if (tolerance == 0) tolerance = r.tolerance_ppm();
            const uint64_t magnitude = r.error_ppm() < 0 ? static_cast<uint64_t>(-r.error_ppm())
                                                         : static_cast<uint64_t>(r.error_ppm());
            verdict = (tolerance != 0 && magnitude <= tolerance) ? v1::ERROR_WITHIN_TOLERANCE
                                                                 : v1::ERROR_OUT_OF_TOLERANCE;
            reason = "estimated error " + std::to_string(r.error_ppm()) + " ppm against a tolerance of " +
                     std::to_string(tolerance) + " ppm";
        } else {
            reason = "the remote error model could not compute the meter's error";
            if (!r.reason().empty()) reason += ": " + r.reason();
        }
    }
    if (verdict == v1::ERROR_WITHIN_TOLERANCE) {
        answer.set_outcome(v1::CALIBRATION_QUALIFIED);
        answer.set_reason(reason);
        answer.set_service_hotline(settings->service_hotline());
        stats->set_qualified(stats->qualified() + 1);
        return finish();
    }

    v1::WorkOrder order;
    order.set_order_no("CAL-" + std::to_string(ctx.height) + "-" + std::to_string(ctx.tx_index));
    order.set_request_no(req.request_no());
    order.set_asset_no(req.asset_no());
    order.set_cause(verdict);
    if (*has_result) order.set_error_ppm(result.result().error_ppm());
    order.set_opened_ms(ctx.block_timestamp_ms);
    order.set_accept_deadline_ms(ctx.block_timestamp_ms + settings->accept_overdue_ms());
    order.set_handle_deadline_ms(ctx.block_timestamp_ms + settings->handle_overdue_ms());
    order.set_service_channel(req.service_channel());
    AddTransition(order, v1::ORDER_OPENED, org->name(), ctx);
    if (state.Get(OrderKey(order.order_no()))) return Corruption("work order number reused");
    WriteProto(state, OrderKey(order.order_no()), order);
    state.Put(OpenKey(req.asset_no()), AsBytes(order.order_no()));
    state.Put(DueKey(kDueAcceptPrefix, order.accept_deadline_ms(), order.order_no()), Bytes{});
    state.Put(DueKey(kDueHandlePrefix, order.handle_deadline_ms(), order.order_no()), Bytes{});

    v1::CalibrationAnomaly anomaly;
    anomaly.set_asset_no(req.asset_no());
    anomaly.set_request_no(req.request_no());
    anomaly.set_order_no(order.order_no());
    anomaly.set_verdict(verdict == v1::ERROR_OUT_OF_TOLERANCE || verdict == v1::ERROR_NOT_COMPUTABLE
                            ? verdict
                            : v1::ERROR_VERDICT_UNSPECIFIED);
    anomaly.set_error_ppm(order.error_ppm());
    anomaly.set_reason(reason);
    anomaly.set_height(ctx.height);
    anomaly.set_time_ms(ctx.block_timestamp_ms);
    WriteProto(state, AnomalyKey(order.order_no()), anomaly);

    answer.set_outcome(v1::CALIBRATION_FURTHER_INSPECTION);
    answer.set_reason(reason);
    answer.set_order_no(order.order_no());
    stats->set_orders_opened(stats->orders_opened() + 1);
    stats->set_in_progress(stats->in_progress() + 1);
    return finish();
}

Status Transition(const CallContext& ctx, std::string_view method, ByteView args,
                  StateView& state) {
    v1::WorkOrderTransitionArgs t;
    MC_RETURN_IF_ERROR(ParseProto(args, &t, "WorkOrderTransitionArgs"));
    auto settings = LoadSettings(state);
    if (!settings.ok()) return settings.status();
    const google::protobuf::RepeatedPtrField<std::string>* roles = nullptr;
    v1::WorkOrderState before = v1::WORK_ORDER_STATE_UNSPECIFIED;
    v1::WorkOrderState after = v1::WORK_ORDER_STATE_UNSPECIFIED;
    if (method == "Accept") {
        roles = &settings->accept_roles(), before = v1::ORDER_OPENED, after = v1::ORDER_ACCEPTED;
    } else if (method == "Handle") {
        roles = &settings->handle_roles(), before = v1::ORDER_ACCEPTED, after = v1::ORDER_HANDLED;
    } else if (method == "Evaluate") {
        roles = &settings->evaluate_roles(), before = v1::ORDER_HANDLED, after = v1::ORDER_EVALUATED;
    } else {
        roles = &settings->close_roles(), before = v1::ORDER_EVALUATED, after = v1::ORDER_CLOSED;
    }
    auto org = Authorise(ctx, state, *roles, std::string(method) + " work orders");
    if (!org.ok()) return org.status();
    auto found = FindWorkOrder(state, t.order_no());
    if (!found.ok()) return found.status();
    if (!found->has_value()) return NotFound("no work order " + t.order_no());
    v1::WorkOrder order = std::move(**found);
    if (order.state() != before) {
        return FailedPrecondition("work order " + order.order_no() + " is " +
                                  v1::WorkOrderState_Name(order.state()) + "; " +
                                  std::string(method) + " needs " +
                                  v1::WorkOrderState_Name(before));
    }
    auto stats = LoadStats(state);
    if (!stats.ok()) return stats.status();
    const uint64_t now = ctx.block_timestamp_ms;
    switch (after) {
        case v1::ORDER_ACCEPTED:
            MC_RETURN_IF_ERROR(CheckText("service_channel", t.service_channel(), false));
            if (!t.service_channel().empty()) order.set_service_channel(t.service_channel());
            order.set_accepted_ms(now);
            if (now > order.accept_deadline_ms()) {
                order.set_accepted_late(true);
                stats->set_accepted_late(stats->accepted_late() + 1);
            }
            state.Delete(DueKey(kDueAcceptPrefix, order.accept_deadline_ms(), order.order_no()));
            break;
        case v1::ORDER_HANDLED:
            MC_RETURN_IF_ERROR(CheckText("handler", t.handler(), true));
            MC_RETURN_IF_ERROR(CheckText("conclusion", t.conclusion(), true));
            MC_RETURN_IF_ERROR(CheckText("verifying_unit", t.verifying_unit(), true));
            order.set_handler(t.handler());
            order.set_conclusion(t.conclusion());
            order.set_verifying_unit(t.verifying_unit());
            order.set_handled_ms(now);
            if (now > order.handle_deadline_ms()) {
                order.set_handled_late(true);
                stats->set_handled_late(stats->handled_late() + 1);
            }
            stats->set_handled(stats->handled() + 1);
            stats->set_handling_ms_total(stats->handling_ms_total() + (now - order.opened_ms()));
            state.Delete(DueKey(kDueHandlePrefix, order.handle_deadline_ms(), order.order_no()));
            break;
        case v1::ORDER_EVALUATED: {
            MC_RETURN_IF_ERROR(CheckText("satisfaction", t.satisfaction(), true));
            MC_RETURN_IF_ERROR(CheckText("opinion", t.opinion(), false));
            MC_RETURN_IF_ERROR(CheckText("visit_date", t.visit_date(), false));
            order.set_satisfaction(t.satisfaction());
            order.set_opinion(t.opinion());
            order.set_visit_date(t.visit_date());
            order.set_evaluated_ms(now);
            const auto& bad = settings->dissatisfied();
            if (std::find(bad.begin(), bad.end(), t.satisfaction()) != bad.end()) {
                order.set_dissatisfied(true);
                stats->set_dissatisfied(stats->dissatisfied() + 1);
                state.Put(kDissatisfiedPrefix + order.order_no(), Bytes{});
            }
            break;
        }
        case v1::ORDER_CLOSED:
            order.set_closed_ms(now);
            stats->set_in_progress(stats->in_progress() - 1);
            stats->set_completed(stats->completed() + 1);
            state.Delete(OpenKey(order.asset_no()));
            break;
        default:
            return Internal("unexpected work-order state");
    }
    AddTransition(order, after, org->name(), ctx);
    WriteProto(state, OrderKey(order.order_no()), order);
    WriteProto(state, kStatsKey, *stats);
    return Status::Ok();
}

// Entries of a due index whose deadline is at or before `as_of`: they are the overdue orders.
// The index is ordered by deadline, so the read stops at the first entry not yet due; its cost
// is the number of overdue orders, never the number of orders.
uint64_t CollectOverdue(const StateView& state, const std::string& prefix, uint64_t as_of,
                        std::string_view kind, v1::CalibrationStats& stats) {
    uint64_t count = 0;
    state.Scan(prefix, [&](std::string_view key, ByteView) {
        std::string_view rest = key.substr(prefix.size());
        if (rest.size() < 21) return false;
        const uint64_t deadline = std::stoull(std::string(rest.substr(0, 20)));
        if (deadline >= as_of) return false;
        ++count;
        if (static_cast<size_t>(stats.alerts_size()) < kMaxAlertsListed) {
            v1::CalibrationAlert* a = stats.add_alerts();
            a->set_kind(std::string(kind));
            a->set_order_no(std::string(rest.substr(21)));
            a->set_deadline_ms(deadline);
        }
        return true;
    });
    return count;
}

}  // namespace

uint64_t ClassTolerancePpm(std::string_view c) {
    struct Row {
        std::string_view name;
        uint64_t ppm;
    };
    static constexpr Row kRows[] = {
        {"3", 30000},   {"2", 20000},   {"1", 10000}, {"0.5", 5000}, {"0.5S", 5000},
        {"0.2", 2000},  {"0.2S", 2000}, {"A", 20000}, {"B", 10000},  {"C", 5000},
        {"D", 2000},    {"2.0", 20000}, {"1.0", 10000},
    };
    for (const Row& row : kRows) {
        if (row.name == c) return row.ppm;
    }
    return 0;
}

Status IndexStoredRecord(StateView& state, RecordType type, const RecordFields& fields,
                         uint64_t height, bool replaces) {
    auto text = [&](std::string_view name) {
        const std::string* v = fields.Find(name);
        return v ? *v : std::string();
    };
    if (type == v1::RECORD_METER_ASSET) {
        const std::string asset_no = text("assetNo");
        const std::string bar_key = DigestHex(text("barCode"));
        // A changed asset number leaves no stale entry behind.
        if (auto previous = replaces ? state.Get(AssetOfKey(bar_key)) : std::nullopt) {
            state.Delete(kPrefix + "asset/" + ToString(*previous));
        }
        if (asset_no.empty()) {
            state.Delete(AssetOfKey(bar_key));
            return Status::Ok();
        }
        v1::AssetStatus status;
        status.set_bar_code_key(bar_key);
        status.set_in_service(text("state") == kInService);
        status.set_accuracy_class(text("accuracyClass"));
        status.set_height(height);
        WriteProto(state, AssetKey(asset_no), status);
        state.Put(AssetOfKey(bar_key), AsBytes(DigestHex(asset_no)));
    } else if (type == v1::RECORD_REPLACEMENT_ORDER) {
        const std::string bar_key = DigestHex(text("barCode"));
        const std::string order_no = text("workOrderNo");
        if (text("completedTime").empty()) {
            state.Put(ReplacementKey(bar_key), AsBytes(order_no));
        } else if (auto open = state.Get(ReplacementKey(bar_key)); open && ToString(*open) == order_no) {
            state.Delete(ReplacementKey(bar_key));
        }
    }
    return Status::Ok();
}

Status ApplySetCalibrationSettings(StateView& state, const v1::CalibrationSettings& s) {
    MC_RETURN_IF_ERROR(CheckText("calibration.service_hotline", s.service_hotline(), true));
    if (s.accept_overdue_ms() == 0 || s.handle_overdue_ms() == 0) {
        return InvalidArgument("calibration: accept_overdue_ms and handle_overdue_ms must be > 0");
    }
    if (s.handle_overdue_ms() < s.accept_overdue_ms()) {
        return InvalidArgument("calibration.handle_overdue_ms must be >= accept_overdue_ms");
    }
    const std::pair<const char*, const google::protobuf::RepeatedPtrField<std::string>*> lists[] = {
        {"request_roles", &s.request_roles()},   {"accept_roles", &s.accept_roles()},
        {"handle_roles", &s.handle_roles()},     {"evaluate_roles", &s.evaluate_roles()},
        {"close_roles", &s.close_roles()},       {"result_roles", &s.result_roles()}};
    for (const auto& [name, roles] : lists) {
        if (roles->empty()) return InvalidArgument(std::string("calibration.") + name + " is empty");
        for (const std::string& role : *roles) {
            if (!IsSimpleName(role)) {
                return InvalidArgument(std::string("calibration.") + name + ": not a simple name");
            }
        }
    }
    WriteProto(state, kSettingsKey, s);
    return Status::Ok();
}

Result<std::optional<v1::WorkOrder>> FindWorkOrder(const StateView& state,
                                                   std::string_view order_no) {
    if (!IsSimpleName(order_no)) return std::optional<v1::WorkOrder>();
    v1::WorkOrder order;
    auto found = ReadProto(state, OrderKey(order_no), &order);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<v1::WorkOrder>();
    return std::optional(std::move(order));
}

std::string_view CalibrationContract::Name() const { return kCalibrationContract; }

Status CalibrationContract::Call(const CallContext& ctx, std::string_view method, ByteView args,
                                 StateView& state) {
    Status s;
    if (method == "SubmitErrorResults") {
        s = SubmitErrorResults(ctx, args, state);
    } else if (method == "Request") {
        s = Request(ctx, args, state);
    } else if (method == "Accept" || method == "Handle" || method == "Evaluate" ||
               method == "Close") {
        s = Transition(ctx, method, args, state);
    } else {
        return InvalidArgument("calibration has no method '" + std::string(method) + "'");
    }
    if (s.ok()) state.Put(kLastTimeKey, codec::EncodeU64(ctx.block_timestamp_ms));
    return s;
}

Result<Bytes> CalibrationContract::Query(std::string_view method, ByteView args,
                                         const StateView& state) const {
    v1::CalibrationQueryArgs q;
    MC_RETURN_IF_ERROR(ParseProto(args, &q, "query args"));
    auto get = [&](const std::string& key, std::string what) -> Result<Bytes> {
        auto value = state.Get(key);
        if (!value) return NotFound(std::move(what));
        return *value;
    };
    if (method == "Answer") return get(RequestKey(q.id()), "no calibration request " + q.id());
    if (method == "Order") {
        if (!IsSimpleName(q.id())) return InvalidArgument("id must be an order number");
        return get(OrderKey(q.id()), "no work order " + q.id());
    }
    if (method == "Anomaly") {
        if (!IsSimpleName(q.id())) return InvalidArgument("id must be an order number");
        return get(AnomalyKey(q.id()), "no anomaly for order " + q.id());
    }
    if (method == "Result") return get(ResultKey(q.id()), "no remote error result for " + q.id());
    if (method == "Settings") return get(kSettingsKey, "the calibration workflow is not configured");
    if (method == "Stats") {
        auto stats = LoadStats(state);
        if (!stats.ok()) return stats.status();
        uint64_t as_of = q.as_of_ms();
        if (as_of == 0) {
            auto last = ReadU64(state, kLastTimeKey);
            if (!last.ok()) return last.status();
            as_of = *last;
        }
        stats->set_as_of_ms(as_of);
        stats->set_mean_handling_ms(stats->handled() ? stats->handling_ms_total() / stats->handled()
                                                     : 0);
        stats->set_overdue_not_accepted(
            CollectOverdue(state, kDueAcceptPrefix, as_of, kAlertOverdueNotAccepted, *stats));
        stats->set_overdue_not_handled(
            CollectOverdue(state, kDueHandlePrefix, as_of, kAlertOverdueNotHandled, *stats));
        state.Scan(kDissatisfiedPrefix, [&](std::string_view key, ByteView) {
            if (static_cast<size_t>(stats->alerts_size()) >= kMaxAlertsListed) return false;
            v1::CalibrationAlert* a = stats->add_alerts();
            a->set_kind(std::string(kAlertDissatisfied));
            a->set_order_no(std::string(key.substr(kDissatisfiedPrefix.size())));
            return true;
        });
        return SerializeProto(*stats);
    }
    return InvalidArgument("calibration has no query '" + std::string(method) + "'");
}

}  // namespace meterchain::contracts
