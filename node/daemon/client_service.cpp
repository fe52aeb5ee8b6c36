#include "node/daemon/client_service.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <chrono>

#include "node/base/codec.h"
#include "node/base/log.h"
#include "node/base/rpc_code.h"
#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/daemon/node.h"
#include "node/executor/executor.h"

namespace meterchain::node {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kDefaultWaitMs = 10000;
constexpr uint32_t kMaxWaitMs = 60000;
// A state scan answers at most this many entries and bytes (RESOURCE_EXHAUSTED beyond).
constexpr size_t kMaxScanEntries = 100000;
constexpr size_t kMaxScanBytes = 8u << 20;
// Jobs waiting for a client thread; beyond this the node is too busy for more calls.
constexpr size_t kMaxQueuedJobs = 4096;
// Longest status message sent to a client: messages may quote client input.
constexpr size_t kMaxMessageBytes = 512;
// Serialized blocks kept for the streams (several streams usually send the same heights).
constexpr size_t kStreamCacheEntries = 16;

// Client input quoted in a message: at most kMaxEchoBytes of it, then how long it was.
std::string Quoted(std::string_view text) {
    if (text.size() <= ClientService::kMaxEchoBytes) return "'" + std::string(text) + "'";
    return "'" + std::string(text.substr(0, ClientService::kMaxEchoBytes)) + "...' (" +
           std::to_string(text.size()) + " bytes)";
}

grpc::Status Bounded(grpc::StatusCode code, std::string message) {
    if (message.size() > kMaxMessageBytes) {
        const size_t size = message.size();
        message.resize(kMaxMessageBytes);
        message += "... (message of " + std::to_string(size) + " bytes cut)";
    }
    return grpc::Status(code, message);
}

// The one numbering of the client API: gRPC status codes, RpcCode (node/base/rpc_code.h).
grpc::Status ToGrpc(const Status& s) {
    if (s.ok()) return grpc::Status::OK;
    std::string message = s.message();
    if (s.code() == meterchain::StatusCode::kCorruption) {
        message += " (this node is fetching it again from its peers)";
    }
    return Bounded(static_cast<grpc::StatusCode>(RpcCode(s.code())), std::move(message));
}

std::optional<Hash256> HashArg(const std::string& bytes) { return HashFromBytes(AsBytes(bytes)); }

// Parses a raw request; INVALID_ARGUMENT naming the message type when it is not valid
// protobuf of that type.
template <typename Msg>
grpc::Status Parse(const grpc::ByteBuffer& raw, Msg* out) {
    grpc::ByteBuffer copy(raw);  // shares the slices; Deserialize consumes its argument
    if (!grpc::SerializationTraits<Msg>::Deserialize(&copy, out).ok()) {
        return {grpc::StatusCode::INVALID_ARGUMENT,
                "malformed request: not a valid " + out->GetTypeName() + " message (" +
                    std::to_string(raw.Length()) + " bytes)"};
    }
    return grpc::Status::OK;
}

// Into `out`, which may still hold the previous message of a stream: gRPC's serializer asserts
// on (and aborts the process for) a buffer that is not empty.
template <typename Msg>
grpc::Status Serialize(const Msg& msg, grpc::ByteBuffer* out) {
    out->Clear();
    bool own = false;
    return grpc::SerializationTraits<Msg>::Serialize(msg, out, &own);
}

// A committed block; a copy that no longer reads back is reported for repair.
Result<chain::Block> ReadBlock(Node& node, uint64_t height) {
    auto block = node.store().GetBlock(height);
    if (!block.ok() && block.status().code() == meterchain::StatusCode::kCorruption) {
        node.ReportCorruptBlock(height, block.status());
    }
    return block;
}

void FillStatus(Node& node, const Hash256& hash, v1::TxStatus* out) {
    auto loc = node.store().FindTransaction(hash);
    if (loc.ok()) {
        out->set_height(loc->height);
        out->set_index(loc->index);
        // Receipts store the executor's StatusCode; clients get the gRPC numbering of
        // SubmitResult.code and of refused calls.
        out->set_code(RpcCode(static_cast<StatusCode>(loc->receipt.code)));
        out->set_reason(loc->receipt.message);
        out->set_state(loc->receipt.code == 0 ? v1::TxStatus::COMMITTED : v1::TxStatus::FAILED);
        auto block = ReadBlock(node, loc->height);
        if (block.ok()) out->set_block_hash(ToString(block->Hash()));
        return;
    }
    out->set_state(node.InMempool(hash) ? v1::TxStatus::PENDING : v1::TxStatus::UNKNOWN);
}

bool IsFinal(const v1::TxStatus& status) {
    return status.state() == v1::TxStatus::COMMITTED || status.state() == v1::TxStatus::FAILED;
}

}  // namespace

