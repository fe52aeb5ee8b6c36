// When a primary proposes a batch that is not full (Node::MaybePropose). Pure functions, so
// that the rule can be tested without a running node.
//
// A partial batch is proposed while no block is in flight; a second one joins the pipeline
// only when kPipelineMinTxs transactions wait (heavy load: overlapping two blocks'
// verification and votes pays off). Light load thus makes fewer, larger blocks, whose votes
// cost less.
//
// Overload: at least kOverloadBacklog gossiped transactions wait for the primary's
// verification. Every block costs the cluster its PRE-PREPARE, votes, signatures and frames
// (about 23 ms of CPU with four validators and 71 ms with seven, measured at one transaction
// per block), so when the CPU is what limits the cluster, fewer and larger blocks leave more
// of it for the transactions. An overloaded primary's partial batch therefore also waits
// until it holds kBusyBlockTxs or has waited kBusyMaxDelay. Below overload nothing changes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace meterchain::node {

inline constexpr uint64_t kPartialBlocksInFlight = 2;
inline constexpr size_t kPipelineMinTxs = 64;
inline constexpr size_t kBusyBlockTxs = 128;
inline constexpr std::chrono::milliseconds kBusyMaxDelay{250};
inline constexpr size_t kOverloadBacklog = kPipelineMinTxs;  // gossip waiting for verification

struct PartialBatch {
    size_t txs = 0;                   // transactions it would hold
    uint64_t heights_in_flight = 0;   // proposed and not yet committed
    bool delay_over = false;          // max_batch_delay_ms since the first of them arrived
    size_t gossip_backlog = 0;        // gossiped transactions waiting for verification
    bool busy_wait_over = false;      // kBusyMaxDelay since the first of them arrived
};

inline bool PipelineHasRoom(uint64_t heights_in_flight, size_t txs) {
    return heights_in_flight < kPartialBlocksInFlight &&
           (heights_in_flight == 0 || txs >= kPipelineMinTxs);
}

inline bool PartialBatchMayGo(const PartialBatch& b) {
    return b.delay_over && PipelineHasRoom(b.heights_in_flight, b.txs) &&
           (b.gossip_backlog < kOverloadBacklog || b.txs >= kBusyBlockTxs || b.busy_wait_over);
}

}  // namespace meterchain::node
