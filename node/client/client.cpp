#include "node/client/client.h"

#include <grpcpp/grpcpp.h>


#include "node/base/codec.h"
#include "node/chain/proto_adapter.h"
#include "proto/chain.pb.h"

namespace meterchain::client {
namespace {

std::chrono::system_clock::time_point After(uint32_t ms) {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
}

constexpr uint32_t kCallTimeoutMs = 30000;

// A steady-clock deadline, as gRPC wants it.
std::chrono::system_clock::time_point SystemDeadline(std::chrono::steady_clock::time_point d) {
    const auto left = d - std::chrono::steady_clock::now();
    return std::chrono::system_clock::now() +
           std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
}

}  // namespace

Status FromGrpc(const grpc::Status& s, const std::string& address) {
    switch (s.error_code()) {
        case grpc::StatusCode::OK: return Status::Ok();
        case grpc::StatusCode::INVALID_ARGUMENT:
            return {StatusCode::kInvalidArgument, s.error_message()};
        case grpc::StatusCode::NOT_FOUND: return {StatusCode::kNotFound, s.error_message()};
        case grpc::StatusCode::ALREADY_EXISTS:
            return {StatusCode::kAlreadyExists, s.error_message()};
        case grpc::StatusCode::UNAUTHENTICATED:
            return {StatusCode::kUnauthenticated, s.error_message()};
        case grpc::StatusCode::PERMISSION_DENIED:
            return {StatusCode::kPermissionDenied, s.error_message()};
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
            return {StatusCode::kResourceExhausted, s.error_message()};
        case grpc::StatusCode::FAILED_PRECONDITION:
            return {StatusCode::kFailedPrecondition, s.error_message()};
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::DEADLINE_EXCEEDED:
            return {StatusCode::kIoError, "node " + address + " unreachable: " + s.error_message()};
        default: return {StatusCode::kInternal, s.error_message()};
    }
}

namespace {

// One unary call of the node's API: its deadline, the call, and gRPC's status turned into
// ours (FromGrpc). Every unary method of Client goes through here.
template <typename Request, typename Response>
Result<Response> Unary(v1::Node::Stub& stub, const std::string& address,
                       grpc::Status (v1::Node::Stub::*method)(grpc::ClientContext*,
                                                              const Request&, Response*),
                       const Request& request, uint32_t timeout_ms = kCallTimeoutMs) {
    grpc::ClientContext ctx;
    ctx.set_deadline(After(timeout_ms));
    Response response;
    const grpc::Status s = (stub.*method)(&ctx, request, &response);
    if (!s.ok()) return FromGrpc(s, address);
    return response;
}

}  // namespace

Client::Client(const std::string& address) : m_address(address) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    // A node that is (re)starting is retried quickly, so waits for it end soon after it is up.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    m_stub = v1::Node::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

Result<Hash256> Client::Submit(const chain::Transaction& tx) const {
    v1::SubmitRequest req;
    *req.mutable_transaction() = chain::ToProto(tx);
    auto resp = Unary(*m_stub, m_address, &v1::Node::Stub::SubmitTransaction, req);
    if (!resp.ok()) return resp.status();
    auto hash = HashFromBytes(AsBytes(resp->tx_hash()));
    if (!hash) return Internal("server answered a malformed tx hash");
    return *hash;
}

std::vector<Result<Hash256>> Client::SubmitMany(
    const std::vector<const chain::Transaction*>& txs) const {
    v1::SubmitBatchRequest req;
    for (const auto* tx : txs) *req.add_transactions() = chain::ToProto(*tx);
    auto resp = Unary(*m_stub, m_address, &v1::Node::Stub::SubmitTransactions, req);
    std::vector<Result<Hash256>> out;
    if (!resp.ok()) {
        out.assign(txs.size(), resp.status());
        return out;
    }
    for (const auto& r : resp->results()) {
        if (r.code() == 0) {
            auto hash = HashFromBytes(AsBytes(r.tx_hash()));
            out.push_back(hash ? Result<Hash256>(*hash) : Result<Hash256>(Internal("bad hash")));
        } else {
            out.push_back(FromGrpc(grpc::Status(static_cast<grpc::StatusCode>(r.code()), r.error()),
                                   m_address));
        }
    }
    while (out.size() < txs.size()) out.push_back(Internal("server answered too few results"));
    return out;
}

Result<v1::TxStatus> Client::GetTransaction(const Hash256& tx_hash) const {
    v1::TxQuery req;
    req.set_tx_hash(ToString(tx_hash));
    return Unary(*m_stub, m_address, &v1::Node::Stub::GetTransaction, req);
}

Result<v1::TxStatus> Client::WaitForCommit(const Hash256& tx_hash, uint32_t timeout_ms) const {
    v1::TxQuery req;
    req.set_tx_hash(ToString(tx_hash));
    req.set_timeout_ms(timeout_ms);
    // The call's own deadline leaves the node time to answer "not yet" after the wait.
    return Unary(*m_stub, m_address, &v1::Node::Stub::WaitForCommit, req, timeout_ms + 5000);
}

Result<v1::NodeStatus> Client::GetStatus(uint32_t timeout_ms) const {
    return Unary(*m_stub, m_address, &v1::Node::Stub::GetStatus, v1::StatusRequest(), timeout_ms);
}

Result<chain::Block> Client::GetBlock(uint64_t height) const {
    v1::BlockQuery req;
    req.set_height(height);
    auto resp = Unary(*m_stub, m_address, &v1::Node::Stub::GetBlock, req);
    if (!resp.ok()) return resp.status();
    return chain::FromProto(*resp);
}

Result<chain::Block> Client::GetLatestBlock() const {
    v1::BlockQuery req;
    req.set_latest(true);
    auto resp = Unary(*m_stub, m_address, &v1::Node::Stub::GetBlock, req);
    if (!resp.ok()) return resp.status();
    return chain::FromProto(*resp);
}

Result<Bytes> Client::Query(const std::string& contract, const std::string& method,
                            ByteView args) const {
    v1::QueryRequest req;
    req.set_contract(contract);
    req.set_method(method);
    req.set_args(ToString(args));
    auto resp = Unary(*m_stub, m_address, &v1::Node::Stub::Query, req);
    if (!resp.ok()) return resp.status();
    return ToBytes(resp->result());
}

Result<v1::ProofResponse> Client::GetTxProof(const Hash256& tx_hash) const {
    v1::ProofRequest req;
    req.set_tx_hash(ToString(tx_hash));
    return Unary(*m_stub, m_address, &v1::Node::Stub::GetTxProof, req);
}

Result<uint64_t> Client::LastNonce(ByteView sender) const {
    auto v = Query("state", "nonce", sender);
    if (!v.ok()) {
        if (v.status().code() == StatusCode::kNotFound) return uint64_t{0};
        return v.status();
    }
    codec::Reader r(*v);
    uint64_t n = 0;
    if (!r.U64(n) || !r.AtEnd()) return Internal("malformed nonce from " + m_address);
    return n;
}

bool Client::WaitUntilUp(std::chrono::steady_clock::time_point deadline) const {
    // wait_for_ready: the call waits for the channel to connect instead of failing at once. A
    // call sent on a connection whose node has just died fails at once all the same (the
    // channel learns of it only then); the next call waits for a new connection.
    for (;;) {
        grpc::ClientContext ctx;
        ctx.set_wait_for_ready(true);
        ctx.set_deadline(SystemDeadline(deadline));
        v1::NodeStatus resp;
        const grpc::Status s = m_stub->GetStatus(&ctx, v1::StatusRequest(), &resp);
        if (s.ok()) return true;
        if (s.error_code() != grpc::StatusCode::UNAVAILABLE ||
            std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
    }
}

bool Client::WaitForHeight(uint64_t height, std::chrono::steady_clock::time_point deadline) const {
    // The node streams block `height` as soon as it has committed it.
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(SystemDeadline(deadline));
    v1::StreamBlocksRequest req;
    req.set_from_height(height);
    auto reader = m_stub->StreamBlocks(&ctx, req);
    v1::Block block;
    const bool got = reader->Read(&block);
    ctx.TryCancel();
    (void)reader->Finish();
    return got;
}

chain::Transaction MakeStatePut(const crypto::Signer& signer, const std::string& chain_id,
                                uint64_t nonce, const std::string& key, ByteView value,
                                uint64_t timestamp_ms) {
    v1::StatePut put;
    put.set_key(key);
    put.set_value(ToString(value));
    chain::TxBody body;
    body.chain_id = chain_id;
    body.type = static_cast<uint32_t>(chain::TxType::kStatePut);
    body.payload = ToBytes(put.SerializeAsString());
    body.nonce = nonce;
    body.timestamp_ms = timestamp_ms;
    return chain::SignTransaction(std::move(body), signer);
}

chain::Transaction MakeContractCall(const crypto::Signer& signer, const std::string& chain_id,
                                    uint64_t nonce, const std::string& contract,
                                    const std::string& method, ByteView args,
                                    uint64_t timestamp_ms) {
    v1::ContractCall call;
    call.set_contract(contract);
    call.set_method(method);
    call.set_args(ToString(args));
    chain::TxBody body;
    body.chain_id = chain_id;
    body.type = static_cast<uint32_t>(chain::TxType::kContractCall);
    body.payload = ToBytes(call.SerializeAsString());
    body.nonce = nonce;
    body.timestamp_ms = timestamp_ms;
    return chain::SignTransaction(std::move(body), signer);
}

}  // namespace meterchain::client
