// meterctl demo: takes the sample data set through a running cluster. The utility registers
// meter assets, the metrology institute uploads their Appendix B verification results (one of
// them deliberately inconsistent), two validator organisations co-sign each batch, the Validity
// contract judges every record on every node, and the result set is printed with the chain's
// state on every node.
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "contracts/builtin.h"
#include "contracts/common.h"
#include "contracts/governance.h"
#include "contracts/offchain.h"
#include "contracts/records.h"
#include "contracts/validation_key.h"
#include "contracts/validity.h"
#include "node/base/codec.h"
#include "node/client/client.h"
#include "node/config/config.h"
#include "node/tools/meterctl_commands.h"
#include "node/tools/meterctl_remote.h"
#include "proto/metrology.pb.h"

namespace meterchain::tools {
namespace {

namespace fs = std::filesystem;

struct Org {
    std::string name;
    std::string client_address;
    std::optional<crypto::Sm2PrivateKey> key;
    std::unique_ptr<crypto::Sm2Signer> signer;
};

std::vector<std::string> ReadLines(const fs::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

std::string FieldOf(const std::string& json, const std::string& name) {
    const std::string needle = "\"" + name + "\": \"";
    auto at = json.find(needle);
    if (at == std::string::npos) return "";
    at += needle.size();
    return json.substr(at, json.find('"', at) - at);
}

// Uploads one batch through the Validity contract and returns its stored result.
Result<v1::ValidityResult> UploadBatch(const std::string& chain_id, const Org& uploader,
                                       const std::vector<const Org*>& cosigners,
                                       const std::string& batch_id,
                                       const std::vector<v1::RecordSubmission>& records,
                                       uint64_t rule_set_version, uint64_t* height,
                                       Hash256* tx_hash = nullptr) {
    v1::ValiditySubmission sub;
    sub.set_batch_id(batch_id);
    sub.set_rule_set_version(rule_set_version);
    for (const auto& r : records) *sub.add_records() = r;
    for (const Org* o : cosigners) {
        contracts::SignValiditySubmission(chain_id, uploader.name, o->name, *o->signer, &sub);
    }
    client::Client c(uploader.client_address);
    auto tx = contracts::SignContractCall(chain_id, NextNonce(c, *uploader.signer), NowMs(),
                                          contracts::kValidityContract, "Validity", sub,
                                          *uploader.signer);
    auto hash = c.Submit(tx);
    if (!hash.ok()) return hash.status();
    auto st = c.WaitForCommit(*hash, 30000);
    if (!st.ok()) return st.status();
    if (st->state() != v1::TxStatus::COMMITTED) {
        return FailedPrecondition("batch " + batch_id + " not committed: " + st->reason());
    }
    *height = st->height();
    if (tx_hash != nullptr) *tx_hash = *hash;
    v1::QueryArgs q;
    q.set_id(ToHex(*hash));
    auto bytes = c.Query(std::string(contracts::kValidityContract), "Result",
                         AsBytes(q.SerializeAsString()));
    if (!bytes.ok()) return bytes.status();
    v1::ValidityResult result;
    if (!result.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
        return Internal("malformed ValidityResult");
    }
    return result;
}

int Fail(const Status& s) {
    std::fprintf(stderr, "meterctl demo: %s\n", s.ToString().c_str());
    return kExitFailure;
}

}  // namespace

int RunDemo(const Flags& flags) {
    auto dir = flags.Required("dir");
    if (!dir.ok()) return Fail(dir.status());
    const fs::path data = flags.Get("data").value_or("test/data");
    auto count = flags.Number("records", 20, 1, 10000);
    if (!count.ok()) return Fail(count.status());

    // The organisations' keys come from the cluster directory (a local demo holds them all).
    std::map<std::string, Org> orgs;
    std::string chain_id;
    std::vector<std::string> addresses;
    for (const auto& entry : fs::directory_iterator(*dir)) {
        const fs::path cfg_path = entry.path() / "node.json";
        if (!entry.is_directory() || !fs::exists(cfg_path)) continue;
        auto cfg = config::LoadNodeConfig(cfg_path.string());
        if (!cfg.ok()) return Fail(cfg.status());
        auto key = config::LoadSm2KeyFile(cfg->key_file());
        if (!key.ok()) return Fail(key.status());
        Org o;
        o.name = cfg->name();
        o.client_address = cfg->client_listen();
        o.key = *key;
        o.signer = std::make_unique<crypto::Sm2Signer>(std::move(*key));
        chain_id = cfg->chain_id();
        addresses.push_back(o.client_address);
        orgs.emplace(o.name, std::move(o));
    }
    for (const char* need : {"utility", "regulator", "third-party", "institute"}) {
        if (orgs.count(need) == 0) return Fail(NotFound(std::string("no node '") + need + "' in " + *dir));
    }
    client::Client utility_client(orgs.at("utility").client_address);
    RemoteState state(utility_client);
    auto rules = contracts::LoadCurrentRuleSet(state);
    if (!rules.ok()) return Fail(rules.status());
    // Each uploader unwraps its copy of the chain validation key with its own SM2 key: public
    // records travel sealed, and the Validity contract opens them with the same key on every
    // node (docs/CONTRACTS.md, "Validation key").
    auto utility_k = contracts::LoadValidationKey(state, "utility", *orgs.at("utility").key);
    if (!utility_k.ok()) return Fail(utility_k.status());
    auto institute_k = contracts::LoadValidationKey(state, "institute", *orgs.at("institute").key);
    if (!institute_k.ok()) return Fail(institute_k.status());

    // Verification results and the meters they belong to.
    auto results = ReadLines(data / "verification-results.jsonl");
    auto meters = ReadLines(data / "meters.jsonl");
    if (results.empty() || meters.empty()) {
        return Fail(NotFound("sample data missing in " + data.string()));
    }
    if (results.size() > *count) results.resize(*count);
    std::set<std::string> wanted;
    for (const auto& r : results) wanted.insert(FieldOf(r, "barCode"));
    std::vector<std::string> meter_lines;
    for (const auto& m : meters) {
        if (wanted.count(FieldOf(m, "barCode"))) meter_lines.push_back(m);
    }
    // One deliberately inconsistent record: overall "qualified" while a tested item failed.
    std::string forged = results.back();
    const auto conc = forged.find("\"BASIC_ERROR_CONC_CODE\": \"");
    if (conc != std::string::npos) {
        const auto start = conc + std::string("\"BASIC_ERROR_CONC_CODE\": \"").size();
        forged.replace(start, forged.find('"', start) - start, "不合格");
        const auto vr = forged.find("\"veriResult\": \"");
        const auto vstart = vr + std::string("\"veriResult\": \"").size();
        forged.replace(vstart, forged.find('"', vstart) - vstart, "合格");
        results.back() = forged;
    }

    contracts::DirectoryRecordStore utility_store(fs::path(*dir) / "utility-offchain");
    contracts::OffchainVault utility_vault(utility_store);
    contracts::DirectoryRecordStore institute_store(fs::path(*dir) / "institute-offchain");
    contracts::OffchainVault institute_vault(institute_store);
    const std::vector<const Org*> cosigners = {&orgs.at("third-party"), &orgs.at("regulator")};
    const std::string stamp = std::to_string(NowMs());

    std::printf("== meterchain demo: %zu meter assets, %zu verification results, chain %s\n",
                meter_lines.size(), results.size(), chain_id.c_str());
    std::vector<v1::RecordSubmission> meter_subs;
    for (const auto& line : meter_lines) {
        auto rec = contracts::ParseRecordJson(v1::RECORD_METER_ASSET, line);
        if (!rec.ok()) return Fail(rec.status());
        auto sub = contracts::BuildRecordSubmission(state, chain_id, v1::RECORD_METER_ASSET, **rec,
                                                    &utility_vault, &*utility_k);
        if (!sub.ok()) return Fail(sub.status());
        meter_subs.push_back(std::move(*sub));
    }
    uint64_t height = 0;
    auto meter_result = UploadBatch(chain_id, orgs.at("utility"), cosigners, "meters-" + stamp,
                                    meter_subs, rules->version(), &height);
    if (!meter_result.ok()) return Fail(meter_result.status());
    std::printf("utility  -> Validity(meter assets)          committed at height %llu: %u/%d valid\n",
                static_cast<unsigned long long>(height), meter_result->valid_count(),
                meter_result->results_size());

    std::vector<v1::RecordSubmission> result_subs;
    for (const auto& line : results) {
        auto rec = contracts::ParseRecordJson(v1::RECORD_VERIFICATION_RESULT, line);
        if (!rec.ok()) return Fail(rec.status());
        auto sub = contracts::BuildRecordSubmission(state, chain_id, v1::RECORD_VERIFICATION_RESULT,
                                                    **rec, &institute_vault, &*institute_k);
        if (!sub.ok()) return Fail(sub.status());
        result_subs.push_back(std::move(*sub));
    }
    Hash256 results_tx{};
    auto veri = UploadBatch(chain_id, orgs.at("institute"), cosigners, "results-" + stamp,
                            result_subs, rules->version(), &height, &results_tx);
    if (!veri.ok()) return Fail(veri.status());
    std::printf("institute -> Validity(verification results) committed at height %llu: %u/%d valid\n",
                static_cast<unsigned long long>(height), veri->valid_count(), veri->results_size());
    // The transaction to prove (meterctl prove --tx) in scripts/demo-crosschain.sh.
    std::printf("verification results transaction %s\n\n", ToHex(results_tx).c_str());

    std::printf("%-24s %-18s %-8s %-8s %s\n", "barCode", "veriTaskNo", "result", "on chain",
                "reason");
    for (const auto& r : veri->results()) {
        const std::string& line = results.at(r.index());
        std::printf("%-24s %-18s %-8s %-8s %s\n", FieldOf(line, "barCode").c_str(),
                    FieldOf(line, "veriTaskNo").c_str(),
                    FieldOf(line, "veriResult") == "合格" ? "pass" : "fail",
                    r.valid() ? "VALID" : "INVALID",
                    r.valid() ? "" : (r.rule_id() + ": " + r.reason()).c_str());
    }

    Status supervision = RunDemoSupervision(*dir, data.string(), stamp);
    if (!supervision.ok()) return Fail(supervision);
    // The supervision step committed more blocks: every node is shown at the regulator's height.
    if (auto reached = client::Client(orgs.at("regulator").client_address).GetStatus();
        reached.ok() && reached->height() > height) {
        height = reached->height();
    }

    // A block commits once a quorum has it; the last validator may apply it a moment later,
    // so each node is given a few seconds to reach the demo's last height before it is shown.
    std::printf("\nnodes:\n");
    const auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (const auto& addr : addresses) {
        client::Client c(addr);
        (void)c.WaitForHeight(height, settle);  // a node still behind is shown as it is
        auto st = c.GetStatus();
        if (!st.ok()) return Fail(st.status());
        std::printf("  %-12s height %-4llu view %llu state root %s\n", st->name().c_str(),
                    static_cast<unsigned long long>(st->height()),
                    static_cast<unsigned long long>(st->view()),
                    ToHex(AsBytes(st->state_root())).substr(0, 24).c_str());
    }
    return kExitOk;
}

}  // namespace meterchain::tools
