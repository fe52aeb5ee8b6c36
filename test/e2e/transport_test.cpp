// The peer transport between in-process endpoints over real TLS on 127.0.0.1: outbound
// streams are replaced after frames_per_stream frames (gRPC's per-call memory would grow
// otherwise) without losing or reordering a frame, gossiped transactions go out at once when
// flushed, and only the lead gets them at once (the others later, less what has committed):
// node::Gossip over net::PeerTransport, with net::Messenger decoding what arrives.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <set>
#include <vector>

#include "node/client/client.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "node/crypto/signer.h"
#include "node/daemon/gossip.h"
#include "node/net/messenger.h"
#include "node/net/peer_transport.h"
#include "test/e2e/cluster_harness.h"

using namespace meterchain;
using namespace meterchain::e2e;
using namespace std::chrono_literals;

namespace {

struct Endpoint {
    net::TransportOptions options;
    std::unique_ptr<crypto::Sm2Signer> signer;
};

Endpoint LoadEndpoint(const TestCluster& cluster, int i, uint64_t frames_per_stream) {
    auto cfg = config::LoadNodeConfig(cluster.ConfigPath(i));
    REQUIRE(cfg.ok());
    auto set = config::BuildValidatorSet(*cfg);
    REQUIRE(set.ok());
    const std::string dir = cluster.summary().nodes[static_cast<size_t>(i)].dir;
    auto key_pem = config::ReadFileToString(dir + "/sm2.key");
    REQUIRE(key_pem.ok());
    auto key = crypto::Sm2PrivateKey::FromPem(*key_pem);
    REQUIRE(key.ok());
    Endpoint e;
    e.signer = std::make_unique<crypto::Sm2Signer>(std::move(*key));
    e.options.chain_id = cfg->chain_id();
    e.options.self = static_cast<uint32_t>(i);
    e.options.validators = *set;
    e.options.listen = cfg->peer_listen();
    e.options.ca_pem = *config::ReadFileToString(cluster.dir() + "/ca.pem");
    e.options.cert_pem = *config::ReadFileToString(dir + "/tls.pem");
    e.options.key_pem = *config::ReadFileToString(dir + "/tls.key");
    e.options.frames_per_stream = frames_per_stream;
    return e;
}

auto IgnoreMessages() {
    return [](uint32_t, consensus::Message) {};
}
auto IgnoreTxs() {
    return [](uint32_t, std::vector<chain::Transaction>) {};
}

// Gossip from validator 0 of `validators` with the given delays.
node::GossipOptions GossipFrom0(size_t validators, uint32_t batch_delay_ms,
                                uint32_t lazy_delay_ms) {
    node::GossipOptions o;
    o.self = 0;
    o.validators = validators;
    o.batch_delay_ms = batch_delay_ms;
    o.lazy_delay_ms = lazy_delay_ms;
    return o;
}

}  // namespace

TEST_CASE("outbound peer streams are replaced without losing or reordering frames", "[e2e]") {
    TestCluster cluster(2);  // keys, certificates and addresses only: no daemons
    constexpr uint64_t kFramesPerStream = 7;
    constexpr uint64_t kMessages = 300;
    Endpoint a = LoadEndpoint(cluster, 0, kFramesPerStream);
    Endpoint b = LoadEndpoint(cluster, 1, kFramesPerStream);
    crypto::Sm2Verifier verifier;

    std::mutex mutex;
    std::condition_variable cv;
    std::vector<uint64_t> received;  // from_height of each BlockRequest, in arrival order
    net::PeerTransport ta(a.options, *a.signer, verifier);
    net::PeerTransport tb(b.options, *b.signer, verifier);
    net::Messenger ma(ta, IgnoreMessages(), IgnoreTxs());
    net::Messenger mb(
        tb,
        [&](uint32_t from, consensus::Message m) {
            if (from != 0) return;
            if (const auto* r = std::get_if<consensus::BlockRequest>(&m)) {
                std::lock_guard lock(mutex);
                received.push_back(r->from_height);
                cv.notify_all();
            }
        },
        IgnoreTxs());
    REQUIRE(ma.Start().ok());
    REQUIRE(mb.Start().ok());

    // Frames queue until the first stream is up.
    for (uint64_t i = 1; i <= kMessages; ++i) {
        consensus::BlockRequest request;
        request.from = 0;
        request.from_height = i;
        request.to_height = i;
        ma.Send(1, request);
    }
    {
        std::unique_lock lock(mutex);
        REQUIRE(cv.wait_until(lock, In(30s), [&] { return received.size() >= kMessages; }));
    }
    std::vector<uint64_t> expected;
    for (uint64_t i = 1; i <= kMessages; ++i) expected.push_back(i);
    {
        std::lock_guard lock(mutex);
        CHECK(received == expected);
    }
    // The hello opens each stream and is not counted: every kFramesPerStream frames rotate.
    CHECK(ta.counters().streams_rotated.load() >= kMessages / kFramesPerStream - 1);
    CHECK(ta.counters().frames_dropped.load() == 0);
    CHECK(ta.Connected()[1]);
    tb.Stop();
    ta.Stop();
}

