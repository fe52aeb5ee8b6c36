#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "node/chain/types.h"
#include "node/crypto/signer.h"
#include "node/mempool/mempool.h"

using namespace meterchain;
using namespace meterchain::mempool;
using chain::Transaction;

namespace Catch {
template <>
struct StringMaker<Hash256> {
    static std::string convert(const Hash256& h) { return ToHex(h).substr(0, 16); }
};
}  // namespace Catch

using chain::TxBody;

namespace {

constexpr char kChain[] = "tianjin";

// The committed state's view of nonces, as the daemon's callback would read it.
class CommittedNonces {
public:
    void Set(ByteView sender, uint64_t nonce) {
        std::lock_guard lock(m_mutex);
        m_nonces[ToString(sender)] = nonce;
    }
    uint64_t Get(ByteView sender) const {
        std::lock_guard lock(m_mutex);
        auto it = m_nonces.find(ToString(sender));
        return it == m_nonces.end() ? 0 : it->second;
    }
    Mempool::CommittedNonceFn Fn() {
        return [this](ByteView sender) { return Get(sender); };
    }

private:
    mutable std::mutex m_mutex;
    std::map<std::string, uint64_t> m_nonces;  // guarded by m_mutex
};

struct SignedTx {
    Transaction tx;
    TxBody body;
    Hash256 hash{};
};

// A client holding a real SM2 key.
struct Client {
    crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};

    SignedTx Tx(uint64_t nonce, const std::string& payload = "put") const {
        TxBody body{kChain, 1, ToBytes(payload), signer.PublicKey(), nonce, 1700000000000};
        Transaction tx = chain::SignTransaction(body, signer);
        return {tx, body, tx.Hash()};
    }
    const Bytes& key() const { return signer.PublicKey(); }
};

// A transaction with a made-up sender and a dummy signature: the pool does not verify, and
// signing 100k transactions with SM2 would dominate the test's run time.
SignedTx DummyTx(uint32_t sender_id, uint64_t nonce) {
    Bytes sender(chain::kPublicKeySize, 0);
    sender[0] = 0x04;
    for (int i = 0; i < 4; ++i) sender[1 + i] = static_cast<uint8_t>(sender_id >> (8 * i));
    TxBody body{kChain, 1, ToBytes("p"), sender, nonce, 1700000000000};
    Transaction tx{body.Serialize(), Bytes(70, 0xab)};
    Hash256 hash = tx.Hash();
    return {std::move(tx), std::move(body), hash};
}

std::string Prefix(ByteView data) { return ToHex(data.first(8)); }

Hash256 AddOk(Mempool& pool, const SignedTx& s) {
    auto added = pool.Add(s.tx, s.body);
    INFO(added.status().ToString());
    REQUIRE(added.ok());
    REQUIRE(*added == s.hash);
    return *added;
}

std::vector<Hash256> Hashes(const std::vector<Transaction>& txs) {
    std::vector<Hash256> out;
    for (const auto& tx : txs) out.push_back(tx.Hash());
    return out;
}

// The specification of Batch, computed the slow way: per sender, the pending transactions
// that continue its committed nonce without a gap (excluded ones count as present but are not
// output); then a merge of those queues that always takes the earliest-arrived head.
// `arrivals` lists the pending transactions in the order they were added; nothing committed.
std::vector<Hash256> ReferenceBatch(const std::vector<SignedTx>& arrivals, size_t max_txs,
                                    const std::set<Hash256>& exclude) {
    std::map<std::string, std::map<uint64_t, size_t>> all;  // sender -> nonce -> arrival
    for (size_t i = 0; i < arrivals.size(); ++i) {
        all[ToString(arrivals[i].body.sender)][arrivals[i].body.nonce] = i;
    }
    std::map<std::string, std::map<uint64_t, size_t>> queues;
    for (const auto& [sender, by_nonce] : all) {
        uint64_t expected = 1;
        for (const auto& [nonce, i] : by_nonce) {
            if (nonce != expected++) break;
            if (!exclude.contains(arrivals[i].hash)) queues[sender][nonce] = i;
        }
    }
    std::vector<Hash256> out;
    while (out.size() < max_txs) {
        std::map<uint64_t, size_t>* best = nullptr;
        for (auto& [sender, queue] : queues) {
            if (queue.empty()) continue;
            if (!best || queue.begin()->second < best->begin()->second) best = &queue;
        }
        if (!best) break;
        out.push_back(arrivals[best->begin()->second].hash);
        best->erase(best->begin());
    }
    return out;
}

}  // namespace

