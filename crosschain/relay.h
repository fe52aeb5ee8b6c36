// The relay: follows a lower chain's committed blocks over the client API and anchors them on
// the chain above (docs/CROSSCHAIN.md, "Relay").
//
// Stateless: everything that matters is on the upper chain. On start, and whenever an anchor is
// refused or a connection breaks, the relay reads the last anchored height from the upper
// chain's anchor contract and streams the lower chain from the height after it. Several relays
// may run at once: before each anchor a relay drops what another one anchored meanwhile, and
// a race that still produces two anchors of one range is refused by the contract (DUPLICATE or
// OVERLAP), after which the loser resynchronises.
//
// Batching: one anchor per `batch_blocks` blocks or `batch_ms` after the first unanchored block
// arrived, whichever comes first.
//
// Thread-safety: Run is called once, from one thread; Stop and Snapshot from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "node/base/status.h"
#include "node/crypto/signer.h"

namespace meterchain::crosschain {

struct RelayOptions {
    std::vector<std::string> source_nodes;  // lower chain client API addresses, tried in turn
    std::vector<std::string> upper_nodes;   // upper chain client API addresses, tried in turn
    uint32_t batch_blocks = 16;
    uint32_t batch_ms = 1000;
    uint32_t commit_timeout_ms = 10000;
    std::string name = "relay";
};

// What a relay has done so far (for logs, the benchmark and tests).
struct RelayStats {
    uint64_t anchors_committed = 0;
    uint64_t anchors_refused = 0;     // DUPLICATE / OVERLAP / GAP: another relay was first
    uint64_t resyncs = 0;
    uint64_t last_anchored = 0;       // as far as this relay knows
    uint64_t source_tip = 0;          // highest lower height seen
    int64_t last_lag_ms = 0;          // commit time of the last anchor - its header's time
};

class Relay {
public:
    // `signer` signs the anchor transactions (the relay's own key, never a validator's).
    Relay(RelayOptions options, std::shared_ptr<const crypto::Signer> signer);
    ~Relay();
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    // Runs until Stop(). Errors only for what retrying cannot fix (empty node lists); lost
    // connections, refusals and timeouts are logged and retried.
    Status Run();
    void Stop();
    RelayStats Snapshot() const;

private:
    // One pass: resynchronise, stream, anchor; returns when something needs a resync.
    void RunSession();
    // Waits up to `ms` or until Stop(); false when stopped.
    bool Pause(uint32_t ms);

    RelayOptions m_options;
    std::shared_ptr<const crypto::Signer> m_signer;
    std::atomic<bool> m_stop{false};
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;   // Stop() wakes Pause()
    RelayStats m_stats;             // guarded by m_mutex
    size_t m_source_index = 0;      // rotates over source_nodes on failure
    size_t m_upper_index = 0;       // rotates over upper_nodes on failure
    std::optional<uint64_t> m_nonce;  // last nonce used; unknown after an uncertain submit
    std::string m_source_chain;
    std::string m_upper_chain;
};

}  // namespace meterchain::crosschain
