// A deterministic discrete-event simulation of a PBFT cluster: N in-process cores, a seeded
// random source, virtual time, per-link delay / drop / duplication / reordering, partitions
// that heal, crash and restart with persisted state, and Byzantine validators.
//
// Invariants checked on every run:
//   safety    no two honest nodes commit different blocks at the same height (so committed
//             chains are prefixes of each other);
//   validity  every committed block links to its parent, carries a valid commit certificate,
//             was proposed by the primary of its view and holds only well-formed,
//             client-submitted transactions, none of them twice in the chain;
//   liveness  after the faults end (network healed, crashed nodes restarted, at most f
//             Byzantine left), every honest node commits every submitted transaction within
//             the liveness bound of virtual time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace meterchain::sim {

enum class Behaviour {
    kHonest,
    kSilent,            // sends nothing
    kBadSignature,      // corrupts the signature of everything it sends
    kEquivocate,        // as primary, proposes two different blocks to two halves
    kConflictingVotes,  // votes for made-up blocks towards half of its peers
};
const char* BehaviourName(Behaviour b);

struct SimConfig {
    uint32_t nodes = 4;
    uint64_t seed = 1;
    bool random_faults = true;       // derive faults from the seed (the sweep)
    // Fixed faults when random_faults is false (scenario tests).
    std::map<uint32_t, Behaviour> byzantine;
    double drop = 0.0;
    double duplicate = 0.0;
    uint32_t min_delay_ms = 1;
    uint32_t max_delay_ms = 10;
    std::vector<std::pair<uint64_t, uint32_t>> crashes;  // (time ms, node) crash then restart
    uint64_t crash_downtime_ms = 800;
    std::map<uint32_t, uint64_t> downtime_ms;  // per node, overrides crash_downtime_ms
    // (node, time ms): the node is first started then, with nothing on disk, and clients do
    // not resend it anything (it sees only what is submitted after it is up).
    std::map<uint32_t, uint64_t> late_joins;
    // Workload and timing.
    uint32_t transactions = 60;
    uint64_t fault_period_ms = 3000;   // faults happen in [0, fault_period_ms)
    uint64_t liveness_bound_ms = 40000;
    uint32_t tick_ms = 10;
    uint32_t batch_size = 8;
    bool trace = false;  // record every event (for replaying a failing seed)
};

struct SimStats {
    uint64_t messages = 0;  // delivered to the network (before drops)
    std::map<std::string, uint64_t> by_type;
    uint64_t committed_height = 0;  // the highest height any honest node committed
    uint64_t blocks = 0;            // committed blocks (counted once)
    uint64_t view_changes = 0;
    uint64_t equivocations = 0;
    uint64_t fetched = 0;
    uint64_t end_ms = 0;
    // Per node: when it last (re)started, and when it first sent a COMMIT vote after that
    // (0: never) -- a node that only fetches blocks signs no certificate.
    std::vector<uint64_t> started_ms;
    std::vector<uint64_t> first_commit_vote_ms;
};

struct SimResult {
    bool ok = true;
    std::string failure;       // which invariant broke, and where
    std::string description;   // the faults of this run
    SimStats stats;
    std::vector<std::string> trace;
};

SimResult RunSimulation(const SimConfig& config);

}  // namespace meterchain::sim