TEST_CASE("mempool adds, finds and accounts for transactions", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    Client alice;
    auto tx = alice.Tx(1);

    CHECK(pool.size() == 0);
    CHECK(pool.bytes() == 0);
    CHECK_FALSE(pool.Contains(tx.hash));
    CHECK_FALSE(pool.Get(tx.hash).has_value());

    AddOk(pool, tx);
    CHECK(pool.Contains(tx.hash));
    REQUIRE(pool.Get(tx.hash).has_value());
    CHECK(*pool.Get(tx.hash) == tx.tx);
    CHECK(pool.size() == 1);
    CHECK(pool.bytes() == TxBytes(tx.tx));
    CHECK(TxBytes(tx.tx) == tx.tx.body.size() + tx.tx.signature.size());
}

TEST_CASE("mempool rejects the same transaction twice", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    Client alice;
    auto tx = alice.Tx(1);
    AddOk(pool, tx);

    auto again = pool.Add(tx.tx, tx.body);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().code() == StatusCode::kAlreadyExists);
    CHECK(again.status().message() ==
          "transaction " + Prefix(tx.hash) + " is already in the mempool");
    CHECK(pool.size() == 1);
}

TEST_CASE("mempool rejects nonces at or below the committed nonce", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    Client alice;
    nonces.Set(alice.key(), 7);

    for (uint64_t nonce : {5u, 7u}) {
        auto tx = alice.Tx(nonce);
        auto added = pool.Add(tx.tx, tx.body);
        REQUIRE_FALSE(added.ok());
        CHECK(added.status().code() == StatusCode::kInvalidArgument);
        CHECK(added.status().message() == "nonce " + std::to_string(nonce) +
                                              " already used by sender " + Prefix(alice.key()) +
                                              " (last committed nonce 7)");
    }
    // Gaps are allowed: 9 without 8.
    AddOk(pool, alice.Tx(9));

    // Nonce 0 is never valid: a sender with no history has committed nonce 0.
    Client bob;
    auto zero = bob.Tx(0);
    auto added = pool.Add(zero.tx, zero.body);
    REQUIRE_FALSE(added.ok());
    CHECK(added.status().code() == StatusCode::kInvalidArgument);
    CHECK(pool.size() == 1);
}

TEST_CASE("mempool keeps one pending transaction per sender and nonce", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    Client alice, bob;
    auto first = alice.Tx(5, "first");
    AddOk(pool, first);

    auto rival = alice.Tx(5, "second");
    REQUIRE(rival.hash != first.hash);
    auto added = pool.Add(rival.tx, rival.body);
    REQUIRE_FALSE(added.ok());
    CHECK(added.status().code() == StatusCode::kAlreadyExists);
    CHECK(added.status().message() == "sender " + Prefix(alice.key()) +
                                          " already has pending transaction " +
                                          Prefix(first.hash) + " with nonce 5");
    // Another sender may use the same nonce.
    AddOk(pool, bob.Tx(5));
    CHECK(pool.size() == 2);
    CHECK(pool.Get(first.hash).has_value());
}

