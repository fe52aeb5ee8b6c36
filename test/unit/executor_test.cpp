// executor::Executor on the in-memory store: speculative execution on a parent (the committed
// tip or an executed, uncommitted block), forks, nonce rules, re-execution at commit, and the
// pruning of executed blocks that can no longer commit.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "contracts/contract.h"
#include "node/chain/merkle.h"
#include "node/chain/types.h"
#include "node/crypto/signature_cache.h"
#include "node/crypto/signer.h"
#include "node/executor/executor.h"
#include "node/storage/chain_store.h"
#include "node/storage/kv_store.h"
#include "proto/chain.pb.h"

using namespace meterchain;
using executor::Executor;

namespace {

constexpr char kChain[] = "exec-test";

class Fixture {
public:
    Fixture() {
        auto store = storage::ChainStore::Open(storage::NewMemKv());
        REQUIRE(store.ok());
        m_store = std::move(*store);
        executor::ExecutorOptions o;
        o.chain_id = kChain;
        m_executor = std::make_unique<Executor>(o, *m_store, m_registry, verifier, cache);
        genesis = executor::MakeGenesisBlock(kChain, 1000, {});
        REQUIRE(m_executor->InitGenesis(genesis, {}).ok());
    }

    Executor& exec() { return *m_executor; }
    storage::ChainStore& store() { return *m_store; }

    // A signed state put of key=value by `signer` with `nonce`.
    static chain::Transaction Put(const crypto::Signer& signer, uint64_t nonce,
                                  const std::string& key, const std::string& value) {
        v1::StatePut put;
        put.set_key(key);
        put.set_value(value);
        chain::TxBody body{kChain, static_cast<uint32_t>(chain::TxType::kStatePut),
                           ToBytes(put.SerializeAsString()), signer.PublicKey(), nonce, 1000};
        return chain::SignTransaction(body, signer);
    }

    // An unexecuted block on `parent` (state root and certificate not filled in).
    static chain::Block Child(const chain::Block& parent, std::vector<chain::Transaction> txs,
                              uint64_t timestamp_ms = 2000) {
        chain::Block b;
        b.header.height = parent.header.height + 1;
        b.header.prev_hash = parent.Hash();
        b.header.timestamp_ms = timestamp_ms;
        b.header.chain_id = kChain;
        b.transactions = std::move(txs);
        b.header.tx_root = chain::MerkleRoot(b.TxHashes());
        return b;
    }

    // Executes `block`, fills in its state root and a certificate naming it (as the core does
    // once it commits): the block as it would arrive for Commit.
    chain::Block Executed(chain::Block block) {
        auto root = exec().Execute(block);
        REQUIRE(root.ok());
        return Sealed(std::move(block), *root);
    }
    static chain::Block Sealed(chain::Block block, const Hash256& root) {
        block.header.state_root = root;
        block.certificate.height = block.header.height;
        block.certificate.block_hash = block.Hash();
        return block;
    }

    std::optional<std::string> State(const std::string& key) {
        auto v = store().GetState(std::string(executor::kKvPrefix) + key);
        REQUIRE(v.ok());
        if (!v->has_value()) return std::nullopt;
        return ToString(**v);
    }

    crypto::Sm2Verifier verifier;
    crypto::SignatureCache cache;
    chain::Block genesis;

private:
    contracts::Registry m_registry;
    std::unique_ptr<storage::ChainStore> m_store;
    std::unique_ptr<Executor> m_executor;
};

}  // namespace

TEST_CASE("a block executes on the committed tip and commits with its receipts", "[executor]") {
    Fixture f;
    crypto::Sm2Signer alice(crypto::Sm2PrivateKey::Generate());
    chain::Block b1 = f.Executed(Fixture::Child(f.genesis, {Fixture::Put(alice, 1, "a", "1")}));
    CHECK(f.exec().pending_blocks() == 1);
    CHECK_FALSE(f.State("a"));  // speculative: nothing stored yet
    auto receipts = f.exec().Commit(b1);
    REQUIRE(receipts.ok());
    REQUIRE(receipts->size() == 1);
    CHECK((*receipts)[0].code == 0);
    CHECK(f.State("a") == "1");
    CHECK(f.exec().CommittedNonce(alice.PublicKey()) == 1);
    CHECK(f.store().Tip().height == 1);
    CHECK(f.exec().pending_blocks() == 0);
}