namespace client_internal {

// A parked WaitForCommit call. Exactly one of these finishes it: the first status check
// (already final), a commit of its transaction, its deadline, Stop, or its cancellation; the
// service's tables decide which (ClientService::Unpark).
class WaitReactor final : public grpc::ServerUnaryReactor {
public:
    WaitReactor(ClientService& service, grpc::ByteBuffer* response, const Hash256& hash,
                Clock::time_point deadline)
        : m_service(service), m_response(response), m_hash(hash), m_deadline(deadline) {}

    const Hash256& hash() const { return m_hash; }
    Clock::time_point deadline() const { return m_deadline; }

    // Answers with the transaction's state now. Nothing of this may be touched afterwards.
    void Complete() {
        v1::TxStatus status;
        FillStatus(m_service.m_node, m_hash, &status);
        Finish(Serialize(status, m_response));
    }
    // The state now if it is final; false (nothing answered) otherwise.
    bool CompleteIfFinal() {
        v1::TxStatus status;
        FillStatus(m_service.m_node, m_hash, &status);
        if (!IsFinal(status) || !m_service.Unpark(this)) return false;
        Finish(Serialize(status, m_response));
        return true;
    }

    void OnCancel() override {
        if (m_service.Unpark(this)) Finish(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

private:
    ClientService& m_service;
    grpc::ByteBuffer* m_response;
    const Hash256 m_hash;
    const Clock::time_point m_deadline;
};

// A StreamBlocks/StreamCommits call: writes the committed blocks from its next height on, one
// write at a time, and is parked in the service while it has caught up with the tip.
class StreamReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
public:
    StreamReactor(ClientService& service, uint64_t from, bool summaries)
        : m_service(service), m_next(from), m_summaries(summaries) {}

    bool summaries() const { return m_summaries; }

    // Writes the next block, or parks. On a client thread.
    void Pump() {
        for (;;) {
            if (m_service.m_stopped.load()) return FinishOnce(grpc::Status::OK);
            if (m_service.m_node.store().Tip().height < m_next) {
                switch (m_service.ParkStream(this, m_next)) {
                    case ParkResult::kParked: return;
                    case ParkResult::kCancelled: return FinishOnce(grpc::Status::CANCELLED);
                    case ParkResult::kReady: continue;
                }
            }
            grpc::Status s = m_service.StreamMessage(m_next, m_summaries, &m_buffer);
            if (!s.ok()) return FinishOnce(s);
            ++m_next;
            StartWrite(&m_buffer);
            return;
        }
    }

    void FinishOnce(const grpc::Status& status) {
        if (!m_finished.exchange(true)) Finish(status);
    }

    void OnWriteDone(bool ok) override {
        if (!ok) return FinishOnce(grpc::Status::OK);  // the client went away
        m_service.Post([this] { Pump(); });
    }
    void OnCancel() override {
        if (m_service.CancelStream(this)) FinishOnce(grpc::Status::CANCELLED);
    }
    void OnDone() override {
        m_service.StreamClosed();
        delete this;
    }

    bool cancelled = false;  // guarded by the service's m_mutex

private:
    ClientService& m_service;
    uint64_t m_next;  // touched by one pump at a time
    const bool m_summaries;
    grpc::ByteBuffer m_buffer;  // the write in flight
    std::atomic<bool> m_finished{false};
};

}  // namespace client_internal

using client_internal::StreamReactor;
using client_internal::WaitReactor;

ClientService::ClientService(Node& node, ClientServiceLimits limits)
    : m_node(node),
      m_limits(limits),
      m_pool(std::make_unique<base::WorkPool>(std::max(1u, limits.threads))) {
    m_expiry_thread = std::thread([this] { ExpireWaiters(); });
}

ClientService::~ClientService() {
    Stop();
    m_pool->Stop();
}

void ClientService::Post(std::function<void()> job) {
    m_pool->Post(base::WorkPool::Priority::kUrgent, std::move(job));
}

template <typename Req, typename Resp, typename Fn>
grpc::ServerUnaryReactor* ClientService::Unary(grpc::CallbackServerContext* ctx,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response, Fn fn) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    auto req = std::make_shared<Req>();
    if (grpc::Status s = Parse(*request, req.get()); !s.ok()) {
        reactor->Finish(s);
        return reactor;
    }
    if (m_stopped.load()) {
        reactor->Finish({grpc::StatusCode::UNAVAILABLE, "node is shutting down"});
        return reactor;
    }
    if (m_queued.fetch_add(1) >= kMaxQueuedJobs) {
        m_queued.fetch_sub(1);
        reactor->Finish({grpc::StatusCode::RESOURCE_EXHAUSTED,
                         "node is busy: " + std::to_string(kMaxQueuedJobs) +
                             " client calls wait already; retry later"});
        return reactor;
    }
    Post([this, reactor, req, response, fn] {
        m_queued.fetch_sub(1);
        Resp resp;
        grpc::Status s = (this->*fn)(*req, &resp);
        if (s.ok()) s = Serialize(resp, response);
        reactor->Finish(s);
    });
    return reactor;
}