TEST_CASE("mempool enforces its transaction and byte limits", "[mempool]") {
    CommittedNonces nonces;
    Client alice;
    std::vector<SignedTx> txs;
    for (uint64_t n = 1; n <= 4; ++n) txs.push_back(alice.Tx(n));

    SECTION("transaction count") {
        Mempool pool({.max_txs = 3}, nonces.Fn());
        for (int i = 0; i < 3; ++i) AddOk(pool, txs[i]);
        auto added = pool.Add(txs[3].tx, txs[3].body);
        REQUIRE_FALSE(added.ok());
        CHECK(added.status().code() == StatusCode::kResourceExhausted);
        CHECK(added.status().message() == "mempool full (3 transactions)");
        CHECK(pool.size() == 3);

        // Room again once a transaction is committed.
        nonces.Set(alice.key(), 1);
        pool.RemoveCommitted({txs[0].tx});
        AddOk(pool, txs[3]);
    }
    SECTION("bytes") {
        const size_t max_bytes = TxBytes(txs[0].tx) + TxBytes(txs[1].tx) + 10;
        Mempool pool({.max_bytes = max_bytes}, nonces.Fn());
        AddOk(pool, txs[0]);
        AddOk(pool, txs[1]);
        auto added = pool.Add(txs[2].tx, txs[2].body);
        REQUIRE_FALSE(added.ok());
        CHECK(added.status().code() == StatusCode::kResourceExhausted);
        CHECK(added.status().message() ==
              "mempool full (" + std::to_string(max_bytes) + " bytes)");
        CHECK(pool.size() == 2);
        CHECK(pool.bytes() == TxBytes(txs[0].tx) + TxBytes(txs[1].tx));
    }
}

TEST_CASE("Batch follows arrival order but each sender's nonces ascend", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    Client a, b, c;
    // Arrival: A3 B1 A1 B2 C5 A2 (A's nonce 3 arrives before its 1 and 2; C5 follows a gap,
    // C having committed nothing, so it never comes out).
    auto a3 = a.Tx(3), b1 = b.Tx(1), a1 = a.Tx(1), b2 = b.Tx(2), c5 = c.Tx(5), a2 = a.Tx(2);
    for (const auto* s : {&a3, &b1, &a1, &b2, &c5, &a2}) AddOk(pool, *s);

    using H = std::vector<Hash256>;
    SECTION("everything") {
        CHECK(Hashes(pool.Batch(100, SIZE_MAX, {})) ==
              H{b1.hash, a1.hash, b2.hash, a2.hash, a3.hash});
    }
    SECTION("count limit") {
        CHECK(Hashes(pool.Batch(2, SIZE_MAX, {})) == H{b1.hash, a1.hash});
        CHECK(pool.Batch(0, SIZE_MAX, {}).empty());
    }
    SECTION("byte limit stops at the first transaction that does not fit") {
        const size_t two = TxBytes(b1.tx) + TxBytes(a1.tx);
        CHECK(Hashes(pool.Batch(100, two + 1, {})) == H{b1.hash, a1.hash});
        CHECK(Hashes(pool.Batch(100, two, {})) == H{b1.hash, a1.hash});
        CHECK(pool.Batch(100, 10, {}).empty());
    }
    SECTION("an excluded lowest nonce lets the sender's next one follow in its own place") {
        CHECK(Hashes(pool.Batch(100, SIZE_MAX, {a1.hash})) ==
              H{b1.hash, b2.hash, a2.hash, a3.hash});
        CHECK(Hashes(pool.Batch(100, SIZE_MAX, {b1.hash})) ==
              H{a1.hash, b2.hash, a2.hash, a3.hash});
        CHECK(Hashes(pool.Batch(100, SIZE_MAX, {a1.hash, a2.hash, b1.hash})) ==
              H{a3.hash, b2.hash});
    }
    SECTION("excluding a middle nonce lets the next one follow at once") {
        // a3 arrived first, so once a1 is out and a2 in flight nothing holds it back.
        CHECK(Hashes(pool.Batch(100, SIZE_MAX, {a2.hash})) ==
              H{b1.hash, a1.hash, a3.hash, b2.hash});
    }
    SECTION("unknown hashes in exclude are ignored; excluding everything gives nothing") {
        auto stranger = Client().Tx(1);
        CHECK(Hashes(pool.Batch(100, SIZE_MAX, {stranger.hash})).size() == 5);
        std::set<Hash256> all{a1.hash, a2.hash, a3.hash, b1.hash, b2.hash};
        CHECK(pool.Batch(100, SIZE_MAX, all).empty());
    }
    CHECK(pool.size() == 6);  // Batch removes nothing
}

