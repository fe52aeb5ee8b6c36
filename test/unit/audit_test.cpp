// The audit engine (node/audit): replay of a stored chain through the node's executor, with
// one test per kind of damage it must find at the right height with the right check, and the
// export of decoded records.
#include <catch2/catch.hpp>

#include <sstream>

#include "node/audit/chain_reader.h"
#include "node/base/codec.h"
#include "node/audit/export.h"
#include "node/audit/replay.h"
#include "node/chain/merkle.h"
#include "node/chain/proto_adapter.h"
#include "node/executor/executor.h"
#include "node/crypto/signature_cache.h"
#include "node/storage/chain_store.h"
#include "proto/chain.pb.h"

using namespace meterchain;
using audit::Check;
using audit::ChainReader;

namespace {

constexpr char kChainId[] = "audit-test";
constexpr uint64_t kBlocks = 12;
constexpr int kTxPerBlock = 5;

// A chain of kBlocks blocks of StatePut transactions from three senders, committed by the
// executor into an in-memory store exactly as a node commits them, with certificates signed
// by a quorum (3 of 4) of real SM2 validator keys.
class TestChain {
public:
    TestChain() {
        for (int i = 0; i < 4; ++i) {
            m_validators.emplace_back(crypto::Sm2PrivateKey::Generate());
        }
        for (int i = 0; i < 3; ++i) m_senders.emplace_back(crypto::Sm2PrivateKey::Generate());
        std::string validators;
        for (int i = 0; i < 4; ++i) {
            validators += "v" + std::to_string(i) + "|org" + std::to_string(i) + "|utility|" +
                          ToHex(m_validators[i].PublicKey()) + "\n";
        }
        m_genesis_writes.emplace("sys/chain_id", ToBytes(kChainId));
        m_genesis_writes.emplace("sys/validators", ToBytes(validators));
        m_genesis = executor::MakeGenesisBlock(kChainId, 1000, m_genesis_writes);

        auto kv = storage::NewMemKv();
        m_kv = kv.get();
        auto store = storage::ChainStore::Open(std::move(kv));
        REQUIRE(store.ok());
        m_store = std::move(*store);
        executor::ExecutorOptions options;
        options.chain_id = kChainId;
        executor::Executor executor(options, *m_store, m_registry, m_verifier, m_cache);
        REQUIRE(executor.InitGenesis(m_genesis, m_genesis_writes).ok());

        Hash256 prev = m_genesis.Hash();
        std::vector<uint64_t> nonces(m_senders.size(), 0);
        for (uint64_t h = 1; h <= kBlocks; ++h) {
            chain::Block b;
            for (int k = 0; k < kTxPerBlock; ++k) {
                const size_t s = static_cast<size_t>(k) % m_senders.size();
                v1::StatePut put;
                put.set_key("meter/" + std::to_string(h) + "/" + std::to_string(k));
                put.set_value("reading " + std::to_string(h * 100 + static_cast<uint64_t>(k)));
                chain::TxBody body;
                body.chain_id = kChainId;
                body.type = static_cast<uint32_t>(chain::TxType::kStatePut);
                body.payload = ToBytes(put.SerializeAsString());
                body.nonce = ++nonces[s];
                body.timestamp_ms = 1000 + h;
                b.transactions.push_back(chain::SignTransaction(body, m_senders[s]));
            }
            b.header.height = h;
            b.header.prev_hash = prev;
            b.header.tx_root = chain::MerkleRoot(b.TxHashes());
            b.header.proposer = static_cast<uint32_t>(h % 4);
            b.header.view = 0;
            b.header.timestamp_ms = 1000 + h;
            b.header.chain_id = kChainId;
            auto root = executor.Execute(b);
            REQUIRE(root.ok());
            b.header.state_root = *root;
            b.certificate.height = h;
            b.certificate.block_hash = b.Hash();
            const Bytes vote = chain::CommitVoteBytes(kChainId, h, 0, b.certificate.block_hash);
            for (uint32_t v = 0; v < 3; ++v) {
                b.certificate.signatures.push_back({v, m_validators[v].Sign(vote)});
            }
            auto receipts = executor.Commit(b);
            REQUIRE(receipts.ok());
            prev = b.Hash();
        }
    }

    audit::ReplayOptions Options(unsigned jobs = 2) const {
        audit::ReplayOptions o;
        o.chain_id = kChainId;
        o.genesis_block = m_genesis;
        o.genesis_writes = m_genesis_writes;
        o.registry = &m_registry;
        o.jobs = jobs;
        return o;
    }

    audit::ReplayReport Replay(const audit::ReplayOptions& options) const {
        auto report = audit::Replay(*m_kv, options);
        INFO(report.status().ToString());
        REQUIRE(report.ok());
        return *report;
    }
    audit::ReplayReport Replay() const { return Replay(Options()); }

