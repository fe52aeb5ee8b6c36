#include "crosschain/relay.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <thread>

#include "crosschain/anchor_tx.h"
#include "node/base/log.h"
#include "node/client/client.h"

namespace meterchain::crosschain {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t WallMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

// A StreamCommits call read by its own thread into a queue, so that the relay can wait for the
// next block with a deadline (the batching timer). The destructor cancels the call and joins.
class CommitStream {
public:
    CommitStream(const client::Client& source, uint64_t from) {
        m_request.set_from_height(from);
        m_thread = std::thread([this, &source] { Read(source); });
    }
    ~CommitStream() {
        m_context.TryCancel();
        m_thread.join();
    }
    CommitStream(const CommitStream&) = delete;
    CommitStream& operator=(const CommitStream&) = delete;

    // The next block, or false at the deadline or when the stream ended (*ended set).
    bool Next(v1::BlockSummary* out, Clock::time_point deadline, bool* ended) {
        std::unique_lock lock(m_mutex);
        m_cv.wait_until(lock, deadline, [&] { return !m_queue.empty() || m_ended; });
        if (!m_queue.empty()) {
            *out = std::move(m_queue.front());
            m_queue.pop_front();
            return true;
        }
        *ended = m_ended;
        return false;
    }
    size_t Queued() {
        std::lock_guard lock(m_mutex);
        return m_queue.size();
    }
    std::string EndReason() {
        std::lock_guard lock(m_mutex);
        return m_end_reason;
    }

private:
    void Read(const client::Client& source) {
        auto reader = source.stub().StreamCommits(&m_context, m_request);
        v1::BlockSummary block;
        while (reader->Read(&block)) {
            std::lock_guard lock(m_mutex);
            m_queue.push_back(std::move(block));
            m_cv.notify_one();
        }
        const grpc::Status status = reader->Finish();
        std::lock_guard lock(m_mutex);
        m_ended = true;
        m_end_reason = status.ok() ? "stream closed" : status.error_message();
        m_cv.notify_one();
    }

    grpc::ClientContext m_context;
    v1::StreamBlocksRequest m_request;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<v1::BlockSummary> m_queue;  // guarded by m_mutex
    bool m_ended = false;                  // guarded by m_mutex
    std::string m_end_reason;              // guarded by m_mutex
    std::thread m_thread;                  // last: starts after the members it uses
};

}  // namespace

Relay::Relay(RelayOptions options, std::shared_ptr<const crypto::Signer> signer)
    : m_options(std::move(options)), m_signer(std::move(signer)) {}

Relay::~Relay() = default;

void Relay::Stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
}

RelayStats Relay::Snapshot() const {
    std::lock_guard lock(m_mutex);
    return m_stats;
}

bool Relay::Pause(uint32_t ms) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return m_stop.load(); });
    return !m_stop;
}

Status Relay::Run() {
    if (m_options.source_nodes.empty()) return InvalidArgument("relay: no source_nodes");
    if (m_options.upper_nodes.empty()) return InvalidArgument("relay: no upper_nodes");
    if (m_options.batch_blocks == 0) m_options.batch_blocks = 1;
    MC_LOG(kInfo, "relay", "started")("relay", m_options.name)(
        "batch_blocks", m_options.batch_blocks)("batch_ms", m_options.batch_ms);
    while (!m_stop) {
        RunSession();
        if (m_stop) break;
        {
            std::lock_guard lock(m_mutex);
            ++m_stats.resyncs;
        }
        Pause(300);
    }
    MC_LOG(kInfo, "relay", "stopped")("relay", m_options.name);
    return Status::Ok();
}