grpc::ServerUnaryReactor* ClientService::SubmitTransaction(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* req,
                                                           grpc::ByteBuffer* resp) {
    return Unary<v1::SubmitRequest, v1::SubmitResponse>(ctx, req, resp, &ClientService::DoSubmit);
}

grpc::ServerUnaryReactor* ClientService::SubmitTransactions(grpc::CallbackServerContext* ctx,
                                                            const grpc::ByteBuffer* req,
                                                            grpc::ByteBuffer* resp) {
    return Unary<v1::SubmitBatchRequest, v1::SubmitBatchResponse>(ctx, req, resp,
                                                                  &ClientService::DoSubmitBatch);
}

grpc::ServerUnaryReactor* ClientService::GetTransaction(grpc::CallbackServerContext* ctx,
                                                        const grpc::ByteBuffer* req,
                                                        grpc::ByteBuffer* resp) {
    return Unary<v1::TxQuery, v1::TxStatus>(ctx, req, resp, &ClientService::DoGetTransaction);
}

grpc::ServerUnaryReactor* ClientService::GetBlock(grpc::CallbackServerContext* ctx,
                                                  const grpc::ByteBuffer* req,
                                                  grpc::ByteBuffer* resp) {
    return Unary<v1::BlockQuery, v1::Block>(ctx, req, resp, &ClientService::DoGetBlock);
}

grpc::ServerUnaryReactor* ClientService::GetStatus(grpc::CallbackServerContext* ctx,
                                                   const grpc::ByteBuffer* req,
                                                   grpc::ByteBuffer* resp) {
    return Unary<v1::StatusRequest, v1::NodeStatus>(ctx, req, resp, &ClientService::DoGetStatus);
}

grpc::ServerUnaryReactor* ClientService::Query(grpc::CallbackServerContext* ctx,
                                               const grpc::ByteBuffer* req,
                                               grpc::ByteBuffer* resp) {
    return Unary<v1::QueryRequest, v1::QueryResponse>(ctx, req, resp, &ClientService::DoQuery);
}

grpc::ServerUnaryReactor* ClientService::GetTxProof(grpc::CallbackServerContext* ctx,
                                                    const grpc::ByteBuffer* req,
                                                    grpc::ByteBuffer* resp) {
    return Unary<v1::ProofRequest, v1::ProofResponse>(ctx, req, resp,
                                                      &ClientService::DoGetTxProof);
}

// ---- SubmitStream ----

