// The executor: runs blocks' transactions through the contract registry, computes state roots
// and stores committed blocks. It is the consensus core's Application.
//
// Transactions (chain::TxType):
//   TX_STATE_PUT      payload StatePut {key, value}: writes "kv/<key>" (tools and tests)
//   TX_CONTRACT_CALL  payload ContractCall {contract, method, args}: contracts::Registry
// Per transaction, before the contract runs: body well formed, chain id, SM2 signature (once per
// node: keys in the crypto::SignatureCache are trusted), nonce exactly one above the sender's last one.
// Those failures make the whole block invalid (a correct primary never proposes them). A
// contract that fails only fails its transaction: its writes are discarded, the receipt
// carries the status code and message, and the nonce still advances (no replay).
//
// Uncommitted blocks are executed speculatively on top of their parent (the committed tip or
// an earlier executed block); results wait in memory until the block commits or falls behind.
//
// Thread-safety: Execute/Commit/Genesis run on the consensus thread only. CommittedNonce and
// reads of committed state may run on any thread (they only read the ChainStore).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/base/parallel_for.h"
#include "consensus/application.h"
#include "contracts/contract.h"
#include "node/chain/state.h"
#include "node/chain/types.h"
#include "node/crypto/signature_cache.h"
#include "node/crypto/signer.h"
#include "node/storage/chain_store.h"

namespace meterchain::executor {

struct ExecutorOptions {
    std::string chain_id;
    uint64_t max_clock_skew_ms = 30000;  // proposals further in the future are refused
    std::function<uint64_t()> now_ms;    // wall clock in ms since the epoch (injected)
    // The chain validation key handed to contracts (CallContext::validation); nullptr when the
    // node holds none. Not owned; must outlive the executor.
    const contracts::ValidationOpener* validation = nullptr;
    // When set, signatures a block brings that this node has not verified yet are checked
    // through it in parallel before the transactions run (empty: one by one).
    base::ParallelFor parallel_for;
};

// What executing one block produced.
struct ExecutedBlock {
    chain::BlockHeader header;  // state_root filled in
    std::vector<chain::Receipt> receipts;
    chain::SealedWriteSet writes;
};

// State keys the executor itself owns.
std::string NonceKey(ByteView sender);  // value: the last nonce, big-endian u64
// The sender's last committed nonce (0 if none). Thread-safe.
uint64_t CommittedNonce(const storage::ChainStore& store, ByteView sender);
inline constexpr std::string_view kKvPrefix = "kv/";

// The genesis block (height 0, no transactions, no certificate signatures) whose state is
// `writes`. Every node builds the same one from the same genesis file.
chain::Block MakeGenesisBlock(const std::string& chain_id, uint64_t timestamp_ms,
                              const chain::WriteSet& writes);

// Committed state as a read-only StateView (contract queries, the owner's delivery). Writes
// are ignored. Safe on any thread: the ChainStore serves concurrent reads.
class CommittedStateView final : public contracts::StateView {
public:
    explicit CommittedStateView(const storage::ChainStore& store) : m_store(store) {}
    std::optional<Bytes> Get(std::string_view key) const override {
        auto v = m_store.GetState(key);
        return v.ok() ? *v : std::nullopt;
    }
    void Put(std::string_view, ByteView) override {}
    void Delete(std::string_view) override {}
    void Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const override {
        (void)m_store.ScanState(prefix, fn);
    }

private:
    const storage::ChainStore& m_store;
};

class Executor : public consensus::Application {
public:
    // `store`, `registry`, `verifier` and `cache` must outlive the executor.
    Executor(ExecutorOptions options, storage::ChainStore& store,
             const contracts::Registry& registry, const crypto::Verifier& verifier,
             crypto::SignatureCache& cache);

    // Stores the genesis block when the store is empty; checks it matches otherwise.
    Status InitGenesis(const chain::Block& genesis, const chain::WriteSet& writes);

    Result<Hash256> Execute(const chain::Block& block) override;

    // Stores a committed block (with its certificate), executing it first if needed, in one
    // synced write. Returns its receipts.
    Result<std::vector<chain::Receipt>> Commit(const chain::Block& block);

    // The sender's last committed nonce (0 if none). Thread-safe.
    uint64_t CommittedNonce(ByteView sender) const;

    size_t pending_blocks() const { return m_pending.size(); }

private:
    class BlockView;
    // Executes on top of `parent_hash`; nullptr parent when it is the committed tip.
    Result<ExecutedBlock> Run(const chain::Block& block, const Hash256& parent_root,
                              const ExecutedBlock* parent) const;
    const ExecutedBlock* FindPending(const Hash256& hash) const;
    void Prune(uint64_t committed_height);

    ExecutorOptions m_opt;
    storage::ChainStore& m_store;
    const contracts::Registry& m_registry;
    const crypto::Verifier& m_verifier;
    crypto::SignatureCache& m_cache;
    // Executed, uncommitted blocks by hash (with the state root filled in); parents by hash.
    std::map<Hash256, ExecutedBlock> m_pending;
};

}  // namespace meterchain::executor

// The names as the daemon spelled them before the executor had its own namespace, kept so
// that code written against them still builds; new code says executor::.
namespace meterchain::node {
using executor::CommittedNonce;
using executor::CommittedStateView;
using executor::ExecutedBlock;
using executor::Executor;
using executor::ExecutorOptions;
using executor::kKvPrefix;
using executor::MakeGenesisBlock;
using executor::NonceKey;
}  // namespace meterchain::node
