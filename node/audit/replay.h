// Offline replay of a stored chain: every block from genesis is read from a node's store,
// checked, and re-executed by the node's own executor into a fresh in-memory state, and the
// first check that fails is reported with the height, the transaction (if any), and the
// expected and the actual value.
//
// Checks, per block h, in this order (Check below; docs/AUDITING.md explains each):
//   block-record  the record of height h exists and parses
//   block-height  the record of height h is the block of height h
//   genesis       block 0 is the genesis built from the genesis file and validator set
//   hash-link     prev_hash = SM3(header of block h-1)
//   header-hash   the certificate names this header's hash and height; the hash index
//                 leads back to h
//   tx-root       the header's Merkle root covers exactly the stored transactions
//   tx-signature  every transaction's SM2 signature by its sender
//   certificate   a quorum of distinct validators of the set in force at h (the state after
//                 h-1) signed COMMIT for this block
//   execution     the executor accepts the block (chain id, nonces, well-formed bodies)
//   state-root    the re-executed state root equals the header's
//   receipt       the stored receipt and position of each transaction equal the re-executed
// and after the last block (when the replay reaches the tip):
//   tip           the tip record names the last block; no block is stored above it
//   stored-state  the node's stored state equals the replayed state, key by key
// A BlockCheck added to ReplayOptions::extra_checks runs after the built-in ones of each block
// (audit::AnchorCheck re-checks accepted cross-chain anchors).
//
// "expected" is always what the check recomputed or requires, "actual" what the store holds.
//
// Signatures (transactions and certificates) are checked on `jobs` threads, a window of
// blocks ahead of execution, which runs in order on the calling thread.
//
// Thread-safety: Replay may run concurrently with other calls on other stores; the store must
// not be written while it runs (a node's live store: replay a copy, see data_dir.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/contract.h"
#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/state.h"
#include "node/chain/types.h"
#include "node/chain/validators.h"
#include "node/storage/kv_store.h"

namespace meterchain::audit {

enum class Check {
    kBlockRecord,
    kBlockHeight,
    kGenesis,
    kHashLink,
    kHeaderHash,
    kTxRoot,
    kTxSignature,
    kCertificate,
    kExecution,
    kStateRoot,
    kReceipt,
    kTip,
    kStoredState,
    kAnchor,  // an accepted cross-chain anchor (audit::AnchorCheck, anchor_check.h)
};

// The stable name of a check ("tx-signature"), as printed and in JSON.
std::string_view CheckName(Check check);

struct Mismatch {
    Check check = Check::kBlockRecord;
    uint64_t height = 0;
    std::optional<uint32_t> tx_index;
    std::optional<Hash256> tx_hash;
    std::string expected;
    std::string actual;
    std::string detail;  // one sentence for a human

    // "height 42, transaction 3 (ab12...): tx-signature: <detail> (expected ..., actual ...)"
    std::string ToString() const;
};

struct ReplayProgress {
    uint64_t height = 0;     // last block executed
    uint64_t to_height = 0;  // where the replay stops
    uint64_t blocks = 0;
    uint64_t transactions = 0;
    uint64_t signatures = 0;  // transaction + commit signatures checked
    double seconds = 0;
};

// An additional per-block check. Runs on the replay thread after the block's built-in
// checks passed, with the state after the block.
class BlockCheck {
public:
    virtual ~BlockCheck() = default;
    virtual std::optional<Mismatch> CheckBlock(const chain::Block& block,
                                               const contracts::StateView& state_after) = 0;
};

struct ReplayOptions {
    // The genesis the chain must start from (block and state), as every node builds it from
    // its genesis file (node::LoadGenesis).
    std::string chain_id;
    chain::Block genesis_block;
    chain::WriteSet genesis_writes;
    // Contracts the blocks call, and the chain validation key handed to them (nullptr when the
    // chain has none). Not owned; must outlive the call.
    const contracts::Registry* registry = nullptr;
    const contracts::ValidationOpener* validation = nullptr;
    // Replay up to this height (default: the tip). The tip and stored-state checks run only
    // when the replay reaches the tip.
    std::optional<uint64_t> to_height;
    // Threads checking signatures (>= 1).
    unsigned jobs = 1;
    // Called on the replay thread at most every progress_interval, and once at the end.
    std::function<void(const ReplayProgress&)> on_progress;
    std::chrono::milliseconds progress_interval{250};
    // Not owned.
    std::vector<BlockCheck*> extra_checks;
};

struct ReplayReport {
    uint64_t tip_height = 0;      // from the store's tip record
    uint64_t to_height = 0;       // where the replay was asked to stop
    uint64_t blocks = 0;          // blocks that passed every check (genesis included)
    uint64_t transactions = 0;
    uint64_t tx_signatures = 0;
    uint64_t commit_signatures = 0;
    double seconds = 0;
    Hash256 state_root{};          // after the last block that passed
    bool reached_tip = false;      // the tip and stored-state checks ran
    std::optional<Mismatch> mismatch;  // the first failed check; nullopt when all passed
};

// Replays the chain stored in `chain` (a node's LevelDB, opened by the caller).
// Errors (the replay could not run; distinct from a chain that fails a check, which is a
// report with a mismatch): kInvalidArgument for bad options or a to_height above the tip,
// kNotFound when the store holds no chain, kIoError / kCorruption from the store itself.
Result<ReplayReport> Replay(const storage::KvStore& chain, const ReplayOptions& options);

// The validator set recorded in state under "sys/validators" (lines
// "name|organisation|role|public key hex"). kNotFound when absent, kInvalidArgument when
// malformed.
Result<chain::ValidatorSet> ValidatorSetFromState(const contracts::StateView& state);

}  // namespace meterchain::audit