namespace {

// Reads a request, answers it on a client thread, writes the answer, reads the next; ends
// after SUBMIT_STREAM_MAX_REQUESTS answers (see proto/node.proto).
class SubmitStreamReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
public:
    SubmitStreamReactor(ClientService& service, std::function<void(std::function<void()>)> post)
        : m_service(service), m_post(std::move(post)) {
        StartRead(&m_in);
    }
    void OnReadDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::OK);  // the client finished writing
        auto req = std::make_shared<v1::SubmitBatchRequest>();
        if (grpc::Status s = Parse(m_in, req.get()); !s.ok()) return Finish(s);
        m_post([this, req] {
            v1::SubmitBatchResponse resp;
            grpc::Status s = m_service.DoSubmitBatch(*req, &resp);
            if (s.ok()) s = Serialize(resp, &m_out);
            if (!s.ok()) return Finish(s);
            ++m_answered;
            StartWrite(&m_out);
        });
    }
    void OnWriteDone(bool ok) override {
        if (!ok) return Finish(grpc::Status::OK);
        if (m_answered >= v1::SUBMIT_STREAM_MAX_REQUESTS) return Finish(grpc::Status::OK);
        StartRead(&m_in);
    }
    void OnDone() override { delete this; }

private:
    ClientService& m_service;
    std::function<void(std::function<void()>)> m_post;
    grpc::ByteBuffer m_in;
    grpc::ByteBuffer m_out;
    int m_answered = 0;
};

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ClientService::SubmitStream(
    grpc::CallbackServerContext*) {
    // gRPC keeps part of every message's bookkeeping in the call's arena until the call ends,
    // so a stream that lived forever would make the node grow; the client opens a new one.
    return new SubmitStreamReactor(*this, [this](std::function<void()> job) { Post(job); });
}

// ---- WaitForCommit ----

grpc::ServerUnaryReactor* ClientService::WaitForCommit(grpc::CallbackServerContext* ctx,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
    v1::TxQuery req;
    grpc::Status s = Parse(*request, &req);
    auto hash = HashArg(req.tx_hash());
    if (s.ok() && !hash) s = {grpc::StatusCode::INVALID_ARGUMENT, "tx_hash must be 32 bytes"};
    if (s.ok() && m_stopped.load()) {
        s = {grpc::StatusCode::UNAVAILABLE, "node is shutting down"};
    }
    if (!s.ok()) {
        grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
        reactor->Finish(s);
        return reactor;
    }
    const uint32_t wait_ms =
        std::min(req.timeout_ms() == 0 ? kDefaultWaitMs : req.timeout_ms(), kMaxWaitMs);
    auto* waiter =
        new WaitReactor(*this, response, *hash, Clock::now() + std::chrono::milliseconds(wait_ms));
    // Parked first, checked second: a commit in between finds it parked.
    bool parked = false;
    {
        std::lock_guard lock(m_mutex);
        if (m_waiters.size() < m_limits.max_waiters) {
            m_waiters.emplace(waiter->hash(), waiter);
            m_deadlines.emplace(waiter->deadline(), waiter);
            parked = true;
        }
    }
    if (!parked) {
        waiter->Finish({grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "too many WaitForCommit calls wait on this node (limit " +
                            std::to_string(m_limits.max_waiters) +
                            "); poll GetTransaction or retry later"});
        return waiter;
    }
    m_expiry_cv.notify_one();
    Post([waiter] { waiter->CompleteIfFinal(); });
    return waiter;
}

bool ClientService::Unpark(WaitReactor* waiter) {
    std::lock_guard lock(m_mutex);
    auto [begin, end] = m_waiters.equal_range(waiter->hash());
    for (auto it = begin; it != end; ++it) {
        if (it->second == waiter) {
            m_waiters.erase(it);
            m_deadlines.erase({waiter->deadline(), waiter});
            return true;
        }
    }
    return false;
}

void ClientService::ExpireWaiters() {
    std::unique_lock lock(m_mutex);
    while (!m_expiry_stop) {
        const auto now = Clock::now();
        std::vector<WaitReactor*> expired;
        while (!m_deadlines.empty() && m_deadlines.begin()->first <= now) {
            WaitReactor* waiter = m_deadlines.begin()->second;
            m_deadlines.erase(m_deadlines.begin());
            auto [begin, end] = m_waiters.equal_range(waiter->hash());
            for (auto it = begin; it != end; ++it) {
                if (it->second == waiter) {
                    m_waiters.erase(it);
                    break;
                }
            }
            expired.push_back(waiter);
        }
        if (!expired.empty()) {
            lock.unlock();
            // The state then (PENDING or UNKNOWN) tells the caller it did not commit in time.
            for (WaitReactor* waiter : expired) Post([waiter] { waiter->Complete(); });
            lock.lock();
            continue;
        }
        if (m_deadlines.empty()) {
            m_expiry_cv.wait(lock);
        } else {
            m_expiry_cv.wait_until(lock, m_deadlines.begin()->first);
        }
    }
}

