#include "contracts/validation_key.h"

#include <openssl/crypto.h>

#include "contracts/common.h"
#include "node/base/codec.h"

namespace meterchain::contracts {

namespace {

constexpr std::string_view kEnvelopeTag = "meterchain/validation-envelope/v1";

void Wipe(Bytes& key) {
    if (!key.empty()) OPENSSL_cleanse(key.data(), key.size());
    key.clear();
}

}  // namespace

std::string ValidationKeyStateKey(std::string_view holder) {
    return std::string(kGovernanceContract) + "/validation/key/" + std::string(holder);
}

Hash256 ValidationKeyCheck(ByteView key) {
    codec::Writer w;
    w.Text("meterchain/validation-key/check/v1");
    return crypto::HmacSm3(key, w.bytes());
}

Bytes ValidationAad(std::string_view chain_id, v1::RecordType type) {
    codec::Writer w;
    w.Text("meterchain/validation/v1").Text(chain_id).U32(static_cast<uint32_t>(type));
    return std::move(w).Take();
}

Bytes EncodeValidationEnvelope(ByteView record_key, std::string_view record_id) {
    codec::Writer w;
    w.Text(kEnvelopeTag).Blob(record_key).Text(record_id);
    return std::move(w).Take();
}

Result<std::pair<Bytes, std::string>> DecodeValidationEnvelope(ByteView plaintext) {
    codec::Reader r(plaintext);
    std::pair<Bytes, std::string> out;
    if (!r.Expect(kEnvelopeTag) || !r.Blob(out.first, kValidationKeySize) ||
        !r.Text(out.second, kMaxIdLength) || !r.AtEnd() || out.first.size() != kValidationKeySize) {
        Wipe(out.first);
        return InvalidArgument("malformed validation envelope");
    }
    return out;
}

ValidationKey::ValidationKey(Bytes key)
    : m_key(std::move(key)), m_check(ValidationKeyCheck(m_key)) {}

ValidationKey::ValidationKey(ValidationKey&& other) noexcept
    : m_key(std::move(other.m_key)), m_check(other.m_check) {
    other.m_key.clear();
}

ValidationKey& ValidationKey::operator=(ValidationKey&& other) noexcept {
    if (this != &other) {
        Wipe(m_key);
        m_key = std::move(other.m_key);
        other.m_key.clear();
        m_check = other.m_check;
    }
    return *this;
}

ValidationKey::~ValidationKey() { Wipe(m_key); }

ValidationKey ValidationKey::Generate() {
    return ValidationKey(crypto::RandomBytes(kValidationKeySize));
}

Result<ValidationKey> ValidationKey::FromBytes(ByteView key) {
    if (key.size() != kValidationKeySize) {
        return InvalidArgument("a validation key is " + std::to_string(kValidationKeySize) +
                               " bytes");
    }
    return ValidationKey(Bytes(key.begin(), key.end()));
}

Result<Bytes> ValidationKey::Open(ByteView sealed, ByteView aad) const {
    return crypto::Open(m_key, sealed, aad);
}

Bytes ValidationKey::Seal(ByteView plaintext, ByteView aad) const {
    return crypto::Seal(m_key, plaintext, aad);
}

Result<v1::WrappedKey> ValidationKey::WrapFor(std::string_view holder,
                                              ByteView raw_public_key) const {
    auto pub = crypto::Sm2PublicKey::FromRaw(raw_public_key);
    if (!pub.ok()) {
        return InvalidArgument("validation key holder " + std::string(holder) + ": " +
                               pub.status().message());
    }
    auto wrapped = pub->Encrypt(m_key);
    if (!wrapped.ok()) return wrapped.status();
    v1::WrappedKey out;
    out.set_org(std::string(holder));
    out.set_wrapped(ToString(*wrapped));
    return out;
}

Result<ValidationKey> UnwrapValidationKey(const v1::WrappedKey& wrapped, ByteView check,
                                          const crypto::Sm2PrivateKey& key) {
    auto plain = key.Decrypt(AsBytes(wrapped.wrapped()));
    if (!plain.ok()) {
        return Unauthenticated("the validation key wrapped for " + wrapped.org() +
                               " does not decrypt with its SM2 key: " + plain.status().message());
    }
    auto k = ValidationKey::FromBytes(*plain);
    Wipe(*plain);
    if (!k.ok())
        return Unauthenticated("the validation key wrapped for " + wrapped.org() +
                               " has a bad size");
    if (!crypto::ConstantTimeEqual(k->KeyCheck(), check)) {
        return FailedPrecondition("the validation key wrapped for " + wrapped.org() +
                                  " does not match the chain's key check value");
    }
    return k;
}

std::optional<Hash256> ChainValidationKeyCheck(const StateView& state) {
    auto v = state.Get(kValidationCheckStateKey);
    if (!v) return std::nullopt;
    return HashFromBytes(*v);
}

Result<ValidationKey> LoadValidationKey(const StateView& state, std::string_view holder,
                                        const crypto::Sm2PrivateKey& key) {
    auto check = ChainValidationKeyCheck(state);
    if (!check)
        return NotFound("the chain has no validation key (genesis validation_keys is empty)");
    v1::WrappedKey wrapped;
    auto found = ReadProto(state, ValidationKeyStateKey(holder), &wrapped);
    if (!found.ok()) return found.status();
    if (!*found) {
        return NotFound("the chain's validation key is not wrapped for '" + std::string(holder) +
                        "' (genesis validation_keys)");
    }
    return UnwrapValidationKey(wrapped, *check, key);
}

}  // namespace meterchain::contracts
