// meterctl secdata-*: an organisation's side of the storage classes and of SecDataAccess (CON-2,
// SEC-3), acting with the key and node named by a node configuration (--config).
//
//   secdata-upload      uploads records through Validity; digest-only content is kept in the
//                       node's off-chain vault (<data_dir>/offchain), where the node's delivery
//                       worker finds it; public records are sealed (chain validation key).
//   secdata-credential  the owner issues (or revokes) an access credential for a requester.
//   secdata-request     the requester asks for a record with a fresh one-time SM2 key, waits for
//                       the grant and for the owner's node to deliver, decrypts, checks the SM3
//                       digest on chain and prints the record as JSON.
//
// Private keys (the organisation's, the one-time key) stay in this process; only public keys,
// signatures and ciphertext go into transactions.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "contracts/builtin.h"
#include "contracts/common.h"
#include "contracts/governance.h"
#include "contracts/offchain.h"
#include "contracts/records.h"
#include "contracts/sec_data_access.h"
#include "contracts/validation_key.h"
#include "contracts/validity.h"
#include "node/client/client.h"
#include "node/config/config.h"
#include "node/tools/meterctl_commands.h"
#include "node/tools/meterctl_format.h"
#include "node/tools/meterctl_remote.h"
#include "proto/metrology.pb.h"

