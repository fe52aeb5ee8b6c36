// crypto::SignatureCache and the transaction signatures checked once through it
// (chain/tx_signatures.h).
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "node/chain/tx_signatures.h"
#include "node/chain/types.h"
#include "node/crypto/signature_cache.h"
#include "node/crypto/signer.h"

using namespace meterchain;
using chain::Transaction;
using chain::TxBody;
using crypto::SignatureCache;

namespace {

struct SignedTx {
    Transaction tx;
    Hash256 hash{};
};

// A client holding a real SM2 key.
struct Client {
    crypto::Sm2Signer signer{crypto::Sm2PrivateKey::Generate()};

    SignedTx Tx(uint64_t nonce) const {
        TxBody body{"tianjin", 1, ToBytes("put"), signer.PublicKey(), nonce, 1700000000000};
        Transaction tx = chain::SignTransaction(body, signer);
        return {tx, tx.Hash()};
    }
};

}  // namespace

TEST_CASE("SignatureCache remembers hashes and evicts the oldest", "[crypto]") {
    SignatureCache cache(3);
    auto h = [](uint8_t i) {
        Hash256 out{};
        out[0] = i;
        out[31] = i;
        return out;
    };
    CHECK(cache.capacity() == 3);
    CHECK_FALSE(cache.Contains(h(1)));
    cache.Insert(h(1));
    cache.Insert(h(2));
    cache.Insert(h(3));
    cache.Insert(h(1));  // already present: does not refresh or duplicate
    CHECK(cache.size() == 3);
    cache.Insert(h(4));  // evicts 1, the oldest
    CHECK_FALSE(cache.Contains(h(1)));
    CHECK(cache.Contains(h(2)));
    CHECK(cache.Contains(h(3)));
    CHECK(cache.Contains(h(4)));
    CHECK(cache.size() == 3);

    CHECK(SignatureCache().capacity() == SignatureCache::kDefaultCapacity);
}

TEST_CASE("SignatureCache is safe under concurrent use", "[crypto]") {
    SignatureCache cache(1000);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&cache, t] {
            for (int i = 0; i < 2000; ++i) {
                Hash256 h{};
                h[0] = static_cast<uint8_t>(t);
                h[1] = static_cast<uint8_t>(i);
                h[2] = static_cast<uint8_t>(i >> 8);
                cache.Insert(h);
                (void)cache.Contains(h);
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(cache.size() == 1000);
}

TEST_CASE("a body verified once does not vouch for a copy with another signature", "[crypto]") {
    Client client;
    crypto::Sm2Verifier verifier;
    SignatureCache cache;
    const SignedTx signed_tx = client.Tx(1);
    REQUIRE(chain::VerifyTransactionOnce(signed_tx.tx, signed_tx.hash, verifier, cache).ok());
    REQUIRE(verifier.verifications() == 1);
    // Same body, so the same tx hash; the cache entry must not cover this signature.
    Transaction forged = signed_tx.tx;
    forged.signature[forged.signature.size() / 2] ^= 0x01;
    REQUIRE(forged.Hash() == signed_tx.hash);
    auto refused = chain::VerifyTransactionOnce(forged, forged.Hash(), verifier, cache);
    REQUIRE(refused.status().code() == StatusCode::kUnauthenticated);
    // The genuine one is still remembered: parsed, not verified again.
    REQUIRE(chain::VerifyTransactionOnce(signed_tx.tx, signed_tx.hash, verifier, cache).ok());
    REQUIRE(verifier.verifications() == 2);
}

TEST_CASE("SignatureCache lets one thread check a signature while others wait for it", "[crypto]") {
    SignatureCache cache(16);
    Hash256 h{};
    h[0] = 7;
    REQUIRE(cache.Begin(h, true) == SignatureCache::Claim::kMine);
    CHECK(cache.Begin(h, false) == SignatureCache::Claim::kBusy);

    // A waiter learns "known" once the check verified (waiting if it asks before the end).
    std::atomic<int> answer{-1};
    std::thread waiter([&] { answer = static_cast<int>(cache.Begin(h, true)); });
    cache.End(h, true);
    waiter.join();
    CHECK(answer.load() == static_cast<int>(SignatureCache::Claim::kKnown));
    CHECK(cache.Contains(h));

    // After a failed check a waiter gets the claim and checks again itself.
    Hash256 bad{};
    bad[0] = 8;
    REQUIRE(cache.Begin(bad, true) == SignatureCache::Claim::kMine);
    std::atomic<int> second{-1};
    std::thread retry([&] {
        second = static_cast<int>(cache.Begin(bad, true));
        if (second.load() == static_cast<int>(SignatureCache::Claim::kMine)) cache.End(bad, false);
    });
    cache.End(bad, false);
    retry.join();
    CHECK(second.load() == static_cast<int>(SignatureCache::Claim::kMine));
    CHECK_FALSE(cache.Contains(bad));
    CHECK(cache.Begin(bad, false) == SignatureCache::Claim::kMine);  // nobody checking now
    cache.End(bad, false);
}

TEST_CASE("PreverifyTransactions remembers what verifies and leaves failures to the caller",
          "[crypto]") {
    Client client;
    crypto::Sm2Verifier verifier;
    SignatureCache cache;
    std::vector<Transaction> txs = {client.Tx(1).tx, client.Tx(2).tx};
    Transaction forged = client.Tx(3).tx;
    forged.signature[forged.signature.size() / 2] ^= 0x01;
    txs.push_back(forged);
    chain::PreverifyTransactions(txs, verifier, cache, base::SerialFor());
    CHECK(verifier.verifications() == 3);
    CHECK(cache.size() == 2);
    // Already checked ones cost a lookup; the forged one is checked again and named.
    chain::PreverifyTransactions(txs, verifier, cache, base::SerialFor());
    CHECK(verifier.verifications() == 4);
    CHECK(chain::VerifyTransactionOnce(txs[0], txs[0].Hash(), verifier, cache).ok());
    CHECK(verifier.verifications() == 4);
    CHECK(chain::VerifyTransactionOnce(forged, forged.Hash(), verifier, cache).status().code() ==
          StatusCode::kUnauthenticated);
}
