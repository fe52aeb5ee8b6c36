#include "node/audit/replay.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "node/audit/chain_reader.h"
#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/crypto/signature_cache.h"
#include "node/crypto/signer.h"
#include "node/executor/executor.h"
#include "node/storage/chain_store.h"

namespace meterchain::audit {
namespace {

// A window holds at most this many blocks or transactions; two windows are in flight (one
// being verified, one executing), so both must fit the executor's signature cache.
constexpr size_t kWindowBlocks = 256;
constexpr size_t kWindowTxs = 2048;
// Signatures one worker job checks (small enough to spread a window over every thread).
constexpr size_t kJobItems = 16;
constexpr std::string_view kValidatorsKey = "sys/validators";

std::string Short(const Hash256& h) { return ToHex(h); }

// What a replay shows of a state value: text when it is printable, hex otherwise, cut at
// 64 bytes.
std::string ShowValue(const std::optional<Bytes>& value) {
    if (!value) return "(absent)";
    const Bytes& v = *value;
    const bool printable = std::all_of(v.begin(), v.end(), [](uint8_t c) {
        return c >= 0x20 && c < 0x7f;
    });
    const size_t n = std::min<size_t>(v.size(), 64);
    std::string out = printable ? "\"" + std::string(v.begin(), v.begin() + n) + "\""
                                : "0x" + ToHex(ByteView(v).first(n));
    if (n < v.size()) out += "... (" + std::to_string(v.size()) + " bytes)";
    return out;
}

// The replay's state: an in-memory store that keeps only what the executor reads back (state
// and metadata records), not the blocks and indexes a ChainStore also writes, so memory
// grows with the state and not with the chain. Remembers which height last wrote each key.
class StateOnlyKv final : public storage::KvStore {
public:
    StateOnlyKv() : m_inner(storage::NewMemKv()) {}

    Result<std::optional<Bytes>> Get(std::string_view key) const override {
        return m_inner->Get(key);
    }
    Status Write(const storage::KvBatch& batch, bool sync) override {
        storage::KvBatch kept;
        for (const auto& [key, value] : batch.ops()) {
            const bool state = !key.empty() && key[0] == 's';
            if (!state && key.rfind("m:", 0) != 0) continue;
            if (state) m_last_writer[key.substr(1)] = m_height;
            if (value) {
                kept.Put(key, *value);
            } else {
                kept.Delete(key);
            }
        }
        return m_inner->Write(kept, sync);
    }
    Status Scan(std::string_view prefix,
                const std::function<bool(std::string_view, ByteView)>& fn) const override {
        return m_inner->Scan(prefix, fn);
    }
    Status ScanFrom(std::string_view prefix, std::string_view start,
                    const std::function<bool(std::string_view, ByteView)>& fn) const override {
        return m_inner->ScanFrom(prefix, start, fn);
    }

    void SetHeight(uint64_t h) { m_height = h; }
    std::optional<uint64_t> LastWriter(const std::string& key) const {
        auto it = m_last_writer.find(key);
        if (it == m_last_writer.end()) return std::nullopt;
        return it->second;
    }

private:
    std::unique_ptr<storage::KvStore> m_inner;
    uint64_t m_height = 0;
    std::map<std::string, uint64_t> m_last_writer;
};

// The validator set certificates are checked against, with a generation that changes
// whenever the state's set changes.
struct SetInfo {
    chain::ValidatorSet set;
    Bytes raw;
    uint64_t generation = 0;
};

struct PendingBlock {
    chain::Block block;
    Hash256 hash{};
    std::vector<Status> tx_status;  // per transaction: its signature check
    Status cert_status;             // the certificate against `cert_set`
    std::shared_ptr<const SetInfo> cert_set;
};

struct Window {
    uint64_t first = 0;
    std::vector<PendingBlock> blocks;
    // A record that could not be read, at height first + blocks.size(): reported once every
    // block below it passed.
    std::optional<Mismatch> stop;
    std::shared_ptr<const SetInfo> set;
    // Verification items: a transaction (block, index) or a certificate (block, kCert).
    static constexpr uint32_t kCert = UINT32_MAX;
    std::vector<std::pair<uint32_t, uint32_t>> items;
    std::mutex mutex;
    std::condition_variable done_cv;
    size_t remaining_jobs = 0;  // guarded by mutex
};

// Threads checking the signatures of windows. Jobs run in the order posted.
class VerifyPool {
public:
    VerifyPool(unsigned threads, const std::string& chain_id, const crypto::Verifier& verifier,
               crypto::SignatureCache& cache)
        : m_chain_id(chain_id), m_verifier(verifier), m_cache(cache) {
        for (unsigned i = 0; i < threads; ++i) m_threads.emplace_back([this] { Run(); });
    }
    ~VerifyPool() {
        {
            std::lock_guard lock(m_mutex);
            m_stopping = true;
        }
        m_cv.notify_all();
        for (auto& t : m_threads) t.join();
    }

