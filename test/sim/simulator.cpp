#include "test/sim/simulator.h"

#include <algorithm>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <sstream>

#include "consensus/pbft.h"
#include "consensus/ready.h"
#include "node/chain/validators.h"
#include "node/crypto/sm.h"
#include "test/sim/fake_app.h"
#include "test/sim/fake_crypto.h"

namespace meterchain::sim {

const char* BehaviourName(Behaviour b) {
    switch (b) {
        case Behaviour::kHonest: return "honest";
        case Behaviour::kSilent: return "silent";
        case Behaviour::kBadSignature: return "bad-signature";
        case Behaviour::kEquivocate: return "equivocate";
        case Behaviour::kConflictingVotes: return "conflicting-votes";
    }
    return "?";
}

namespace {

using consensus::Message;
using consensus::Outbound;
constexpr const char* kChain = "sim";

struct Event {
    enum Kind { kDeliver, kTick, kCrash, kRestart, kJoin, kSubmit };
    uint64_t time = 0;
    uint64_t seq = 0;  // ties broken by scheduling order: fully deterministic
    Kind kind = kTick;
    uint32_t node = 0;
    uint32_t from = 0;
    std::shared_ptr<const Message> msg;
    uint32_t tx = 0;
    bool operator>(const Event& o) const { return std::tie(time, seq) > std::tie(o.time, o.seq); }
};

struct Partition {
    uint64_t start = 0, end = 0;
    std::vector<int> group;  // group of each node; links across groups are cut
};

struct Node {
    Behaviour behaviour = Behaviour::kHonest;
    bool up = true;
    std::unique_ptr<FakeSigner> signer;
    std::unique_ptr<FakeApp> app;
    std::unique_ptr<consensus::Core> core;
    std::vector<chain::Block> chain;          // persisted: survives crashes
    std::map<std::string, Bytes> durable;     // persisted: survives crashes
    // Lazy writes (DurableWrite::lazy) since the last synced one: lost on crash, as a
    // LevelDB log's unsynced tail may be.
    std::vector<consensus::DurableWrite> unsynced;
    std::set<Hash256> chain_txs;              // persisted (derived from chain)
    std::map<Hash256, chain::Transaction> mempool;  // lost on crash
};

std::string Short(const Hash256& h) { return ToHex(ByteView(h.data(), 4)); }

std::string Describe(const Message& m) {
    std::ostringstream s;
    s << consensus::MessageName(m);
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, consensus::PrePrepare>) {
                s << " v=" << x.view << " h=" << x.height << " d=" << Short(x.block.Hash())
                  << " txs=" << x.block.transactions.size();
            } else if constexpr (std::is_same_v<T, consensus::Vote>) {
                s << " v=" << x.view << " h=" << x.height << " d=" << Short(x.digest);
            } else if constexpr (std::is_same_v<T, consensus::Checkpoint>) {
                s << " h=" << x.height;
            } else if constexpr (std::is_same_v<T, consensus::ViewChange>) {
                s << " to=" << x.new_view << " prepared=" << x.prepared.size();
            } else if constexpr (std::is_same_v<T, consensus::NewView>) {
                s << " v=" << x.view;
            } else if constexpr (std::is_same_v<T, consensus::BlockRequest>) {
                s << " [" << x.from_height << "," << x.to_height << "]";
            } else if constexpr (std::is_same_v<T, consensus::NewViewRelay>) {
                s << " v=" << x.new_view.view << " primary=" << x.new_view.from;
            } else {
                s << " blocks=" << x.blocks.size() << " tip=" << x.tip_height;
            }
        },
        m);
    return s.str();
}

class Simulation {
public:
    explicit Simulation(const SimConfig& cfg) : m_cfg(cfg), m_rng(cfg.seed) {}
    SimResult Run();

private:
    void PlanFaults();
    void Schedule(Event e) {
        e.seq = m_seq++;
        m_events.push(std::move(e));
    }
    void Trace(const std::string& line) {
        if (m_cfg.trace) m_result.trace.push_back("t=" + std::to_string(m_now) + " " + line);
    }
    double Uniform() { return std::uniform_real_distribution<double>(0, 1)(m_rng); }
    uint64_t Below(uint64_t n) { return n == 0 ? 0 : m_rng() % n; }

