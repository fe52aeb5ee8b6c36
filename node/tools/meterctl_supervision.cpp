// meterctl sampling / supervision: the regulator's supervision workflows (docs/SUPERVISION.md).
//
//   sampling plan       GB/T 2828.1 single sampling plan for a lot, computed locally (no node)
//   sampling create     CreatePlan for an arrival batch, as the regulator (--config)
//   sampling draw       DrawSample: chosen bar codes and/or a random fill from the batch
//   sampling import     ImportRecheck of physical re-check results (JSON lines)
//   sampling show       the stored plan, its sample and its re-check report
//   supervision overview | batch | alerts | out-of-tolerance | switching
//                       the regulator's figures, read through the Query API
// Every command prints JSON on stdout (proto3 JSON mapping); errors go to stderr.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "contracts/builtin.h"
#include "contracts/common.h"
#include "contracts/records.h"
#include "contracts/sampling.h"
#include "contracts/governance.h"
#include "contracts/validation_key.h"
#include "contracts/validity.h"
#include "contracts/supervision.h"
#include "node/client/client.h"
#include "node/config/config.h"
#include "node/tools/meterctl_commands.h"
#include "node/tools/meterctl_remote.h"
#include "proto/metrology.pb.h"

namespace meterchain::tools {
namespace {

constexpr uint32_t kCommitTimeoutMs = 30000;
constexpr const char* kDefaultNode = "127.0.0.1:7701";

int Fail(const std::string& cmd, const Status& s) {
    std::fprintf(stderr, "meterctl %s: %s\n", cmd.c_str(), s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

std::string ToJson(const google::protobuf::Message& m) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(m, &out, options);
    return out;
}

void Print(const google::protobuf::Message& m) { std::printf("%s", ToJson(m).c_str()); }

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
                                          NowMs(), contracts::kSupervisionContract, method, args,
                                          *a.signer);
    auto hash = a.client->Submit(tx);
    if (!hash.ok()) return hash.status();
    auto st = a.client->WaitForCommit(*hash, kCommitTimeoutMs);
    if (!st.ok()) return st.status();
    if (st->state() == v1::TxStatus::FAILED) {
        return FailedPrecondition("supervision." + std::string(method) + " refused: " +
                                  st->reason());
    }
    if (st->state() != v1::TxStatus::COMMITTED) {
        return FailedPrecondition("supervision." + std::string(method) + " not committed within " +
                                  std::to_string(kCommitTimeoutMs) + " ms");
    }
    return Status::Ok();
}

template <typename M>
Result<M> Ask(const client::Client& c, std::string_view method, const std::string& id) {
    v1::QueryArgs q;
    q.set_id(id);
    auto bytes = c.Query(std::string(contracts::kSupervisionContract), std::string(method),
                         AsBytes(q.SerializeAsString()));
    if (!bytes.ok()) return bytes.status();
    M out;
    if (!out.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
        return Internal("malformed " + std::string(method) + " answer");
    }
    return out;
}

std::unique_ptr<client::Client> NodeClient(const Flags& flags) {
    return std::make_unique<client::Client>(flags.Get("node").value_or(kDefaultNode));
}

std::vector<std::string> SplitComma(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string part; std::getline(in, part, ',');) {
        if (!part.empty()) out.push_back(part);
    }
    return out;
}

}  // namespace

