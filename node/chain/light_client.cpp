#include "node/chain/light_client.h"

#include <set>

#include "node/base/codec.h"
#include "node/crypto/sm.h"

namespace meterchain::chain {

namespace {

constexpr std::string_view kRangeTag = "meterchain/anchor-range/v1";

Status Refuse(CertificateFault f, CertificateFault* out, std::string message) {
    if (out != nullptr) *out = f;
    return Unauthenticated(std::move(message));
}

}  // namespace

const char* CertificateFaultName(CertificateFault fault) {
    switch (fault) {
        case CertificateFault::kNone: return "none";
        case CertificateFault::kMismatch: return "certificate does not name this header";
        case CertificateFault::kUnregisteredSigner: return "unregistered signer";
        case CertificateFault::kDuplicateSigner: return "duplicate signer";
        case CertificateFault::kForgedSignature: return "forged certificate";
        case CertificateFault::kShortQuorum: return "short certificate";
    }
    return "unknown";
}

Status VerifyHeaderCertificate(const BlockHeader& header, const CommitCertificate& cert,
                               const ValidatorSet& set, const crypto::Verifier& verifier,
                               CertificateFault* fault) {
    if (fault != nullptr) *fault = CertificateFault::kNone;
    const std::string at = "certificate of " + header.chain_id + " height " +
                           std::to_string(header.height);
    const Hash256 hash = header.Hash();
    if (cert.height != header.height || cert.block_hash != hash) {
        return Refuse(CertificateFault::kMismatch, fault,
                      at + ": names height " + std::to_string(cert.height) + " block " +
                          ToHex(cert.block_hash) + ", not the header's " + ToHex(hash));
    }
    return VerifyCertificate(cert, header.chain_id, set, verifier, fault);
}

Status CheckHeaderChain(const std::vector<BlockHeader>& headers, const std::string& chain_id) {
    if (headers.empty()) return InvalidArgument("header chain is empty");
    for (size_t i = 0; i < headers.size(); ++i) {
        const BlockHeader& h = headers[i];
        if (h.chain_id != chain_id) {
            return InvalidArgument("wrong chain id: header at height " + std::to_string(h.height) +
                                   " names chain '" + h.chain_id + "', not '" + chain_id + "'");
        }
        if (i == 0) continue;
        const BlockHeader& prev = headers[i - 1];
        if (h.height != prev.height + 1) {
            return InvalidArgument("broken header chain: height " + std::to_string(h.height) +
                                   " follows " + std::to_string(prev.height));
        }
        if (h.prev_hash != prev.Hash()) {
            return InvalidArgument("broken header chain: prev_hash of height " +
                                   std::to_string(h.height) + " is not the hash of height " +
                                   std::to_string(prev.height));
        }
    }
    return Status::Ok();
}

Result<std::vector<BlockHeader>> DecodeHeaders(const std::vector<Bytes>& encoded) {
    std::vector<BlockHeader> out;
    out.reserve(encoded.size());
    for (size_t i = 0; i < encoded.size(); ++i) {
        auto h = BlockHeader::Decode(encoded[i]);
        if (!h.ok()) {
            return InvalidArgument("headers[" + std::to_string(i) + "]: " + h.status().message());
        }
        out.push_back(std::move(*h));
    }
    return out;
}

Hash256 HeaderRangeDigest(const std::string& chain_id, const std::vector<BlockHeader>& headers) {
    codec::Writer w;
    w.Text(kRangeTag).Text(chain_id).U64(headers.empty() ? 0 : headers.front().height);
    w.U32(static_cast<uint32_t>(headers.size()));
    for (const auto& h : headers) w.Digest(h.Hash());
    return crypto::Sm3(w.bytes());
}

}  // namespace meterchain::chain