    consensus::Options OptionsFor(uint32_t i) const;
    void Start(uint32_t i, bool client_retries = true);
    void Crash(uint32_t i);
    void OnTick(uint32_t i);
    void Drain(uint32_t i);
    void Dispatch(uint32_t from, Outbound out);
    void SendLink(uint32_t from, uint32_t to, std::shared_ptr<const Message> msg);
    bool LinkUp(uint32_t from, uint32_t to) const;
    void OnCommitted(uint32_t i, const chain::Block& block);
    bool AllDone() const;
    void Fail(const std::string& why) {
        if (m_result.ok) {
            m_result.ok = false;
            m_result.failure = why;
        }
    }
    bool Honest(uint32_t i) const { return m_nodes[i].behaviour == Behaviour::kHonest; }

    SimConfig m_cfg;
    std::mt19937_64 m_rng;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> m_events;
    uint64_t m_now = 0;
    uint64_t m_seq = 0;
    chain::ValidatorSet m_validators;
    FakeVerifier m_verifier;
    std::vector<Node> m_nodes;
    std::vector<Partition> m_partitions;
    std::vector<chain::Transaction> m_txs;
    std::set<Hash256> m_tx_set;
    std::map<uint64_t, std::pair<Hash256, uint32_t>> m_canonical;  // height -> (hash, node)
    SimResult m_result;
};

void Simulation::PlanFaults() {
    const uint32_t n = m_cfg.nodes;
    const uint32_t f = (n - 1) / 3;
    std::ostringstream d;
    d << "n=" << n << " seed=" << m_cfg.seed;
    if (m_cfg.random_faults) {
        static const double kDrops[] = {0, 0, 0.02, 0.05, 0.1, 0.2};
        static const double kDups[] = {0, 0.05, 0.1};
        static const uint32_t kDelays[] = {5, 20, 50, 100};
        m_cfg.drop = kDrops[Below(6)];
        m_cfg.duplicate = kDups[Below(3)];
        m_cfg.max_delay_ms = kDelays[Below(4)];
        m_cfg.byzantine.clear();
        const uint32_t byz = static_cast<uint32_t>(Below(f + 1));
        while (m_cfg.byzantine.size() < byz) {
            const uint32_t who = static_cast<uint32_t>(Below(n));
            m_cfg.byzantine[who] = static_cast<Behaviour>(1 + Below(4));
        }
        const uint64_t partitions = Below(3);
        for (uint64_t p = 0; p < partitions; ++p) {
            Partition part;
            part.start = Below(m_cfg.fault_period_ms);
            part.end = std::min(m_cfg.fault_period_ms, part.start + 200 + Below(1300));
            for (uint32_t i = 0; i < n; ++i) part.group.push_back(static_cast<int>(Below(2)));
            m_partitions.push_back(part);
        }
        m_cfg.crashes.clear();
        const uint64_t crashes = Below(3);
        for (uint64_t c = 0; c < crashes; ++c) {
            const uint32_t who = static_cast<uint32_t>(Below(n));
            if (m_cfg.byzantine.count(who)) continue;
            m_cfg.crashes.push_back({Below(m_cfg.fault_period_ms - m_cfg.crash_downtime_ms), who});
        }
    }
    d << " drop=" << m_cfg.drop << " dup=" << m_cfg.duplicate << " delay=" << m_cfg.min_delay_ms
      << ".." << m_cfg.max_delay_ms << "ms";
    for (const auto& [who, b] : m_cfg.byzantine) d << " byz[" << who << "]=" << BehaviourName(b);
    for (const auto& p : m_partitions) {
        d << " partition[" << p.start << "," << p.end << ")={";
        for (uint32_t i = 0; i < n; ++i) d << p.group[i];
        d << "}";
    }
    for (const auto& [t, who] : m_cfg.crashes) d << " crash[" << who << "]@" << t;
    for (const auto& [who, t] : m_cfg.late_joins) d << " join[" << who << "]@" << t;
    m_result.description = d.str();
}