TEST_CASE("Gossip::Flush sends gossiped transactions without waiting out the batch delay",
          "[e2e]") {
    TestCluster cluster(2);
    Endpoint a = LoadEndpoint(cluster, 0, 2048);
    Endpoint b = LoadEndpoint(cluster, 1, 2048);
    crypto::Sm2Verifier verifier;
    crypto::Sm2Signer sender(crypto::Sm2PrivateKey::Generate());

    std::mutex mutex;
    std::condition_variable cv;
    std::vector<Hash256> received;
    net::PeerTransport ta(a.options, *a.signer, verifier);
    net::PeerTransport tb(b.options, *b.signer, verifier);
    net::Messenger ma(ta, IgnoreMessages(), IgnoreTxs());
    net::Messenger mb(tb, IgnoreMessages(), [&](uint32_t from, std::vector<chain::Transaction> txs) {
        if (from != 0) return;
        std::lock_guard lock(mutex);
        for (const auto& tx : txs) received.push_back(tx.Hash());
        cv.notify_all();
    });
    // A delay far longer than the wait below: only Flush can deliver in time.
    node::Gossip gossip(GossipFrom0(2, 600000, 200), ta);
    REQUIRE(ma.Start().ok());
    REQUIRE(mb.Start().ok());
    gossip.Start();

    std::vector<Hash256> sent;
    for (uint64_t nonce = 1; nonce <= 3; ++nonce) {
        chain::Transaction tx = client::MakeStatePut(sender, a.options.chain_id, nonce,
                                                     "k" + std::to_string(nonce), AsBytes("v"));
        sent.push_back(tx.Hash());
        gossip.Broadcast(tx, tx.Hash());
    }
    gossip.Flush();
    {
        std::unique_lock lock(mutex);
        REQUIRE(cv.wait_until(lock, In(20s), [&] { return received.size() >= sent.size(); }));
        CHECK(received == sent);
    }
    gossip.Stop();
    tb.Stop();
    ta.Stop();
}

TEST_CASE("gossip hurries only to the lead and reaches the others in fewer frames", "[e2e]") {
    TestCluster cluster(3);
    Endpoint a = LoadEndpoint(cluster, 0, 2048);
    Endpoint b = LoadEndpoint(cluster, 1, 2048);
    Endpoint c = LoadEndpoint(cluster, 2, 2048);
    crypto::Sm2Verifier verifier;
    crypto::Sm2Signer sender(crypto::Sm2PrivateKey::Generate());

    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::vector<Hash256>> frames[3];  // per receiver, the txs of each frame from a
    std::set<Hash256> committed;                  // what a's node would no longer gossip
    auto receiver = [&](int self) {
        return [&, self](uint32_t from, std::vector<chain::Transaction> txs) {
            if (from != 0) return;
            std::vector<Hash256> hashes;
            for (const auto& tx : txs) hashes.push_back(tx.Hash());
            std::lock_guard lock(mutex);
            frames[self].push_back(std::move(hashes));
            cv.notify_all();
        };
    };
    auto received = [&](int self) {
        size_t n = 0;
        for (const auto& f : frames[self]) n += f.size();
        return n;
    };
    net::PeerTransport ta(a.options, *a.signer, verifier);
    net::PeerTransport tb(b.options, *b.signer, verifier);
    net::PeerTransport tc(c.options, *c.signer, verifier);
    net::Messenger ma(ta, IgnoreMessages(), IgnoreTxs());
    net::Messenger mb(tb, IgnoreMessages(), receiver(1));
    net::Messenger mc(tc, IgnoreMessages(), receiver(2));
    // Delays far longer than the test: a batch goes out only on Flush (to the lead) or when
    // SetLead changes the lead (everything gathered so far).
    node::Gossip gossip(GossipFrom0(3, 600000, 600000), ta, [&](const Hash256& hash) {
        std::lock_guard lock(mutex);
        return committed.count(hash) == 0;
    });
    REQUIRE(ma.Start().ok());
    REQUIRE(mb.Start().ok());
    REQUIRE(mc.Start().ok());
    gossip.Start();

    std::vector<Hash256> tx;
    auto broadcast = [&](uint64_t nonce) {
        chain::Transaction t = client::MakeStatePut(sender, a.options.chain_id, nonce,
                                                    "k" + std::to_string(nonce), AsBytes("v"));
        tx.push_back(t.Hash());
        gossip.Broadcast(t, t.Hash());
    };
    auto commit = [&](size_t i) {
        std::lock_guard lock(mutex);
        committed.insert(tx.at(i));
    };
    auto wait_for = [&](int self, size_t n) {
        std::unique_lock lock(mutex);
        return cv.wait_until(lock, In(20s), [&] { return received(self) >= n; });
    };

    // Validator 1 proposes next: each flush goes to it at once, in a frame of its own.
    gossip.SetLead(1);
    broadcast(1);
    gossip.Flush();
    broadcast(2);
    gossip.Flush();
    REQUIRE(wait_for(1, 2));
    // a itself proposes next: its flushes hurry to nobody. Changing the lead first sends what
    // was gathered for the others: to validator 2 only, one frame, without tx 2, which has
    // committed meanwhile.
    commit(1);
    gossip.SetLead(0);
    REQUIRE(wait_for(2, 1));
    broadcast(3);
    gossip.Flush();
    // No lead (a view change): tx 3 was gathered for everyone but a, and has committed too, so
    // nothing goes. From now on every flush goes to everyone.
    commit(2);
    gossip.SetLead(node::Gossip::kNoLead);
    broadcast(4);
    gossip.Flush();
    // Each lane keeps its order, so once tx 4 is in, everything sent before it is too.
    REQUIRE(wait_for(1, 3));
    REQUIRE(wait_for(2, 2));
    {
        std::lock_guard lock(mutex);
        using Frames = std::vector<std::vector<Hash256>>;
        CHECK(frames[1] == Frames{{tx[0]}, {tx[1]}, {tx[3]}});
        CHECK(frames[2] == Frames{{tx[0]}, {tx[3]}});
    }
    gossip.Stop();
    tc.Stop();
    tb.Stop();
    ta.Stop();
}
