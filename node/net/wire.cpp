#include "node/net/wire.h"

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "node/base/overloaded.h"
#include "node/chain/proto_adapter.h"

namespace meterchain::net {

namespace {

using consensus::BlockRequest;
using consensus::BlockResponse;
using consensus::Checkpoint;
using consensus::Message;
using consensus::NewView;
using consensus::NewViewRelay;
using consensus::PreparedCert;
using consensus::PrePrepare;
using consensus::ViewChange;
using consensus::Vote;
using consensus::VoteKind;

std::string Str(ByteView b) { return std::string(b.begin(), b.end()); }

// Nested errors keep their own text and gain the path of the field they came from, so a
// rejected NEW-VIEW says which view change and which certificate was at fault.
Status At(const std::string& where, const Status& s) {
    return InvalidArgument(where + ": " + s.message());
}

std::string Index(const std::string& where, int i) { return where + "[" + std::to_string(i) + "]"; }

Result<Hash256> Digest(const std::string& field, const std::string& where) {
    auto h = HashFromBytes(AsBytes(field));
    if (!h) {
        return InvalidArgument(where + " must be 32 bytes, got " + std::to_string(field.size()));
    }
    return *h;
}

Status CheckCount(int count, size_t cap, const std::string& where) {
    if (static_cast<size_t>(count) > cap) {
        return InvalidArgument(where + " has " + std::to_string(count) + " entries, at most " +
                               std::to_string(cap) + " allowed");
    }
    return Status::Ok();
}

// ---- domain -> wire --------------------------------------------------------------------------

v1::VoteMsg::Kind KindToProto(VoteKind kind) {
    switch (kind) {
        case VoteKind::kPrepare:
            return v1::VoteMsg::PREPARE;
        case VoteKind::kCommit:
            return v1::VoteMsg::COMMIT;
    }
    // Not a valid domain value; the receiver refuses it.
    return v1::VoteMsg::KIND_UNSPECIFIED;
}

void EncodePreparedCert(const PreparedCert& cert, v1::PreparedCert* pb) {
    pb->set_view(cert.view);
    *pb->mutable_block() = chain::ToProto(cert.block);
    for (const auto& s : cert.prepares) {
        auto* out = pb->add_prepares();
        out->set_validator(s.validator);
        out->set_signature(Str(s.signature));
    }
}

void EncodeViewChange(const ViewChange& vc, v1::ViewChangeMsg* pb) {
    pb->set_new_view(vc.new_view);
    if (vc.has_committed) *pb->mutable_committed() = chain::ToProto(vc.committed);
    for (const auto& cert : vc.prepared) EncodePreparedCert(cert, pb->add_prepared());
    pb->set_from(vc.from);
    pb->set_signature(Str(vc.signature));
}

void EncodeNewView(const NewView& nv, v1::NewViewMsg* pb) {
    pb->set_view(nv.view);
    for (const auto& vc : nv.view_changes) EncodeViewChange(vc, pb->add_view_changes());
}

// ---- wire -> domain --------------------------------------------------------------------------

Result<chain::Block> DecodeBlock(bool present, const v1::Block& pb, const std::string& where) {
    if (!present) return InvalidArgument(where + " is missing");
    auto block = chain::FromProto(pb);
    if (!block.ok()) return At(where, block.status());
    return block;
}

Result<PreparedCert> DecodePreparedCert(const v1::PreparedCert& pb, const std::string& where) {
    PreparedCert cert;
    cert.view = pb.view();
    auto block = DecodeBlock(pb.has_block(), pb.block(), where + ".block");
    if (!block.ok()) return block.status();
    cert.block = std::move(*block);
    cert.prepares.reserve(pb.prepares_size());
    for (const auto& s : pb.prepares()) {
        cert.prepares.push_back(chain::CommitSignature{s.validator(), ToBytes(s.signature())});
    }
    return cert;
}

Result<ViewChange> DecodeViewChange(const v1::ViewChangeMsg& pb, const std::string& where) {
    MC_RETURN_IF_ERROR(CheckCount(pb.prepared_size(), kMaxPreparedCerts, where + ".prepared"));
    ViewChange vc;
    vc.new_view = pb.new_view();
    vc.has_committed = pb.has_committed();
    if (vc.has_committed) {
        auto committed = chain::FromProto(pb.committed());
        if (!committed.ok()) return At(where + ".committed", committed.status());
        vc.committed = std::move(*committed);
    }
    vc.prepared.reserve(pb.prepared_size());
    for (int i = 0; i < pb.prepared_size(); ++i) {
        auto cert = DecodePreparedCert(pb.prepared(i), Index(where + ".prepared", i));
        if (!cert.ok()) return cert.status();
        vc.prepared.push_back(std::move(*cert));
    }
    vc.from = pb.from();
    vc.signature = ToBytes(pb.signature());
    return vc;
}

Result<Message> DecodePrePrepare(const v1::ConsensusEnvelope& e) {
    const auto& pb = e.pre_prepare();
    PrePrepare m;
    m.view = pb.view();
    m.height = pb.height();
    auto block = DecodeBlock(pb.has_block(), pb.block(), "pre_prepare.block");
    if (!block.ok()) return block.status();
    m.block = std::move(*block);
    m.from = e.from();
    m.signature = ToBytes(e.signature());
    return Message{std::move(m)};
}

Result<Message> DecodeVote(const v1::ConsensusEnvelope& e) {
    const auto& pb = e.vote();
    Vote m;
    switch (pb.kind()) {
        case v1::VoteMsg::PREPARE:
            m.kind = VoteKind::kPrepare;
            break;
        case v1::VoteMsg::COMMIT:
            m.kind = VoteKind::kCommit;
            break;
        default:  // KIND_UNSPECIFIED, or a value from a newer schema (proto3 enums are open)
            return InvalidArgument("vote.kind " + std::to_string(static_cast<int>(pb.kind())) +
                                   " is neither PREPARE nor COMMIT");
    }
    m.view = pb.view();
    m.height = pb.height();
    auto digest = Digest(pb.digest(), "vote.digest");
    if (!digest.ok()) return digest.status();
    m.digest = *digest;
    m.from = e.from();
    m.signature = ToBytes(e.signature());
    m.proposal_signature = ToBytes(pb.proposal_signature());
    return Message{std::move(m)};
}

Result<Message> DecodeCheckpoint(const v1::ConsensusEnvelope& e) {
    const auto& pb = e.checkpoint();
    Checkpoint m;
    m.height = pb.height();
    auto block_hash = Digest(pb.block_hash(), "checkpoint.block_hash");
    if (!block_hash.ok()) return block_hash.status();
    auto state_root = Digest(pb.state_root(), "checkpoint.state_root");
    if (!state_root.ok()) return state_root.status();
    m.block_hash = *block_hash;
    m.state_root = *state_root;
    m.from = e.from();
    m.signature = ToBytes(e.signature());
    return Message{std::move(m)};
}

Result<Message> DecodeTopLevelViewChange(const v1::ConsensusEnvelope& e) {
    auto vc = DecodeViewChange(e.view_change(), "view_change");
    if (!vc.ok()) return vc.status();
    // The signature is checked against one of the two copies only; a disagreement would let
    // the transport and consensus see different senders.
    if (vc->from != e.from() || Str(vc->signature) != e.signature()) {
        return InvalidArgument("view_change.from/signature disagree with the envelope's");
    }
    return Message{std::move(*vc)};
}

Result<NewView> DecodeNewViewBody(const v1::NewViewMsg& pb, const std::string& where) {
    MC_RETURN_IF_ERROR(CheckCount(pb.view_changes_size(), kMaxViewChanges, where + ".view_changes"));
    NewView m;
    m.view = pb.view();
    m.view_changes.reserve(pb.view_changes_size());
    for (int i = 0; i < pb.view_changes_size(); ++i) {
        auto vc = DecodeViewChange(pb.view_changes(i), Index(where + ".view_changes", i));
        if (!vc.ok()) return vc.status();
        m.view_changes.push_back(std::move(*vc));
    }
    return m;
}

Result<Message> DecodeNewView(const v1::ConsensusEnvelope& e) {
    auto m = DecodeNewViewBody(e.new_view(), "new_view");
    if (!m.ok()) return m.status();
    m->from = e.from();
    m->signature = ToBytes(e.signature());
    return Message{std::move(*m)};
}

Result<Message> DecodeNewViewRelay(const v1::ConsensusEnvelope& e) {
    const auto& pb = e.new_view_relay();
    if (!e.signature().empty()) {
        return InvalidArgument("new_view_relay is unsigned but the envelope carries a signature");
    }
    auto nv = DecodeNewViewBody(pb.new_view(), "new_view_relay.new_view");
    if (!nv.ok()) return nv.status();
    nv->from = pb.primary();
    nv->signature = ToBytes(pb.primary_signature());
    NewViewRelay m;
    m.new_view = std::move(*nv);
    m.from = e.from();
    return Message{std::move(m)};
}

Result<Message> DecodeBlockRequest(const v1::ConsensusEnvelope& e) {
    BlockRequest m;
    m.from_height = e.block_request().from_height();
    m.to_height = e.block_request().to_height();
    m.from = e.from();
    m.signature = ToBytes(e.signature());
    return Message{std::move(m)};
}

Result<Message> DecodeBlockResponse(const v1::ConsensusEnvelope& e) {
    const auto& pb = e.block_response();
    if (!e.signature().empty()) {
        return InvalidArgument("block_response is unsigned but the envelope carries a signature");
    }
    MC_RETURN_IF_ERROR(
        CheckCount(pb.blocks_size(), kMaxBlocksPerResponse, "block_response.blocks"));
    BlockResponse m;
    m.tip_height = pb.tip_height();
    m.blocks.reserve(pb.blocks_size());
    for (int i = 0; i < pb.blocks_size(); ++i) {
        auto block = DecodeBlock(true, pb.blocks(i), Index("block_response.blocks", i));
        if (!block.ok()) return block.status();
        m.blocks.push_back(std::move(*block));
    }
    m.from = e.from();
    return Message{std::move(m)};
}

}  // namespace

v1::ConsensusEnvelope ToProto(const Message& m) {
    v1::ConsensusEnvelope e;
    e.set_from(consensus::Sender(m));
    std::visit(base::Overloaded{
                   [&](const PrePrepare& x) {
                       auto* pb = e.mutable_pre_prepare();
                       pb->set_view(x.view);
                       pb->set_height(x.height);
                       *pb->mutable_block() = chain::ToProto(x.block);
                       e.set_signature(Str(x.signature));
                   },
                   [&](const Vote& x) {
                       auto* pb = e.mutable_vote();
                       pb->set_kind(KindToProto(x.kind));
                       pb->set_view(x.view);
                       pb->set_height(x.height);
                       pb->set_digest(Str(x.digest));
                       pb->set_proposal_signature(Str(x.proposal_signature));
                       e.set_signature(Str(x.signature));
                   },
                   [&](const Checkpoint& x) {
                       auto* pb = e.mutable_checkpoint();
                       pb->set_height(x.height);
                       pb->set_block_hash(Str(x.block_hash));
                       pb->set_state_root(Str(x.state_root));
                       e.set_signature(Str(x.signature));
                   },
                   [&](const ViewChange& x) {
                       EncodeViewChange(x, e.mutable_view_change());
                       e.set_signature(Str(x.signature));
                   },
                   [&](const NewView& x) {
                       EncodeNewView(x, e.mutable_new_view());
                       e.set_signature(Str(x.signature));
                   },
                   [&](const NewViewRelay& x) {
                       auto* pb = e.mutable_new_view_relay();
                       EncodeNewView(x.new_view, pb->mutable_new_view());
                       pb->set_primary(x.new_view.from);
                       pb->set_primary_signature(Str(x.new_view.signature));
                   },
                   [&](const BlockRequest& x) {
                       auto* pb = e.mutable_block_request();
                       pb->set_from_height(x.from_height);
                       pb->set_to_height(x.to_height);
                       e.set_signature(Str(x.signature));
                   },
                   [&](const BlockResponse& x) {
                       auto* pb = e.mutable_block_response();
                       pb->set_tip_height(x.tip_height);
                       for (const auto& b : x.blocks) *pb->add_blocks() = chain::ToProto(b);
                   },
               },
               m);
    return e;
}

Result<Message> FromProto(const v1::ConsensusEnvelope& e) {
    switch (e.body_case()) {
        case v1::ConsensusEnvelope::kPrePrepare:
            return DecodePrePrepare(e);
        case v1::ConsensusEnvelope::kVote:
            return DecodeVote(e);
        case v1::ConsensusEnvelope::kCheckpoint:
            return DecodeCheckpoint(e);
        case v1::ConsensusEnvelope::kViewChange:
            return DecodeTopLevelViewChange(e);
        case v1::ConsensusEnvelope::kNewView:
            return DecodeNewView(e);
        case v1::ConsensusEnvelope::kBlockRequest:
            return DecodeBlockRequest(e);
        case v1::ConsensusEnvelope::kBlockResponse:
            return DecodeBlockResponse(e);
        case v1::ConsensusEnvelope::kNewViewRelay:
            return DecodeNewViewRelay(e);
        case v1::ConsensusEnvelope::BODY_NOT_SET:
            break;
    }
    // BODY_NOT_SET, or a body field from a newer schema that this build does not know.
    return InvalidArgument("consensus envelope has no body");
}

}  // namespace meterchain::net