consensus::Options Simulation::OptionsFor(uint32_t i) const {
    consensus::Options o;
    o.chain_id = kChain;
    o.validators = m_validators;
    o.self = i;
    o.checkpoint_interval = 8;
    o.window = 32;
    o.max_in_flight = 4;
    o.view_timeout_ticks = 40;
    o.max_view_timeout_ticks = 40 * 16;
    o.retransmit_ticks = 10;
    o.fetch_retry_ticks = 8;
    return o;
}

void Simulation::Start(uint32_t i, bool client_retries) {
    Node& node = m_nodes[i];
    node.up = true;
    m_result.stats.started_ms[i] = m_now;
    m_result.stats.first_commit_vote_ms[i] = 0;
    node.app = std::make_unique<FakeApp>();
    consensus::Tip tip;
    for (const auto& block : node.chain) node.app->Commit(block);
    if (!node.chain.empty()) {
        tip.empty = false;
        tip.header = node.chain.back().header;
        tip.certificate = node.chain.back().certificate;
    }
    node.core = std::make_unique<consensus::Core>(OptionsFor(i), *node.signer, m_verifier,
                                                  *node.app, tip, node.durable);
    // Clients retry: a restarted node learns the transactions still outstanding.
    if (!client_retries) return;
    for (const auto& tx : m_txs) {
        if (!node.chain_txs.count(tx.Hash())) node.mempool[tx.Hash()] = tx;
    }
}

void Simulation::Crash(uint32_t i) {
    Node& node = m_nodes[i];
    node.up = false;
    node.core.reset();
    node.app.reset();
    node.mempool.clear();
    node.unsynced.clear();
}

void Simulation::OnTick(uint32_t i) {
    Node& node = m_nodes[i];
    node.core->Tick();
    if (node.core->CanPropose() && !node.mempool.empty()) {
        const auto in_flight = node.core->InFlightTxHashes();
        std::vector<chain::Transaction> batch;
        for (const auto& [hash, tx] : node.mempool) {
            if (batch.size() == m_cfg.batch_size) break;
            if (!in_flight.count(hash)) batch.push_back(tx);
        }
        if (!batch.empty()) {
            Status s = node.core->Propose(std::move(batch), m_now);
            if (!s.ok()) Trace("node " + std::to_string(i) + " propose failed: " + s.ToString());
        }
    }
    node.core->SetPendingWork(!node.mempool.empty());
    Drain(i);
}

void Simulation::Drain(uint32_t i) {
    // The simulated node's storage and network behind the order every driver shares
    // (consensus/ready.h): durable records, then commits, then messages, then served blocks.
    class Handler final : public consensus::ReadyHandler {
    public:
        Handler(Simulation& sim, uint32_t index) : m_sim(sim), m_i(index) {}
        void Persist(std::vector<consensus::DurableWrite> writes, bool sync) override {
            Node& node = m_sim.m_nodes[m_i];
            for (auto& w : writes) node.unsynced.push_back(std::move(w));
            if (!sync) return;
            for (auto& w : node.unsynced) {
                if (w.value) {
                    node.durable[w.key] = std::move(*w.value);
                } else {
                    node.durable.erase(w.key);
                }
            }
            node.unsynced.clear();
        }
        void Apply(const chain::Block& block) override { m_sim.OnCommitted(m_i, block); }
        void Send(Outbound out) override { m_sim.Dispatch(m_i, std::move(out)); }
        void Serve(const consensus::ServeRequest& req) override {
            const Node& node = m_sim.m_nodes[m_i];
            consensus::BlockResponse resp;
            resp.from = m_i;
            resp.tip_height = node.chain.empty() ? 0 : node.chain.size() - 1;
            for (uint64_t h = req.from_height; h <= req.to_height && h < node.chain.size(); ++h) {
                resp.blocks.push_back(node.chain[h]);
            }
            m_sim.Dispatch(m_i, Outbound{static_cast<int32_t>(req.to), std::move(resp)});
        }
        bool Running() const override { return m_sim.m_nodes[m_i].up; }

    private:
        Simulation& m_sim;
        uint32_t m_i;
    };
    Handler handler(*this, i);
    consensus::DrainReady(*m_nodes[i].core, handler);
}