// ---- StreamBlocks / StreamCommits ----

grpc::ServerWriteReactor<grpc::ByteBuffer>* ClientService::StreamBlocks(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request) {
    return OpenStream(ctx, request, false);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* ClientService::StreamCommits(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request) {
    return OpenStream(ctx, request, true);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* ClientService::OpenStream(
    grpc::CallbackServerContext*, const grpc::ByteBuffer* request, bool summaries) {
    v1::StreamBlocksRequest req;
    grpc::Status s = Parse(*request, &req);
    const uint64_t tip = m_node.store().Tip().height;
    if (s.ok() && m_stopped.load()) s = {grpc::StatusCode::UNAVAILABLE, "node is shutting down"};
    if (s.ok() && req.from_height() > tip + 1 + m_limits.max_stream_ahead) {
        s = {grpc::StatusCode::OUT_OF_RANGE,
             "from_height " + std::to_string(req.from_height()) + " is beyond the tip " +
                 std::to_string(tip) + " by more than " +
                 std::to_string(m_limits.max_stream_ahead) +
                 " blocks; a stream waits for at most that many"};
    }
    auto* stream = new StreamReactor(*this, req.from_height(), summaries);
    if (s.ok()) {
        std::lock_guard lock(m_mutex);
        if (m_open_streams >= m_limits.max_streams) {
            s = {grpc::StatusCode::RESOURCE_EXHAUSTED,
                 "too many block streams are open on this node (limit " +
                     std::to_string(m_limits.max_streams) + "); retry later"};
        }
    }
    {
        // Every stream is counted until OnDone, refused ones included.
        std::lock_guard lock(m_mutex);
        ++m_open_streams;
    }
    if (!s.ok()) {
        stream->FinishOnce(s);
        return stream;
    }
    Post([stream] { stream->Pump(); });
    return stream;
}

client_internal::ParkResult ClientService::ParkStream(StreamReactor* stream, uint64_t next) {
    std::lock_guard lock(m_mutex);
    if (stream->cancelled) return client_internal::ParkResult::kCancelled;
    if (m_stopped.load()) return client_internal::ParkResult::kReady;  // Pump then finishes
    // Checked under the lock that OnCommitted takes after the store moved on: a commit from
    // here on finds the stream parked.
    if (m_node.store().Tip().height >= next) return client_internal::ParkResult::kReady;
    m_parked_streams.insert(stream);
    return client_internal::ParkResult::kParked;
}

bool ClientService::CancelStream(StreamReactor* stream) {
    std::lock_guard lock(m_mutex);
    stream->cancelled = true;
    return m_parked_streams.erase(stream) > 0;
}

void ClientService::StreamClosed() {
    std::lock_guard lock(m_mutex);
    --m_open_streams;
}

grpc::Status ClientService::StreamMessage(uint64_t height, bool summary, grpc::ByteBuffer* out) {
    const auto key = std::make_pair(height, summary);
    {
        std::lock_guard lock(m_cache_mutex);
        if (auto it = m_cache.find(key); it != m_cache.end()) {
            *out = it->second;  // shares the slices
            return grpc::Status::OK;
        }
    }
    auto block = ReadBlock(m_node, height);
    if (!block.ok()) return ToGrpc(block.status());
    grpc::Status s;
    if (summary) {
        v1::BlockSummary msg;
        *msg.mutable_header() = chain::ToProto(block->header);
        *msg.mutable_certificate() = chain::ToProto(block->certificate);
        for (const auto& h : block->TxHashes()) msg.add_tx_hashes(h.data(), h.size());
        s = Serialize(msg, out);
    } else {
        s = Serialize(chain::ToProto(*block), out);
    }
    if (!s.ok()) return s;
    std::lock_guard lock(m_cache_mutex);
    m_cache[key] = *out;
    while (m_cache.size() > kStreamCacheEntries) m_cache.erase(m_cache.begin());
    return grpc::Status::OK;
}

// ---- commits and stopping ----

void ClientService::OnCommitted(const chain::Block& block) {
    std::vector<WaitReactor*> done;
    std::vector<StreamReactor*> streams;
    {
        std::lock_guard lock(m_mutex);
        if (!m_waiters.empty()) {
            for (const auto& hash : block.TxHashes()) {
                auto [begin, end] = m_waiters.equal_range(hash);
                for (auto it = begin; it != end; ++it) {
                    m_deadlines.erase({it->second->deadline(), it->second});
                    done.push_back(it->second);
                }
                m_waiters.erase(begin, end);
            }
        }
        streams.assign(m_parked_streams.begin(), m_parked_streams.end());
        m_parked_streams.clear();
    }
    for (WaitReactor* waiter : done) Post([waiter] { waiter->Complete(); });
    for (StreamReactor* stream : streams) Post([stream] { stream->Pump(); });
}

void ClientService::Stop() {
    if (m_stopped.exchange(true)) return;
    std::vector<WaitReactor*> waiters;
    std::vector<StreamReactor*> streams;
    {
        std::lock_guard lock(m_mutex);
        for (auto& [hash, waiter] : m_waiters) waiters.push_back(waiter);
        m_waiters.clear();
        m_deadlines.clear();
        streams.assign(m_parked_streams.begin(), m_parked_streams.end());
        m_parked_streams.clear();
        m_expiry_stop = true;
    }
    m_expiry_cv.notify_all();
    if (m_expiry_thread.joinable()) m_expiry_thread.join();
    for (WaitReactor* waiter : waiters) waiter->Complete();
    for (StreamReactor* stream : streams) stream->FinishOnce(grpc::Status::OK);
}

size_t ClientService::waiters() const {
    std::lock_guard lock(m_mutex);
    return m_waiters.size();
}

size_t ClientService::streams() const {
    std::lock_guard lock(m_mutex);
    return m_open_streams;
}

// ---- the methods' work ----

grpc::Status ClientService::DoSubmit(const v1::SubmitRequest& req, v1::SubmitResponse* resp) {
    if (!req.has_transaction()) {
        return {grpc::StatusCode::INVALID_ARGUMENT, "request has no transaction"};
    }
    if (m_node.stopping()) return {grpc::StatusCode::UNAVAILABLE, "node is shutting down"};
    auto hash = m_node.Submit(chain::FromProto(req.transaction()));
    if (!hash.ok()) return ToGrpc(hash.status());
    resp->set_tx_hash(ToString(*hash));
    return grpc::Status::OK;
}

grpc::Status ClientService::DoSubmitBatch(const v1::SubmitBatchRequest& req,
                                          v1::SubmitBatchResponse* resp) {
    constexpr int kMaxBatch = 1000;
    if (req.transactions_size() > kMaxBatch) {
        return {grpc::StatusCode::INVALID_ARGUMENT,
                "at most " + std::to_string(kMaxBatch) + " transactions per call, got " +
                    std::to_string(req.transactions_size())};
    }
    if (m_node.stopping()) return {grpc::StatusCode::UNAVAILABLE, "node is shutting down"};
    std::vector<chain::Transaction> txs;
    txs.reserve(static_cast<size_t>(req.transactions_size()));
    for (const auto& tx : req.transactions()) txs.push_back(chain::FromProto(tx));
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

grpc::Status ClientService::DoGetTransaction(const v1::TxQuery& req, v1::TxStatus* resp) {
    auto hash = HashArg(req.tx_hash());
    if (!hash) return {grpc::StatusCode::INVALID_ARGUMENT, "tx_hash must be 32 bytes"};
    FillStatus(m_node, *hash, resp);
    return grpc::Status::OK;
}

grpc::Status ClientService::DoGetBlock(const v1::BlockQuery& req, v1::Block* resp) {
    Result<chain::Block> block = NotFound("no block");
    if (req.latest()) {
        block = ReadBlock(m_node, m_node.store().Tip().height);
    } else if (req.by_case() == v1::BlockQuery::kHash) {
        auto hash = HashArg(req.hash());
        if (!hash) return {grpc::StatusCode::INVALID_ARGUMENT, "hash must be 32 bytes"};
        block = m_node.store().GetBlockByHash(*hash);
    } else {
        block = ReadBlock(m_node, req.height());
    }
    if (!block.ok()) return ToGrpc(block.status());
    *resp = chain::ToProto(*block);
    return grpc::Status::OK;
}

grpc::Status ClientService::DoGetStatus(const v1::StatusRequest&, v1::NodeStatus* resp) {
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
    resp->set_client_waiters(waiters());
    resp->set_client_streams(streams());
    for (uint32_t i = 0; i < set.size(); ++i) {
        auto* p = resp->add_peers();
        p->set_validator(i);
        p->set_name(set.at(i).name);
        p->set_address(set.at(i).address);
        p->set_connected(i < snap.connected.size() && snap.connected[i]);
    }
    return grpc::Status::OK;
}

grpc::Status ClientService::DoQuery(const v1::QueryRequest& req, v1::QueryResponse* resp) {
    const bool is_state = req.contract() == "state";
    if (is_state && req.method() != "scan") {
        std::string key;
        if (req.method() == "get") {
            key = std::string(executor::kKvPrefix) + req.args();
        } else if (req.method() == "nonce") {
            key = executor::NonceKey(AsBytes(req.args()));
        } else if (req.method() == "raw") {
            key = req.args();  // any state key: state holds only digests and ciphertext
        } else {
            return Bounded(grpc::StatusCode::INVALID_ARGUMENT,
                           "contract 'state' has methods get, nonce, raw and scan, not " +
                               Quoted(req.method()));
        }
        auto value = m_node.store().GetState(key);
        if (!value.ok()) return ToGrpc(value.status());
        if (!*value) return Bounded(grpc::StatusCode::NOT_FOUND, "no state at " + Quoted(key));
        resp->set_result(ToString(**value));
        return grpc::Status::OK;
    }
    const contracts::Contract* contract = nullptr;
    if (!is_state) {
        contract = m_node.registry().Find(req.contract());
        if (contract == nullptr) {
            return Bounded(grpc::StatusCode::NOT_FOUND, "no contract " + Quoted(req.contract()));
        }
    }
    // A scan or a contract query may read and copy much of the state: only a few at a time,
    // so that many of them cannot take the node's memory.
    if (m_queries.fetch_add(1) >= m_limits.max_concurrent_queries) {
        m_queries.fetch_sub(1);
        return {grpc::StatusCode::RESOURCE_EXHAUSTED,
                "too many scans and contract queries run on this node (limit " +
                    std::to_string(m_limits.max_concurrent_queries) + "); retry later"};
    }
    struct Release {
        std::atomic<size_t>& count;
        ~Release() { count.fetch_sub(1); }
    } release{m_queries};
    if (is_state) {
        // Entries under a prefix as codec: count, then (key, value) pairs; capped.
        std::vector<std::pair<std::string, Bytes>> entries;
        size_t bytes = 0;
        bool truncated = false;
        Status s = m_node.store().ScanState(req.args(), [&](std::string_view k, ByteView v) {
            if (entries.size() >= kMaxScanEntries || bytes > kMaxScanBytes) {
                truncated = true;
                return false;
            }
            bytes += k.size() + v.size();
            entries.emplace_back(std::string(k), Bytes(v.begin(), v.end()));
            return true;
        });
        if (!s.ok()) return ToGrpc(s);
        if (truncated) {
            return {grpc::StatusCode::RESOURCE_EXHAUSTED,
                    "scan result larger than " + std::to_string(kMaxScanEntries) +
                        " entries or " + std::to_string(kMaxScanBytes >> 20) +
                        " MiB; narrow the prefix"};
        }
        codec::Writer w;
        w.U32(static_cast<uint32_t>(entries.size()));
        for (const auto& [k, v] : entries) w.Text(k).Blob(v);
        resp->set_result(ToString(w.bytes()));
        return grpc::Status::OK;
    }
    executor::CommittedStateView state(m_node.store());
    auto result = contract->Query(req.method(), AsBytes(req.args()), state);
    if (!result.ok()) return ToGrpc(result.status());
    resp->set_result(ToString(*result));
    return grpc::Status::OK;
}

grpc::Status ClientService::DoGetTxProof(const v1::ProofRequest& req, v1::ProofResponse* resp) {
    auto hash = HashArg(req.tx_hash());
    if (!hash) return {grpc::StatusCode::INVALID_ARGUMENT, "tx_hash must be 32 bytes"};
    auto loc = m_node.store().FindTransaction(*hash);
    if (!loc.ok()) return ToGrpc(loc.status());
    auto block = ReadBlock(m_node, loc->height);
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
