#include "consensus/messages.h"

#include <set>

#include "node/base/codec.h"
#include "node/base/overloaded.h"
#include "node/crypto/sm.h"

namespace meterchain::consensus {

namespace {

codec::Writer Tagged(std::string_view tag, const std::string& chain_id) {
    codec::Writer w;
    w.Text(tag).Text(chain_id);
    return w;
}

// The part of a view change that its signature covers: everything except the signatures of
// the certificates inside, which verify on their own.
void WriteViewChangeBody(codec::Writer& w, const ViewChange& m) {
    w.U64(m.new_view).U32(m.from).U8(m.has_committed ? 1 : 0);
    if (m.has_committed) w.U64(m.committed.height).Digest(m.committed.block_hash);
    w.U32(static_cast<uint32_t>(m.prepared.size()));
    for (const auto& p : m.prepared) w.U64(p.block.header.height).U64(p.view).Digest(p.block.Hash());
}

}  // namespace

uint32_t Sender(const Message& m) {
    return std::visit([](const auto& x) { return x.from; }, m);
}

const char* MessageName(const Message& m) {
    return std::visit(base::Overloaded{
                          [](const PrePrepare&) { return "PRE-PREPARE"; },
                          [](const Vote& v) { return v.kind == VoteKind::kPrepare ? "PREPARE" : "COMMIT"; },
                          [](const Checkpoint&) { return "CHECKPOINT"; },
                          [](const ViewChange&) { return "VIEW-CHANGE"; },
                          [](const NewView&) { return "NEW-VIEW"; },
                          [](const BlockRequest&) { return "BLOCK-REQUEST"; },
                          [](const BlockResponse&) { return "BLOCK-RESPONSE"; },
                          [](const NewViewRelay&) { return "NEW-VIEW-RELAY"; },
                      },
                      m);
}

Bytes PrepareVoteBytes(const std::string& chain_id, uint64_t view, uint64_t height,
                       const Hash256& digest) {
    return Tagged("meterchain/prepare/v1", chain_id).U64(height).U64(view).Digest(digest).bytes();
}

Bytes PrePrepareBytes(const std::string& chain_id, uint64_t view, uint64_t height, uint32_t from,
                      const Hash256& block_hash) {
    return Tagged("meterchain/preprepare/v1", chain_id)
        .U64(view)
        .U64(height)
        .U32(from)
        .Digest(block_hash)
        .bytes();
}

Bytes SigningBytes(const std::string& chain_id, const PrePrepare& m) {
    return PrePrepareBytes(chain_id, m.view, m.height, m.from, m.block.Hash());
}

Bytes SigningBytes(const std::string& chain_id, const Vote& m) {
    return m.kind == VoteKind::kPrepare ? PrepareVoteBytes(chain_id, m.view, m.height, m.digest)
                                        : chain::CommitVoteBytes(chain_id, m.height, m.view, m.digest);
}

Bytes SigningBytes(const std::string& chain_id, const Checkpoint& m) {
    return Tagged("meterchain/checkpoint/v1", chain_id)
        .U64(m.height)
        .Digest(m.block_hash)
        .Digest(m.state_root)
        .bytes();
}

Bytes SigningBytes(const std::string& chain_id, const ViewChange& m) {
    codec::Writer w = Tagged("meterchain/viewchange/v1", chain_id);
    WriteViewChangeBody(w, m);
    return std::move(w).Take();
}

Bytes SigningBytes(const std::string& chain_id, const NewView& m) {
    codec::Writer w = Tagged("meterchain/newview/v1", chain_id);
    w.U64(m.view).U32(m.from).U32(static_cast<uint32_t>(m.view_changes.size()));
    for (const auto& vc : m.view_changes) {
        codec::Writer body;
        WriteViewChangeBody(body, vc);
        w.Digest(crypto::Sm3(body.bytes()));
    }
    return std::move(w).Take();
}

Bytes SigningBytes(const std::string& chain_id, const BlockRequest& m) {
    return Tagged("meterchain/blockrequest/v1", chain_id)
        .U64(m.from_height)
        .U64(m.to_height)
        .U32(m.from)
        .bytes();
}

void SignMessage(const std::string& chain_id, const crypto::Signer& signer, Message& m) {
    std::visit(base::Overloaded{
                   [](BlockResponse&) {},
                   [](NewViewRelay&) {},
                   [&](auto& x) { x.signature = signer.Sign(SigningBytes(chain_id, x)); },
               },
               m);
}

bool VerifyMessage(const std::string& chain_id, const chain::ValidatorSet& validators,
                   const crypto::Verifier& verifier, const Message& m) {
    return std::visit(base::Overloaded{
                          [](const BlockResponse&) { return true; },
                          [&](const NewViewRelay& r) {
                              const NewView& nv = r.new_view;
                              return r.from < validators.size() && nv.from < validators.size() &&
                                     verifier.Verify(validators.at(nv.from).public_key,
                                                     SigningBytes(chain_id, nv), nv.signature);
                          },
                          [&](const auto& x) {
                              if (x.from >= validators.size()) return false;
                              return verifier.Verify(validators.at(x.from).public_key,
                                                     SigningBytes(chain_id, x), x.signature);
                          },
                      },
                      m);
}

bool VerifyPreparedCert(const std::string& chain_id, const chain::ValidatorSet& validators,
                        const crypto::Verifier& verifier, uint64_t height,
                        const PreparedCert& cert) {
    if (cert.block.header.height != height) return false;
    if (!chain::CheckTxRoot(cert.block).ok()) return false;
    const Hash256 digest = cert.block.Hash();
    const Bytes vote = PrepareVoteBytes(chain_id, cert.view, height, digest);
    const uint32_t primary = validators.Primary(cert.view);
    std::set<uint32_t> seen;
    for (const auto& s : cert.prepares) {
        if (s.validator >= validators.size() || !seen.insert(s.validator).second) return false;
        const auto& key = validators.at(s.validator).public_key;
        // The primary's prepare is its PRE-PREPARE signature, or, for a block re-proposed by
        // a NEW-VIEW, a PREPARE like the others'. Both sign the same view, height and digest.
        const bool ok =
            s.validator == primary
                ? verifier.Verify(key, PrePrepareBytes(chain_id, cert.view, height, primary, digest),
                                  s.signature) ||
                      verifier.Verify(key, vote, s.signature)
                : verifier.Verify(key, vote, s.signature);
        if (!ok) return false;
    }
    return seen.size() >= validators.Quorum();
}

}  // namespace meterchain::consensus