    // Rewrites the stored record of block h.
    chain::Block Block(uint64_t h) const {
        auto bytes = ChainReader(*m_kv).BlockBytes(h);
        REQUIRE(bytes.ok());
        REQUIRE(bytes->has_value());
        auto b = chain::ParseBlock(**bytes);
        REQUIRE(b.ok());
        return *b;
    }
    void Put(const std::string& key, const Bytes& value) {
        storage::KvBatch batch;
        batch.Put(key, value);
        REQUIRE(m_kv->Write(batch, false).ok());
    }
    void Delete(const std::string& key) {
        storage::KvBatch batch;
        batch.Delete(key);
        REQUIRE(m_kv->Write(batch, false).ok());
    }
    void StoreBlock(uint64_t at, const chain::Block& b) {
        Put(ChainReader::BlockKey(at), chain::SerializeBlock(b));
    }

    storage::KvStore& kv() { return *m_kv; }
    const crypto::Sm2Signer& validator(size_t i) const { return m_validators[i]; }

private:
    std::vector<crypto::Sm2Signer> m_validators;
    std::vector<crypto::Sm2Signer> m_senders;
    chain::WriteSet m_genesis_writes;
    chain::Block m_genesis;
    contracts::Registry m_registry;
    crypto::Sm2Verifier m_verifier;
    crypto::SignatureCache m_cache;
    storage::KvStore* m_kv = nullptr;  // owned by m_store
    std::unique_ptr<storage::ChainStore> m_store;
};

void RequireMismatch(const audit::ReplayReport& r, Check check, uint64_t height) {
    REQUIRE(r.mismatch.has_value());
    INFO(r.mismatch->ToString());
    CHECK(audit::CheckName(r.mismatch->check) == audit::CheckName(check));
    CHECK(r.mismatch->height == height);
}

}  // namespace

TEST_CASE("replay passes on an untouched chain and counts every signature it checked",
          "[audit]") {
    TestChain chain;
    const auto r = chain.Replay();
    INFO((r.mismatch ? r.mismatch->ToString() : ""));
    REQUIRE_FALSE(r.mismatch.has_value());
    CHECK(r.reached_tip);
    CHECK(r.blocks == kBlocks + 1);
    CHECK(r.transactions == kBlocks * kTxPerBlock);
    CHECK(r.tx_signatures == kBlocks * kTxPerBlock);
    CHECK(r.commit_signatures == kBlocks * 3);
    CHECK(r.state_root == chain.Block(kBlocks).header.state_root);
}

TEST_CASE("replay gives the same answer with one signature thread and with many", "[audit]") {
    TestChain chain;
    for (unsigned jobs : {1u, 3u, 8u}) {
        const auto r = chain.Replay(chain.Options(jobs));
        CHECK_FALSE(r.mismatch.has_value());
        CHECK(r.blocks == kBlocks + 1);
    }
}

TEST_CASE("replay --to stops at the height asked and leaves the tip checks out", "[audit]") {
    TestChain chain;
    auto options = chain.Options();
    options.to_height = 5;
    const auto r = chain.Replay(options);
    CHECK_FALSE(r.mismatch.has_value());
    CHECK(r.blocks == 6);
    CHECK_FALSE(r.reached_tip);
    options.to_height = kBlocks + 1;
    CHECK(audit::Replay(chain.kv(), options).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a flipped byte in a stored transaction body fails tx-root at its height and names "
          "the transaction",
          "[audit]") {
    TestChain chain;
    auto b = chain.Block(7);
    b.transactions[2].body[b.transactions[2].body.size() - 1] ^= 0x01;
    b.transactions[2].memo = {};
    chain.StoreBlock(7, b);
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kTxRoot, 7);
    REQUIRE(r.mismatch->tx_index == 2u);
    CHECK(r.mismatch->expected != r.mismatch->actual);
    CHECK(r.blocks == 7);  // genesis and blocks 1..6 passed
}

TEST_CASE("a flipped byte in a stored signature fails tx-signature naming the transaction",
          "[audit]") {
    TestChain chain;
    auto b = chain.Block(4);
    b.transactions[1].signature[10] ^= 0x40;
    chain.StoreBlock(4, b);
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kTxSignature, 4);
    CHECK(r.mismatch->tx_index == 1u);
    CHECK(r.mismatch->tx_hash == b.transactions[1].Hash());
}

TEST_CASE("a removed commit signature fails certificate at its height", "[audit]") {
    TestChain chain;
    auto b = chain.Block(9);
    b.certificate.signatures.pop_back();
    chain.StoreBlock(9, b);
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kCertificate, 9);
    CHECK_THAT(r.mismatch->detail, Catch::Contains("2 of 3"));
}