namespace meterchain::tools {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kCommitTimeoutMs = 30000;

int Fail(const char* cmd, const Status& s) {
    std::fprintf(stderr, "meterctl %s: %s\n", cmd, s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

// The organisation a command acts as: its node configuration and SM2 key.
struct Actor {
    v1::NodeConfig config;
    crypto::Sm2PrivateKey key;
    std::unique_ptr<crypto::Sm2Signer> signer;
    std::unique_ptr<client::Client> client;
};

Result<Actor> LoadActor(const std::string& config_path, const Flags& flags) {
    auto cfg = config::LoadNodeConfig(config_path);
    if (!cfg.ok()) return cfg.status();
    auto key = config::LoadSm2KeyFile(cfg->key_file());
    if (!key.ok()) return key.status();
    Actor a{*cfg, *key, std::make_unique<crypto::Sm2Signer>(*key, cfg->sm2_id()), nullptr};
    a.client = std::make_unique<client::Client>(flags.Get("node").value_or(cfg->client_listen()));
    return a;
}

Result<v1::RecordType> ParseType(const std::string& name) {
    v1::RecordType t = v1::RECORD_TYPE_UNSPECIFIED;
    if (!v1::RecordType_Parse(name, &t) || !contracts::IsKnownRecordType(t)) {
        return InvalidArgument("unknown record type '" + name + "' (e.g. RECORD_SAMPLING)");
    }
    return t;
}

template <typename Message>
Result<Message> QueryAs(const client::Client& c, std::string_view contract, std::string_view method,
                        const v1::QueryArgs& args) {
    auto bytes =
        c.Query(std::string(contract), std::string(method), AsBytes(args.SerializeAsString()));
    if (!bytes.ok()) return bytes.status();
    Message out;
    if (!out.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
        return Internal("malformed " + std::string(method) + " answer");
    }
    return out;
}

// Signs, submits and waits for the commit; the committed transaction's hash, or the reason it
// failed.
Result<Hash256> Transact(const Actor& a, std::string_view contract, std::string_view method,
                         const google::protobuf::Message& args) {
    auto tx = contracts::SignContractCall(a.config.chain_id(), NextNonce(*a.client, *a.signer),
                                          NowMs(), contract, method, args, *a.signer);
    auto hash = a.client->Submit(tx);
    if (!hash.ok()) return hash.status();
    auto st = a.client->WaitForCommit(*hash, kCommitTimeoutMs);
    if (!st.ok()) return st.status();
    if (st->state() == v1::TxStatus::FAILED) {
        return FailedPrecondition(std::string(contract) + "." + std::string(method) +
                                  " failed: " + st->reason());
    }
    if (st->state() != v1::TxStatus::COMMITTED) {
        return FailedPrecondition(std::string(contract) + "." + std::string(method) +
                                  " not committed within " + std::to_string(kCommitTimeoutMs) +
                                  " ms");
    }
    return *hash;
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

int RunSecdataUpload(const Flags& flags) {
    const char* cmd = "secdata-upload";
    auto config_path = flags.Required("config");
    if (!config_path.ok()) return Fail(cmd, config_path.status());
    auto type_name = flags.Required("type");
    if (!type_name.ok()) return Fail(cmd, type_name.status());
    auto type = ParseType(*type_name);
    if (!type.ok()) return Fail(cmd, type.status());
    std::vector<std::string> lines;
    if (auto json = flags.Get("json")) {
        lines.push_back(*json);
    } else if (auto file = flags.Get("file")) {
        std::ifstream in(*file);
        if (!in) return Fail(cmd, NotFound("cannot read " + *file));
        for (std::string line; std::getline(in, line);) {
            if (!line.empty()) lines.push_back(line);
        }
    }
    if (lines.empty()) return Fail(cmd, InvalidArgument("give --json RECORD or --file JSONL"));
    auto owner = LoadActor(*config_path, flags);
    if (!owner.ok()) return Fail(cmd, owner.status());
    const std::string& chain_id = owner->config.chain_id();
    const std::string& org = owner->config.name();
    RemoteState state(*owner->client);

    // Digest-only content stays in the owner node's vault; public records are sealed under the
    // chain validation key, which the organisation unwraps with its own SM2 key.
    contracts::DirectoryRecordStore store(fs::path(owner->config.data_dir()) / "offchain");
    contracts::OffchainVault vault(store);
    auto k = contracts::LoadValidationKey(state, org, owner->key);
    std::vector<std::string> ids;
    // A record that cannot even be submitted (not JSON of the type, a key field missing) gets
    // its own result line; the rest of the institution's batch is still uploaded.
    std::vector<std::pair<size_t, std::string>> local_failures;  // line index, reason
    std::vector<size_t> submitted_lines;
    v1::ValiditySubmission sub;
    for (size_t line_index = 0; line_index < lines.size(); ++line_index) {
        const auto& line = lines[line_index];
        auto record = contracts::ParseRecordJson(*type, line);
        if (!record.ok()) {
            local_failures.emplace_back(line_index, "ENCODING: " + record.status().message());
            continue;
        }
        auto id = contracts::RecordId(*type, contracts::RecordFields::FromMessage(**record));
        if (!id.ok()) {
            local_failures.emplace_back(line_index, "INDEX: " + id.status().message());
            continue;
        }
        auto built = contracts::BuildRecordSubmission(state, chain_id, *type, **record, &vault,
                                                      k.ok() ? &*k : nullptr);
        if (!built.ok()) {
            if (!k.ok()) return Fail(cmd, k.status());
            return Fail(cmd, built.status());
        }
        ids.push_back(*id);
        submitted_lines.push_back(line_index);
        *sub.add_records() = std::move(*built);
    }
    for (const auto& [index, reason] : local_failures) {
        std::printf("  line %zu: not submitted: %s\n", index + 1, reason.c_str());
    }
    if (sub.records().empty()) {
        std::printf("no record of %zu could be submitted\n", lines.size());
        return kExitFailure;
    }
    auto rules = contracts::LoadCurrentRuleSet(state);
    if (!rules.ok()) return Fail(cmd, rules.status());
    sub.set_rule_set_version(rules->version());
    sub.set_batch_id(flags.Get("batch").value_or(org + "-" + std::to_string(NowMs())));

    // Validator signatures: the owner's own (when it is a validator) and the co-signers'.
    auto settings = contracts::LoadValiditySettings(state);
    if (!settings.ok()) return Fail(cmd, settings.status());
    auto me = contracts::FindOrganisation(state, org);
    if (!me.ok()) return Fail(cmd, me.status());
    if (*me && contracts::HasRole(**me, settings->validator_role())) {
        contracts::SignValiditySubmission(chain_id, org, org, *owner->signer, &sub);
    }
    for (const auto& path : SplitComma(flags.Get("cosign").value_or(""))) {
        auto cosigner = LoadActor(path, flags);
        if (!cosigner.ok()) return Fail(cmd, cosigner.status());
        contracts::SignValiditySubmission(chain_id, org, cosigner->config.name(), *cosigner->signer,
                                          &sub);
    }

    auto hash = Transact(*owner, contracts::kValidityContract, "Validity", sub);
    if (!hash.ok()) return Fail(cmd, hash.status());
    v1::QueryArgs q;
    q.set_id(ToHex(*hash));
    auto result =
        QueryAs<v1::ValidityResult>(*owner->client, contracts::kValidityContract, "Result", q);
    if (!result.ok()) return Fail(cmd, result.status());
    std::printf("batch %s by %s: %u/%d valid (tx %s)\n", sub.batch_id().c_str(), org.c_str(),
                result->valid_count(), result->results_size(), ToHex(*hash).c_str());
    if (!result->signature_error().empty()) {
        std::printf("  validator signatures refused: %s\n", result->signature_error().c_str());
    }
    for (const auto& r : result->results()) {
        std::printf("  line %zu: %s %s  %s%s%s\n", submitted_lines.at(r.index()) + 1,
                    std::string(contracts::RecordTypeName(*type)).c_str(), ids.at(r.index()).c_str(), r.valid() ? "VALID" : "INVALID  ",
                    r.rule_id().c_str(), r.valid() ? "" : (": " + r.reason()).c_str());
    }
    return result->valid() && local_failures.empty() ? kExitOk : kExitFailure;
}

int RunSecdataCredential(const Flags& flags) {
    const char* cmd = "secdata-credential";
    auto config_path = flags.Required("config");
    if (!config_path.ok()) return Fail(cmd, config_path.status());
    auto id = flags.Required("id");
    if (!id.ok()) return Fail(cmd, id.status());
    auto owner = LoadActor(*config_path, flags);
    if (!owner.ok()) return Fail(cmd, owner.status());

    if (flags.Has("revoke")) {
        v1::RevokeCredentialArgs args;
        args.set_credential_id(*id);
        auto hash = Transact(*owner, contracts::kSecDataContract, "RevokeCredential", args);
        if (!hash.ok()) return Fail(cmd, hash.status());
        std::printf("credential %s revoked by %s (tx %s)\n", id->c_str(),
                    owner->config.name().c_str(), ToHex(*hash).c_str());
        return kExitOk;
    }
    auto grantee = flags.Required("grantee");
    if (!grantee.ok()) return Fail(cmd, grantee.status());
    auto types = flags.Required("types");
    if (!types.ok()) return Fail(cmd, types.status());
    auto valid_ms = flags.Number("valid-ms", 24ull * 3600 * 1000, 1, 3650ull * 24 * 3600 * 1000);
    if (!valid_ms.ok()) return Fail(cmd, valid_ms.status());
    v1::AccessCredential cred;
    cred.set_credential_id(*id);
    cred.set_grantee(*grantee);
    for (const auto& name : SplitComma(*types)) {
        auto t = ParseType(name);
        if (!t.ok()) return Fail(cmd, t.status());
        cred.add_record_types(*t);
    }
    cred.set_record_id_prefix(flags.Get("prefix").value_or(""));
    v1::Classification level = v1::CLASS_INTERNAL;
    if (auto c = flags.Get("max-class")) {
        if (!v1::Classification_Parse(*c, &level)) {
            return Fail(cmd, InvalidArgument("--max-class is CLASS_SHARED or CLASS_INTERNAL"));
        }
    }
    cred.set_max_classification(level);
    // Block timestamps are the proposers' wall clocks, so expiry is wall time too.
    cred.set_not_after_ms(NowMs() + *valid_ms);
    auto hash = Transact(*owner, contracts::kSecDataContract, "IssueCredential", cred);
    if (!hash.ok()) return Fail(cmd, hash.status());
    if (flags.Has("json")) {
        std::printf("{\"credential_id\": %s, \"issuer\": %s, \"grantee\": %s, "
                    "\"not_after_ms\": %llu, \"not_after\": %s, \"tx_hash\": \"%s\"}\n",
                    JsonString(*id).c_str(), JsonString(owner->config.name()).c_str(),
                    JsonString(*grantee).c_str(),
                    static_cast<unsigned long long>(cred.not_after_ms()),
                    JsonString(LocalIsoTime(cred.not_after_ms())).c_str(), ToHex(*hash).c_str());
        return kExitOk;
    }
    std::printf("credential %s issued by %s to %s, valid until %s (tx %s)\n", id->c_str(),
                owner->config.name().c_str(), grantee->c_str(),
                LocalIsoTime(cred.not_after_ms()).c_str(), ToHex(*hash).c_str());
    return kExitOk;
}

int RunSecdataRequest(const Flags& flags) {
    const char* cmd = "secdata-request";
    auto config_path = flags.Required("config");
    if (!config_path.ok()) return Fail(cmd, config_path.status());
    auto type_name = flags.Required("type");
    if (!type_name.ok()) return Fail(cmd, type_name.status());
    auto type = ParseType(*type_name);
    if (!type.ok()) return Fail(cmd, type.status());
    auto record_id = flags.Required("id");
    if (!record_id.ok()) return Fail(cmd, record_id.status());
    auto credential = flags.Required("credential");
    if (!credential.ok()) return Fail(cmd, credential.status());
    auto timeout_ms = flags.Number("timeout-ms", 30000, 1, 600000);
    if (!timeout_ms.ok()) return Fail(cmd, timeout_ms.status());
    auto requester = LoadActor(*config_path, flags);
    if (!requester.ok()) return Fail(cmd, requester.status());
    const client::Client& c = *requester->client;

    // A fresh one-time key: only its public half goes on chain; the private half lives in this
    // process only and decrypts exactly one delivery.
    const crypto::Sm2PrivateKey one_time = crypto::Sm2PrivateKey::Generate();
    v1::AccessRequest req;
    req.set_record_type(*type);
    req.set_record_id(*record_id);
    req.set_credential_id(*credential);
    req.set_one_time_public_key(ToString(one_time.PublicKey().Raw()));
    auto hash = Transact(*requester, contracts::kSecDataContract, "SecDataAccess", req);
    if (!hash.ok()) return Fail(cmd, hash.status());
    const std::string request_id = ToHex(*hash);
    v1::QueryArgs q;
    q.set_id(request_id);
    auto decision = QueryAs<v1::AccessDecision>(c, contracts::kSecDataContract, "Decision", q);
    if (!decision.ok()) return Fail(cmd, decision.status());
    if (!decision->granted()) {
        std::printf("request %s refused: %s (%s)\n", request_id.c_str(),
                    decision->reason_code().c_str(), decision->reason().c_str());
        return kExitFailure;
    }
    std::printf("request %s granted by the chain; waiting for %s's node to deliver\n",
                request_id.c_str(), decision->owner().c_str());
    std::fflush(stdout);

    // Wait for the delivery block by block (the node streams committed blocks).
    const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(*timeout_ms);
    if (!decision->delivered()) {
        grpc::ClientContext ctx;
        ctx.set_deadline(deadline);
        v1::StreamBlocksRequest from;
        from.set_from_height(decision->height() + 1);
        auto stream = c.stub().StreamBlocks(&ctx, from);
        v1::Block block;
        while (!decision->delivered() && stream->Read(&block)) {
            decision = QueryAs<v1::AccessDecision>(c, contracts::kSecDataContract, "Decision", q);
            if (!decision.ok()) return Fail(cmd, decision.status());
        }
        ctx.TryCancel();
        (void)stream->Finish();
        if (!decision->delivered()) {
            return Fail(cmd, FailedPrecondition("no delivery from " + decision->owner() +
                                                " within " + std::to_string(*timeout_ms) + " ms"));
        }
    }
    auto delivery = QueryAs<v1::EncryptedDelivery>(c, contracts::kSecDataContract, "Delivery", q);
    if (!delivery.ok()) return Fail(cmd, delivery.status());
    // The digest the chain holds for the record now must be the one the grant was made for.
    v1::QueryArgs rq;
    rq.set_record_type(*type);
    rq.set_id(*record_id);
    auto stored = QueryAs<v1::StoredRecord>(c, contracts::kValidityContract, "Record", rq);
    if (!stored.ok()) return Fail(cmd, stored.status());
    if (stored->digest() != decision->record_digest()) {
        return Fail(cmd, Corruption("tampering detected: the grant's digest is not the record's "
                                    "on-chain SM3 digest; refusing to display"));
    }
    auto plain = contracts::OpenDelivery(*decision, *delivery, one_time);
    if (!plain.ok()) {
        return Fail(cmd, Status(plain.status().code(),
                                "refusing to display the delivery: " + plain.status().message()));
    }
    auto json = contracts::RecordToJson(*type, *plain);
    if (!json.ok()) return Fail(cmd, json.status());
    std::printf("delivered by %s; SM3 matches the on-chain digest %s\n%s\n",
                decision->owner().c_str(), ToHex(AsBytes(stored->digest())).substr(0, 16).c_str(),
                json->c_str());
    return kExitOk;
}

}  // namespace meterchain::tools