void Simulation::OnCommitted(uint32_t i, const chain::Block& block) {
    Node& node = m_nodes[i];
    const uint64_t h = block.header.height;
    const std::string who = "node " + std::to_string(i);
    Trace(who + " COMMIT h=" + std::to_string(h) + " d=" + Short(block.Hash()) +
          " txs=" + std::to_string(block.transactions.size()));
    if (Honest(i)) {
        // Safety: one block per height across honest nodes.
        auto [it, fresh] = m_canonical.emplace(h, std::make_pair(block.Hash(), i));
        if (fresh) {
            ++m_result.stats.blocks;
        } else if (it->second.first != block.Hash()) {
            Fail("safety: at height " + std::to_string(h) + " node " +
                 std::to_string(it->second.second) + " committed " + Short(it->second.first) +
                 " but " + who + " committed " + Short(block.Hash()));
        }
        m_result.stats.committed_height = std::max(m_result.stats.committed_height, h);
        // Validity.
        const Hash256 parent = node.chain.empty() ? Hash256{} : node.chain.back().Hash();
        if (h != node.chain.size() || block.header.prev_hash != parent) {
            Fail("validity: " + who + " committed height " + std::to_string(h) +
                 " out of order or not linked to its parent");
        }
        if (!chain::CheckBlockIntegrity(block).ok() ||
            !chain::VerifyCertificate(block.certificate, kChain, m_validators, m_verifier).ok()) {
            Fail("validity: " + who + " committed block " + std::to_string(h) +
                 " without a valid commit certificate");
        }
        if (block.header.proposer != block.header.view % m_cfg.nodes) {
            Fail("validity: block " + std::to_string(h) + " was not proposed by its view's primary");
        }
        std::set<Hash256> in_block;
        for (const auto& tx : block.transactions) {
            const Hash256 th = tx.Hash();
            if (!m_tx_set.count(th)) Fail("validity: block " + std::to_string(h) + " holds a transaction no client sent");
            if (node.chain_txs.count(th) || !in_block.insert(th).second) {
                Fail("validity: " + who + " committed a transaction twice (height " + std::to_string(h) + ")");
            }
        }
    }
    node.chain.push_back(block);
    node.app->Commit(block);
    for (const auto& tx : block.transactions) {
        node.chain_txs.insert(tx.Hash());
        node.mempool.erase(tx.Hash());
    }
}

bool Simulation::LinkUp(uint32_t from, uint32_t to) const {
    if (!m_nodes[from].up || !m_nodes[to].up) return false;
    for (const auto& p : m_partitions) {
        if (m_now >= p.start && m_now < p.end && p.group[from] != p.group[to]) return false;
    }
    return true;
}

void Simulation::Dispatch(uint32_t from, Outbound out) {
    const Behaviour b = m_nodes[from].behaviour;
    if (const auto* v = std::get_if<consensus::Vote>(&out.message);
        v != nullptr && v->kind == consensus::VoteKind::kCommit &&
        m_result.stats.first_commit_vote_ms[from] == 0) {
        m_result.stats.first_commit_vote_ms[from] = m_now;
    }
    if (b == Behaviour::kSilent) return;
    const FakeSigner& signer = *m_nodes[from].signer;
    std::vector<uint32_t> targets;
    if (out.to == Outbound::kBroadcast) {
        for (uint32_t j = 0; j < m_cfg.nodes; ++j) {
            if (j != from) targets.push_back(j);
        }
    } else {
        targets.push_back(static_cast<uint32_t>(out.to));
    }
    auto original = std::make_shared<const Message>(out.message);
    std::shared_ptr<const Message> twisted = original;  // what odd-numbered peers receive
    if (b == Behaviour::kBadSignature) {
        Message m = out.message;
        std::visit(
            [](auto& x) {
                if constexpr (requires { x.signature; }) {
                    if (!x.signature.empty()) x.signature[0] ^= 0x5a;
                }
            },
            m);
        original = twisted = std::make_shared<const Message>(std::move(m));
    } else if (b == Behaviour::kEquivocate) {
        Message m = out.message;
        if (auto* pp = std::get_if<consensus::PrePrepare>(&m)) {
            pp->block.header.timestamp_ms += 1;  // same transactions, another block
            consensus::SignMessage(kChain, signer, m);
            twisted = std::make_shared<const Message>(std::move(m));
        } else if (auto* v = std::get_if<consensus::Vote>(&m)) {
            v->digest[0] ^= 0xff;
            consensus::SignMessage(kChain, signer, m);
            twisted = std::make_shared<const Message>(std::move(m));
        }
    } else if (b == Behaviour::kConflictingVotes) {
        Message m = out.message;
        if (auto* v = std::get_if<consensus::Vote>(&m)) {
            v->digest = crypto::Sm3("made up " + std::to_string(m_rng()));
            consensus::SignMessage(kChain, signer, m);
            twisted = std::make_shared<const Message>(std::move(m));
        }
    }
    for (uint32_t to : targets) SendLink(from, to, to % 2 == 1 ? twisted : original);
}