int RunSamplingPlan(const Flags& flags) {
    const std::string cmd = "sampling plan";
    auto lot = flags.Number("lot", 0, 2, UINT64_MAX);
    if (!lot.ok()) return Fail(cmd, lot.status());
    if (!flags.Has("lot")) return Fail(cmd, InvalidArgument("--lot is required"));
    auto level = contracts::ParseInspectionLevel(flags.Get("level").value_or("II"));
    if (!level.ok()) return Fail(cmd, level.status());
    auto aql_text = flags.Required("aql");
    if (!aql_text.ok()) return Fail(cmd, aql_text.status());
    auto aql = contracts::ParseAql(*aql_text);
    if (!aql.ok()) return Fail(cmd, aql.status());
    auto severity = contracts::ParseSeverity(flags.Get("severity").value_or("normal"));
    if (!severity.ok()) return Fail(cmd, severity.status());
    auto plan = contracts::PlanForLot(*lot, *level, *aql, *severity);
    if (!plan.ok()) return Fail(cmd, plan.status());
    v1::SamplingPlan out;
    out.set_level(std::string(contracts::InspectionLevelName(*level)));
    out.set_aql(contracts::AqlText(*aql));
    out.set_lot_size(*lot);
    out.set_severity(std::string(contracts::SeverityName(*severity)));
    out.set_code_letter(std::string(1, plan->code_letter));
    out.set_plan_letter(std::string(1, plan->plan_letter));
    out.set_table_sample_size(plan->table_sample_size);
    out.set_sample_size(plan->sample_size);
    out.set_ac(plan->ac);
    out.set_re(plan->re);
    out.set_full_inspection(plan->full_inspection);
    Print(out);
    return kExitOk;
}

int RunSamplingCreate(const Flags& flags) {
    const std::string cmd = "sampling create";
    auto actor = LoadActor(flags);
    if (!actor.ok()) return Fail(cmd, actor.status());
    v1::SamplingPlanArgs a;
    auto plan = flags.Required("plan");
    if (!plan.ok()) return Fail(cmd, plan.status());
    auto batch = flags.Required("batch");
    if (!batch.ok()) return Fail(cmd, batch.status());
    auto aql = flags.Required("aql");
    if (!aql.ok()) return Fail(cmd, aql.status());
    auto lot = flags.Number("lot", 0, 0, UINT64_MAX);
    if (!lot.ok()) return Fail(cmd, lot.status());
    a.set_plan_id(*plan);
    a.set_arrival_batch_no(*batch);
    a.set_level(flags.Get("level").value_or("II"));
    a.set_aql(*aql);
    a.set_lot_size(*lot);
    Status s = Transact(*actor, "CreatePlan", a);
    if (!s.ok()) return Fail(cmd, s);
    auto stored = Ask<v1::SamplingPlan>(*actor->client, "Plan", *plan);
    if (!stored.ok()) return Fail(cmd, stored.status());
    Print(*stored);
    return kExitOk;
}

// Meter keys (hex SM3 of bar codes) back to bar codes, from a meters JSON lines file the
// regulator holds (e.g. test/data/meters.jsonl).
Result<std::map<std::string, std::string>> BarCodesByKey(const std::optional<std::string>& file) {
    std::map<std::string, std::string> out;
    if (!file) return out;
    std::ifstream in(*file);
    if (!in) return NotFound("cannot read " + *file);
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        auto record = contracts::ParseRecordJson(v1::RECORD_METER_ASSET, line);
        if (!record.ok()) return record.status();
        const auto& m = static_cast<const v1::MeterAsset&>(**record);
        out.emplace(contracts::DigestHex(m.bar_code()), m.bar_code());
    }
    return out;
}

int RunSamplingDraw(const Flags& flags) {
    const std::string cmd = "sampling draw";
    auto actor = LoadActor(flags);
    if (!actor.ok()) return Fail(cmd, actor.status());
    auto plan = flags.Required("plan");
    if (!plan.ok()) return Fail(cmd, plan.status());
    auto names = BarCodesByKey(flags.Get("meters"));
    if (!names.ok()) return Fail(cmd, names.status());
    v1::DrawSampleArgs a;
    a.set_plan_id(*plan);
    for (const auto& b : SplitComma(flags.Get("bar-codes").value_or(""))) a.add_bar_codes(b);
    a.set_random_fill(flags.Has("random"));
    Status s = Transact(*actor, "DrawSample", a);
    if (!s.ok()) return Fail(cmd, s);
    auto sample = Ask<v1::SampleSet>(*actor->client, "Sample", *plan);
    if (!sample.ok()) return Fail(cmd, sample.status());
    Print(*sample);
    if (!names->empty()) {
        std::printf("bar codes:\n");
        for (const auto& key : sample->meter_keys()) {
            auto it = names->find(key);
            std::printf("  %s\n", it == names->end() ? ("(unknown) " + key).c_str()
                                                     : it->second.c_str());
        }
    }
    return kExitOk;
}

