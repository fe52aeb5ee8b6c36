#include "node/daemon/client_service.h"

#include <algorithm>
#include <chrono>

#include "node/base/codec.h"
#include "node/base/rpc_code.h"
#include "node/base/thread_name.h"
#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/daemon/node.h"
#include "node/executor/executor.h"

namespace meterchain::node {
namespace {

constexpr uint32_t kDefaultWaitMs = 10000;
constexpr uint32_t kMaxWaitMs = 60000;

// The one numbering of the client API: gRPC status codes, RpcCode (node/base/rpc_code.h).
grpc::Status ToGrpc(const Status& s) {
    if (s.ok()) return grpc::Status::OK;
    return grpc::Status(static_cast<grpc::StatusCode>(RpcCode(s.code())), s.message());
}

std::optional<Hash256> HashArg(const std::string& bytes) { return HashFromBytes(AsBytes(bytes)); }


void FillStatus(const Node& node, const Hash256& hash, v1::TxStatus* out) {
    auto loc = node.store().FindTransaction(hash);
    if (loc.ok()) {
        out->set_height(loc->height);
        out->set_index(loc->index);
        // Receipts store the executor's StatusCode; clients get the gRPC numbering of
        // SubmitResult.code and of refused calls.
        out->set_code(RpcCode(static_cast<StatusCode>(loc->receipt.code)));
        out->set_reason(loc->receipt.message);
        out->set_state(loc->receipt.code == 0 ? v1::TxStatus::COMMITTED : v1::TxStatus::FAILED);
        auto block = node.store().GetBlock(loc->height);
        if (block.ok()) out->set_block_hash(ToString(block->Hash()));
        return;
    }
    out->set_state(node.InMempool(hash) ? v1::TxStatus::PENDING : v1::TxStatus::UNKNOWN);
}

// Writes the committed blocks from `from` on, as make(block) each, waiting for new ones until
// the client goes away or the node stops.
template <typename Out, typename Make>
grpc::Status StreamCommitted(Node& node, grpc::ServerContext* ctx, uint64_t from,
                             grpc::ServerWriter<Out>* writer, const Make& make) {
    uint64_t next = from;
    while (!ctx->IsCancelled() && !node.stopping()) {
        const uint64_t tip = node.store().Tip().height;
        while (next <= tip) {
            auto block = node.store().GetBlock(next);
            if (!block.ok()) return ToGrpc(block.status());
            if (!writer->Write(make(*block))) return grpc::Status::OK;
            ++next;
        }
        node.WaitForHeight(tip, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    }
    return grpc::Status::OK;
}

}  // namespace

grpc::Status ClientService::SubmitTransaction(grpc::ServerContext*, const v1::SubmitRequest* req,
                                              v1::SubmitResponse* resp) {
    if (!req->has_transaction()) {
        return {grpc::StatusCode::INVALID_ARGUMENT, "request has no transaction"};
    }
    if (m_node.stopping()) return {grpc::StatusCode::UNAVAILABLE, "node is shutting down"};
    auto hash = m_node.Submit(chain::FromProto(req->transaction()));
    if (!hash.ok()) return ToGrpc(hash.status());
    resp->set_tx_hash(ToString(*hash));
    return grpc::Status::OK;
}

grpc::Status ClientService::SubmitStream(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::SubmitBatchResponse, v1::SubmitBatchRequest>* stream) {
    // gRPC keeps part of every message's bookkeeping in the call's arena until the call ends,
    // so a stream that lived forever would make the node grow; the client opens a new one.
    // A gRPC thread serves this stream for its lifetime: named after it meanwhile.
    const base::ScopedThreadName name("mc-submit");
    v1::SubmitBatchRequest req;
    for (int answered = 0; answered < v1::SUBMIT_STREAM_MAX_REQUESTS && stream->Read(&req);
         ++answered) {
        v1::SubmitBatchResponse resp;
        grpc::Status s = SubmitTransactions(ctx, &req, &resp);
        if (!s.ok()) return s;
        if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
}

grpc::Status ClientService::SubmitTransactions(grpc::ServerContext*,
                                               const v1::SubmitBatchRequest* req,
                                               v1::SubmitBatchResponse* resp) {
    constexpr int kMaxBatch = 1000;
    if (req->transactions_size() > kMaxBatch) {
        return {grpc::StatusCode::INVALID_ARGUMENT,
                "at most " + std::to_string(kMaxBatch) + " transactions per call, got " +
                    std::to_string(req->transactions_size())};
    }
    if (m_node.stopping()) return {grpc::StatusCode::UNAVAILABLE, "node is shutting down"};
    std::vector<chain::Transaction> txs;
    txs.reserve(static_cast<size_t>(req->transactions_size()));
    for (const auto& tx : req->transactions()) txs.push_back(chain::FromProto(tx));
    for (auto& r : m_node.SubmitMany(std::move(txs))) {
        auto* out = resp->add_results();
        if (r.ok()) {
            out->set_tx_hash(ToString(*r));
        } else {
            const grpc::Status g = ToGrpc(r.status());
            out->set_code(static_cast<uint32_t>(g.error_code()));
            out->set_error(g.error_message());
        }
    }
    return grpc::Status::OK;
}

grpc::Status ClientService::GetTransaction(grpc::ServerContext*, const v1::TxQuery* req,
                                           v1::TxStatus* resp) {
    auto hash = HashArg(req->tx_hash());
    if (!hash) return {grpc::StatusCode::INVALID_ARGUMENT, "tx_hash must be 32 bytes"};
    FillStatus(m_node, *hash, resp);
    return grpc::Status::OK;
}

grpc::Status ClientService::WaitForCommit(grpc::ServerContext* ctx, const v1::TxQuery* req,
                                          v1::TxStatus* resp) {
    auto hash = HashArg(req->tx_hash());
    if (!hash) return {grpc::StatusCode::INVALID_ARGUMENT, "tx_hash must be 32 bytes"};
    const uint32_t wait_ms =
        std::min(req->timeout_ms() == 0 ? kDefaultWaitMs : req->timeout_ms(), kMaxWaitMs);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    uint64_t seen = m_node.store().Tip().height;
    for (;;) {
        resp->Clear();
        FillStatus(m_node, *hash, resp);
        if (resp->state() == v1::TxStatus::COMMITTED || resp->state() == v1::TxStatus::FAILED) {
            return grpc::Status::OK;
        }
        if (ctx->IsCancelled() || m_node.stopping() ||
            std::chrono::steady_clock::now() >= deadline) {
            return grpc::Status::OK;  // state PENDING or UNKNOWN tells the caller
        }
        const auto step = std::min(deadline, std::chrono::steady_clock::now() +
                                                 std::chrono::milliseconds(200));
        seen = m_node.WaitForHeight(seen, step);
    }
}

grpc::Status ClientService::GetBlock(grpc::ServerContext*, const v1::BlockQuery* req,
                                     v1::Block* resp) {
    Result<chain::Block> block = NotFound("no block");
    if (req->latest()) {
        block = m_node.store().GetBlock(m_node.store().Tip().height);
    } else if (req->by_case() == v1::BlockQuery::kHash) {
        auto hash = HashArg(req->hash());
        if (!hash) return {grpc::StatusCode::INVALID_ARGUMENT, "hash must be 32 bytes"};
        block = m_node.store().GetBlockByHash(*hash);
    } else {
        block = m_node.store().GetBlock(req->height());
    }
    if (!block.ok()) return ToGrpc(block.status());
    *resp = chain::ToProto(*block);
    return grpc::Status::OK;
}

grpc::Status ClientService::StreamBlocks(grpc::ServerContext* ctx,
                                         const v1::StreamBlocksRequest* req,
                                         grpc::ServerWriter<v1::Block>* writer) {
    return StreamCommitted(m_node, ctx, req->from_height(), writer,
                           [](const chain::Block& b) { return chain::ToProto(b); });
}

grpc::Status ClientService::StreamCommits(grpc::ServerContext* ctx,
                                          const v1::StreamBlocksRequest* req,
                                          grpc::ServerWriter<v1::BlockSummary>* writer) {
    return StreamCommitted(m_node, ctx, req->from_height(), writer, [](const chain::Block& b) {
        v1::BlockSummary out;
        *out.mutable_header() = chain::ToProto(b.header);
        *out.mutable_certificate() = chain::ToProto(b.certificate);
        for (const auto& h : b.TxHashes()) out.add_tx_hashes(h.data(), h.size());
        return out;
    });
}

grpc::Status ClientService::GetStatus(grpc::ServerContext*, const v1::StatusRequest*,
                                      v1::NodeStatus* resp) {
    const auto snap = m_node.Snapshot();
    const auto& cfg = m_node.config();
    const auto& set = m_node.validators();
    resp->set_chain_id(cfg.chain_id());
    resp->set_validator(m_node.self());
    resp->set_name(cfg.name());
    resp->set_role(set.at(m_node.self()).role);
    resp->set_height(snap.height);
    resp->set_tip_hash(ToString(snap.tip_hash));
    resp->set_state_root(ToString(snap.state_root));
    resp->set_view(snap.view);
    resp->set_in_view_change(snap.in_view_change);
    resp->set_primary(snap.primary);
    resp->set_mempool_size(snap.mempool_size);
    resp->set_validators(static_cast<uint32_t>(set.size()));
    resp->set_fault_tolerance(static_cast<uint32_t>(set.F()));
    resp->set_signature_verifications(m_node.verifications());
    resp->set_signature_verify_cpu_ns(m_node.verify_cpu_ns());
    resp->set_peer_frames_sent(m_node.peer_frames_sent());
    resp->set_peer_frames_received(m_node.peer_frames_received());
    for (uint32_t i = 0; i < set.size(); ++i) {
        auto* p = resp->add_peers();
        p->set_validator(i);
        p->set_name(set.at(i).name);
        p->set_address(set.at(i).address);
        p->set_connected(i < snap.connected.size() && snap.connected[i]);
    }
    return grpc::Status::OK;
}

grpc::Status ClientService::Query(grpc::ServerContext*, const v1::QueryRequest* req,
                                  v1::QueryResponse* resp) {
    if (req->contract() == "state") {
        std::string key;
        if (req->method() == "get") {
            key = std::string(executor::kKvPrefix) + req->args();
        } else if (req->method() == "nonce") {
            key = executor::NonceKey(AsBytes(req->args()));
        } else if (req->method() == "raw") {
            key = req->args();  // any state key: state holds only digests and ciphertext
        } else if (req->method() == "scan") {
            // Entries under a prefix as codec: count, then (key, value) pairs; capped.
            std::vector<std::pair<std::string, Bytes>> entries;
            size_t bytes = 0;
            bool truncated = false;
            Status s = m_node.store().ScanState(req->args(), [&](std::string_view k, ByteView v) {
                if (entries.size() >= 100000 || bytes > (32u << 20)) {
                    truncated = true;
                    return false;
                }
                bytes += k.size() + v.size();
                entries.emplace_back(std::string(k), Bytes(v.begin(), v.end()));
                return true;
            });
            if (!s.ok()) return ToGrpc(s);
            if (truncated) {
                return {grpc::StatusCode::RESOURCE_EXHAUSTED, "scan result too large; narrow the prefix"};
            }
            codec::Writer w;
            w.U32(static_cast<uint32_t>(entries.size()));
            for (const auto& [k, v] : entries) w.Text(k).Blob(v);
            resp->set_result(ToString(w.bytes()));
            return grpc::Status::OK;
        } else {
            return {grpc::StatusCode::INVALID_ARGUMENT,
                    "contract 'state' has methods get, nonce, raw and scan, not '" +
                        req->method() + "'"};
        }
        auto value = m_node.store().GetState(key);
        if (!value.ok()) return ToGrpc(value.status());
        if (!*value) return {grpc::StatusCode::NOT_FOUND, "no state at '" + key + "'"};
        resp->set_result(ToString(**value));
        return grpc::Status::OK;
    }
    const contracts::Contract* contract = m_node.registry().Find(req->contract());
    if (contract == nullptr) {
        return {grpc::StatusCode::NOT_FOUND, "no contract '" + req->contract() + "'"};
    }
    executor::CommittedStateView state(m_node.store());
    auto result = contract->Query(req->method(), AsBytes(req->args()), state);
    if (!result.ok()) return ToGrpc(result.status());
    resp->set_result(ToString(*result));
    return grpc::Status::OK;
}

grpc::Status ClientService::GetTxProof(grpc::ServerContext*, const v1::ProofRequest* req,
                                       v1::ProofResponse* resp) {
    auto hash = HashArg(req->tx_hash());
    if (!hash) return {grpc::StatusCode::INVALID_ARGUMENT, "tx_hash must be 32 bytes"};
    auto loc = m_node.store().FindTransaction(*hash);
    if (!loc.ok()) return ToGrpc(loc.status());
    auto block = m_node.store().GetBlock(loc->height);
    if (!block.ok()) return ToGrpc(block.status());
    auto proof = chain::BuildMerkleProof(block->TxHashes(), loc->index);
    if (!proof.ok()) return ToGrpc(proof.status());
    *resp->mutable_header() = chain::ToProto(block->header);
    *resp->mutable_certificate() = chain::ToProto(block->certificate);
    *resp->mutable_proof() = chain::ToProto(*proof);
    *resp->mutable_transaction() = chain::ToProto(block->transactions.at(loc->index));
    return grpc::Status::OK;
}

}  // namespace meterchain::node