TEST_CASE("a block executes on an executed uncommitted parent and sees its writes",
          "[executor]") {
    Fixture f;
    crypto::Sm2Signer alice(crypto::Sm2PrivateKey::Generate());
    chain::Block b1 = f.Executed(Fixture::Child(f.genesis, {Fixture::Put(alice, 1, "a", "1")}));
    // Nonce 2 only follows nonce 1 in b1, which has not committed: the parent's writes count.
    chain::Block b2 = f.Executed(Fixture::Child(b1, {Fixture::Put(alice, 2, "a", "2")}));
    CHECK(f.exec().pending_blocks() == 2);
    REQUIRE(f.exec().Commit(b1).ok());
    REQUIRE(f.exec().Commit(b2).ok());
    CHECK(f.State("a") == "2");
    CHECK(f.exec().CommittedNonce(alice.PublicKey()) == 2);
}

TEST_CASE("a block whose parent is unknown is refused", "[executor]") {
    Fixture f;
    crypto::Sm2Signer alice(crypto::Sm2PrivateKey::Generate());
    chain::Block orphan_parent = Fixture::Child(f.genesis, {Fixture::Put(alice, 1, "a", "1")});
    chain::Block orphan = Fixture::Child(orphan_parent, {});
    auto root = f.exec().Execute(orphan);
    REQUIRE_FALSE(root.ok());
    CHECK(root.status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("forks at one height execute apart, and the committed one decides the state",
          "[executor]") {
    Fixture f;
    crypto::Sm2Signer alice(crypto::Sm2PrivateKey::Generate());
    // Two proposals for height 1 (say, of two views), each with its own writes.
    chain::Block left = f.Executed(Fixture::Child(f.genesis, {Fixture::Put(alice, 1, "k", "left")}));
    chain::Block right =
        f.Executed(Fixture::Child(f.genesis, {Fixture::Put(alice, 1, "k", "right")}, 2001));
    REQUIRE(left.Hash() != right.Hash());
    CHECK(left.header.state_root != right.header.state_root);
    // A child of each sees only its own parent's writes.
    chain::Block left2 = f.Executed(Fixture::Child(left, {Fixture::Put(alice, 2, "k2", "l")}));
    chain::Block right2 = f.Executed(Fixture::Child(right, {Fixture::Put(alice, 2, "k2", "r")}));
    CHECK(f.exec().pending_blocks() == 4);

    REQUIRE(f.exec().Commit(right).ok());
    CHECK(f.State("k") == "right");
    // Committing height 1 prunes everything at height 1, the losing fork included; right2
    // still waits on the committed tip and left2 can no longer commit (its parent lost).
    CHECK(f.exec().pending_blocks() == 2);
    REQUIRE(f.exec().Commit(right2).ok());
    CHECK(f.State("k2") == "r");
    CHECK(f.exec().pending_blocks() == 0);
    (void)left2;
}

TEST_CASE("a nonce gap or a replayed nonce makes the whole block invalid", "[executor]") {
    Fixture f;
    crypto::Sm2Signer alice(crypto::Sm2PrivateKey::Generate());
    SECTION("gap") {
        auto root = f.exec().Execute(Fixture::Child(f.genesis, {Fixture::Put(alice, 2, "a", "1")}));
        REQUIRE_FALSE(root.ok());
        CHECK(root.status().code() == StatusCode::kInvalidArgument);
        CHECK_THAT(root.status().message(), Catch::Contains("leaves a gap"));
    }
    SECTION("replay within a block") {
        auto tx = Fixture::Put(alice, 1, "a", "1");
        auto root = f.exec().Execute(Fixture::Child(f.genesis, {tx, tx}));
        REQUIRE_FALSE(root.ok());
        CHECK_THAT(root.status().message(), Catch::Contains("replayed"));
    }
    SECTION("replay of a committed nonce") {
        chain::Block b1 = f.Executed(Fixture::Child(f.genesis, {Fixture::Put(alice, 1, "a", "1")}));
        REQUIRE(f.exec().Commit(b1).ok());
        auto root = f.exec().Execute(Fixture::Child(b1, {Fixture::Put(alice, 1, "a", "2")}));
        REQUIRE_FALSE(root.ok());
        CHECK_THAT(root.status().message(), Catch::Contains("replayed"));
    }
    CHECK(f.exec().pending_blocks() <= 1);
}

TEST_CASE("a failing transaction fails alone and still uses its nonce", "[executor]") {
    Fixture f;
    crypto::Sm2Signer alice(crypto::Sm2PrivateKey::Generate());
    // An empty key is refused by the state put: its receipt says so, the block is valid.
    chain::Block b1 = f.Executed(Fixture::Child(
        f.genesis, {Fixture::Put(alice, 1, "", "x"), Fixture::Put(alice, 2, "b", "2")}));
    auto receipts = f.exec().Commit(b1);
    REQUIRE(receipts.ok());
    CHECK((*receipts)[0].code == static_cast<uint32_t>(StatusCode::kInvalidArgument));
    CHECK((*receipts)[1].code == 0);
    CHECK(f.State("b") == "2");
    CHECK(f.exec().CommittedNonce(alice.PublicKey()) == 2);
}

TEST_CASE("a committed block not executed here is executed at commit and its root checked",
          "[executor]") {
    crypto::Sm2Signer alice(crypto::Sm2PrivateKey::Generate());
    // Another node executed and committed the block (its executor filled the root in) ...
    Fixture other;
    chain::Block b1 =
        other.Executed(Fixture::Child(other.genesis, {Fixture::Put(alice, 1, "a", "1")}));
    // ... this one never saw the proposal (state transfer): Commit executes it first.
    Fixture f;
    REQUIRE(f.exec().pending_blocks() == 0);
    REQUIRE(f.exec().Commit(b1).ok());
    CHECK(f.State("a") == "1");
    CHECK(f.store().Tip().state_root == b1.header.state_root);

    // A block whose root does not match what it executes to means diverged state: refused.
    chain::Block lie = Fixture::Child(b1, {Fixture::Put(alice, 2, "a", "2")});
    Hash256 wrong{};
    wrong[0] = 1;
    lie = Fixture::Sealed(std::move(lie), wrong);
    auto refused = f.exec().Commit(lie);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == StatusCode::kInternal);
    CHECK(f.store().Tip().height == 1);
}

TEST_CASE("signatures checked once are not checked again at execution", "[executor]") {
    Fixture f;
    crypto::Sm2Signer alice(crypto::Sm2PrivateKey::Generate());
    auto tx = Fixture::Put(alice, 1, "a", "1");
    REQUIRE(f.exec().Execute(Fixture::Child(f.genesis, {tx})).ok());
    const uint64_t after_first = f.verifier.verifications();
    CHECK(after_first == 1);
    // The same transaction in a competing proposal: found in the signature cache.
    REQUIRE(f.exec().Execute(Fixture::Child(f.genesis, {tx}, 2001)).ok());
    CHECK(f.verifier.verifications() == after_first);
    // A forged copy (same body, other signature) is checked, and refused.
    chain::Transaction forged = tx;
    forged.signature[forged.signature.size() / 2] ^= 0x01;
    auto root = f.exec().Execute(Fixture::Child(f.genesis, {forged}, 2002));
    REQUIRE_FALSE(root.ok());
    CHECK(root.status().code() == StatusCode::kUnauthenticated);
}
