// The validator set of a chain and verification of commit certificates against it.
#pragma once

#include <string>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/crypto/signer.h"

namespace meterchain::chain {

struct Validator {
    std::string name;          // e.g. "utility"
    std::string organisation;  // e.g. "State Grid Tianjin Electric Power"
    std::string role;          // utility | regulator | third-party | institute | main-chain
    Bytes public_key;          // raw SM2 public key (65 bytes)
    std::string address;       // host:port of the peer endpoint
};

// Immutable once built. f = floor((n-1)/3) and quorum = ceil((n+f+1)/2): any two quorums share
// at least f+1 validators, so at least one honest one. For n = 3f+1 (4, 7, 10, ...) that is the
// familiar 2f+1; for other sizes 2f+1 would be unsafe (n = 2 would let each node decide alone).
class ValidatorSet {
public:
    ValidatorSet() = default;
    explicit ValidatorSet(std::vector<Validator> validators);

    size_t size() const { return m_validators.size(); }
    size_t F() const { return m_validators.empty() ? 0 : (m_validators.size() - 1) / 3; }
    size_t Quorum() const { return (m_validators.size() + F() + 2) / 2; }
    // The primary of a consensus view: validators take turns, view mod n.
    uint32_t Primary(uint64_t view) const {
        return static_cast<uint32_t>(view % m_validators.size());
    }
    const Validator& at(uint32_t index) const { return m_validators.at(index); }
    const std::vector<Validator>& all() const { return m_validators; }
    // Index of the validator with this public key, or -1.
    int IndexOf(ByteView public_key) const;

private:
    std::vector<Validator> m_validators;
};

// Why a certificate does not prove a header. Callers turn these into refusal reasons.
enum class CertificateFault {
    kNone = 0,
    kMismatch,            // the certificate names another height or block hash
    kUnregisteredSigner,  // a signer index outside the validator set
    kDuplicateSigner,     // one validator counted twice
    kForgedSignature,     // a signature that does not verify against the registered key
    kShortQuorum,         // fewer valid distinct signatures than the quorum
};

// Verifies that `cert` carries at least Quorum() valid signatures from distinct validators of
// `set` over CommitVoteBytes(chain_id, cert.height, cert.view, cert.block_hash). Every
// signature present is checked (a forged extra one fails the certificate).
// Errors: kUnauthenticated naming the offending signer (unknown index, duplicate signer, bad
// signature) or the shortfall ("2 of 3 required commit signatures"); *fault (if given) says
// which.
Status VerifyCertificate(const CommitCertificate& cert, const std::string& chain_id,
                         const ValidatorSet& set, const crypto::Verifier& verifier,
                         CertificateFault* fault = nullptr);

}  // namespace meterchain::chain