TEST_CASE("a transaction behind a nonce gap waits until the gap is filled", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    Client a;
    // Gossip delivers nonce 4 before 2 and 3; committing 4 first would make 2 and 3 replays.
    auto a1 = a.Tx(1), a4 = a.Tx(4), a2 = a.Tx(2), a3 = a.Tx(3);
    AddOk(pool, a1);
    AddOk(pool, a4);
    using H = std::vector<Hash256>;
    CHECK(Hashes(pool.Batch(100, SIZE_MAX, {})) == H{a1.hash});
    nonces.Set(a.signer.PublicKey(), 1);
    pool.RemoveCommitted({a1.tx});
    CHECK(pool.Batch(100, SIZE_MAX, {}).empty());  // 2 is missing
    AddOk(pool, a2);
    CHECK(Hashes(pool.Batch(100, SIZE_MAX, {})) == H{a2.hash});
    AddOk(pool, a3);
    CHECK(Hashes(pool.Batch(100, SIZE_MAX, {})) == H{a2.hash, a3.hash, a4.hash});
    // In flight (excluded) nonces still count as present.
    CHECK(Hashes(pool.Batch(100, SIZE_MAX, {a2.hash})) == H{a3.hash, a4.hash});
}

TEST_CASE("Batch orders a sender's descending arrivals by nonce", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    std::vector<SignedTx> txs;
    for (uint64_t n = 1000; n >= 1; --n) {
        txs.push_back(DummyTx(1, n));
        AddOk(pool, txs.back());
    }
    auto batch = pool.Batch(100, SIZE_MAX, {});
    REQUIRE(batch.size() == 100);
    for (size_t i = 0; i < batch.size(); ++i) {
        CHECK(TxBody::Parse(batch[i].body)->nonce == i + 1);
    }
}

TEST_CASE("Batch matches the reference merge on random pools", "[mempool]") {
    CommittedNonces nonces;
    std::mt19937_64 rng(20240601);
    for (int round = 0; round < 20; ++round) {
        Mempool pool({}, nonces.Fn());
        std::vector<SignedTx> arrivals;
        std::set<std::pair<uint32_t, uint64_t>> used;
        while (arrivals.size() < 300) {
            const uint32_t sender = static_cast<uint32_t>(rng() % 12);
            const uint64_t nonce = 1 + rng() % 60;
            if (!used.insert({sender, nonce}).second) continue;
            arrivals.push_back(DummyTx(sender, nonce));
            AddOk(pool, arrivals.back());
        }
        std::set<Hash256> exclude;
        for (const auto& s : arrivals) {
            if (rng() % 3 == 0) exclude.insert(s.hash);
        }
        for (size_t max : {size_t{1}, size_t{17}, size_t{1000}}) {
            INFO("round " << round << " max " << max);
            CHECK(Hashes(pool.Batch(max, SIZE_MAX, exclude)) ==
                  ReferenceBatch(arrivals, max, exclude));
            CHECK(Hashes(pool.Batch(max, SIZE_MAX, {})) == ReferenceBatch(arrivals, max, {}));
        }
    }
}