TEST_CASE("a commit signature repeated under a second validator's index fails certificate",
          "[audit]") {
    TestChain chain;
    auto b = chain.Block(3);
    b.certificate.signatures[2] = {3, b.certificate.signatures[0].signature};
    chain.StoreBlock(3, b);
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kCertificate, 3);
    CHECK_THAT(r.mismatch->detail, Catch::Contains("bad commit signature from validator 3"));
}

TEST_CASE("a changed state value fails stored-state naming the block that last wrote it",
          "[audit]") {
    TestChain chain;
    chain.Put(ChainReader::StateKey("kv/meter/6/3"), ToBytes("reading 999"));
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kStoredState, 6);
    CHECK(r.mismatch->expected == "\"reading 603\"");
    CHECK(r.mismatch->actual == "\"reading 999\"");
    CHECK_THAT(r.mismatch->detail, Catch::Contains("kv/meter/6/3"));
}

TEST_CASE("a state key added to the store fails stored-state", "[audit]") {
    TestChain chain;
    chain.Put(ChainReader::StateKey("kv/forged"), ToBytes("x"));
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kStoredState, kBlocks);
    CHECK(r.mismatch->expected == "(absent)");
}

TEST_CASE("two swapped blocks fail block-height at the lower height", "[audit]") {
    TestChain chain;
    const auto five = chain.Block(5);
    const auto six = chain.Block(6);
    chain.StoreBlock(5, six);
    chain.StoreBlock(6, five);
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kBlockHeight, 5);
    CHECK(r.mismatch->expected == "5");
    CHECK(r.mismatch->actual == "6");
}

TEST_CASE("a block replaced by one that does not link fails hash-link", "[audit]") {
    TestChain chain;
    auto b = chain.Block(8);
    b.header.prev_hash[0] ^= 1;  // a block of another history at the same height
    b.certificate.block_hash = b.Hash();
    chain.StoreBlock(8, b);
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kHashLink, 8);
}

TEST_CASE("a rewritten header fails header-hash: its certificate names the original",
          "[audit]") {
    TestChain chain;
    auto b = chain.Block(10);
    b.header.timestamp_ms += 1;
    chain.StoreBlock(10, b);
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kHeaderHash, 10);
}

TEST_CASE("a header whose state root was changed and re-certified fails state-root",
          "[audit]") {
    TestChain chain;
    // The only block whose header can change without breaking a link is the tip; re-signing
    // its certificate with the validators' keys models a quorum that certified a wrong root.
    auto b = chain.Block(kBlocks);
    b.header.state_root[3] ^= 0x10;
    b.certificate.block_hash = b.Hash();
    b.certificate.signatures.clear();
    const Bytes vote = chain::CommitVoteBytes(kChainId, kBlocks, 0, b.Hash());
    for (uint32_t v = 0; v < 3; ++v) b.certificate.signatures.push_back({v, chain.validator(v).Sign(vote)});
    chain.StoreBlock(kBlocks, b);
    chain.Put(ChainReader::HashKey(b.Hash()), codec::EncodeU64(kBlocks));
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kStateRoot, kBlocks);
}

TEST_CASE("a truncated chain fails block-record at the first missing height", "[audit]") {
    TestChain chain;
    for (uint64_t h = 8; h <= kBlocks; ++h) chain.Delete(ChainReader::BlockKey(h));
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kBlockRecord, 8);
    CHECK(r.blocks == 8);
}

TEST_CASE("a changed receipt fails receipt naming the transaction", "[audit]") {
    TestChain chain;
    const auto b = chain.Block(2);
    const Hash256 tx = b.transactions[4].Hash();
    Bytes record = codec::Writer().U64(2).U32(4).U32(3).bytes();
    const std::string message = "forged failure";
    record.insert(record.end(), message.begin(), message.end());
    chain.Put(ChainReader::TxKey(tx), record);
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kReceipt, 2);
    CHECK(r.mismatch->tx_index == 4u);
    CHECK_THAT(r.mismatch->actual, Catch::Contains("forged failure"));
}

TEST_CASE("a tip record that names another block fails tip", "[audit]") {
    TestChain chain;
    const auto b = chain.Block(kBlocks - 1);
    chain.Put(std::string(ChainReader::kTipKey),
              codec::Writer().U64(kBlocks).Digest(b.Hash()).Digest(b.header.state_root).bytes());
    const auto r = chain.Replay();
    RequireMismatch(r, Check::kTip, kBlocks);
}

