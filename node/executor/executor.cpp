#include "node/executor/executor.h"

#include "node/base/codec.h"
#include "node/chain/merkle.h"
#include "node/chain/tx_signatures.h"
#include "proto/chain.pb.h"

namespace meterchain::executor {
namespace {

constexpr size_t kMaxStateKey = 256;
constexpr size_t kMaxStateValue = 64 * 1024;
constexpr size_t kMaxPendingBlocks = 512;

uint64_t DecodeNonce(const std::optional<Bytes>& v) {
    uint64_t n = 0;
    if (!v) return 0;
    codec::Reader r(*v);
    return r.U64(n) && r.AtEnd() ? n : 0;
}

Bytes EncodeNonce(uint64_t n) { return codec::Writer().U64(n).bytes(); }

using Entries = std::map<std::string, Bytes, std::less<>>;

// Applies a layer of writes under `prefix` to `entries` (a deletion removes the key).
void ApplyLayer(Entries& entries, const chain::WriteSet& layer, std::string_view prefix) {
    for (auto it = layer.lower_bound(std::string(prefix)); it != layer.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        if (it->second) {
            entries.insert_or_assign(it->first, *it->second);
        } else {
            entries.erase(it->first);
        }
    }
}

void Emit(const Entries& entries, const std::function<bool(std::string_view, ByteView)>& fn) {
    for (const auto& [k, v] : entries) {
        if (!fn(k, v)) break;
    }
}

// Writes of one transaction on top of a base view; merged into the block on success.
class Overlay final : public contracts::StateView {
public:
    explicit Overlay(const contracts::StateView& base) : m_base(base) {}
    // An overlay over another overlay must layer on it, never copy it: a copy (what
    // `Overlay tx(block)` would otherwise pick) duplicated the block's writes for every
    // transaction, quadratic in the block size.
    Overlay(const Overlay&) = delete;
    Overlay& operator=(const Overlay&) = delete;

    std::optional<Bytes> Get(std::string_view key) const override {
        auto it = m_writes.find(std::string(key));
        if (it != m_writes.end()) return it->second;
        return m_base.Get(key);
    }
    void Put(std::string_view key, ByteView value) override {
        m_writes.insert_or_assign(std::string(key), Bytes(value.begin(), value.end()));
    }
    void Delete(std::string_view key) override {
        m_writes.insert_or_assign(std::string(key), std::nullopt);
    }
    void Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const override {
        Entries merged;
        m_base.Scan(prefix, [&](std::string_view k, ByteView v) {
            merged.emplace(std::string(k), Bytes(v.begin(), v.end()));
            return true;
        });
        ApplyLayer(merged, m_writes, prefix);
        Emit(merged, fn);
    }
    chain::WriteSet TakeWrites() { return std::move(m_writes); }
    void Absorb(chain::WriteSet child) {
        if (m_writes.empty()) {
            m_writes = std::move(child);
            return;
        }
        for (auto& [k, v] : child) m_writes.insert_or_assign(k, std::move(v));
    }

private:
    const contracts::StateView& m_base;
    chain::WriteSet m_writes;
};

}  // namespace

// Committed state plus the writes of uncommitted ancestors (nearest first). Read-only.
class Executor::BlockView final : public contracts::StateView {
public:
    BlockView(const storage::ChainStore& store, std::vector<const chain::WriteSet*> layers)
        : m_store(store), m_layers(std::move(layers)) {}

