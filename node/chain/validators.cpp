#include "node/chain/validators.h"

#include <algorithm>
#include <set>

namespace meterchain::chain {

ValidatorSet::ValidatorSet(std::vector<Validator> validators)
    : m_validators(std::move(validators)) {}

int ValidatorSet::IndexOf(ByteView public_key) const {
    for (size_t i = 0; i < m_validators.size(); ++i) {
        const Bytes& k = m_validators[i].public_key;
        if (std::equal(k.begin(), k.end(), public_key.begin(), public_key.end())) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

Status VerifyCertificate(const CommitCertificate& cert, const std::string& chain_id,
                         const ValidatorSet& set, const crypto::Verifier& verifier,
                         CertificateFault* fault) {
    if (fault != nullptr) *fault = CertificateFault::kNone;
    auto refuse = [&](CertificateFault f, const std::string& message) {
        if (fault != nullptr) *fault = f;
        return Unauthenticated("certificate of " + chain_id + " height " +
                               std::to_string(cert.height) + ": " + message);
    };
    const Bytes vote = CommitVoteBytes(chain_id, cert.height, cert.view, cert.block_hash);
    std::set<uint32_t> seen;
    for (const auto& sig : cert.signatures) {
        if (sig.validator >= set.size()) {
            return refuse(CertificateFault::kUnregisteredSigner,
                          "unregistered signer: index " + std::to_string(sig.validator) +
                              " is not in the validator set of " + std::to_string(set.size()));
        }
        const std::string& name = set.at(sig.validator).name;
        const std::string who = "validator " + std::to_string(sig.validator) +
                                (name.empty() ? "" : " (" + name + ")");
        if (!seen.insert(sig.validator).second) {
            return refuse(CertificateFault::kDuplicateSigner, "duplicate signer: " + who +
                                                                  " signed twice");
        }
        if (!verifier.Verify(set.at(sig.validator).public_key, vote, sig.signature)) {
            return refuse(CertificateFault::kForgedSignature,
                          "forged certificate: bad commit signature from " + who);
        }
    }
    if (seen.size() < set.Quorum()) {
        return refuse(CertificateFault::kShortQuorum,
                      "short certificate: " + std::to_string(seen.size()) + " of " +
                          std::to_string(set.Quorum()) + " required commit signatures");
    }
    return Status::Ok();
}

}  // namespace meterchain::chain