TEST_CASE("a store started from another genesis fails genesis at height 0", "[audit]") {
    TestChain chain;
    auto options = chain.Options();
    options.genesis_writes.emplace("sys/extra", ToBytes("x"));
    options.genesis_block = executor::MakeGenesisBlock(kChainId, 1000, options.genesis_writes);
    const auto r = chain.Replay(options);
    RequireMismatch(r, Check::kGenesis, 0);
}

TEST_CASE("an extra block check runs after each block and its mismatch stops the replay",
          "[audit]") {
    struct AnchorAt final : audit::BlockCheck {
        std::vector<uint64_t> seen;
        std::optional<audit::Mismatch> CheckBlock(const chain::Block& block,
                                                  const contracts::StateView& state) override {
            seen.push_back(block.header.height);
            if (block.header.height < 4) return std::nullopt;
            audit::Mismatch m;
            m.check = Check::kAnchor;
            m.height = block.header.height;
            m.detail = state.Get("kv/meter/4/0") ? "state after the block" : "no state";
            return m;
        }
    } anchor;
    TestChain chain;
    auto options = chain.Options();
    options.extra_checks.push_back(&anchor);
    const auto r = chain.Replay(options);
    RequireMismatch(r, Check::kAnchor, 4);
    CHECK(r.mismatch->detail == "state after the block");
    CHECK(anchor.seen == std::vector<uint64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("replay reports progress up to the last height", "[audit]") {
    TestChain chain;
    auto options = chain.Options();
    options.progress_interval = std::chrono::milliseconds(0);
    std::vector<audit::ReplayProgress> seen;
    options.on_progress = [&](const audit::ReplayProgress& p) { seen.push_back(p); };
    const auto r = chain.Replay(options);
    REQUIRE_FALSE(r.mismatch.has_value());
    REQUIRE_FALSE(seen.empty());
    CHECK(seen.back().height == kBlocks);
    CHECK(seen.back().to_height == kBlocks);
    CHECK(seen.back().transactions == kBlocks * kTxPerBlock);
}

TEST_CASE("the validator set is read from state and malformed sets are refused", "[audit]") {
    contracts::MemoryState state;
    CHECK(audit::ValidatorSetFromState(state).status().code() == StatusCode::kNotFound);
    state.Put("sys/validators", ToBytes("a|b|c\n"));
    CHECK(audit::ValidatorSetFromState(state).status().code() == StatusCode::kInvalidArgument);
    state.Put("sys/validators", ToBytes("a|b|c|zz\n"));
    CHECK(audit::ValidatorSetFromState(state).status().code() == StatusCode::kInvalidArgument);
    const Bytes key = crypto::Sm2Signer(crypto::Sm2PrivateKey::Generate()).PublicKey();
    state.Put("sys/validators", ToBytes("a|org a|utility|" + ToHex(key) + "\n"));
    auto set = audit::ValidatorSetFromState(state);
    REQUIRE(set.ok());
    CHECK(set->size() == 1);
    CHECK(set->at(0).organisation == "org a");
}

TEST_CASE("export writes every block and transaction of the range as JSON lines and CSV",
          "[audit]") {
    TestChain chain;
    std::ostringstream jsonl;
    auto counts = audit::Export(chain.kv(), {3, 5, audit::ExportFormat::kJsonl}, jsonl);
    REQUIRE(counts.ok());
    CHECK(counts->blocks == 3);
    CHECK(counts->transactions == 3 * kTxPerBlock);
    std::istringstream lines(jsonl.str());
    std::string line;
    size_t blocks = 0, txs = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("{\"record\":\"block\"", 0) == 0) ++blocks;
        if (line.rfind("{\"record\":\"transaction\"", 0) == 0) ++txs;
    }
    CHECK(blocks == 3);
    CHECK(txs == 3 * kTxPerBlock);
    CHECK_THAT(jsonl.str(), Catch::Contains("\"key\":\"meter/4/2\""));
    CHECK_THAT(jsonl.str(), Catch::Contains("\"receipt\":{\"code\":0"));

    std::ostringstream csv;
    REQUIRE(audit::Export(chain.kv(), {1, 1, audit::ExportFormat::kCsv}, csv).ok());
    std::istringstream rows(csv.str());
    std::vector<std::string> all;
    while (std::getline(rows, line)) all.push_back(line);
    REQUIRE(all.size() == 1 + 1 + kTxPerBlock);
    CHECK(all[0].rfind("record,height,tx_index,hash", 0) == 0);
    CHECK(all[1].rfind("block,1,", 0) == 0);
    CHECK(all[2].rfind("transaction,1,0,", 0) == 0);

    std::ostringstream ignored;
    CHECK(audit::Export(chain.kv(), {0, kBlocks + 1, audit::ExportFormat::kJsonl}, ignored)
              .status()
              .code() == StatusCode::kInvalidArgument);
}
