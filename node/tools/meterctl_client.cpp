// meterctl client commands: status, put, get-tx, get-block, load.
#include <atomic>
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

// Submits N signed StatePut transactions from a fresh key and waits for all of them.
int RunLoad(const Flags& flags) {
    auto count = flags.Number("count", 1000, 1, 10000000);
    if (!count.ok()) return Fail("load", count.status());
    // --rate R paces the sends at R tx/s (0: as fast as the node answers).
    auto rate = flags.Number("rate", 0, 0, 1000000);
    if (!rate.ok()) return Fail("load", rate.status());
    client::Client c(NodeAddress(flags));
    auto st = c.GetStatus();
    if (!st.ok()) return Fail("load", st.status());
    crypto::Sm2Signer signer(crypto::Sm2PrivateKey::Generate());
    const auto start = std::chrono::steady_clock::now();
    std::vector<Hash256> hashes;
    for (uint64_t i = 1; i <= *count; ++i) {
        if (*rate > 0) {
            std::this_thread::sleep_until(
                start + std::chrono::microseconds((i - 1) * 1000000 / *rate));
        }
        auto tx = client::MakeStatePut(signer, st->chain_id(), i, "load/" + std::to_string(i),
                                       AsBytes("value " + std::to_string(i)));
        auto hash = c.Submit(tx);
        if (!hash.ok()) return Fail("load", hash.status());
        hashes.push_back(*hash);
        if (i % 1000 == 0) std::fprintf(stderr, "submitted %llu/%llu\n",
                                        static_cast<unsigned long long>(i),
                                        static_cast<unsigned long long>(*count));
    }
    size_t committed = 0;
    for (const auto& h : hashes) {
        auto done = c.WaitForCommit(h, 30000);
        if (done.ok() && done->state() == v1::TxStatus::COMMITTED) ++committed;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%zu/%zu committed in %.2f s (%.0f tx/s)\n", committed, hashes.size(), secs,
                static_cast<double>(committed) / secs);
    return committed == hashes.size() ? kExitOk : kExitFailure;
}

}  // namespace meterchain::tools