    void Dispatch(const std::shared_ptr<Window>& w) {
        for (uint32_t b = 0; b < w->blocks.size(); ++b) {
            PendingBlock& p = w->blocks[b];
            p.tx_status.assign(p.block.transactions.size(), Status::Ok());
            p.cert_set = w->set;
            for (uint32_t i = 0; i < p.block.transactions.size(); ++i) w->items.emplace_back(b, i);
            if (p.block.header.height > 0) w->items.emplace_back(b, Window::kCert);
        }
        const size_t jobs = (w->items.size() + kJobItems - 1) / kJobItems;
        {
            std::lock_guard lock(w->mutex);
            w->remaining_jobs = jobs;
        }
        {
            std::lock_guard lock(m_mutex);
            for (size_t j = 0; j < jobs; ++j) m_jobs.push_back({w, j * kJobItems});
        }
        m_cv.notify_all();
    }

    static void Wait(Window& w) {
        std::unique_lock lock(w.mutex);
        w.done_cv.wait(lock, [&] { return w.remaining_jobs == 0; });
    }

private:
    struct Job {
        std::shared_ptr<Window> window;
        size_t first;
    };

    void Run() {
        for (;;) {
            Job job;
            {
                std::unique_lock lock(m_mutex);
                m_cv.wait(lock, [&] { return m_stopping || !m_jobs.empty(); });
                if (m_stopping) return;
                job = std::move(m_jobs.front());
                m_jobs.pop_front();
            }
            Window& w = *job.window;
            const size_t end = std::min(w.items.size(), job.first + kJobItems);
            for (size_t k = job.first; k < end; ++k) Verify(w, w.items[k]);
            bool last = false;
            {
                std::lock_guard lock(w.mutex);
                last = --w.remaining_jobs == 0;
            }
            if (last) w.done_cv.notify_all();
        }
    }

    void Verify(Window& w, std::pair<uint32_t, uint32_t> item) {
        PendingBlock& p = w.blocks[item.first];
        if (item.second == Window::kCert) {
            p.cert_status = chain::VerifyCertificate(p.block.certificate, m_chain_id,
                                                     p.cert_set->set, m_verifier);
            return;
        }
        chain::Transaction& tx = p.block.transactions[item.second];
        tx.RememberHash();
        auto body = chain::VerifyTransaction(tx, m_verifier);
        if (body.ok()) {
            // The executor then finds the signature checked and only parses the body.
            m_cache.Insert(crypto::SignatureCacheKey(tx.Hash(), tx.signature));
        } else {
            p.tx_status[item.second] = body.status();
        }
    }

    const std::string m_chain_id;
    const crypto::Verifier& m_verifier;
    crypto::SignatureCache& m_cache;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Job> m_jobs;   // guarded by m_mutex
    bool m_stopping = false;  // guarded by m_mutex
    std::vector<std::thread> m_threads;
};

// The transaction index named in an executor error ("block 7 tx 3: ..."), if any.
std::optional<uint32_t> TxIndexInMessage(const std::string& message) {
    const size_t at = message.find(" tx ");
    if (at == std::string::npos) return std::nullopt;
    size_t i = at + 4;
    uint64_t n = 0;
    bool digits = false;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9') {
        n = n * 10 + static_cast<uint64_t>(message[i] - '0');
        digits = true;
        ++i;
        if (n > UINT32_MAX) return std::nullopt;
    }
    if (!digits) return std::nullopt;
    return static_cast<uint32_t>(n);
}

Mismatch Make(Check check, uint64_t height, std::string detail, std::string expected,
              std::string actual) {
    Mismatch m;
    m.check = check;
    m.height = height;
    m.detail = std::move(detail);
    m.expected = std::move(expected);
    m.actual = std::move(actual);
    return m;
}

class Replayer {
public:
    Replayer(const storage::KvStore& kv, const ReplayOptions& options)
        : m_reader(kv), m_opt(options) {}

