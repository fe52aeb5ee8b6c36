#include "node/chain/types.h"

#include <cstring>

#include "node/base/codec.h"
#include "node/chain/merkle.h"
#include "node/crypto/sm.h"
#include "proto/chain.pb.h"

namespace meterchain::chain {

namespace {
constexpr std::string_view kTxTag = "meterchain/tx/v1";
constexpr std::string_view kHeaderTag = "meterchain/header/v1";
constexpr std::string_view kCommitTag = "meterchain/commit/v1";
}  // namespace

Bytes TxBody::Serialize() const {
    v1::TxBody pb;
    pb.set_chain_id(chain_id);
    pb.set_type(type);
    pb.set_payload(payload.data(), payload.size());
    pb.set_sender(sender.data(), sender.size());
    pb.set_nonce(nonce);
    pb.set_timestamp_ms(timestamp_ms);
    Bytes out(pb.ByteSizeLong());
    pb.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
}

Result<TxBody> TxBody::Parse(ByteView body) {
    if (body.size() > kMaxTxBodySize) {
        return InvalidArgument("transaction body of " + std::to_string(body.size()) +
                               " bytes exceeds the limit of " + std::to_string(kMaxTxBodySize));
    }
    v1::TxBody pb;
    if (!pb.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
        return InvalidArgument("transaction body is not a valid TxBody");
    }
    if (pb.sender().size() != kPublicKeySize) {
        return InvalidArgument("transaction sender must be a 65-byte SM2 public key, got " +
                               std::to_string(pb.sender().size()) + " bytes");
    }
    TxBody out;
    out.chain_id = pb.chain_id();
    out.type = pb.type();
    out.payload = ToBytes(pb.payload());
    out.sender = ToBytes(pb.sender());
    out.nonce = pb.nonce();
    out.timestamp_ms = pb.timestamp_ms();
    return out;
}

namespace {
// 64-bit multiply-xorshift over 8-byte words: only tells "same bytes as when hashed".
uint64_t Fingerprint(ByteView b) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ b.size();
    size_t i = 0;
    for (; i + 8 <= b.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, b.data() + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    if (i < b.size()) std::memcpy(&tail, b.data() + i, b.size() - i);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 32);
}
}  // namespace

Hash256 Transaction::Hash() const {
    if (memo.set && memo.fingerprint == Fingerprint(body)) return memo.hash;
    return crypto::Sm3(body);
}

void Transaction::RememberHash() {
    memo.hash = crypto::Sm3(body);
    memo.fingerprint = Fingerprint(body);
    memo.set = true;
}

Bytes TxSigningBytes(ByteView body) {
    return codec::Writer().Text(kTxTag).Blob(body).bytes();
}

Transaction SignTransaction(TxBody body, const crypto::Signer& signer) {
    body.sender = signer.PublicKey();
    Transaction tx;
    tx.body = body.Serialize();
    tx.signature = signer.Sign(TxSigningBytes(tx.body));
    tx.RememberHash();
    return tx;
}

Result<TxBody> VerifyTransaction(const Transaction& tx, const crypto::Verifier& verifier) {
    if (tx.signature.empty() || tx.signature.size() > kMaxSignatureSize) {
        return InvalidArgument("transaction signature is missing or malformed");
    }
    auto body = TxBody::Parse(tx.body);
    if (!body.ok()) return body.status();
    if (!verifier.Verify(body->sender, TxSigningBytes(tx.body), tx.signature)) {
        return Unauthenticated("transaction signature does not verify against its sender key");
    }
    return body;
}

Bytes BlockHeader::Encode() const {
    return codec::Writer()
        .Text(kHeaderTag)
        .Text(chain_id)
        .U64(height)
        .Digest(prev_hash)
        .Digest(tx_root)
        .Digest(state_root)
        .U32(proposer)
        .U64(view)
        .U64(timestamp_ms)
        .bytes();
}

Result<BlockHeader> BlockHeader::Decode(ByteView encoded) {
    codec::Reader r(encoded);
    BlockHeader h;
    r.Expect(kHeaderTag);
    r.Text(h.chain_id, 256);
    r.U64(h.height);
    r.Digest(h.prev_hash);
    r.Digest(h.tx_root);
    r.Digest(h.state_root);
    r.U32(h.proposer);
    r.U64(h.view);
    r.U64(h.timestamp_ms);
    if (!r.AtEnd()) return InvalidArgument("malformed canonical block header");
    return h;
}

Hash256 BlockHeader::Hash() const { return crypto::Sm3(Encode()); }

Bytes CommitVoteBytes(const std::string& chain_id, uint64_t height, uint64_t view,
                      const Hash256& block_hash) {
    return codec::Writer().Text(kCommitTag).Text(chain_id).U64(height).U64(view).Digest(block_hash)
        .bytes();
}

std::vector<Hash256> Block::TxHashes() const {
    std::vector<Hash256> out;
    out.reserve(transactions.size());
    for (const auto& tx : transactions) out.push_back(tx.Hash());
    return out;
}

Status CheckTxRoot(const Block& block) {
    if (MerkleRoot(block.TxHashes()) != block.header.tx_root) {
        return Corruption("block " + std::to_string(block.header.height) +
                          ": tx_root does not match its transactions");
    }
    return Status::Ok();
}

Status CheckBlockIntegrity(const Block& block) {
    MC_RETURN_IF_ERROR(CheckTxRoot(block));
    const auto height = std::to_string(block.header.height);
    if (block.certificate.height != block.header.height ||
        block.certificate.block_hash != block.Hash()) {
        return Corruption("block " + height + ": commit certificate names another block");
    }
    return Status::Ok();
}

}  // namespace meterchain::chain