TEST_CASE("RemoveCommitted drops committed and stale transactions", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    Client alice, bob;
    auto a1 = alice.Tx(1), a2 = alice.Tx(2), a3 = alice.Tx(3), a4 = alice.Tx(4),
         a6 = alice.Tx(6), b1 = bob.Tx(1);
    for (const auto* s : {&a1, &a2, &a3, &a4, &a6, &b1}) AddOk(pool, *s);

    SECTION("a committed block drops its transactions and the sender's now-stale nonces") {
        // The block carried a1, and the sender's nonce 2 was committed in the same block by
        // a rival transaction that this node never saw.
        auto rival2 = alice.Tx(2, "rival");
        nonces.Set(alice.key(), 2);
        pool.RemoveCommitted({a1.tx, rival2.tx});
        CHECK_FALSE(pool.Contains(a1.hash));
        CHECK_FALSE(pool.Contains(a2.hash));
        CHECK(pool.Contains(a3.hash));
        CHECK(pool.Contains(b1.hash));
        CHECK(pool.size() == 4);
        CHECK(pool.bytes() == TxBytes(a3.tx) + TxBytes(a4.tx) + TxBytes(a6.tx) + TxBytes(b1.tx));
        // a6 waits behind the missing nonce 5.
        CHECK(Hashes(pool.Batch(100, SIZE_MAX, {})) ==
              std::vector<Hash256>{a3.hash, a4.hash, b1.hash});

        // Re-adding a committed transaction fails on the nonce.
        auto again = pool.Add(a1.tx, a1.body);
        CHECK(again.status().code() == StatusCode::kInvalidArgument);
    }
    SECTION("a transaction committed elsewhere prunes by its sender alone") {
        auto elsewhere = alice.Tx(5, "elsewhere");
        nonces.Set(alice.key(), 5);
        pool.RemoveCommitted({elsewhere.tx});
        CHECK(pool.size() == 2);
        CHECK(pool.Contains(a6.hash));
        CHECK(pool.Contains(b1.hash));
        CHECK(Hashes(pool.Batch(100, SIZE_MAX, {})) ==
              std::vector<Hash256>{a6.hash, b1.hash});
    }
    SECTION("the last transactions of every sender leave an empty pool") {
        nonces.Set(alice.key(), 6);
        nonces.Set(bob.key(), 1);
        pool.RemoveCommitted({a6.tx, b1.tx});
        CHECK(pool.size() == 0);
        CHECK(pool.bytes() == 0);
        CHECK(pool.Batch(100, SIZE_MAX, {}).empty());
        AddOk(pool, alice.Tx(7));
        CHECK(pool.Batch(100, SIZE_MAX, {}).size() == 1);
    }
    SECTION("unparsable and unknown transactions are harmless") {
        pool.RemoveCommitted({Transaction{ToBytes("garbage"), {}}, Client().Tx(1).tx});
        CHECK(pool.size() == 6);
    }
}

