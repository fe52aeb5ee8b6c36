// What the core persists so that a restarted node never contradicts its earlier votes:
//   "view"        -> view (u64), in view change (u8)
//   "slot/<h>"    -> for an uncommitted height: the view and digest this node voted for and
//                    its highest-view prepared certificate (evidence for view changes)
//   "new_view"    -> the NEW-VIEW that installed the current view, so that a restarted
//                    replica (the primary above all) can still hand it to one that missed it
// Records of committed heights are deleted, lazily (DurableWrite::lazy): Restore skips them
// anyway, so a deletion lost in a crash changes nothing.
#include <cstdio>

#include "consensus/pbft.h"
#include "node/base/codec.h"
#include "node/chain/proto_adapter.h"

namespace meterchain::consensus {

namespace {

void WriteSignatures(codec::Writer& w, const std::vector<chain::CommitSignature>& sigs) {
    w.U32(static_cast<uint32_t>(sigs.size()));
    for (const auto& sig : sigs) w.U32(sig.validator).Blob(sig.signature);
}

bool ReadSignatures(codec::Reader& r, std::vector<chain::CommitSignature>& sigs) {
    uint32_t count = 0;
    if (!r.U32(count)) return false;
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
        chain::CommitSignature sig;
        r.U32(sig.validator);
        r.Blob(sig.signature);
        sigs.push_back(std::move(sig));
    }
    return r.ok();
}

void WritePrepared(codec::Writer& w, const PreparedCert& cert) {
    w.U64(cert.view).Blob(chain::SerializeBlock(cert.block));
    WriteSignatures(w, cert.prepares);
}

bool ReadPrepared(codec::Reader& r, PreparedCert& cert) {
    Bytes block;
    if (!r.U64(cert.view) || !r.Blob(block) || !ReadSignatures(r, cert.prepares)) return false;
    auto parsed = chain::ParseBlock(block);
    if (!parsed.ok()) return false;
    cert.block = std::move(*parsed);
    return true;
}

Bytes EncodeNewView(const NewView& nv) {
    codec::Writer w;
    w.U64(nv.view).U32(nv.from).Blob(nv.signature);
    w.U32(static_cast<uint32_t>(nv.view_changes.size()));
    for (const auto& vc : nv.view_changes) {
        w.U64(vc.new_view).U32(vc.from).Blob(vc.signature).U8(vc.has_committed ? 1 : 0);
        if (vc.has_committed) {
            w.U64(vc.committed.height).U64(vc.committed.view).Digest(vc.committed.block_hash);
            WriteSignatures(w, vc.committed.signatures);
        }
        w.U32(static_cast<uint32_t>(vc.prepared.size()));
        for (const auto& cert : vc.prepared) WritePrepared(w, cert);
    }
    return std::move(w).Take();
}

std::optional<NewView> DecodeNewView(ByteView data) {
    codec::Reader r(data);
    NewView nv;
    uint32_t count = 0;
    if (!r.U64(nv.view) || !r.U32(nv.from) || !r.Blob(nv.signature) || !r.U32(count)) {
        return std::nullopt;
    }
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
        ViewChange vc;
        uint8_t has_committed = 0;
        uint32_t prepared = 0;
        r.U64(vc.new_view);
        r.U32(vc.from);
        r.Blob(vc.signature);
        r.U8(has_committed);
        vc.has_committed = has_committed != 0;
        if (vc.has_committed) {
            r.U64(vc.committed.height);
            r.U64(vc.committed.view);
            r.Digest(vc.committed.block_hash);
            ReadSignatures(r, vc.committed.signatures);
        }
        r.U32(prepared);
        for (uint32_t k = 0; k < prepared && r.ok(); ++k) {
            PreparedCert cert;
            if (!ReadPrepared(r, cert)) return std::nullopt;
            vc.prepared.push_back(std::move(cert));
        }
        nv.view_changes.push_back(std::move(vc));
    }
    if (!r.AtEnd()) return std::nullopt;
    return nv;
}

}  // namespace

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

void Core::PersistNewView(const NewView& nv) { Persist("new_view", EncodeNewView(nv)); }

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
    auto new_view = durable.find("new_view");
    if (new_view != durable.end()) {
        auto nv = DecodeNewView(new_view->second);
        if (!nv) {
            std::fprintf(stderr, "consensus: durable record new_view is corrupt\n");
            std::abort();
        }
        // Only the NEW-VIEW of the current view is ever handed on.
        if (nv->view == m_view && !m_in_view_change) m_last_new_view = std::move(*nv);
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
