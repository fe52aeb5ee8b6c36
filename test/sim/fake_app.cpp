#include "test/sim/fake_app.h"

#include "node/base/codec.h"
#include "node/crypto/sm.h"

namespace meterchain::sim {

Result<Hash256> FakeApp::Execute(const chain::Block& block) {
    // Collect the transactions of the uncommitted ancestors to reject duplicates.
    std::set<Hash256> seen;
    Hash256 parent_root{};
    if (m_has_tip && block.header.prev_hash == m_tip_hash) {
        parent_root = m_tip_root;
    } else if (!m_has_tip && block.header.prev_hash == Hash256{}) {
        parent_root = Hash256{};
    } else {
        auto it = m_executed.find(block.header.prev_hash);
        if (it == m_executed.end()) return FailedPrecondition("unknown parent");
        parent_root = it->second.root;
        Hash256 cursor = block.header.prev_hash;
        while (!(m_has_tip && cursor == m_tip_hash)) {
            auto e = m_executed.find(cursor);
            if (e == m_executed.end()) return FailedPrecondition("parent does not reach the tip");
            seen.insert(e->second.txs.begin(), e->second.txs.end());
            cursor = e->second.parent;
            if (!m_has_tip && cursor == Hash256{}) break;
        }
    }
    codec::Writer w;
    w.Text("sim/state").Digest(parent_root);
    Executed out;
    out.height = block.header.height;
    out.parent = block.header.prev_hash;
    for (const auto& tx : block.transactions) {
        const Hash256 h = tx.Hash();
        if (tx.body.size() < 3 || tx.body[0] != 'o' || tx.body[1] != 'k' || tx.body[2] != '-') {
            return InvalidArgument("malformed transaction");
        }
        if (m_committed_txs.count(h) || !seen.insert(h).second) {
            return InvalidArgument("duplicate transaction");
        }
        w.Digest(h);
        out.txs.push_back(h);
    }
    out.root = crypto::Sm3(w.bytes());
    chain::BlockHeader header = block.header;
    header.state_root = out.root;
    m_executed[header.Hash()] = out;
    return out.root;
}

void FakeApp::Commit(const chain::Block& block) {
    for (const auto& tx : block.transactions) m_committed_txs.insert(tx.Hash());
    m_has_tip = true;
    m_tip_height = block.header.height;
    m_tip_hash = block.Hash();
    m_tip_root = block.header.state_root;
    for (auto it = m_executed.begin(); it != m_executed.end();) {
        it = it->second.height <= m_tip_height ? m_executed.erase(it) : std::next(it);
    }
}

}  // namespace meterchain::sim