TEST_CASE("concurrent Add from four threads keeps a consistent pool", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());
    constexpr int kThreads = 4;
    constexpr uint64_t kPerClient = 40;
    std::vector<Client> clients(kThreads);
    std::vector<std::vector<SignedTx>> own(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        for (uint64_t n = 1; n <= kPerClient; ++n) own[t].push_back(clients[t].Tx(n));
    }
    // Every thread also submits the same shared transactions: exactly one must win each.
    Client shared_client;
    std::vector<SignedTx> shared;
    for (uint64_t n = 1; n <= 20; ++n) shared.push_back(shared_client.Tx(n));

    std::atomic<int> ok{0}, duplicates{0}, other{0};
    std::atomic<bool> done{false};
    std::atomic<bool> order_ok{true};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (size_t i = 0; i < kPerClient; ++i) {
                for (const SignedTx* s : {&own[t][i], &shared[i % shared.size()]}) {
                    auto added = pool.Add(s->tx, s->body);
                    if (added.ok()) {
                        ++ok;
                    } else if (added.status().code() == StatusCode::kAlreadyExists) {
                        ++duplicates;
                    } else {
                        ++other;
                    }
                }
            }
        });
    }
    // The consensus thread batches meanwhile; what it sees must always be nonce-ordered.
    std::thread batcher([&] {
        while (!done) {
            std::map<Bytes, uint64_t> last;
            for (const auto& tx : pool.Batch(1000, SIZE_MAX, {})) {
                auto body = TxBody::Parse(tx.body);
                if (last[body->sender] >= body->nonce) order_ok = false;
                last[body->sender] = body->nonce;
            }
        }
    });
    for (auto& t : threads) t.join();
    done = true;
    batcher.join();

    const size_t expected = kThreads * kPerClient + shared.size();
    CHECK(ok == static_cast<int>(expected));
    CHECK(duplicates == static_cast<int>(kThreads * kPerClient - shared.size()));
    CHECK(other == 0);
    CHECK(order_ok);
    CHECK(pool.size() == expected);
    size_t bytes = 0;
    for (const auto& list : own) {
        for (const auto& s : list) bytes += TxBytes(s.tx);
    }
    for (const auto& s : shared) bytes += TxBytes(s.tx);
    CHECK(pool.bytes() == bytes);
    CHECK(pool.Batch(SIZE_MAX, SIZE_MAX, {}).size() == expected);
}

TEST_CASE("Batch on a full pool of 100k with 50k excluded", "[mempool]") {
    CommittedNonces nonces;
    Mempool pool({}, nonces.Fn());  // default max_txs = 100000
    constexpr uint32_t kSenders = 1000;
    constexpr uint64_t kNonces = 100;
    std::vector<Hash256> arrival;  // round-robin: nonce 1 of every sender, then nonce 2, ...
    arrival.reserve(kSenders * kNonces);
    for (uint64_t n = 1; n <= kNonces; ++n) {
        for (uint32_t s = 0; s < kSenders; ++s) {
            auto tx = DummyTx(s, n);
            auto added = pool.Add(std::move(tx.tx), tx.body);
            REQUIRE(added.ok());
            arrival.push_back(*added);
        }
    }
    REQUIRE(pool.size() == 100000);
    auto extra = DummyTx(kSenders, 1);
    auto full = pool.Add(extra.tx, extra.body);
    CHECK(full.status().code() == StatusCode::kResourceExhausted);
    CHECK(full.status().message() == "mempool full (100000 transactions)");

    // The first half (nonces 1..50 of every sender) is in flight.
    std::set<Hash256> exclude(arrival.begin(), arrival.begin() + 50000);
    auto batch = Hashes(pool.Batch(1000, SIZE_MAX, exclude));
    CHECK(batch == std::vector<Hash256>(arrival.begin() + 50000, arrival.begin() + 51000));

    // Repeated per block, as the proposer would.
    for (int block = 0; block < 20; ++block) {
        auto next = pool.Batch(1000, SIZE_MAX, exclude);
        REQUIRE(next.size() == 1000);
        for (const auto& tx : next) exclude.insert(tx.Hash());
    }
    CHECK(exclude.size() == 70000);
    CHECK(pool.Batch(SIZE_MAX, SIZE_MAX, exclude).size() == 30000);

    // Without exclusions the batch is each sender's lowest nonce, in arrival order.
    CHECK(Hashes(pool.Batch(1000, SIZE_MAX, {})) ==
          std::vector<Hash256>(arrival.begin(), arrival.begin() + 1000));

    // Committing the first half frees the pool.
    for (uint32_t s = 0; s < kSenders; ++s) nonces.Set(DummyTx(s, 1).body.sender, 50);
    std::vector<Transaction> committed;
    for (uint32_t s = 0; s < kSenders; ++s) committed.push_back(DummyTx(s, 50).tx);
    pool.RemoveCommitted(committed);
    CHECK(pool.size() == 50000);
    CHECK(Hashes(pool.Batch(1000, SIZE_MAX, {})) == batch);
}
