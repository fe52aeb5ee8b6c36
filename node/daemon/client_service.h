// The client gRPC API (service Node in proto/node.proto) served by meterchaind.
//
// Errors are gRPC status codes with a message: INVALID_ARGUMENT (a request that is not valid
// protobuf, malformed input, replayed nonce), UNAUTHENTICATED (bad signature), ALREADY_EXISTS
// (duplicate), RESOURCE_EXHAUSTED (mempool full, too many concurrent scans, waiters or
// streams), NOT_FOUND (no such block/transaction/key), OUT_OF_RANGE (a stream asked to start
// far beyond the tip), UNAVAILABLE (shutting down). Messages quote at most
// kMaxEchoBytes of anything the client sent.
//
// Every method uses gRPC's callback API on raw byte buffers, so that:
//  - a request that does not parse gets INVALID_ARGUMENT with a reason (gRPC's own parser
//    would answer INTERNAL with an empty message);
//  - no call holds a thread while it waits: WaitForCommit and the block streams are parked
//    in tables that each commit (OnCommitted) wakes, and the real work of every call runs on
//    a small pool of client threads. Parked calls are capped (kMaxWaiters, kMaxStreams) and
//    expensive queries (state scans and contract queries) are limited to
//    kMaxConcurrentQueries at a time; beyond a cap the call is answered RESOURCE_EXHAUSTED.
//
// Thread-safety: OnCommitted and Stop may be called from any thread; gRPC calls the rest.
// Lifetime: the service must outlive the gRPC server it is registered with; call Stop()
// before shutting that server down, so that parked calls end at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "node/base/work_pool.h"
#include "node/chain/types.h"
#include "proto/node.grpc.pb.h"

namespace meterchain::node {

class Node;

namespace client_internal {
// Every method of v1::Node as a raw callback method.
using RawService = v1::Node::WithRawCallbackMethod_SubmitTransaction<
    v1::Node::WithRawCallbackMethod_SubmitTransactions<
        v1::Node::WithRawCallbackMethod_SubmitStream<
            v1::Node::WithRawCallbackMethod_GetTransaction<
                v1::Node::WithRawCallbackMethod_WaitForCommit<
                    v1::Node::WithRawCallbackMethod_GetBlock<
                        v1::Node::WithRawCallbackMethod_StreamBlocks<
                            v1::Node::WithRawCallbackMethod_StreamCommits<
                                v1::Node::WithRawCallbackMethod_GetStatus<
                                    v1::Node::WithRawCallbackMethod_Query<
                                        v1::Node::WithRawCallbackMethod_GetTxProof<
                                            v1::Node::Service>>>>>>>>>>>;
class WaitReactor;
class StreamReactor;
enum class ParkResult { kParked, kReady, kCancelled };
}  // namespace client_internal

// Limits of the client API (see the header comment).
struct ClientServiceLimits {
    size_t max_waiters = 20000;          // WaitForCommit calls parked at once
    size_t max_streams = 1000;           // StreamBlocks + StreamCommits calls open at once
    size_t max_concurrent_queries = 4;   // state scans and contract queries running at once
    uint64_t max_stream_ahead = 1000;    // a stream may start at most this far beyond the tip
    unsigned threads = 4;                // client work threads
};

class ClientService final : public client_internal::RawService {
public:
    static constexpr size_t kMaxEchoBytes = 64;
    // Largest request message (a batch of transactions) the server accepts.
    static constexpr int kMaxRequestBytes = 4 << 20;

    explicit ClientService(Node& node, ClientServiceLimits limits = {});
    ~ClientService() override;

    // The block at `height` was committed (called on the consensus thread after it is
    // stored): wakes the waiters of its transactions and the streams waiting for it.
    void OnCommitted(const chain::Block& block);
    // Ends every parked call now (waiters with their current state, streams with OK) and
    // refuses new ones with UNAVAILABLE. Idempotent.
    void Stop();

    // Calls parked right now (for tests and the load benchmark's checks).
    size_t waiters() const;
    size_t streams() const;