    Result<ReplayReport> Run();

private:
    std::shared_ptr<Window> LoadWindow(uint64_t from, uint64_t to);
    // The checks of one block; nullopt when it passed (and was executed).
    Result<std::optional<Mismatch>> CheckBlock(PendingBlock& p);
    Result<std::optional<Mismatch>> CheckTxRoot(const PendingBlock& p);
    Result<std::optional<Mismatch>> CheckReceipts(const PendingBlock& p,
                                                  const std::vector<chain::Receipt>& receipts);
    Result<std::optional<Mismatch>> CheckTip();
    Result<std::optional<Mismatch>> CheckStoredState();
    Status RefreshValidatorSet();
    void Progress(bool final);

    ChainReader m_reader;
    const ReplayOptions& m_opt;
    StoredTip m_tip;
    ReplayReport m_report;
    StateOnlyKv* m_state_kv = nullptr;  // owned by m_store
    std::unique_ptr<storage::ChainStore> m_store;
    std::unique_ptr<executor::Executor> m_executor;
    crypto::Sm2Verifier m_verifier;
    std::unique_ptr<crypto::SignatureCache> m_cache;
    std::shared_ptr<const SetInfo> m_set;
    Hash256 m_prev_hash{};
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last_progress;
    uint64_t m_last_height = 0;
};

std::shared_ptr<Window> Replayer::LoadWindow(uint64_t from, uint64_t to) {
    auto w = std::make_shared<Window>();
    w->first = from;
    w->set = m_set;
    size_t txs = 0;
    for (uint64_t h = from; h <= to && w->blocks.size() < kWindowBlocks && txs < kWindowTxs; ++h) {
        auto bytes = m_reader.BlockBytes(h);
        if (!bytes.ok()) {
            w->stop = Make(Check::kBlockRecord, h,
                           "the store failed reading block " + std::to_string(h) + ": " +
                               bytes.status().message(),
                           "a readable block record", "a read error");
            break;
        }
        if (!*bytes) {
            w->stop = Make(Check::kBlockRecord, h,
                           "block " + std::to_string(h) + " is missing: the chain is truncated "
                           "below the tip record's height " + std::to_string(m_tip.height),
                           "a block record at height " + std::to_string(h), "none");
            break;
        }
        auto block = chain::ParseBlock(**bytes);
        if (!block.ok()) {
            w->stop = Make(Check::kBlockRecord, h,
                           "the stored record of block " + std::to_string(h) +
                               " does not parse: " + block.status().message(),
                           "a well-formed block", std::to_string((*bytes)->size()) +
                                                      " bytes that do not parse");
            break;
        }
        if (block->header.height != h) {
            w->stop = Make(Check::kBlockHeight, h,
                           "the record stored at height " + std::to_string(h) +
                               " is another block (blocks swapped or moved)",
                           std::to_string(h), std::to_string(block->header.height));
            break;
        }
        PendingBlock p;
        p.hash = block->Hash();
        p.block = std::move(*block);
        txs += p.block.transactions.size();
        w->blocks.push_back(std::move(p));
    }
    return w;
}

Status Replayer::RefreshValidatorSet() {
    auto raw = m_store->GetState(kValidatorsKey);
    if (!raw.ok()) return raw.status();
    const Bytes value = raw->value_or(Bytes{});
    if (m_set && m_set->raw == value) return Status::Ok();
    auto info = std::make_shared<SetInfo>();
    info->raw = value;
    info->generation = m_set ? m_set->generation + 1 : 1;
    executor::CommittedStateView view(*m_store);
    auto set = ValidatorSetFromState(view);
    if (set.ok()) {
        info->set = std::move(*set);
        // Validators sign every certificate: their keys get precomputed tables, as on a node.
        for (const auto& v : info->set.all()) (void)m_verifier.Precompute(v.public_key);
    }
    // A missing or malformed set stays empty: every certificate then fails, naming it.
    m_set = std::move(info);
    return Status::Ok();
}

Result<std::optional<Mismatch>> Replayer::CheckTxRoot(const PendingBlock& p) {
    const chain::Block& b = p.block;
    const std::vector<Hash256> hashes = b.TxHashes();
    const Hash256 root = chain::MerkleRoot(hashes);
    if (root == b.header.tx_root) return std::optional<Mismatch>();
    Mismatch m = Make(Check::kTxRoot, b.header.height,
                      "the header's Merkle root does not cover the stored transactions",
                      Short(root), Short(b.header.tx_root));
    // Name the transaction whose bytes changed: the one the store's index does not know.
    for (uint32_t i = 0; i < hashes.size(); ++i) {
        auto rec = m_reader.TxRecord(hashes[i]);
        if (!rec.ok()) return rec.status();
        if (!*rec || (*rec)->height < b.header.height) {
            m.tx_index = i;
            m.tx_hash = hashes[i];
            m.detail += "; transaction " + std::to_string(i) +
                        " is not in the store's transaction index: its stored bytes changed";
            break;
        }
    }
    return std::optional<Mismatch>(std::move(m));
}

Result<std::optional<Mismatch>> Replayer::CheckReceipts(
    const PendingBlock& p, const std::vector<chain::Receipt>& receipts) {
    const chain::Block& b = p.block;
    const uint64_t h = b.header.height;
    for (uint32_t i = 0; i < b.transactions.size(); ++i) {
        const Hash256 tx_hash = b.transactions[i].Hash();
        auto rec = m_reader.TxRecord(tx_hash);
        if (!rec.ok()) return rec.status();
        const chain::Receipt& want = receipts.at(i);
        const std::string want_text = "height " + std::to_string(h) + " index " +
                                      std::to_string(i) + " code " + std::to_string(want.code) +
                                      (want.message.empty() ? "" : " \"" + want.message + "\"");
        Mismatch m = Make(Check::kReceipt, h, "", want_text, "");
        m.tx_index = i;
        m.tx_hash = tx_hash;
        if (!*rec) {
            m.detail = "the store holds no receipt for the transaction";
            m.actual = "none";
            return std::optional<Mismatch>(std::move(m));
        }
        const StoredTxRecord& got = **rec;
        // A later block may carry the same bytes again; the index then names that one.
        if (got.height > h && got.height <= m_tip.height) continue;
        const std::string got_text =
            "height " + std::to_string(got.height) + " index " + std::to_string(got.index) +
            " code " + std::to_string(got.receipt.code) +
            (got.receipt.message.empty() ? "" : " \"" + got.receipt.message + "\"");
        if (got.height != h || got.index != i) {
            m.detail = "the transaction index places the transaction elsewhere";
            m.actual = got_text;
            return std::optional<Mismatch>(std::move(m));
        }
        if (!(got.receipt == want)) {
            m.detail = "the stored receipt differs from the re-executed one";
            m.actual = got_text;
            return std::optional<Mismatch>(std::move(m));
        }
    }
    return std::optional<Mismatch>();
}

Result<std::optional<Mismatch>> Replayer::CheckBlock(PendingBlock& p) {
    chain::Block& b = p.block;
    const uint64_t h = b.header.height;
    using R = std::optional<Mismatch>;

    if (h == 0) {
        const Hash256 want = m_opt.genesis_block.Hash();
        if (p.hash != want) {
            return R(Make(Check::kGenesis, 0,
                          "block 0 is not the genesis built from the genesis file and "
                          "validator set",
                          Short(want), Short(p.hash)));
        }
    } else if (b.header.prev_hash != m_prev_hash) {
        return R(Make(Check::kHashLink, h,
                      "prev_hash does not link to block " + std::to_string(h - 1),
                      Short(m_prev_hash), Short(b.header.prev_hash)));
    }

    if (b.certificate.block_hash != p.hash) {
        return R(Make(Check::kHeaderHash, h,
                      "the commit certificate names another block hash than SM3(header)",
                      Short(p.hash), Short(b.certificate.block_hash)));
    }
    if (b.certificate.height != h) {
        return R(Make(Check::kHeaderHash, h, "the commit certificate names another height",
                      std::to_string(h), std::to_string(b.certificate.height)));
    }
    auto indexed = m_reader.HeightOfHash(p.hash);
    if (!indexed.ok()) return indexed.status();
    if (*indexed != h) {
        return R(Make(Check::kHeaderHash, h,
                      "the store's hash index does not lead from SM3(header) back to the block",
                      std::to_string(h), *indexed ? std::to_string(**indexed) : "none"));
    }

    auto root = CheckTxRoot(p);
    if (!root.ok() || *root) return root;

    for (uint32_t i = 0; i < b.transactions.size(); ++i) {
        if (p.tx_status[i].ok()) continue;
        Mismatch m = Make(Check::kTxSignature, h, p.tx_status[i].message(),
                          "a valid SM2 signature by the transaction's sender",
                          p.tx_status[i].code() == StatusCode::kUnauthenticated
                              ? "a signature that does not verify"
                              : "a transaction that does not decode");
        m.tx_index = i;
        m.tx_hash = b.transactions[i].Hash();
        return R(std::move(m));
    }

    if (h > 0) {
        if (p.cert_set->generation != m_set->generation) {
            // The set changed inside the window: check again against the set in force.
            p.cert_status = chain::VerifyCertificate(b.certificate, m_opt.chain_id, m_set->set,
                                                     m_verifier);
        }
        if (!p.cert_status.ok()) {
            const size_t n = m_set->set.size();
            return R(Make(Check::kCertificate, h, p.cert_status.message(),
                          "COMMIT signatures of at least " + std::to_string(m_set->set.Quorum()) +
                              " distinct validators of " + std::to_string(n),
                          std::to_string(b.certificate.signatures.size()) +
                              " signatures, not all of them valid and distinct or too few"));
        }
    }

    m_state_kv->SetHeight(h);
    if (h == 0) {
        Status s = m_executor->InitGenesis(m_opt.genesis_block, m_opt.genesis_writes);
        if (!s.ok()) {
            return R(Make(Check::kGenesis, 0, s.message(), "the genesis state", "refused"));
        }
    } else {
        auto executed = m_executor->Execute(b);
        if (!executed.ok()) {
            Mismatch m = Make(Check::kExecution, h, executed.status().message(),
                              "a block the executor accepts", "refused");
            m.tx_index = TxIndexInMessage(executed.status().message());
            if (m.tx_index && *m.tx_index < b.transactions.size()) {
                m.tx_hash = b.transactions[*m.tx_index].Hash();
            } else {
                m.tx_index.reset();
            }
            return R(std::move(m));
        }
        if (*executed != b.header.state_root) {
            return R(Make(Check::kStateRoot, h,
                          "re-executing the block gives another state root than its header's",
                          Short(*executed), Short(b.header.state_root)));
        }
        auto receipts = m_executor->Commit(b);
        if (!receipts.ok()) {
            return R(Make(Check::kExecution, h, receipts.status().message(),
                          "a block the executor commits", "refused"));
        }
        auto checked = CheckReceipts(p, *receipts);
        if (!checked.ok() || *checked) return checked;
        m_report.tx_signatures += b.transactions.size();
        m_report.commit_signatures += b.certificate.signatures.size();
    }

    executor::CommittedStateView after(*m_store);
    for (BlockCheck* extra : m_opt.extra_checks) {
        if (auto m = extra->CheckBlock(b, after)) return R(std::move(*m));
    }
    MC_RETURN_IF_ERROR(RefreshValidatorSet());
    m_prev_hash = p.hash;
    m_report.state_root = b.header.state_root;
    m_report.blocks += 1;
    m_report.transactions += b.transactions.size();
    m_last_height = h;
    return R();
}

Result<std::optional<Mismatch>> Replayer::CheckTip() {
    using R = std::optional<Mismatch>;
    const uint64_t h = m_tip.height;
    if (m_tip.block_hash != m_prev_hash) {
        return R(Make(Check::kTip, h, "the tip record names another block than the last one",
                      Short(m_prev_hash), Short(m_tip.block_hash)));
    }
    if (m_tip.state_root != m_report.state_root) {
        return R(Make(Check::kTip, h, "the tip record names another state root",
                      Short(m_report.state_root), Short(m_tip.state_root)));
    }
    if (h < UINT64_MAX) {
        auto above = m_reader.FirstBlockAtOrAbove(h + 1);
        if (!above.ok()) return above.status();
        if (*above) {
            return R(Make(Check::kTip, **above,
                          "a block is stored above the tip record's height " + std::to_string(h),
                          "no block above " + std::to_string(h),
                          "block " + std::to_string(**above)));
        }
    }
    return R();
}

Result<std::optional<Mismatch>> Replayer::CheckStoredState() {
    using R = std::optional<Mismatch>;
    std::vector<std::pair<std::string, Bytes>> replayed;
    MC_RETURN_IF_ERROR(m_store->ScanState("", [&](std::string_view k, ByteView v) {
        replayed.emplace_back(std::string(k), Bytes(v.begin(), v.end()));
        return true;
    }));
    size_t next = 0;
    std::optional<Mismatch> found;
    auto differ = [&](const std::string& key, const std::optional<Bytes>& want,
                      const std::optional<Bytes>& got, const std::string& what) {
        const auto writer = m_state_kv->LastWriter(key);
        found = Make(Check::kStoredState, writer.value_or(m_tip.height),
                     "state key \"" + key + "\" " + what +
                         (writer ? " (last written by block " + std::to_string(*writer) + ")"
                                 : " (never written by the replayed blocks)"),
                     ShowValue(want), ShowValue(got));
    };
    MC_RETURN_IF_ERROR(m_reader.ScanState("", [&](std::string_view k, ByteView v) {
        const std::string key(k);
        if (next < replayed.size() && replayed[next].first < key) {
            differ(replayed[next].first, replayed[next].second, std::nullopt,
                   "is missing from the stored state");
            return false;
        }
        if (next >= replayed.size() || replayed[next].first > key) {
            differ(key, std::nullopt, Bytes(v.begin(), v.end()),
                   "is in the stored state but not in the replayed one");
            return false;
        }
        if (!std::equal(v.begin(), v.end(), replayed[next].second.begin(),
                        replayed[next].second.end())) {
            differ(key, replayed[next].second, Bytes(v.begin(), v.end()),
                   "differs from the replayed value");
            return false;
        }
        ++next;
        return true;
    }));
    if (!found && next < replayed.size()) {
        differ(replayed[next].first, replayed[next].second, std::nullopt,
               "is missing from the stored state");
    }
    return R(std::move(found));
}

void Replayer::Progress(bool final) {
    if (!m_opt.on_progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!final && now - m_last_progress < m_opt.progress_interval) return;
    m_last_progress = now;
    ReplayProgress p;
    p.height = m_last_height;
    p.to_height = m_report.to_height;
    p.blocks = m_report.blocks;
    p.transactions = m_report.transactions;
    p.signatures = m_report.tx_signatures + m_report.commit_signatures;
    p.seconds = std::chrono::duration<double>(now - m_start).count();
    m_opt.on_progress(p);
}

Result<ReplayReport> Replayer::Run() {
    if (m_opt.registry == nullptr) return InvalidArgument("replay needs the contract registry");
    if (m_opt.jobs == 0) return InvalidArgument("replay needs at least one signature thread");
    m_start = m_last_progress = std::chrono::steady_clock::now();
    auto tip = m_reader.Tip();
    if (!tip.ok()) return tip.status();
    if (!*tip) return NotFound("the store holds no chain (no tip record)");
    m_tip = **tip;
    m_report.tip_height = m_tip.height;
    m_report.to_height = m_opt.to_height.value_or(m_tip.height);
    if (m_report.to_height > m_tip.height) {
        return InvalidArgument("--to " + std::to_string(m_report.to_height) +
                               " is above the stored tip " + std::to_string(m_tip.height));
    }

    auto kv = std::make_unique<StateOnlyKv>();
    m_state_kv = kv.get();
    storage::ChainStoreOptions store_options;
    store_options.sync = false;
    auto store = storage::ChainStore::Open(std::move(kv), store_options);
    if (!store.ok()) return store.status();
    m_store = std::move(*store);
    m_cache = std::make_unique<crypto::SignatureCache>(
        std::max<size_t>(crypto::SignatureCache::kDefaultCapacity, 4 * kWindowTxs));
    executor::ExecutorOptions exec_options;
    exec_options.chain_id = m_opt.chain_id;
    exec_options.validation = m_opt.validation;
    m_executor = std::make_unique<executor::Executor>(std::move(exec_options), *m_store,
                                                  *m_opt.registry, m_verifier, *m_cache);
    // Certificates of the first window are checked against the genesis set.
    {
        contracts::MemoryState genesis_state;
        for (const auto& [k, v] : m_opt.genesis_writes) {
            if (v) genesis_state.Put(k, *v);
        }
        auto info = std::make_shared<SetInfo>();
        auto raw = genesis_state.Get(kValidatorsKey);
        info->raw = raw.value_or(Bytes{});
        info->generation = 1;
        auto set = ValidatorSetFromState(genesis_state);
        if (set.ok()) {
            info->set = std::move(*set);
            for (const auto& v : info->set.all()) (void)m_verifier.Precompute(v.public_key);
        }
        m_set = std::move(info);
    }

    VerifyPool pool(m_opt.jobs, m_opt.chain_id, m_verifier, *m_cache);
    auto current = LoadWindow(0, m_report.to_height);
    pool.Dispatch(current);
    for (;;) {
        const uint64_t next_from = current->first + current->blocks.size();
        std::shared_ptr<Window> next;
        if (!current->stop && next_from <= m_report.to_height) {
            next = LoadWindow(next_from, m_report.to_height);
            pool.Dispatch(next);
        }
        VerifyPool::Wait(*current);
        for (PendingBlock& p : current->blocks) {
            auto m = CheckBlock(p);
            if (!m.ok()) return m.status();
            if (*m) {
                m_report.mismatch = std::move(*m);
                break;
            }
            Progress(false);
        }
        if (!m_report.mismatch && current->stop) m_report.mismatch = std::move(current->stop);
        if (m_report.mismatch || !next) break;
        current = std::move(next);
    }
    if (!m_report.mismatch && m_report.to_height == m_tip.height) {
        m_report.reached_tip = true;
        auto m = CheckTip();
        if (!m.ok()) return m.status();
        if (!*m) m = CheckStoredState();
        if (!m.ok()) return m.status();
        m_report.mismatch = std::move(*m);
    }
    m_report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    Progress(true);
    return m_report;
}

}  // namespace

