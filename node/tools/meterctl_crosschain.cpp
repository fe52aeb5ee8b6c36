// meterctl cross-chain commands (docs/CROSSCHAIN.md): register a lower chain on an upper
// chain through governance, show anchoring progress, write trust.json, build and verify
// proofs.
#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "contracts/builtin.h"
#include "crosschain/anchor_tx.h"
#include "crosschain/proof.h"
#include "node/base/bytes.h"
#include "node/base/json.h"
#include "node/client/client.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "node/crypto/signer.h"
#include "node/tools/meterctl_commands.h"
#include "node/tools/meterctl_format.h"
#include "proto/crosschain.pb.h"
#include "proto/metrology.pb.h"

namespace meterchain::tools {
namespace {

int Fail(const char* cmd, const Status& s) {
    std::fprintf(stderr, "meterctl %s: %s\n", cmd, s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

std::vector<std::string> SplitCommas(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

uint64_t NowMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

Result<std::string> ReadBinary(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

int RunAnchorRegister(const Flags& flags) {
    const char* cmd = "anchor-register";
    auto upper_addr = flags.Required("node");
    if (!upper_addr.ok()) return Fail(cmd, upper_addr.status());
    auto key_file = flags.Required("key-file");
    if (!key_file.ok()) return Fail(cmd, key_file.status());
    auto lower_config = flags.Required("lower-config");
    if (!lower_config.ok()) return Fail(cmd, lower_config.status());
    auto lower = config::LoadNodeConfig(*lower_config);
    if (!lower.ok()) return Fail(cmd, lower.status());
    auto key = config::LoadSm2KeyFile(*key_file);
    if (!key.ok()) return Fail(cmd, key.status());
    crypto::Sm2Signer signer(std::move(*key));

    v1::RegisteredChain reg;
    reg.set_chain_id(lower->chain_id());
    for (const auto& v : lower->validators()) {
        auto* out = reg.add_validators();
        out->set_name(v.name());
        out->set_public_key(v.public_key());
    }
    reg.set_description(flags.Get("description").value_or(""));
    // Pin the lower chain's genesis: the first anchor must descend from it.
    const std::string lower_node = flags.Get("lower-node").value_or(lower->client_listen());
    client::Client lower_client(lower_node);
    auto genesis = lower_client.GetBlock(0);
    if (!genesis.ok()) return Fail(cmd, genesis.status());
    const Hash256 genesis_hash = genesis->Hash();
    reg.set_start_height(1);
    reg.set_start_prev_hash(ToString(genesis_hash));

    client::Client upper(*upper_addr);
    auto status = upper.GetStatus();
    if (!status.ok()) return Fail(cmd, status.status());
    auto nonce = upper.LastNonce(signer.PublicKey());
    if (!nonce.ok()) return Fail(cmd, nonce.status());
    v1::ProposeArgs propose;
    *propose.add_actions()->mutable_register_chain() = reg;
    propose.set_description("register chain " + reg.chain_id() + " for anchoring");
    const chain::Transaction tx = contracts::SignContractCall(
        status->chain_id(), *nonce + 1, NowMs(), "governance", "Propose", propose, signer);
    auto hash = upper.Submit(tx);
    if (!hash.ok()) return Fail(cmd, hash.status());
    auto done = upper.WaitForCommit(*hash, 10000);
    if (!done.ok()) return Fail(cmd, done.status());
    if (done->state() != v1::TxStatus::COMMITTED) {
        return Fail(cmd, FailedPrecondition("proposal " + ToHex(*hash) + " not committed: " +
                                            done->reason()));
    }
    v1::QueryArgs q;
    q.set_id(ToHex(*hash));
    auto answer = upper.Query("governance", "Proposal", AsBytes(q.SerializeAsString()));
    if (!answer.ok()) return Fail(cmd, answer.status());
    v1::Proposal proposal;
    if (!proposal.ParseFromArray(answer->data(), static_cast<int>(answer->size()))) {
        return Fail(cmd, Internal("proposal does not parse"));
    }
    std::printf("proposal %s committed at height %llu on %s\n", ToHex(*hash).c_str(),
                static_cast<unsigned long long>(done->height()), status->chain_id().c_str());
    if (proposal.executed()) {
        std::printf("chain %s registered: %d validators, genesis %s\n", reg.chain_id().c_str(),
                    reg.validators_size(), ToHex(genesis_hash).c_str());
    } else {
        std::printf("awaiting approvals of the other organisations: meterctl governance-approve "
                    "--proposal %s\n",
                    ToHex(*hash).c_str());
    }
    return kExitOk;
}

int RunGovernanceApprove(const Flags& flags) {
    const char* cmd = "governance-approve";
    auto addr = flags.Required("node");
    if (!addr.ok()) return Fail(cmd, addr.status());
    auto key_file = flags.Required("key-file");
    if (!key_file.ok()) return Fail(cmd, key_file.status());
    auto proposal = flags.Required("proposal");
    if (!proposal.ok()) return Fail(cmd, proposal.status());
    auto key = config::LoadSm2KeyFile(*key_file);
    if (!key.ok()) return Fail(cmd, key.status());
    crypto::Sm2Signer signer(std::move(*key));
    client::Client node(*addr);
    auto status = node.GetStatus();
    if (!status.ok()) return Fail(cmd, status.status());
    auto nonce = node.LastNonce(signer.PublicKey());
    if (!nonce.ok()) return Fail(cmd, nonce.status());
    v1::ApproveArgs approve;
    approve.set_proposal_id(*proposal);
    const chain::Transaction tx = contracts::SignContractCall(
        status->chain_id(), *nonce + 1, NowMs(), "governance", "Approve", approve, signer);
    auto hash = node.Submit(tx);
    if (!hash.ok()) return Fail(cmd, hash.status());
    auto done = node.WaitForCommit(*hash, 10000);
    if (!done.ok()) return Fail(cmd, done.status());
    if (done->state() != v1::TxStatus::COMMITTED) {
        return Fail(cmd, FailedPrecondition("approval not committed: " + done->reason()));
    }
    v1::QueryArgs q;
    q.set_id(*proposal);
    auto answer = node.Query("governance", "Proposal", AsBytes(q.SerializeAsString()));
    if (!answer.ok()) return Fail(cmd, answer.status());
    v1::Proposal p;
    if (!p.ParseFromArray(answer->data(), static_cast<int>(answer->size()))) {
        return Fail(cmd, Internal("proposal does not parse"));
    }
    std::printf("proposal %s: %d approval(s), %s\n", proposal->c_str(), p.approvals_size(),
                p.executed() ? "executed" : "not executed yet");
    return kExitOk;
}

int RunAnchorStatus(const Flags& flags) {
    const char* cmd = "anchor-status";
    auto addr = flags.Required("node");
    if (!addr.ok()) return Fail(cmd, addr.status());
    client::Client upper(*addr);
    if (flags.Has("height")) {
        auto chain_id = flags.Required("chain");
        if (!chain_id.ok()) return Fail(cmd, chain_id.status());
        auto height = flags.Number("height", 0, 0, UINT64_MAX);
        if (!height.ok()) return Fail(cmd, height.status());
        auto found = crosschain::QueryAnchoredHeader(upper, *chain_id, *height);
        if (!found.ok()) return Fail(cmd, found.status());
        if (!found->has_value()) {
            return Fail(cmd, NotFound("height " + std::to_string(*height) + " of " + *chain_id +
                                      " is not anchored"));
        }
        auto header = chain::BlockHeader::Decode(AsBytes((*found)->header()));
        if (!header.ok()) return Fail(cmd, header.status());
        const v1::AnchorRecord& a = (*found)->anchor();
        std::printf("%s height %llu: hash %s, time %s, tx_root %s, state_root %s\n",
                    chain_id->c_str(), static_cast<unsigned long long>(header->height),
                    ToHex(header->Hash()).c_str(), LocalIsoTime(header->timestamp_ms).c_str(),
                    ToHex(header->tx_root).c_str(), ToHex(header->state_root).c_str());
        std::printf("anchored by heights %llu..%llu in upper block %llu at %s (tx %s)\n",
                    static_cast<unsigned long long>(a.from_height()),
                    static_cast<unsigned long long>(a.to_height()),
                    static_cast<unsigned long long>(a.anchored_height()),
                    LocalIsoTime(a.anchored_time_ms()).c_str(), ToHex(AsBytes(a.tx_hash())).c_str());
        return kExitOk;
    }
    v1::AnchorQuery q;
    std::string args;
    q.SerializeToString(&args);
    auto r = upper.Query("anchor", "Chains", AsBytes(args));
    if (!r.ok()) return Fail(cmd, r.status());
    v1::ChainAnchorStatusList list;
    if (!list.ParseFromArray(r->data(), static_cast<int>(r->size()))) {
        return Fail(cmd, Internal("answer does not parse"));
    }
    const bool json = flags.Has("json");
    if (json) std::printf("[");
    bool first = true;
    for (const auto& c : list.chains()) {
        if (flags.Has("chain") && c.chain().chain_id() != *flags.Get("chain")) continue;
        if (json) {
            std::printf("%s{\"chain_id\": %s, \"validators\": %d, \"last_height\": %llu, "
                        "\"last_anchor_time_ms\": %llu, \"last_header_time_ms\": %llu, "
                        "\"anchors\": %llu, \"reported_tip\": %llu, \"lag_blocks\": %llu, "
                        "\"lag_ms\": %llu, \"stopped\": %s, \"stop_reason\": %s}",
                        first ? "" : ", ", JsonString(c.chain().chain_id()).c_str(),
                        c.chain().validators_size(),
                        static_cast<unsigned long long>(c.last_height()),
                        static_cast<unsigned long long>(c.last_anchor_time_ms()),
                        static_cast<unsigned long long>(c.last_header_time_ms()),
                        static_cast<unsigned long long>(c.anchors()),
                        static_cast<unsigned long long>(c.reported_tip()),
                        static_cast<unsigned long long>(c.lag_blocks()),
                        static_cast<unsigned long long>(c.lag_ms()),
                        c.stopped() ? "true" : "false", JsonString(c.stop_reason()).c_str());
        } else {
            std::printf("%-20s anchored to %llu at %s (%llu anchors), lag %llu blocks / %llu ms%s%s\n",
                        c.chain().chain_id().c_str(),
                        static_cast<unsigned long long>(c.last_height()),
                        c.last_anchor_time_ms() ? LocalIsoTime(c.last_anchor_time_ms()).c_str()
                                                : "-",
                        static_cast<unsigned long long>(c.anchors()),
                        static_cast<unsigned long long>(c.lag_blocks()),
                        static_cast<unsigned long long>(c.lag_ms()),
                        c.stopped() ? ", STOPPED: " : "", c.stop_reason().c_str());
        }
        first = false;
    }
    if (json) std::printf("]\n");
    return kExitOk;
}

int RunTrust(const Flags& flags) {
    const char* cmd = "trust";
    auto configs = flags.Required("configs");
    if (!configs.ok()) return Fail(cmd, configs.status());
    auto out = flags.Required("out");
    if (!out.ok()) return Fail(cmd, out.status());
    v1::TrustFile trust;
    for (const auto& path : SplitCommas(*configs)) {
        auto cfg = config::LoadNodeConfig(path);
        if (!cfg.ok()) return Fail(cmd, cfg.status());
        auto* c = trust.add_chains();
        c->set_chain_id(cfg->chain_id());
        for (const auto& v : cfg->validators()) {
            auto* t = c->add_validators();
            t->set_name(v.name());
            t->set_public_key(v.public_key());
        }
    }
    std::string json;
    google::protobuf::util::JsonPrintOptions po;
    po.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(trust, &json, po);
    if (Status st = config::WritePublicFile(*out, json); !st.ok()) return Fail(cmd, st);
    std::printf("wrote %s: %d chains\n", out->c_str(), trust.chains_size());
    return kExitOk;
}

int RunProve(const Flags& flags) {
    const char* cmd = "prove";
    auto tx_hex = flags.Required("tx");
    if (!tx_hex.ok()) return Fail(cmd, tx_hex.status());
    auto tx = HashFromHex(*tx_hex);
    if (!tx) return Fail(cmd, InvalidArgument("--tx must be 64 hex characters"));
    auto node = flags.Required("node");
    if (!node.ok()) return Fail(cmd, node.status());
    auto out = flags.Required("out");
    if (!out.ok()) return Fail(cmd, out.status());
    const auto wait = flags.Number("wait-ms", 30000, 0, 3600000);
    if (!wait.ok()) return Fail(cmd, wait.status());
    client::Client lower(*node);
    std::vector<std::unique_ptr<client::Client>> uppers;
    std::vector<const client::Client*> chain;
    for (const auto& a : SplitCommas(flags.Get("upper").value_or(""))) {
        uppers.push_back(std::make_unique<client::Client>(a));
        chain.push_back(uppers.back().get());
    }
    auto status = lower.GetTransaction(*tx);
    if (!status.ok()) return Fail(cmd, status.status());
    if (status->state() == v1::TxStatus::FAILED) {
        std::fprintf(stderr, "meterctl prove: note: the transaction failed (%s); the proof "
                     "shows only that it was committed\n", status->reason().c_str());
    }
    auto proof = crosschain::BuildProof(
        *tx, lower, chain, std::chrono::steady_clock::now() + std::chrono::milliseconds(*wait));
    if (!proof.ok()) return Fail(cmd, proof.status());
    std::string bytes;
    proof->SerializeToString(&bytes);
    if (Status st = config::WritePublicFile(*out, bytes); !st.ok()) return Fail(cmd, st);
    std::printf("wrote %s (%zu bytes):", out->c_str(), bytes.size());
    for (const auto& level : proof->levels()) {
        std::printf(" %s[%zu headers]", level.chain_id().c_str(),
                    static_cast<size_t>(level.headers_size()));
    }
    std::printf("\n");
    return kExitOk;
}

int RunVerifyProof(const Flags& flags) {
    const char* cmd = "verify-proof";
    auto file = flags.Required("file");
    if (!file.ok()) return Fail(cmd, file.status());
    auto trust_path = flags.Required("trust");
    if (!trust_path.ok()) return Fail(cmd, trust_path.status());
    auto trust_text = config::ReadFileToString(*trust_path);
    if (!trust_text.ok()) return Fail(cmd, trust_text.status());
    v1::TrustFile trust_file;
    google::protobuf::util::JsonParseOptions po;
    po.ignore_unknown_fields = false;
    if (!google::protobuf::util::JsonStringToMessage(*trust_text, &trust_file, po).ok()) {
        return Fail(cmd, InvalidArgument(*trust_path + " is not a trust file"));
    }
    auto trust = crosschain::ParseTrust(trust_file);
    if (!trust.ok()) return Fail(cmd, trust.status());
    auto bytes = ReadBinary(*file);
    if (!bytes.ok()) return Fail(cmd, bytes.status());
    crypto::Sm2Verifier verifier;
    const auto started = std::chrono::steady_clock::now();
    const crosschain::ProofVerdict verdict = crosschain::VerifyProof(AsBytes(*bytes), *trust,
                                                                     verifier);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    for (size_t i = 0; i < verdict.steps.size(); ++i) {
        const auto& s = verdict.steps[i];
        std::printf("step %2zu %-4s %-45s %s\n", i + 1, s.ok ? "ok" : "FAIL", s.name.c_str(),
                    s.detail.c_str());
    }
    if (!verdict.ok) {
        const std::string failed = verdict.steps.empty() ? "?" : verdict.steps.back().name;
        std::printf("proof INVALID: failed at %s\n", failed.c_str());
        return kExitMismatch;
    }
    std::printf("proof VALID: transaction %s is committed on its chain and anchored on every "
                "chain above it (%zu checks in %.1f ms)\n",
                verdict.proven_tx.c_str(), verdict.steps.size(),
                static_cast<double>(us) / 1000.0);
    return kExitOk;
}

}  // namespace meterchain::tools