    grpc::ServerUnaryReactor* SubmitTransaction(grpc::CallbackServerContext*,
                                                const grpc::ByteBuffer*,
                                                grpc::ByteBuffer*) override;
    grpc::ServerUnaryReactor* SubmitTransactions(grpc::CallbackServerContext*,
                                                 const grpc::ByteBuffer*,
                                                 grpc::ByteBuffer*) override;
    grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* SubmitStream(
        grpc::CallbackServerContext*) override;
    grpc::ServerUnaryReactor* GetTransaction(grpc::CallbackServerContext*,
                                             const grpc::ByteBuffer*, grpc::ByteBuffer*) override;
    grpc::ServerUnaryReactor* WaitForCommit(grpc::CallbackServerContext*,
                                            const grpc::ByteBuffer*, grpc::ByteBuffer*) override;
    grpc::ServerUnaryReactor* GetBlock(grpc::CallbackServerContext*, const grpc::ByteBuffer*,
                                       grpc::ByteBuffer*) override;
    grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamBlocks(grpc::CallbackServerContext*,
                                                             const grpc::ByteBuffer*) override;
    grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamCommits(grpc::CallbackServerContext*,
                                                              const grpc::ByteBuffer*) override;
    grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext*, const grpc::ByteBuffer*,
                                        grpc::ByteBuffer*) override;
    grpc::ServerUnaryReactor* Query(grpc::CallbackServerContext*, const grpc::ByteBuffer*,
                                    grpc::ByteBuffer*) override;
    grpc::ServerUnaryReactor* GetTxProof(grpc::CallbackServerContext*, const grpc::ByteBuffer*,
                                         grpc::ByteBuffer*) override;
    // calibration_watch.cpp: a synchronous server stream (one gRPC thread per watcher; it
    // waits on the node's commits).
    grpc::Status WatchWorkOrder(grpc::ServerContext*, const v1::WatchWorkOrderRequest*,
                                grpc::ServerWriter<v1::WorkOrderEvent>*) override;

    // The work of each method on parsed messages (client threads).
    grpc::Status DoSubmit(const v1::SubmitRequest& req, v1::SubmitResponse* resp);
    grpc::Status DoSubmitBatch(const v1::SubmitBatchRequest& req, v1::SubmitBatchResponse* resp);
    grpc::Status DoGetTransaction(const v1::TxQuery& req, v1::TxStatus* resp);
    grpc::Status DoGetBlock(const v1::BlockQuery& req, v1::Block* resp);
    grpc::Status DoGetStatus(const v1::StatusRequest& req, v1::NodeStatus* resp);
    grpc::Status DoQuery(const v1::QueryRequest& req, v1::QueryResponse* resp);
    grpc::Status DoGetTxProof(const v1::ProofRequest& req, v1::ProofResponse* resp);

private:
    friend class client_internal::WaitReactor;
    friend class client_internal::StreamReactor;

    // Parses `request` as Req, runs fn(req, &resp) on a client thread and finishes the call.
    template <typename Req, typename Resp, typename Fn>
    grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx,
                                    const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                    Fn fn);
    grpc::ServerWriteReactor<grpc::ByteBuffer>* OpenStream(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* request,
                                                           bool summaries);
    void Post(std::function<void()> job);
    void ExpireWaiters();
    // Removes a parked waiter; true when it was still parked (the caller then finishes it).
    bool Unpark(client_internal::WaitReactor* waiter);
    // Marks a stream cancelled; true when it was parked (the caller then finishes it).
    bool CancelStream(client_internal::StreamReactor* stream);
    // Parks a stream until the tip reaches `next`; kReady when it need not wait.
    client_internal::ParkResult ParkStream(client_internal::StreamReactor* stream, uint64_t next);
    void StreamClosed();
    // A committed block for a stream, serialized, from a small cache shared by the streams.
    grpc::Status StreamMessage(uint64_t height, bool summary, grpc::ByteBuffer* out);

    Node& m_node;
    const ClientServiceLimits m_limits;
    std::unique_ptr<base::WorkPool> m_pool;
    std::atomic<bool> m_stopped{false};
    std::atomic<size_t> m_queries{0};  // expensive queries running
    std::atomic<size_t> m_queued{0};   // unary calls waiting for or on a client thread

    mutable std::mutex m_mutex;
    std::condition_variable m_expiry_cv;
    // Parked WaitForCommit calls by transaction hash, and by deadline. Guarded by m_mutex.
    std::multimap<Hash256, client_internal::WaitReactor*> m_waiters;
    std::set<std::pair<std::chrono::steady_clock::time_point, client_internal::WaitReactor*>>
        m_deadlines;
    std::set<client_internal::StreamReactor*> m_parked_streams;  // guarded by m_mutex
    size_t m_open_streams = 0;                                   // guarded by m_mutex
    bool m_expiry_stop = false;                                  // guarded by m_mutex
    std::thread m_expiry_thread;

    std::mutex m_cache_mutex;
    std::map<std::pair<uint64_t, bool>, grpc::ByteBuffer> m_cache;  // guarded by m_cache_mutex
};

}  // namespace meterchain::node
