// meterctl client commands: status, put, get-tx, get-block, load.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/rpc_code.h"
#include "node/client/client.h"
#include "node/config/config.h"
#include "node/tools/meterctl_commands.h"
#include "node/tools/meterctl_format.h"

namespace meterchain::tools {
namespace {

const char* StateName(v1::TxStatus::State s) {
    switch (s) {
        case v1::TxStatus::PENDING: return "pending";
        case v1::TxStatus::COMMITTED: return "committed";
        case v1::TxStatus::FAILED: return "failed";
        case v1::TxStatus::UNKNOWN: return "unknown";
        default: return "unspecified";
    }
}

int Fail(const char* cmd, const Status& s) {
    std::fprintf(stderr, "meterctl %s: %s\n", cmd, s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

std::string NodeAddress(const Flags& flags) {
    return flags.Get("node").value_or("127.0.0.1:7701");
}

void PrintTxStatus(const Hash256& hash, const v1::TxStatus& st) {
    std::printf("tx %s %s", ToHex(hash).c_str(), StateName(st.state()));
    if (st.state() == v1::TxStatus::COMMITTED || st.state() == v1::TxStatus::FAILED) {
        std::printf(" height=%llu index=%u", static_cast<unsigned long long>(st.height()),
                    st.index());
    }
    if (st.state() == v1::TxStatus::FAILED) {
        std::printf(" code=%u (%s)", st.code(), RpcCodeName(st.code()).c_str());
    }
    if (!st.reason().empty()) std::printf(" reason=\"%s\"", st.reason().c_str());
    std::printf("\n");
}

void PrintTxStatusJson(const Hash256& hash, const v1::TxStatus& st) {
    std::printf("{\"tx_hash\": \"%s\", \"state\": \"%s\", \"height\": %llu, \"index\": %u, "
                "\"code\": %u, \"code_name\": %s, \"reason\": %s, \"block_hash\": \"%s\"}\n",
                ToHex(hash).c_str(), StateName(st.state()),
                static_cast<unsigned long long>(st.height()), st.index(), st.code(),
                JsonString(RpcCodeName(st.code())).c_str(), JsonString(st.reason()).c_str(),
                ToHex(AsBytes(st.block_hash())).c_str());
}

}  // namespace

int RunStatus(const Flags& flags) {
    client::Client c(NodeAddress(flags));
    auto st = c.GetStatus();
    if (!st.ok()) return Fail("status", st.status());
    std::printf("node      %s (validator %u, %s) chain %s\n", st->name().c_str(), st->validator(),
                st->role().c_str(), st->chain_id().c_str());
    std::printf("height    %llu  tip %s\n", static_cast<unsigned long long>(st->height()),
                ToHex(AsBytes(st->tip_hash())).substr(0, 16).c_str());
    std::printf("state     %s\n", ToHex(AsBytes(st->state_root())).c_str());
    std::printf("view      %llu  primary %u%s\n", static_cast<unsigned long long>(st->view()),
                st->primary(), st->in_view_change() ? "  (view change in progress)" : "");
    std::printf("mempool   %llu transactions\n",
                static_cast<unsigned long long>(st->mempool_size()));
    std::printf("validators %u (tolerates %u faulty)\n", st->validators(), st->fault_tolerance());
    for (const auto& p : st->peers()) {
        std::printf("  %-2u %-12s %-22s %s\n", p.validator(), p.name().c_str(),
                    p.address().c_str(), p.connected() ? "connected" : "DISCONNECTED");
    }
    return kExitOk;
}

int RunPut(const Flags& flags) {
    auto key_file = flags.Required("key-file");
    auto key = flags.Required("key");
    auto value = flags.Required("value");
    if (!key_file.ok()) return Fail("put", key_file.status());
    if (!key.ok()) return Fail("put", key.status());
    if (!value.ok()) return Fail("put", value.status());
    auto sk = config::LoadSm2KeyFile(*key_file);
    if (!sk.ok()) return Fail("put", sk.status());
    crypto::Sm2Signer signer(std::move(*sk));
    client::Client c(NodeAddress(flags));
    auto st = c.GetStatus();
    if (!st.ok()) return Fail("put", st.status());
    uint64_t nonce = 0;
    if (flags.Has("nonce")) {
        auto n = flags.Number("nonce", 0, 1, UINT64_MAX);
        if (!n.ok()) return Fail("put", n.status());
        nonce = *n;
    } else {
        auto last = c.LastNonce(signer.PublicKey());
        if (!last.ok()) return Fail("put", last.status());
        nonce = *last + 1;
    }
    auto tx = client::MakeStatePut(signer, st->chain_id(), nonce, *key, AsBytes(*value));
    auto hash = c.Submit(tx);
    if (!hash.ok()) return Fail("put", hash.status());
    auto done = c.WaitForCommit(*hash, 20000);
    if (!done.ok()) return Fail("put", done.status());
    PrintTxStatus(*hash, *done);
    return done->state() == v1::TxStatus::COMMITTED ? kExitOk : kExitFailure;
}

int RunGetTx(const Flags& flags) {
    auto hex = flags.Required("hash");
    if (!hex.ok()) return Fail("get-tx", hex.status());
    auto hash = HashFromHex(*hex);
    if (!hash) return Fail("get-tx", InvalidArgument("--hash must be 64 hex characters"));
    client::Client c(NodeAddress(flags));
    auto st = c.GetTransaction(*hash);
    if (!st.ok()) return Fail("get-tx", st.status());
    if (flags.Has("json")) {
        PrintTxStatusJson(*hash, *st);
    } else {
        PrintTxStatus(*hash, *st);
    }
    return kExitOk;
}

int RunGetBlock(const Flags& flags) {
    client::Client c(NodeAddress(flags));
    Result<chain::Block> block = NotFound("no block");
    if (flags.Has("height")) {
        auto h = flags.Number("height", 0, 0, UINT64_MAX);
        if (!h.ok()) return Fail("get-block", h.status());
        block = c.GetBlock(*h);
    } else {
        block = c.GetLatestBlock();
    }
    if (!block.ok()) return Fail("get-block", block.status());
    const auto& hd = block->header;
    if (flags.Has("json")) {
        std::printf("{\"height\": %llu, \"hash\": \"%s\", \"prev_hash\": \"%s\", \"tx_root\": \"%s\", "
                    "\"state_root\": \"%s\", \"proposer\": %u, \"view\": %llu, "
                    "\"timestamp_ms\": %llu, \"time\": %s, \"transactions\": %zu, "
                    "\"certificate_view\": %llu, \"commit_signatures\": %zu}\n",
                    static_cast<unsigned long long>(hd.height), ToHex(block->Hash()).c_str(),
                    ToHex(hd.prev_hash).c_str(), ToHex(hd.tx_root).c_str(),
                    ToHex(hd.state_root).c_str(), hd.proposer,
                    static_cast<unsigned long long>(hd.view),
                    static_cast<unsigned long long>(hd.timestamp_ms),
                    JsonString(LocalIsoTime(hd.timestamp_ms)).c_str(), block->transactions.size(),
                    static_cast<unsigned long long>(block->certificate.view),
                    block->certificate.signatures.size());
        return kExitOk;
    }
    std::printf("block %llu hash %s\n", static_cast<unsigned long long>(hd.height),
                ToHex(block->Hash()).c_str());
    std::printf("  prev %s\n  txs  %zu root %s\n  state %s\n  proposer %u view %llu time %s\n",
                ToHex(hd.prev_hash).c_str(), block->transactions.size(),
                ToHex(hd.tx_root).c_str(), ToHex(hd.state_root).c_str(), hd.proposer,
                static_cast<unsigned long long>(hd.view), LocalIsoTime(hd.timestamp_ms).c_str());
    std::printf("  certificate: %zu commit signatures (view %llu)\n",
                block->certificate.signatures.size(),
                static_cast<unsigned long long>(block->certificate.view));
    return kExitOk;
}

// A load tool's failover: which errors mean "try another node" rather than "this
// transaction is wrong". Unreachable or stopping nodes, a full mempool, a busy node.
bool WorthRetrying(const Status& s) {
    switch (s.code()) {
        case StatusCode::kIoError:  // unreachable (UNAVAILABLE, DEADLINE_EXCEEDED)
        case StatusCode::kResourceExhausted:
        case StatusCode::kFailedPrecondition:
        case StatusCode::kInternal: return true;
        default: return false;
    }
}

std::vector<std::string> SplitAddresses(const std::string& list) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        if (comma > start) out.push_back(list.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

// Submits N signed StatePut transactions from a fresh key and waits for all of them. With
// several nodes (--node A,B,C) a submission or wait that fails on one node is retried on the
// next, the same signed transaction (same nonce): a node that admitted it before failing
// gossiped it, and the next one answers "already exists" or finds it committed.
int RunLoad(const Flags& flags) {
    auto count = flags.Number("count", 1000, 1, 10000000);
    if (!count.ok()) return Fail("load", count.status());
    // --rate R paces the sends at R tx/s (0: as fast as the node answers).
    auto rate = flags.Number("rate", 0, 0, 1000000);
    if (!rate.ok()) return Fail("load", rate.status());
    const std::vector<std::string> addresses = SplitAddresses(NodeAddress(flags));
    if (addresses.empty()) return Fail("load", InvalidArgument("--node names no address"));
    std::vector<std::unique_ptr<client::Client>> nodes;
    for (const auto& a : addresses) nodes.push_back(std::make_unique<client::Client>(a));
    constexpr int kRounds = 5;  // times every node is tried for one transaction
    size_t current = 0;
    size_t failovers = 0;
    // Runs op on the current node, moving on to the next one while the error is worth a
    // retry; a short pause after each round over all nodes (one may be restarting).
    auto with_failover = [&](const char* what, auto op) -> Status {
        Status last = Status::Ok();
        for (size_t attempt = 0; attempt < kRounds * nodes.size(); ++attempt) {
            last = op(*nodes[current]);
            if (last.ok() || !WorthRetrying(last)) return last;
            std::fprintf(stderr, "meterctl load: %s on %s failed (%s); trying %s\n", what,
                         nodes[current]->address().c_str(), last.ToString().c_str(),
                         nodes[(current + 1) % nodes.size()]->address().c_str());
            current = (current + 1) % nodes.size();
            ++failovers;
            if (current == 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        return last;
    };
    std::string chain_id;
    Status s = with_failover("status", [&](const client::Client& c) -> Status {
        auto st = c.GetStatus();
        if (!st.ok()) return st.status();
        chain_id = st->chain_id();
        return Status::Ok();
    });
    if (!s.ok()) return Fail("load", s);
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    const auto start = std::chrono::steady_clock::now();
    std::vector<Hash256> hashes;
    for (uint64_t i = 1; i <= *count; ++i) {
        if (*rate > 0) {
            std::this_thread::sleep_until(
                start + std::chrono::microseconds((i - 1) * 1000000 / *rate));
        }
        auto tx = client::MakeStatePut(signer, chain_id, i, "load/" + std::to_string(i),
                                       AsBytes("value " + std::to_string(i)));
        const Hash256 hash = tx.Hash();
        s = with_failover("submit", [&](const client::Client& c) -> Status {
            auto submitted = c.Submit(tx);
            if (submitted.ok() || submitted.status().code() == StatusCode::kAlreadyExists) {
                return Status::Ok();
            }
            // A replayed nonce after a failover: fine if it is this very transaction.
            if (submitted.status().code() == StatusCode::kInvalidArgument) {
                auto known = c.GetTransaction(hash);
                if (known.ok() && known->state() != v1::TxStatus::UNKNOWN) return Status::Ok();
            }
            return submitted.status();
        });
        if (!s.ok()) return Fail("load", s);
        hashes.push_back(hash);
        if (i % 1000 == 0) std::fprintf(stderr, "submitted %llu/%llu\n",
                                        static_cast<unsigned long long>(i),
                                        static_cast<unsigned long long>(*count));
    }
    size_t committed = 0;
    for (const auto& h : hashes) {
        v1::TxStatus state;
        s = with_failover("wait", [&](const client::Client& c) -> Status {
            auto done = c.WaitForCommit(h, 30000);
            if (!done.ok()) return done.status();
            state = *done;
            return Status::Ok();
        });
        if (s.ok() && state.state() == v1::TxStatus::COMMITTED) ++committed;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%zu/%zu committed in %.2f s (%.0f tx/s), %zu failovers\n", committed,
                hashes.size(), secs, static_cast<double>(committed) / secs, failovers);
    return committed == hashes.size() ? kExitOk : kExitFailure;
}

}  // namespace meterchain::tools