int RunSamplingImport(const Flags& flags) {
    const std::string cmd = "sampling import";
    auto actor = LoadActor(flags);
    if (!actor.ok()) return Fail(cmd, actor.status());
    auto plan = flags.Required("plan");
    if (!plan.ok()) return Fail(cmd, plan.status());
    auto batch = flags.Required("batch");
    if (!batch.ok()) return Fail(cmd, batch.status());
    auto file = flags.Required("file");
    if (!file.ok()) return Fail(cmd, file.status());
    std::ifstream in(*file);
    if (!in) return Fail(cmd, NotFound("cannot read " + *file));
    v1::RecheckImportArgs a;
    a.set_plan_id(*plan);
    a.set_arrival_batch_no(*batch);
    int line_no = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (line.empty()) continue;
        google::protobuf::util::JsonParseOptions options;
        auto st = google::protobuf::util::JsonStringToMessage(line, a.add_results(), options);
        if (!st.ok()) {
            return Fail(cmd, InvalidArgument(*file + ":" + std::to_string(line_no) + ": " +
                                             std::string(st.message())));
        }
    }
    Status s = Transact(*actor, "ImportRecheck", a);
    if (!s.ok()) return Fail(cmd, s);
    auto report = Ask<v1::RecheckReport>(*actor->client, "Recheck", *plan);
    if (!report.ok()) return Fail(cmd, report.status());
    Print(*report);
    return kExitOk;
}

int RunSamplingShow(const Flags& flags) {
    const std::string cmd = "sampling show";
    auto plan = flags.Required("plan");
    if (!plan.ok()) return Fail(cmd, plan.status());
    auto c = NodeClient(flags);
    auto p = Ask<v1::SamplingPlan>(*c, "Plan", *plan);
    if (!p.ok()) return Fail(cmd, p.status());
    Print(*p);
    if (auto s = Ask<v1::SampleSet>(*c, "Sample", *plan); s.ok()) Print(*s);
    if (auto r = Ask<v1::RecheckReport>(*c, "Recheck", *plan); r.ok()) Print(*r);
    return kExitOk;
}

int RunSupervisionOverview(const Flags& flags) {
    auto r = Ask<v1::VerificationOverview>(*NodeClient(flags), "Overview", "");
    if (!r.ok()) return Fail("supervision overview", r.status());
    Print(*r);
    return kExitOk;
}

int RunSupervisionBatch(const Flags& flags) {
    auto batch = flags.Required("batch");
    if (!batch.ok()) return Fail("supervision batch", batch.status());
    auto r = Ask<v1::BatchStats>(*NodeClient(flags), "Batch", *batch);
    if (!r.ok()) return Fail("supervision batch", r.status());
    Print(*r);
    return kExitOk;
}

int RunSupervisionAlerts(const Flags& flags) {
    auto r = Ask<v1::AlertList>(*NodeClient(flags), "Alerts", flags.Get("org").value_or(""));
    if (!r.ok()) return Fail("supervision alerts", r.status());
    Print(*r);
    return kExitOk;
}

int RunSupervisionOutOfTolerance(const Flags& flags) {
    auto r = Ask<v1::OutOfToleranceOverview>(*NodeClient(flags), "OutOfTolerance",
                                             flags.Get("year").value_or(""));
    if (!r.ok()) return Fail("supervision out-of-tolerance", r.status());
    Print(*r);
    return kExitOk;
}

int RunSupervisionSwitching(const Flags& flags) {
    auto series = flags.Required("manufacturer");
    if (!series.ok()) return Fail("supervision switching", series.status());
    auto r = Ask<v1::SwitchingRecord>(*NodeClient(flags), "Switching", *series);
    if (!r.ok()) return Fail("supervision switching", r.status());
    Print(*r);
    return kExitOk;
}

}  // namespace meterchain::tools

