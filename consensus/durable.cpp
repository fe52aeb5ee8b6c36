// What the core persists so that a restarted node never contradicts its earlier votes:
//   "view"        -> view (u64), in view change (u8)
//   "slot/<h>"    -> for an uncommitted height: the view and digest this node voted for and
//                    its highest-view prepared certificate (evidence for view changes)
// Records of committed heights are deleted, lazily (DurableWrite::lazy): Restore skips them
// anyway, so a deletion lost in a crash changes nothing.
#include <cstdio>

#include "consensus/pbft.h"
#include "node/base/codec.h"
#include "node/chain/proto_adapter.h"

namespace meterchain::consensus {

std::string Core::SlotKey(uint64_t height) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "slot/%020llu", static_cast<unsigned long long>(height));
    return buf;
}

void Core::Persist(std::string key, std::optional<Bytes> value, bool lazy) {
    m_ready.durable.push_back({std::move(key), std::move(value), lazy});
}

void Core::PersistView() {
    Persist("view", codec::Writer().U64(m_view).U8(m_in_view_change ? 1 : 0).bytes());
}

void Core::PersistSlot(uint64_t height, const Slot& s) {
    codec::Writer w;
    w.U64(s.lock_view).U8(s.lock_digest ? 1 : 0);
    if (s.lock_digest) w.Digest(*s.lock_digest);
    w.U8(s.best_prepared ? 1 : 0);
    if (s.best_prepared) {
        w.U64(s.best_prepared->view).Blob(chain::SerializeBlock(s.best_prepared->block));
        w.U32(static_cast<uint32_t>(s.best_prepared->prepares.size()));
        for (const auto& sig : s.best_prepared->prepares) w.U32(sig.validator).Blob(sig.signature);
    }
    Persist(SlotKey(height), std::move(w).Take());
}

void Core::Restore(const std::map<std::string, Bytes>& durable) {
    auto view = durable.find("view");
    if (view != durable.end()) {
        codec::Reader r(view->second);
        uint8_t in_vc = 0;
        if (r.U64(m_view) && r.U8(in_vc)) m_in_view_change = in_vc != 0;
    }
    for (auto it = durable.lower_bound("slot/"); it != durable.end(); ++it) {
        if (it->first.rfind("slot/", 0) != 0) break;
        const uint64_t h = std::strtoull(it->first.c_str() + 5, nullptr, 10);
        if (h < FirstUncommitted()) {
            // Committed already: its lazy deletion was lost in a crash. Delete it again.
            Persist(it->first, std::nullopt, /*lazy=*/true);
            continue;
        }
        codec::Reader r(it->second);
        Slot s;
        uint8_t has_lock = 0, has_prepared = 0;
        r.U64(s.lock_view);
        r.U8(has_lock);
        if (has_lock) {
            Hash256 d{};
            r.Digest(d);
            s.lock_digest = d;
        }
        r.U8(has_prepared);
        if (has_prepared) {
            PreparedCert cert;
            Bytes block;
            uint32_t count = 0;
            r.U64(cert.view);
            r.Blob(block);
            r.U32(count);
            for (uint32_t i = 0; i < count && r.ok(); ++i) {
                chain::CommitSignature sig;
                r.U32(sig.validator);
                r.Blob(sig.signature);
                cert.prepares.push_back(std::move(sig));
            }
            auto parsed = chain::ParseBlock(block);
            if (parsed.ok()) {
                cert.block = std::move(*parsed);
                s.best_prepared = std::move(cert);
            }
        }
        if (!r.AtEnd()) {
            std::fprintf(stderr, "consensus: durable record %s is corrupt\n", it->first.c_str());
            std::abort();  // voting without it could contradict an earlier vote
        }
        m_slots[h] = std::move(s);
    }
}

}  // namespace meterchain::consensus