std::string_view CheckName(Check check) {
    switch (check) {
        case Check::kBlockRecord: return "block-record";
        case Check::kBlockHeight: return "block-height";
        case Check::kGenesis: return "genesis";
        case Check::kHashLink: return "hash-link";
        case Check::kHeaderHash: return "header-hash";
        case Check::kTxRoot: return "tx-root";
        case Check::kTxSignature: return "tx-signature";
        case Check::kCertificate: return "certificate";
        case Check::kExecution: return "execution";
        case Check::kStateRoot: return "state-root";
        case Check::kReceipt: return "receipt";
        case Check::kTip: return "tip";
        case Check::kStoredState: return "stored-state";
        case Check::kAnchor: return "anchor";
    }
    return "unknown";
}

std::string Mismatch::ToString() const {
    std::string out = "height " + std::to_string(height);
    if (tx_index) {
        out += ", transaction " + std::to_string(*tx_index);
        if (tx_hash) out += " (" + ToHex(*tx_hash) + ")";
    }
    out += ": " + std::string(CheckName(check)) + ": " + detail;
    out += "\n  expected: " + expected + "\n  actual:   " + actual;
    return out;
}

Result<chain::ValidatorSet> ValidatorSetFromState(const contracts::StateView& state) {
    auto raw = state.Get(kValidatorsKey);
    if (!raw) return NotFound("the state holds no validator set (sys/validators)");
    std::vector<chain::Validator> validators;
    const std::string text = ToString(*raw);
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty()) continue;
        std::vector<std::string> fields;
        size_t start = 0;
        for (;;) {
            const size_t bar = line.find('|', start);
            fields.push_back(line.substr(start, bar == std::string::npos ? bar : bar - start));
            if (bar == std::string::npos) break;
            start = bar + 1;
        }
        if (fields.size() != 4) {
            return InvalidArgument("sys/validators line " + std::to_string(validators.size()) +
                                   " does not have 4 fields");
        }
        auto key = FromHex(fields[3]);
        if (!key || key->size() != chain::kPublicKeySize) {
            return InvalidArgument("sys/validators: validator " + fields[0] +
                                   " has a malformed public key");
        }
        validators.push_back({fields[0], fields[1], fields[2], std::move(*key), ""});
    }
    if (validators.empty()) return InvalidArgument("sys/validators names no validator");
    return chain::ValidatorSet(std::move(validators));
}

Result<ReplayReport> Replay(const storage::KvStore& chain, const ReplayOptions& options) {
    Replayer replayer(chain, options);
    return replayer.Run();
}

}  // namespace meterchain::audit