// ---------------------------------------------------------------------------------------------
// The demo's supervision step (meterctl demo, after the Validity step).

namespace meterchain::tools {
namespace {

namespace fs = std::filesystem;

struct DemoOrg {
    v1::NodeConfig config;
    crypto::Sm2PrivateKey key;
    std::unique_ptr<crypto::Sm2Signer> signer;
};

std::vector<std::string> Lines(const fs::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

// Uploads records of one type through Validity (co-signed by third party and regulator);
// returns the number of valid records.
Result<uint32_t> DemoUpload(const std::map<std::string, DemoOrg>& orgs, const std::string& org,
                            v1::RecordType type,
                            const std::vector<std::unique_ptr<google::protobuf::Message>>& records,
                            const std::string& batch_id) {
    const DemoOrg& uploader = orgs.at(org);
    client::Client c(uploader.config.client_listen());
    RemoteState state(c);
    auto k = contracts::LoadValidationKey(state, org, uploader.key);
    if (!k.ok()) return k.status();
    auto rules = contracts::LoadCurrentRuleSet(state);
    if (!rules.ok()) return rules.status();
    v1::ValiditySubmission sub;
    sub.set_batch_id(batch_id);
    sub.set_rule_set_version(rules->version());
    for (const auto& r : records) {
        auto built = contracts::BuildRecordSubmission(state, uploader.config.chain_id(), type, *r,
                                                      nullptr, &*k);
        if (!built.ok()) return built.status();
        *sub.add_records() = std::move(*built);
    }
    for (const char* cosigner : {"third-party", "regulator"}) {
        contracts::SignValiditySubmission(uploader.config.chain_id(), org, cosigner,
                                          *orgs.at(cosigner).signer, &sub);
    }
    auto tx = contracts::SignContractCall(uploader.config.chain_id(),
                                          NextNonce(c, *uploader.signer), NowMs(),
                                          contracts::kValidityContract, "Validity", sub,
                                          *uploader.signer);
    auto hash = c.Submit(tx);
    if (!hash.ok()) return hash.status();
    auto st = c.WaitForCommit(*hash, kCommitTimeoutMs);
    if (!st.ok()) return st.status();
    if (st->state() != v1::TxStatus::COMMITTED) {
        return FailedPrecondition("batch " + batch_id + " not committed: " + st->reason());
    }
    v1::QueryArgs q;
    q.set_id(ToHex(*hash));
    auto bytes = c.Query(std::string(contracts::kValidityContract), "Result",
                         AsBytes(q.SerializeAsString()));
    if (!bytes.ok()) return bytes.status();
    v1::ValidityResult result;
    if (!result.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
        return Internal("malformed ValidityResult");
    }
    return result.valid_count();
}

// Re-check results for a sample: the first verification's conclusions, except for the first
// `inconsistent` meters, whose basic error test now fails.
v1::RecheckImportArgs DemoRecheck(const v1::SampleSet& sample,
                                  const std::map<std::string, v1::VerificationResult>& first,
                                  int inconsistent) {
    v1::RecheckImportArgs a;
    a.set_plan_id(sample.plan_id());
    a.set_arrival_batch_no(sample.arrival_batch_no());
    int n = 0;
    for (const auto& key : sample.meter_keys()) {
        const v1::VerificationResult& r = first.at(key);
        auto* item = a.add_results();
        item->set_bar_code(r.bar_code());
        bool bad = n++ < inconsistent;
        item->set_veri_result(bad ? "不合格" : r.veri_result());
        auto fields = contracts::RecordFields::FromMessage(r);
        for (const char* name : {"VOLT_CONC_CODE", "BASIC_ERROR_CONC_CODE", "INTUIT_CONC_CODE"}) {
            const std::string* v = fields.Find(name);
            if (v == nullptr) continue;
            auto* c = item->add_conclusions();
            c->set_name(name);
            c->set_value(bad && std::string(name) == "BASIC_ERROR_CONC_CODE" ? "不合格" : *v);
        }
    }
    return a;
}

Status DemoTransact(const DemoOrg& org, std::string_view method,
                    const google::protobuf::Message& args) {
    Actor a{org.config, std::make_unique<crypto::Sm2Signer>(org.key, org.config.sm2_id()),
            std::make_unique<client::Client>(org.config.client_listen())};
    return Transact(a, method, args);
}

}  // namespace

Status RunDemoSupervision(const std::string& dir, const std::string& data_dir,
                          const std::string& stamp) {
    std::map<std::string, DemoOrg> orgs;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const fs::path cfg_path = entry.path() / "node.json";
        if (!entry.is_directory() || !fs::exists(cfg_path)) continue;
        auto cfg = config::LoadNodeConfig(cfg_path.string());
        if (!cfg.ok()) return cfg.status();
        auto key = config::LoadSm2KeyFile(cfg->key_file());
        if (!key.ok()) return key.status();
        DemoOrg o{*cfg, *key, std::make_unique<crypto::Sm2Signer>(*key, cfg->sm2_id())};
        orgs.emplace(cfg->name(), std::move(o));
    }
    for (const char* need : {"utility", "regulator", "third-party", "institute"}) {
        if (orgs.count(need) == 0) return NotFound(std::string("no node '") + need + "'");
    }
    const fs::path data(data_dir);
    // The whole sample set: arrival batches, every meter and every first verification (records
    // the earlier step uploaded come back INVALID as duplicates and change nothing).
    std::vector<std::unique_ptr<google::protobuf::Message>> batches, meters, results;
    std::map<std::string, v1::VerificationResult> first;  // meter key -> result
    std::map<std::string, std::vector<std::string>> batch_members;
    std::map<std::string, std::string> batch_of;
    for (const auto& line : Lines(data / "batches.jsonl")) {
        auto r = contracts::ParseRecordJson(v1::RECORD_ARRIVAL_BATCH, line);
        if (!r.ok()) return r.status();
        batches.push_back(std::move(*r));
    }
    for (const auto& line : Lines(data / "meters.jsonl")) {
        auto r = contracts::ParseRecordJson(v1::RECORD_METER_ASSET, line);
        if (!r.ok()) return r.status();
        const auto& m = static_cast<const v1::MeterAsset&>(**r);
        batch_of[m.bar_code()] = m.arrival_batch_no();
        meters.push_back(std::move(*r));
    }
    for (const auto& line : Lines(data / "verification-results.jsonl")) {
        auto r = contracts::ParseRecordJson(v1::RECORD_VERIFICATION_RESULT, line);
        if (!r.ok()) return r.status();
        const auto& v = static_cast<const v1::VerificationResult&>(**r);
        first.emplace(contracts::DigestHex(v.bar_code()), v);
        batch_members[batch_of[v.bar_code()]].push_back(v.bar_code());
        results.push_back(std::move(*r));
    }
    std::printf("\n== supervision (GB/T 2828.1 sampling, re-check, batch rule)\n");
    auto n = DemoUpload(orgs, "utility", v1::RECORD_ARRIVAL_BATCH, batches, "sup-batches-" + stamp);
    if (!n.ok()) return n.status();
    auto m = DemoUpload(orgs, "utility", v1::RECORD_METER_ASSET, meters, "sup-meters-" + stamp);
    if (!m.ok()) return m.status();
    auto v = DemoUpload(orgs, "institute", v1::RECORD_VERIFICATION_RESULT, results,
                        "sup-results-" + stamp);
    if (!v.ok()) return v.status();
    std::printf("utility/institute -> Validity: %u arrival batches, %u meters, %u results newly "
                "on chain\n",
                *n, *m, *v);

