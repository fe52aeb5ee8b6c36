// meterctl error-model and calibration-*: the remote error model (off chain) and the user active
// calibration workflow (contract "calibration", docs/CALIBRATION.md).
//
//   error-model          estimates every meter of a transformer area, prints JSON; with
//                        --submit, signs the integer results as the utility's service and
//                        submits them with the model version and the input file's SM3 digest.
//   calibration request  files a user's request; prints the chain's answer.
//   calibration accept / handle / evaluate / close   one work-order transition each.
//   calibration watch    follows an order's transitions live (gRPC server stream) until closed.
//   calibration stats    the supervision figures and alerts (BIZ-7).
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "contracts/builtin.h"
#include "contracts/calibration.h"
#include "node/client/client.h"
#include "node/config/config.h"
#include "node/crypto/sm.h"
#include "node/errmodel/errmodel.h"
#include "node/tools/meterctl_commands.h"
#include "node/tools/meterctl_remote.h"
#include "proto/metrology.pb.h"
#include "proto/node.grpc.pb.h"

namespace meterchain::tools {
namespace {

constexpr uint32_t kCommitTimeoutMs = 30000;
constexpr std::string_view kDefaultNode = "127.0.0.1:7701";

int Fail(const char* cmd, const Status& s) {
    std::fprintf(stderr, "meterctl %s: %s\n", cmd, s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

std::string ToJsonText(const google::protobuf::Message& m) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = false;
    (void)google::protobuf::util::MessageToJsonString(m, &out, options);
    return out;
}

// The organisation a command acts as: its node configuration and SM2 key.
struct Actor {
    v1::NodeConfig config;
    std::unique_ptr<crypto::Sm2Signer> signer;
    std::unique_ptr<client::Client> client;
};

Result<Actor> LoadActor(const Flags& flags) {
    auto path = flags.Required("config");
    if (!path.ok()) return path.status();
    auto cfg = config::LoadNodeConfig(*path);
    if (!cfg.ok()) return cfg.status();
    auto key = config::LoadSm2KeyFile(cfg->key_file());
    if (!key.ok()) return key.status();
    Actor a{*cfg, std::make_unique<crypto::Sm2Signer>(*key, cfg->sm2_id()), nullptr};
    a.client = std::make_unique<client::Client>(flags.Get("node").value_or(cfg->client_listen()));
    return a;
}

Status Transact(const Actor& a, std::string_view method, const google::protobuf::Message& args) {
    auto tx = contracts::SignContractCall(a.config.chain_id(), NextNonce(*a.client, *a.signer),
                                          NowMs(), contracts::kCalibrationContract, method, args,
                                          *a.signer);
    auto hash = a.client->Submit(tx);
    if (!hash.ok()) return hash.status();
    auto st = a.client->WaitForCommit(*hash, kCommitTimeoutMs);
    if (!st.ok()) return st.status();
    if (st->state() == v1::TxStatus::FAILED) {
        return FailedPrecondition("calibration." + std::string(method) + " failed: " + st->reason());
    }
    if (st->state() != v1::TxStatus::COMMITTED) {
        return FailedPrecondition("calibration." + std::string(method) + " not committed within " +
                                  std::to_string(kCommitTimeoutMs) + " ms");
    }
    return Status::Ok();
}

template <typename Message>
Result<Message> QueryCalibration(const client::Client& c, std::string_view method,
                                 const v1::CalibrationQueryArgs& args) {
    auto bytes = c.Query(std::string(contracts::kCalibrationContract), std::string(method),
                         AsBytes(args.SerializeAsString()));
    if (!bytes.ok()) return bytes.status();
    Message out;
    if (!out.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
        return Internal("malformed " + std::string(method) + " answer");
    }
    return out;
}

// The meters of an area, in the area file's column order, from asset records in the sample
// data's JSON lines form (assetNo, accuracyClass).
struct AreaMeter {
    std::string asset_no;
    std::string accuracy_class;
};

Result<std::vector<AreaMeter>> LoadAreaMeters(const std::string& path) {
    std::ifstream in(path);
    if (!in) return IoError("cannot open " + path);
    std::vector<AreaMeter> out;
    size_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto record = contracts::ParseRecordJson(v1::RECORD_METER_ASSET, line);
        if (!record.ok()) {
            return InvalidArgument(path + " line " + std::to_string(line_no) + ": " +
                                   record.status().message());
        }
        const auto& asset = static_cast<const v1::MeterAsset&>(**record);
        if (asset.asset_no().empty()) {
            return InvalidArgument(path + " line " + std::to_string(line_no) + ": assetNo is missing");
        }
        out.push_back({asset.asset_no(), asset.accuracy_class()});
    }
    return out;
}

v1::ErrorVerdict ToProto(errmodel::Verdict v) {
    switch (v) {
        case errmodel::Verdict::kWithinTolerance: return v1::ERROR_WITHIN_TOLERANCE;
        case errmodel::Verdict::kOutOfTolerance: return v1::ERROR_OUT_OF_TOLERANCE;
        case errmodel::Verdict::kNotComputable: return v1::ERROR_NOT_COMPUTABLE;
    }
    return v1::ERROR_NOT_COMPUTABLE;
}

uint64_t Ppm(double v) { return std::isfinite(v) ? static_cast<uint64_t>(std::llround(std::abs(v) * 1e6)) : UINT64_MAX; }

Result<v1::WorkOrderTransitionArgs> TransitionArgs(const Flags& flags) {
    v1::WorkOrderTransitionArgs t;
    auto order = flags.Required("order");
    if (!order.ok()) return order.status();
    t.set_order_no(*order);
    auto flag = [&](const char* name) { return flags.Get(name).value_or(""); };
    t.set_service_channel(flag("channel"));
    t.set_handler(flag("handler"));
    t.set_conclusion(flag("conclusion"));
    t.set_verifying_unit(flag("verifying-unit"));
    t.set_satisfaction(flag("satisfaction"));
    t.set_opinion(flag("opinion"));
    t.set_visit_date(flag("visit-date"));
    return t;
}

int RunTransition(const Flags& flags, const char* cmd, std::string_view method) {
    auto args = TransitionArgs(flags);
    if (!args.ok()) return Fail(cmd, args.status());
    auto actor = LoadActor(flags);
    if (!actor.ok()) return Fail(cmd, actor.status());
    Status s = Transact(*actor, method, *args);
    if (!s.ok()) return Fail(cmd, s);
    v1::CalibrationQueryArgs q;
    q.set_id(args->order_no());
    auto order = QueryCalibration<v1::WorkOrder>(*actor->client, "Order", q);
    if (!order.ok()) return Fail(cmd, order.status());
    std::printf("%s\n", ToJsonText(*order).c_str());
    return kExitOk;
}

}  // namespace

int RunErrorModel(const Flags& flags) {
    const char* cmd = "error-model";
    auto area_path = flags.Required("area");
    if (!area_path.ok()) return Fail(cmd, area_path.status());
    auto area = errmodel::LoadAreaFile(*area_path);
    if (!area.ok()) return Fail(cmd, area.status());
    auto digest = errmodel::FileDigestHex(*area_path);
    if (!digest.ok()) return Fail(cmd, digest.status());

    std::vector<AreaMeter> meters;
    if (auto assets = flags.Get("assets")) {
        auto loaded = LoadAreaMeters(*assets);
        if (!loaded.ok()) return Fail(cmd, loaded.status());
        meters = std::move(*loaded);
        if (meters.size() != area->meter_count) {
            return Fail(cmd, InvalidArgument("--assets lists " + std::to_string(meters.size()) +
                                             " meters, the area has " +
                                             std::to_string(area->meter_count)));
        }
    }
    // Tolerance: --class for every meter, else each meter's asset record, else class 2.
    std::vector<double> tolerances;
    if (auto cls = flags.Get("class")) {
        auto tol = errmodel::ToleranceForClass(*cls);
        if (!tol.ok()) return Fail(cmd, tol.status());
        tolerances.push_back(*tol);
    } else if (!meters.empty()) {
        for (const AreaMeter& m : meters) {
            auto tol = errmodel::ToleranceForClass(m.accuracy_class);
            if (!tol.ok()) return Fail(cmd, InvalidArgument(m.asset_no + ": " + tol.status().message()));
            tolerances.push_back(*tol);
        }
    } else {
        tolerances.push_back(0.02);
    }
    auto estimate = errmodel::Estimate(*area, tolerances);
    if (!estimate.ok()) return Fail(cmd, estimate.status());
    std::fputs(errmodel::ToJson(*estimate, *digest).c_str(), stdout);

    if (!flags.Has("submit")) return kExitOk;
    if (meters.empty()) return Fail(cmd, InvalidArgument("--submit needs --assets to name the meters"));
    auto actor = LoadActor(flags);
    if (!actor.ok()) return Fail(cmd, actor.status());
    v1::ErrorModelSubmission sub;
    sub.set_run_id(flags.Get("run-id").value_or("run-" + std::to_string(NowMs())));
    sub.set_model_version(std::string(errmodel::kModelVersion));
    sub.set_input_digest(ToString(*FromHex(*digest)));
    sub.set_area(flags.Get("area-id").value_or(""));
    for (const errmodel::MeterEstimate& m : estimate->meters) {
        v1::MeterErrorResult* r = sub.add_results();
        r->set_asset_no(meters[m.index].asset_no);
        r->set_verdict(ToProto(m.verdict));
        if (m.verdict != errmodel::Verdict::kNotComputable) {
            r->set_error_ppm(static_cast<int64_t>(std::llround(m.error * 1e6)));
        }
        const uint64_t u = Ppm(m.uncertainty);
        r->set_uncertainty_ppm(u);
        r->set_tolerance_ppm(Ppm(m.tolerance));
        r->set_reason(m.reason.substr(0, 200));
    }
    Status s = Transact(*actor, "SubmitErrorResults", sub);
    if (!s.ok()) return Fail(cmd, s);
    std::fprintf(stderr, "meterctl %s: submitted run %s (%d meters)\n", cmd, sub.run_id().c_str(),
                 sub.results_size());
    return kExitOk;
}

int RunCalibrationRequest(const Flags& flags) {
    const char* cmd = "calibration request";
    auto asset = flags.Required("asset");
    if (!asset.ok()) return Fail(cmd, asset.status());
    auto actor = LoadActor(flags);
    if (!actor.ok()) return Fail(cmd, actor.status());
    v1::CalibrationRequestArgs req;
    req.set_request_no(flags.Get("request").value_or("REQ-" + std::to_string(NowMs())));
    req.set_asset_no(*asset);
    req.set_service_channel(flags.Get("channel").value_or("95598"));
    if (auto who = flags.Get("requester")) {
        Hash256 d = crypto::Sm3(*who);
        req.set_requester_digest(ToString(ByteView(d.data(), d.size())));
    }
    Status s = Transact(*actor, "Request", req);
    if (!s.ok()) return Fail(cmd, s);
    v1::CalibrationQueryArgs q;
    q.set_id(req.request_no());
    auto answer = QueryCalibration<v1::CalibrationAnswer>(*actor->client, "Answer", q);
    if (!answer.ok()) return Fail(cmd, answer.status());
    std::printf("%s\n", ToJsonText(*answer).c_str());
    return kExitOk;
}

int RunCalibrationAccept(const Flags& flags) {
    return RunTransition(flags, "calibration accept", "Accept");
}
int RunCalibrationHandle(const Flags& flags) {
    return RunTransition(flags, "calibration handle", "Handle");
}
int RunCalibrationEvaluate(const Flags& flags) {
    return RunTransition(flags, "calibration evaluate", "Evaluate");
}
int RunCalibrationClose(const Flags& flags) {
    return RunTransition(flags, "calibration close", "Close");
}

int RunCalibrationWatch(const Flags& flags) {
    const char* cmd = "calibration watch";
    auto order = flags.Required("order");
    if (!order.ok()) return Fail(cmd, order.status());
    client::Client c(flags.Get("node").value_or(std::string(kDefaultNode)));
    grpc::ClientContext ctx;
    v1::WatchWorkOrderRequest req;
    req.set_order_no(*order);
    auto reader = c.stub().WatchWorkOrder(&ctx, req);
    v1::WorkOrderEvent event;
    while (reader->Read(&event)) {
        std::printf("%s\n", ToJsonText(event.transition()).c_str());
        std::fflush(stdout);
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) {
        std::fprintf(stderr, "meterctl %s: %s\n", cmd, s.error_message().c_str());
        return kExitFailure;
    }
    return kExitOk;
}

int RunCalibrationStats(const Flags& flags) {
    const char* cmd = "calibration stats";
    client::Client c(flags.Get("node").value_or(std::string(kDefaultNode)));
    v1::CalibrationQueryArgs q;
    auto as_of = flags.Number("as-of-ms", 0, 0, UINT64_MAX);
    if (!as_of.ok()) return Fail(cmd, as_of.status());
    q.set_as_of_ms(*as_of);
    if (*as_of == 0) {
        // Judge overdue orders at the latest block's time (block time, never this clock).
        auto tip = c.GetLatestBlock();
        if (!tip.ok()) return Fail(cmd, tip.status());
        q.set_as_of_ms(tip->header.timestamp_ms);
    }
    auto stats = QueryCalibration<v1::CalibrationStats>(c, "Stats", q);
    if (!stats.ok()) return Fail(cmd, stats.status());
    std::printf("%s\n", ToJsonText(*stats).c_str());
    return kExitOk;
}

}  // namespace meterchain::tools