    std::optional<Bytes> Get(std::string_view key) const override {
        const std::string k(key);
        for (const auto* layer : m_layers) {
            auto it = layer->find(k);
            if (it != layer->end()) return it->second;
        }
        auto v = m_store.GetState(key);
        // A read error of committed state cannot be turned into a deterministic answer.
        if (!v.ok()) std::abort();
        return *v;
    }
    void Put(std::string_view, ByteView) override { std::abort(); }
    void Delete(std::string_view) override { std::abort(); }
    void Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const override {
        Entries merged;
        Status s = m_store.ScanState(prefix, [&](std::string_view k, ByteView v) {
            merged.emplace(std::string(k), Bytes(v.begin(), v.end()));
            return true;
        });
        if (!s.ok()) std::abort();
        for (auto layer = m_layers.rbegin(); layer != m_layers.rend(); ++layer) {
            ApplyLayer(merged, **layer, prefix);
        }
        Emit(merged, fn);
    }

private:
    const storage::ChainStore& m_store;
    std::vector<const chain::WriteSet*> m_layers;
};

std::string NonceKey(ByteView sender) { return "sys/nonce/" + ToHex(sender); }

chain::Block MakeGenesisBlock(const std::string& chain_id, uint64_t timestamp_ms,
                              const chain::WriteSet& writes) {
    chain::Block b;
    b.header.height = 0;
    b.header.tx_root = chain::MerkleRoot({});
    b.header.state_root = chain::NextStateRoot(Hash256{}, writes);
    b.header.timestamp_ms = timestamp_ms;
    b.header.chain_id = chain_id;
    b.certificate.height = 0;
    b.certificate.block_hash = b.Hash();
    return b;
}

Executor::Executor(ExecutorOptions options, storage::ChainStore& store,
                   const contracts::Registry& registry, const crypto::Verifier& verifier,
                   crypto::SignatureCache& cache)
    : m_opt(std::move(options)),
      m_store(store),
      m_registry(registry),
      m_verifier(verifier),
      m_cache(cache) {}

Status Executor::InitGenesis(const chain::Block& genesis, const chain::WriteSet& writes) {
    const auto tip = m_store.Tip();
    if (tip.empty) return m_store.AppendBlock(genesis, {}, writes);
    auto stored = m_store.GetBlock(0);
    if (!stored.ok()) return stored.status();
    if (stored->Hash() != genesis.Hash()) {
        return FailedPrecondition("the data dir holds another chain: genesis " +
                                  ToHex(stored->Hash()).substr(0, 16) + " != configured " +
                                  ToHex(genesis.Hash()).substr(0, 16));
    }
    return Status::Ok();
}

const ExecutedBlock* Executor::FindPending(const Hash256& hash) const {
    auto it = m_pending.find(hash);
    return it == m_pending.end() ? nullptr : &it->second;
}

Result<Hash256> Executor::Execute(const chain::Block& block) {
    // The same header (hence the same transactions, through tx_root) was executed already:
    // the primary executes its proposal to fill in the state root and then accepts it.
    if (const ExecutedBlock* done = FindPending(block.Hash())) return done->header.state_root;
    const auto tip = m_store.Tip();
    const ExecutedBlock* parent = nullptr;
    Hash256 parent_root{};
    if (!tip.empty && block.header.prev_hash == tip.block_hash) {
        if (block.header.height != tip.height + 1) {
            return InvalidArgument("block " + std::to_string(block.header.height) +
                                   " does not follow the committed tip " +
                                   std::to_string(tip.height));
        }
        parent_root = tip.state_root;
    } else {
        parent = FindPending(block.header.prev_hash);
        if (parent == nullptr) {
            return FailedPrecondition("parent " + ToHex(block.header.prev_hash).substr(0, 16) +
                                      " of block " + std::to_string(block.header.height) +
                                      " is unknown");
        }
        if (block.header.height != parent->header.height + 1) {
            return InvalidArgument("block height does not follow its parent");
        }
        parent_root = parent->header.state_root;
    }
    auto executed = Run(block, parent_root, parent);
    if (!executed.ok()) return executed.status();
    const Hash256 root = executed->header.state_root;
    const Hash256 hash = executed->header.Hash();
    if (m_pending.size() >= kMaxPendingBlocks) Prune(tip.empty ? 0 : tip.height);
    m_pending.insert_or_assign(hash, std::move(*executed));
    return root;
}

Result<ExecutedBlock> Executor::Run(const chain::Block& block, const Hash256& parent_root,
                                    const ExecutedBlock* parent) const {
    const std::string where = "block " + std::to_string(block.header.height);
    if (block.header.chain_id != m_opt.chain_id) {
        return InvalidArgument(where + ": chain id '" + block.header.chain_id + "'");
    }
    if (m_opt.now_ms && block.header.timestamp_ms > m_opt.now_ms() + m_opt.max_clock_skew_ms) {
        return InvalidArgument(where + ": timestamp is too far in the future");
    }
    std::vector<const chain::WriteSet*> layers;
    for (const ExecutedBlock* p = parent; p != nullptr; p = FindPending(p->header.prev_hash)) {
        layers.push_back(&p->writes.writes());
    }
    BlockView base(m_store, std::move(layers));
    Overlay block_state(base);
    ExecutedBlock out;
    out.header = block.header;
    out.receipts.reserve(block.transactions.size());
    if (m_opt.parallel_for) {
        chain::PreverifyTransactions(block.transactions, m_verifier, m_cache, m_opt.parallel_for,
                                     crypto::OnBusy::kRepeat);
    }

    for (size_t i = 0; i < block.transactions.size(); ++i) {
        const auto& tx = block.transactions[i];
        const std::string tx_where = where + " tx " + std::to_string(i);
        const Hash256 tx_hash = tx.Hash();
        auto body = chain::VerifyTransactionOnce(tx, tx_hash, m_verifier, m_cache,
                                                 crypto::OnBusy::kRepeat);
        if (!body.ok()) return Status(body.status().code(), tx_where + ": " + body.status().message());
        if (body->chain_id != m_opt.chain_id) {
            return InvalidArgument(tx_where + ": chain id '" + body->chain_id + "'");
        }
        const std::string nonce_key = NonceKey(body->sender);
        const uint64_t last = DecodeNonce(block_state.Get(nonce_key));
        if (body->nonce != last + 1) {
            return InvalidArgument(tx_where + ": nonce " + std::to_string(body->nonce) +
                                   (body->nonce <= last ? " replayed" : " leaves a gap") +
                                   " (last " + std::to_string(last) + ")");
        }
        block_state.Put(nonce_key, EncodeNonce(body->nonce));

        Overlay tx_state(static_cast<const contracts::StateView&>(block_state));
        Status result;
        switch (static_cast<chain::TxType>(body->type)) {
            case chain::TxType::kStatePut: {
                v1::StatePut put;
                if (!put.ParseFromArray(body->payload.data(),
                                        static_cast<int>(body->payload.size()))) {
                    result = InvalidArgument("payload is not a StatePut");
                } else if (put.key().empty() || put.key().size() > kMaxStateKey) {
                    result = InvalidArgument("state key must be 1.." +
                                             std::to_string(kMaxStateKey) + " bytes");
                } else if (put.value().size() > kMaxStateValue) {
                    result = InvalidArgument("state value larger than 64 KiB");
                } else {
                    tx_state.Put(std::string(kKvPrefix) + put.key(), AsBytes(put.value()));
                }
                break;
            }
            case chain::TxType::kContractCall: {
                v1::ContractCall call;
                if (!call.ParseFromArray(body->payload.data(),
                                         static_cast<int>(body->payload.size()))) {
                    result = InvalidArgument("payload is not a ContractCall");
                    break;
                }
                contracts::Contract* contract = m_registry.Find(call.contract());
                if (contract == nullptr) {
                    result = NotFound("no contract '" + call.contract() + "'");
                    break;
                }
                contracts::CallContext ctx;
                ctx.chain_id = m_opt.chain_id;
                ctx.sender = body->sender;
                ctx.tx_hash = tx_hash;
                ctx.height = block.header.height;
                ctx.block_timestamp_ms = block.header.timestamp_ms;
                ctx.tx_index = static_cast<uint32_t>(i);
                ctx.validation = m_opt.validation;
                result = contract->Call(ctx, call.method(), AsBytes(call.args()), tx_state);
                break;
            }
            default:
                result = InvalidArgument("unknown transaction type " + std::to_string(body->type));
        }
        if (result.ok()) {
            block_state.Absorb(tx_state.TakeWrites());
            out.receipts.push_back({0, ""});
        } else {
            out.receipts.push_back({static_cast<uint32_t>(result.code()), result.message()});
        }
    }
    out.writes = chain::SealedWriteSet(block_state.TakeWrites());
    out.header.state_root = chain::NextStateRoot(parent_root, out.writes);
    return out;
}

Result<std::vector<chain::Receipt>> Executor::Commit(const chain::Block& block) {
    const Hash256 hash = block.Hash();
    if (FindPending(hash) == nullptr) {
        auto root = Execute(block);
        if (!root.ok()) return root.status();
        if (*root != block.header.state_root) {
            return Internal("block " + std::to_string(block.header.height) +
                            " executes to another state root: local state diverged");
        }
    }
    auto it = m_pending.find(hash);
    if (it == m_pending.end()) return Internal("executed block vanished");
    MC_RETURN_IF_ERROR(m_store.AppendBlock(block, it->second.receipts, it->second.writes));
    std::vector<chain::Receipt> receipts = std::move(it->second.receipts);
    Prune(block.header.height);
    return receipts;
}

void Executor::Prune(uint64_t committed_height) {
    for (auto it = m_pending.begin(); it != m_pending.end();) {
        if (it->second.header.height <= committed_height) {
            it = m_pending.erase(it);
        } else {
            ++it;
        }
    }
    // Speculative forks that can no longer commit are bounded by the consensus window; a
    // hard cap guards against a misbehaving primary feeding many siblings.
    while (m_pending.size() > kMaxPendingBlocks) {
        auto highest = m_pending.begin();
        for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
            if (it->second.header.height > highest->second.header.height) highest = it;
        }
        m_pending.erase(highest);
    }
}

uint64_t CommittedNonce(const storage::ChainStore& store, ByteView sender) {
    auto v = store.GetState(NonceKey(sender));
    return v.ok() ? DecodeNonce(*v) : 0;
}

uint64_t Executor::CommittedNonce(ByteView sender) const {
    return executor::CommittedNonce(m_store, sender);
}

}  // namespace meterchain::executor
