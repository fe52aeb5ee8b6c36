// A deterministic application for the simulator: a transaction is valid when its body starts
// with "ok-" and it was not committed before; the state root chains the transaction hashes.
#pragma once

#include <map>
#include <set>

#include "consensus/application.h"

namespace meterchain::sim {

class FakeApp final : public consensus::Application {
public:
    Result<Hash256> Execute(const chain::Block& block) override;
    // Applies a committed block (its parent must be the current tip).
    void Commit(const chain::Block& block);
    bool IsCommitted(const Hash256& tx) const { return m_committed_txs.count(tx) > 0; }

private:
    struct Executed {
        uint64_t height = 0;
        Hash256 parent{};
        Hash256 root{};
        std::vector<Hash256> txs;
    };
    bool m_has_tip = false;
    uint64_t m_tip_height = 0;
    Hash256 m_tip_hash{};
    Hash256 m_tip_root{};
    std::set<Hash256> m_committed_txs;
    std::map<Hash256, Executed> m_executed;  // speculative results by block hash
};

}  // namespace meterchain::sim