void Simulation::SendLink(uint32_t from, uint32_t to, std::shared_ptr<const Message> msg) {
    ++m_result.stats.messages;
    ++m_result.stats.by_type[consensus::MessageName(*msg)];
    const bool faulty_period = m_now < m_cfg.fault_period_ms;
    if (!LinkUp(from, to) || (faulty_period && Uniform() < m_cfg.drop)) {
        Trace("drop " + std::to_string(from) + "->" + std::to_string(to) + " " + Describe(*msg));
        return;
    }
    const int copies = (faulty_period && Uniform() < m_cfg.duplicate) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
        Event e;
        e.kind = Event::kDeliver;
        e.time = m_now + m_cfg.min_delay_ms + Below(m_cfg.max_delay_ms - m_cfg.min_delay_ms + 1);
        e.node = to;
        e.from = from;
        e.msg = msg;
        Schedule(std::move(e));
    }
}

bool Simulation::AllDone() const {
    for (uint32_t i = 0; i < m_cfg.nodes; ++i) {
        if (!Honest(i)) continue;
        if (!m_nodes[i].up || m_nodes[i].chain_txs.size() < m_txs.size()) return false;
    }
    return true;
}

SimResult Simulation::Run() {
    PlanFaults();
    std::vector<chain::Validator> vs;
    for (uint32_t i = 0; i < m_cfg.nodes; ++i) {
        vs.push_back({"n" + std::to_string(i), "sim", "validator", FakePublicKey(i), ""});
    }
    m_validators = chain::ValidatorSet(std::move(vs));
    m_nodes.resize(m_cfg.nodes);
    m_result.stats.started_ms.assign(m_cfg.nodes, 0);
    m_result.stats.first_commit_vote_ms.assign(m_cfg.nodes, 0);
    for (uint32_t i = 0; i < m_cfg.nodes; ++i) {
        m_nodes[i].signer = std::make_unique<FakeSigner>(i);
        auto it = m_cfg.byzantine.find(i);
        m_nodes[i].behaviour = it == m_cfg.byzantine.end() ? Behaviour::kHonest : it->second;
    }
    // Workload: two thirds during the faults, the rest after they end (so liveness means
    // committing new blocks after the network heals).
    for (uint32_t t = 0; t < m_cfg.transactions; ++t) {
        chain::Transaction tx{ToBytes("ok-" + std::to_string(t) + "-" + std::to_string(m_cfg.seed)), {}};
        m_txs.push_back(tx);
        m_tx_set.insert(tx.Hash());
        Event e;
        e.kind = Event::kSubmit;
        e.tx = t;
        e.time = t < m_cfg.transactions * 2 / 3 ? Below(m_cfg.fault_period_ms)
                                                : m_cfg.fault_period_ms + Below(1000);
        Schedule(std::move(e));
    }
    m_txs.clear();  // re-added as they are submitted
    std::vector<chain::Transaction> all;
    for (uint32_t t = 0; t < m_cfg.transactions; ++t) {
        all.push_back({ToBytes("ok-" + std::to_string(t) + "-" + std::to_string(m_cfg.seed)), {}});
    }
    for (const auto& [t, who] : m_cfg.crashes) {
        Schedule(Event{t, 0, Event::kCrash, who, 0, nullptr, 0});
        auto downtime = m_cfg.downtime_ms.find(who);
        Schedule(Event{t + (downtime == m_cfg.downtime_ms.end() ? m_cfg.crash_downtime_ms
                                                                : downtime->second),
                       0, Event::kRestart, who, 0, nullptr, 0});
    }
    for (uint32_t i = 0; i < m_cfg.nodes; ++i) {
        auto late = m_cfg.late_joins.find(i);
        if (late == m_cfg.late_joins.end()) {
            Start(i);
        } else {
            m_nodes[i].up = false;
            Schedule(Event{late->second, 0, Event::kJoin, i, 0, nullptr, 0});
        }
        Schedule(Event{1 + i, 0, Event::kTick, i, 0, nullptr, 0});
    }

    const uint64_t end = m_cfg.fault_period_ms + 1000 + m_cfg.liveness_bound_ms;
    while (!m_events.empty() && m_result.ok) {
        Event e = m_events.top();
        m_events.pop();
        if (e.time > end) break;
        m_now = e.time;
        Node& node = m_nodes[e.node];
        switch (e.kind) {
            case Event::kTick:
                if (node.up) OnTick(e.node);
                e.time += m_cfg.tick_ms;
                Schedule(e);
                break;
            case Event::kDeliver:
                if (!node.up) break;
                // As node/net/peer_transport.cpp: a frame whose sender is not the stream's
                // authenticated peer is dropped.
                if (consensus::Sender(*e.msg) != e.from) {
                    Trace("drop (sender mismatch) " + std::to_string(e.from) + "->" +
                          std::to_string(e.node) + " " + Describe(*e.msg));
                    break;
                }
                Trace("deliver " + std::to_string(e.from) + "->" + std::to_string(e.node) + " " +
                      Describe(*e.msg));
                node.core->Step(*e.msg);
                Drain(e.node);
                break;
            case Event::kCrash:
                if (!node.up) break;
                Trace("crash node " + std::to_string(e.node));
                Crash(e.node);
                break;
            case Event::kRestart:
                if (node.up) break;
                Trace("restart node " + std::to_string(e.node));
                Start(e.node);
                Drain(e.node);
                break;
            case Event::kJoin:
                Trace("join node " + std::to_string(e.node));
                Start(e.node, /*client_retries=*/false);
                Drain(e.node);
                break;
            case Event::kSubmit: {
                const chain::Transaction& tx = all[e.tx];
                m_txs.push_back(tx);
                Trace("submit tx " + std::to_string(e.tx));
                for (auto& n : m_nodes) {
                    if (n.up && !n.chain_txs.count(tx.Hash())) n.mempool[tx.Hash()] = tx;
                }
                break;
            }
        }
        if (m_txs.size() == m_cfg.transactions && m_now >= m_cfg.fault_period_ms && AllDone()) break;
    }
    m_result.stats.end_ms = m_now;
    for (uint32_t i = 0; i < m_cfg.nodes; ++i) {
        if (!m_nodes[i].core) continue;
        m_result.stats.view_changes = std::max(m_result.stats.view_changes,
                                               m_nodes[i].core->counters().view_changes);
        m_result.stats.equivocations += m_nodes[i].core->counters().equivocations_detected;
        m_result.stats.fetched += m_nodes[i].core->counters().blocks_fetched;
    }
    if (m_result.ok && !AllDone()) {
        std::ostringstream s;
        s << "liveness: by t=" << m_now << "ms (faults ended at " << m_cfg.fault_period_ms
          << "ms) not every honest node committed all " << m_txs.size() << " transactions:";
        for (uint32_t i = 0; i < m_cfg.nodes; ++i) {
            if (!Honest(i)) continue;
            s << " node" << i << "=" << m_nodes[i].chain_txs.size() << "tx/h"
              << m_nodes[i].chain.size() << "/v"
              << (m_nodes[i].core ? m_nodes[i].core->view() : 0)
              << (m_nodes[i].core && m_nodes[i].core->in_view_change() ? "vc" : "");
        }
        Fail(s.str());
    }
    return std::move(m_result);
}

}  // namespace

SimResult RunSimulation(const SimConfig& config) { return Simulation(config).Run(); }

}  // namespace meterchain::sim