void Relay::RunSession() {
    const std::string& source_addr = m_options.source_nodes[m_source_index];
    const std::string& upper_addr = m_options.upper_nodes[m_upper_index];
    auto rotate_source = [&] {
        m_source_index = (m_source_index + 1) % m_options.source_nodes.size();
    };
    auto rotate_upper = [&] {
        m_upper_index = (m_upper_index + 1) % m_options.upper_nodes.size();
    };
    client::Client source(source_addr);
    client::Client upper(upper_addr);

    auto source_status = source.GetStatus();
    if (!source_status.ok()) {
        MC_LOG(kWarn, "relay", "lower chain node unreachable")("relay", m_options.name)(
            "node", source_addr)("error", source_status.status().message());
        rotate_source();
        return;
    }
    auto upper_status = upper.GetStatus();
    if (!upper_status.ok()) {
        MC_LOG(kWarn, "relay", "upper chain node unreachable")("relay", m_options.name)(
            "node", upper_addr)("error", upper_status.status().message());
        rotate_upper();
        return;
    }
    m_source_chain = source_status->chain_id();
    m_upper_chain = upper_status->chain_id();
    auto anchored = QueryAnchorStatus(upper, m_source_chain);
    if (!anchored.ok()) {
        MC_LOG(kWarn, "relay", "cannot read the anchor status")("relay", m_options.name)(
            "node", upper_addr)("error", anchored.status().message());
        rotate_upper();
        return;
    }
    if (!anchored->has_value()) {
        MC_LOG(kWarn, "relay", "lower chain not registered on the upper chain yet")(
            "relay", m_options.name)("chain", m_source_chain)("upper", m_upper_chain);
        Pause(2000);  // registration goes through governance: not a matter of milliseconds
        return;
    }
    if ((*anchored)->stopped()) {
        MC_LOG(kError, "relay", "anchoring stopped by the upper chain")("relay", m_options.name)(
            "chain", m_source_chain)("reason", (*anchored)->stop_reason());
        Pause(5000);
        return;
    }
    uint64_t last = (*anchored)->last_height();
    uint64_t tip = source_status->height();
    {
        std::lock_guard lock(m_mutex);
        m_stats.last_anchored = last;
        m_stats.source_tip = std::max(m_stats.source_tip, tip);
    }
    if (!m_nonce) {
        auto nonce = upper.LastNonce(m_signer->PublicKey());
        if (!nonce.ok()) {
            rotate_upper();
            return;
        }
        m_nonce = *nonce;
    }
    MC_LOG(kInfo, "relay", "following")("relay", m_options.name)("chain", m_source_chain)(
        "upper", m_upper_chain)("from", last + 1)("source", source_addr)("upper_node", upper_addr)(
        "lag_blocks", tip > last ? tip - last : 0);

    CommitStream stream(source, last + 1);
    std::vector<v1::BlockSummary> pending;
    Clock::time_point first_at;
    while (!m_stop) {
        const Clock::time_point deadline =
            pending.empty() ? Clock::now() + std::chrono::milliseconds(200)
                            : first_at + std::chrono::milliseconds(m_options.batch_ms);
        v1::BlockSummary block;
        bool ended = false;
        if (stream.Next(&block, deadline, &ended)) {
            const uint64_t expected =
                pending.empty() ? last + 1 : pending.back().header().height() + 1;
            if (block.header().height() < expected) continue;  // anchored meanwhile
            if (block.header().height() != expected) {
                MC_LOG(kWarn, "relay", "lower chain stream skipped heights")(
                    "relay", m_options.name)("expected", expected)("got", block.header().height());
                return;
            }
            if (pending.empty()) first_at = Clock::now();
            tip = std::max(tip, block.header().height());
            pending.push_back(std::move(block));
            if (pending.size() < m_options.batch_blocks) continue;
        } else if (ended) {
            MC_LOG(kWarn, "relay", "lower chain stream ended")("relay", m_options.name)(
                "node", source_addr)("reason", stream.EndReason());
            rotate_source();
            return;
        }
        if (pending.empty()) continue;
        if (pending.size() < m_options.batch_blocks && Clock::now() < first_at +
                std::chrono::milliseconds(m_options.batch_ms)) {
            continue;
        }
        tip = std::max<uint64_t>(tip, pending.back().header().height() + stream.Queued());

        // Drop what another relay anchored since; stop at anything unexpected.
        auto now_status = QueryAnchorStatus(upper, m_source_chain);
        if (!now_status.ok() || !now_status->has_value() || (*now_status)->stopped()) {
            rotate_upper();
            return;
        }
        const uint64_t upper_last = (*now_status)->last_height();
        if (upper_last > last) {
            std::erase_if(pending, [&](const v1::BlockSummary& b) {
                return b.header().height() <= upper_last;
            });
            last = upper_last;
            if (pending.empty()) continue;
            if (pending.front().header().height() != last + 1) return;
        }
        auto args = BuildAnchorArgs(m_source_chain, pending, tip);
        if (!args.ok()) {
            MC_LOG(kError, "relay", "cannot build an anchor")("relay", m_options.name)(
                "error", args.status().message());
            return;
        }
        const uint64_t nonce = *m_nonce + 1;
        const chain::Transaction tx = SignAnchorTx(m_upper_chain, nonce, WallMs(), *args, *m_signer);
        const auto submitted_at = Clock::now();
        auto hash = upper.Submit(tx);
        if (!hash.ok()) {
            MC_LOG(kWarn, "relay", "anchor not accepted by the upper node")(
                "relay", m_options.name)("node", upper_addr)("error", hash.status().message());
            m_nonce.reset();
            rotate_upper();
            return;
        }
        auto result = upper.WaitForCommit(*hash, m_options.commit_timeout_ms);
        if (!result.ok() || (result->state() != v1::TxStatus::COMMITTED &&
                             result->state() != v1::TxStatus::FAILED)) {
            MC_LOG(kWarn, "relay", "anchor commit not confirmed")("relay", m_options.name)(
                "node", upper_addr)("heights", std::to_string(args->from_height()) + ".." +
                                                   std::to_string(args->to_height()));
            m_nonce.reset();  // it may still commit: read the nonce again
            rotate_upper();
            return;
        }
        m_nonce = nonce;
        const auto commit_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   Clock::now() - submitted_at).count();
        if (result->state() == v1::TxStatus::FAILED) {
            const std::string code = AnchorReasonCode(result->reason());
            MC_LOG(kInfo, "relay", "anchor refused")("relay", m_options.name)(
                "chain", m_source_chain)("heights", std::to_string(args->from_height()) + ".." +
                                                        std::to_string(args->to_height()))(
                "reason", result->reason());
            std::lock_guard lock(m_mutex);
            ++m_stats.anchors_refused;
            return;  // another relay was first (or worse): read the upper chain again
        }
        const uint64_t header_ms = pending.back().header().timestamp_ms();
        const int64_t lag_ms = static_cast<int64_t>(WallMs()) - static_cast<int64_t>(header_ms);
        last = args->to_height();
        MC_LOG(kInfo, "relay", "anchored")("relay", m_options.name)("chain", m_source_chain)(
            "upper", m_upper_chain)("from", args->from_height())("to", args->to_height())(
            "upper_height", result->height())("lag_blocks", tip > last ? tip - last : 0)(
            "lag_ms", lag_ms)("commit_ms", commit_ms);
        {
            std::lock_guard lock(m_mutex);
            ++m_stats.anchors_committed;
            m_stats.last_anchored = last;
            m_stats.source_tip = std::max(m_stats.source_tip, tip);
            m_stats.last_lag_ms = lag_ms;
        }
        pending.clear();
    }
}

}  // namespace meterchain::crosschain