    client::Client c(orgs.at("regulator").config.client_listen());
    // Plan 1: a random sample from one batch, one re-checked meter disagrees -> one alert.
    // Plan 2: a batch inspected 100% (the sample is at least the lot), three disagree -> the
    // batch's first verification fails.
    struct Step {
        std::string batch;
        std::string aql;
        int inconsistent;
    };
    const Step steps[] = {{"AB20240002", "6.5", 1}, {"AB20240001", "0.010", 3}};
    int step_no = 0;
    for (const auto& step : steps) {
        const std::string plan_id = "DEMO-" + stamp + "-" + std::to_string(++step_no);
        v1::SamplingPlanArgs pa;
        pa.set_plan_id(plan_id);
        pa.set_arrival_batch_no(step.batch);
        pa.set_level("II");
        pa.set_aql(step.aql);
        MC_RETURN_IF_ERROR(DemoTransact(orgs.at("regulator"), "CreatePlan", pa));
        auto plan = Ask<v1::SamplingPlan>(c, "Plan", plan_id);
        if (!plan.ok()) return plan.status();
        std::printf("plan %s: batch %s, lot %llu, level II, AQL %s, %s: code letter %s, n = %u, "
                    "Ac %u, Re %u%s\n",
                    plan_id.c_str(), step.batch.c_str(),
                    static_cast<unsigned long long>(plan->lot_size()), plan->aql().c_str(),
                    plan->severity().c_str(), plan->code_letter().c_str(), plan->sample_size(),
                    plan->ac(), plan->re(), plan->full_inspection() ? " (100%)" : "");
        v1::DrawSampleArgs da;
        da.set_plan_id(plan_id);
        da.set_random_fill(true);
        MC_RETURN_IF_ERROR(DemoTransact(orgs.at("regulator"), "DrawSample", da));
        auto sample = Ask<v1::SampleSet>(c, "Sample", plan_id);
        if (!sample.ok()) return sample.status();
        std::printf("  sample drawn on chain (seed %s...):", sample->seed().substr(0, 12).c_str());
        for (const auto& key : sample->meter_keys()) {
            std::printf(" %s", first.count(key) ? first.at(key).bar_code().c_str() : key.c_str());
        }
        std::printf("\n");
        for (const auto& key : sample->meter_keys()) {
            if (first.count(key) == 0) return NotFound("a sampled meter is not in the data set");
        }
        auto recheck = DemoRecheck(*sample, first, step.inconsistent);
        MC_RETURN_IF_ERROR(DemoTransact(orgs.at("regulator"), "ImportRecheck", recheck));
        auto report = Ask<v1::RecheckReport>(c, "Recheck", plan_id);
        if (!report.ok()) return report.status();
        std::printf("  re-check import: %u inconsistent of %d, lot %s, batch first verification "
                    "%s\n",
                    report->inconsistent_count(), report->meters_size(),
                    report->lot_accepted() ? "accepted" : "not accepted",
                    report->batch_failed() ? "FAILED: re-verify the batch" : "stands");
    }
    auto alerts = Ask<v1::AlertList>(c, "Alerts", "institute");
    if (!alerts.ok()) return alerts.status();
    std::printf("alerts to the institute: %d\n", alerts->alerts_size());
    for (const auto& a : alerts->alerts()) {
        std::printf("  %s %s %s: %s\n", a.kind().c_str(), a.institution().c_str(),
                    a.arrival_batch_no().c_str(), a.detail().c_str());
    }
    auto overview = Ask<v1::VerificationOverview>(c, "Overview", "");
    if (!overview.ok()) return overview.status();
    std::printf("overview: %llu verified (%llu full inspection, %llu sampling), pass rate "
                "%u permille, %llu failed batch(es)\n",
                static_cast<unsigned long long>(overview->all().total()),
                static_cast<unsigned long long>(overview->full_inspection().total()),
                static_cast<unsigned long long>(overview->sampling().total()),
                overview->all().pass_rate_permille(),
                static_cast<unsigned long long>(overview->failed_batches()));
    return Status::Ok();
}

}  // namespace meterchain::tools
