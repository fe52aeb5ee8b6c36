// When a primary proposes a batch that is not full (Node::MaybePropose). Pure functions, so
// that the rule can be tested without a running node.
//
// A partial batch is proposed while no block is in flight; a second one joins the pipeline
// only when PipelineMinTxs(validators) transactions wait (heavy load: overlapping two blocks'
// verification and votes pays off). Light load thus makes fewer, larger blocks, whose votes
// cost less.
//
// That threshold grows with the validators. A block's votes cost the cluster about N^2
// signature checks (every validator checks every other's PREPARE and COMMIT), a transaction
// N (every validator checks it once). Blocks that grow with N keep the votes' share of the
// work the same: at saturation the blocks are about that threshold, and with a fixed 64 the
// votes took 8% of the cluster's signature checks with four validators and 14% with seven.
//
// Overload: at least kOverloadBacklog gossiped transactions wait for the primary's
// verification. Every block costs the cluster its PRE-PREPARE, votes, signatures and frames
// (about 23 ms of CPU with four validators and 71 ms with seven, measured at one transaction
// per block), so when the CPU is what limits the cluster, fewer and larger blocks leave more
// of it for the transactions. An overloaded primary's partial batch therefore also waits
// until it holds kBusyBlockTxs or has waited kBusyMaxDelay. Below overload nothing changes.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace meterchain::node {

inline constexpr uint64_t kPartialBlocksInFlight = 2;
inline constexpr size_t kPipelineMinTxs = 64;  // up to four validators
inline constexpr size_t kPipelineTxsPerValidator = kPipelineMinTxs / 4;
inline constexpr size_t kBusyBlockTxs = 128;
inline constexpr std::chrono::milliseconds kBusyMaxDelay{250};
inline constexpr size_t kOverloadBacklog = kPipelineMinTxs;  // gossip waiting for verification

// Transactions that must wait before a second block joins the pipeline.
inline size_t PipelineMinTxs(size_t validators) {
    return std::max(kPipelineMinTxs, kPipelineTxsPerValidator * validators);
}

struct PartialBatch {
    size_t validators = 4;            // in the current validator set
    size_t txs = 0;                   // transactions it would hold
    uint64_t heights_in_flight = 0;   // proposed and not yet committed
    bool delay_over = false;          // max_batch_delay_ms since the first of them arrived
    size_t gossip_backlog = 0;        // gossiped transactions waiting for verification
    bool busy_wait_over = false;      // kBusyMaxDelay since the first of them arrived
};

inline bool PipelineHasRoom(uint64_t heights_in_flight, size_t txs, size_t validators) {
    return heights_in_flight < kPartialBlocksInFlight &&
           (heights_in_flight == 0 || txs >= PipelineMinTxs(validators));
}

inline bool PartialBatchMayGo(const PartialBatch& b) {
    return b.delay_over && PipelineHasRoom(b.heights_in_flight, b.txs, b.validators) &&
           (b.gossip_backlog < kOverloadBacklog || b.txs >= kBusyBlockTxs || b.busy_wait_over);
}

}  // namespace meterchain::node
