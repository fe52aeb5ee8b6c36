#include "node/chain/proto_adapter.h"

namespace meterchain::chain {

namespace {

std::string Str(ByteView b) { return std::string(b.begin(), b.end()); }

Result<Hash256> Digest32(const std::string& field, const char* what) {
    auto h = HashFromBytes(AsBytes(field));
    if (!h) return InvalidArgument(std::string(what) + " must be 32 bytes");
    return *h;
}

}  // namespace

v1::Transaction ToProto(const Transaction& tx) {
    v1::Transaction pb;
    pb.set_body(Str(tx.body));
    pb.set_signature(Str(tx.signature));
    return pb;
}

v1::BlockHeader ToProto(const BlockHeader& h) {
    v1::BlockHeader pb;
    pb.set_height(h.height);
    pb.set_prev_hash(Str(h.prev_hash));
    pb.set_tx_root(Str(h.tx_root));
    pb.set_state_root(Str(h.state_root));
    pb.set_proposer(h.proposer);
    pb.set_view(h.view);
    pb.set_timestamp_ms(h.timestamp_ms);
    pb.set_chain_id(h.chain_id);
    return pb;
}

v1::CommitCertificate ToProto(const CommitCertificate& c) {
    v1::CommitCertificate pb;
    pb.set_height(c.height);
    pb.set_view(c.view);
    pb.set_block_hash(Str(c.block_hash));
    for (const auto& s : c.signatures) {
        auto* out = pb.add_signatures();
        out->set_validator(s.validator);
        out->set_signature(Str(s.signature));
    }
    return pb;
}

v1::Block ToProto(const Block& b) {
    v1::Block pb;
    *pb.mutable_header() = ToProto(b.header);
    for (const auto& tx : b.transactions) *pb.add_transactions() = ToProto(tx);
    *pb.mutable_certificate() = ToProto(b.certificate);
    return pb;
}

v1::MerkleProof ToProto(const MerkleProof& p) {
    v1::MerkleProof pb;
    pb.set_leaf_index(p.leaf_index);
    pb.set_leaf_count(p.leaf_count);
    for (const auto& s : p.siblings) pb.add_siblings(Str(s));
    return pb;
}

Transaction FromProto(const v1::Transaction& pb) {
    Transaction tx{ToBytes(pb.body()), ToBytes(pb.signature())};
    tx.RememberHash();
    return tx;
}

Result<BlockHeader> FromProto(const v1::BlockHeader& pb) {
    BlockHeader h;
    h.height = pb.height();
    h.proposer = pb.proposer();
    h.view = pb.view();
    h.timestamp_ms = pb.timestamp_ms();
    h.chain_id = pb.chain_id();
    auto prev = Digest32(pb.prev_hash(), "header prev_hash");
    if (!prev.ok()) return prev.status();
    auto tx_root = Digest32(pb.tx_root(), "header tx_root");
    if (!tx_root.ok()) return tx_root.status();
    auto state_root = Digest32(pb.state_root(), "header state_root");
    if (!state_root.ok()) return state_root.status();
    h.prev_hash = *prev;
    h.tx_root = *tx_root;
    h.state_root = *state_root;
    return h;
}

Result<CommitCertificate> FromProto(const v1::CommitCertificate& pb) {
    CommitCertificate c;
    c.height = pb.height();
    c.view = pb.view();
    auto hash = Digest32(pb.block_hash(), "certificate block_hash");
    if (!hash.ok()) return hash.status();
    c.block_hash = *hash;
    for (const auto& s : pb.signatures()) {
        c.signatures.push_back(CommitSignature{s.validator(), ToBytes(s.signature())});
    }
    return c;
}

Result<Block> FromProto(const v1::Block& pb) {
    Block b;
    auto header = FromProto(pb.header());
    if (!header.ok()) return header.status();
    b.header = std::move(*header);
    b.transactions.reserve(pb.transactions_size());
    for (const auto& tx : pb.transactions()) b.transactions.push_back(FromProto(tx));
    auto cert = FromProto(pb.certificate());
    if (!cert.ok()) return cert.status();
    b.certificate = std::move(*cert);
    return b;
}

Result<MerkleProof> FromProto(const v1::MerkleProof& pb) {
    MerkleProof p;
    p.leaf_index = pb.leaf_index();
    p.leaf_count = pb.leaf_count();
    for (const auto& s : pb.siblings()) {
        auto h = Digest32(s, "proof sibling");
        if (!h.ok()) return h.status();
        p.siblings.push_back(*h);
    }
    return p;
}

Bytes SerializeBlock(const Block& block) {
    v1::Block pb = ToProto(block);
    Bytes out(pb.ByteSizeLong());
    pb.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

Result<Block> ParseBlock(ByteView data) {
    v1::Block pb;
    if (!pb.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        return InvalidArgument("stored bytes are not a valid Block");
    }
    return FromProto(pb);
}

}  // namespace meterchain::chain
