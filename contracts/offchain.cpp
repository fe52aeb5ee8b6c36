#include "contracts/offchain.h"

#include <fstream>
#include <iterator>
#include <system_error>

#include "contracts/common.h"
#include "contracts/sec_data_access.h"

namespace meterchain::contracts {

namespace fs = std::filesystem;

Status MemoryRecordStore::Put(std::string_view key, ByteView value) {
    std::lock_guard<std::mutex> lock(m_mu);
    m_data.insert_or_assign(std::string(key), Bytes(value.begin(), value.end()));
    return Status::Ok();
}

Result<Bytes> MemoryRecordStore::Get(std::string_view key) const {
    std::lock_guard<std::mutex> lock(m_mu);
    auto it = m_data.find(key);
    if (it == m_data.end()) return NotFound("no off-chain record " + std::string(key));
    return it->second;
}

void MemoryRecordStore::Overwrite(std::string_view key, ByteView value) {
    std::lock_guard<std::mutex> lock(m_mu);
    m_data.insert_or_assign(std::string(key), Bytes(value.begin(), value.end()));
}

DirectoryRecordStore::DirectoryRecordStore(fs::path dir) : m_dir(std::move(dir)) {}

fs::path DirectoryRecordStore::PathOf(std::string_view key) const {
    return m_dir / std::string(key);
}

Status DirectoryRecordStore::Put(std::string_view key, ByteView value) {
    if (!IsSimpleName(key)) return InvalidArgument("off-chain store key must be a simple name");
    std::lock_guard<std::mutex> lock(m_mu);
    std::error_code ec;
    fs::create_directories(m_dir, ec);
    if (ec) return IoError("create " + m_dir.string() + ": " + ec.message());
    fs::path final_path = PathOf(key);
    fs::path tmp = final_path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(value.data()),
                  static_cast<std::streamsize>(value.size()));
        out.flush();
        if (!out) return IoError("write " + tmp.string());
    }
    fs::rename(tmp, final_path, ec);
    if (ec) return IoError("rename " + tmp.string() + ": " + ec.message());
    return Status::Ok();
}

Result<Bytes> DirectoryRecordStore::Get(std::string_view key) const {
    if (!IsSimpleName(key)) return InvalidArgument("off-chain store key must be a simple name");
    std::ifstream in(PathOf(key), std::ios::binary);
    if (!in) return NotFound("no off-chain record " + std::string(key));
    Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return IoError("read " + PathOf(key).string());
    return data;
}

std::string OffchainVault::StoreKey(RecordType type, std::string_view record_id) {
    return TypeKey(type) + "-" + ToHex(RecordKeyHash(record_id));
}

Result<Hash256> OffchainVault::Keep(RecordType type, std::string_view record_id, ByteView content) {
    MC_RETURN_IF_ERROR(m_store.Put(StoreKey(type, record_id), content));
    return crypto::Sm3(content);
}

Result<Bytes> OffchainVault::LoadVerified(RecordType type, std::string_view record_id,
                                          ByteView onchain_digest) const {
    auto content = m_store.Get(StoreKey(type, record_id));
    if (!content.ok()) return content.status();
    if (!crypto::ConstantTimeEqual(crypto::Sm3(*content), onchain_digest)) {
        return Corruption("tampering detected: off-chain " + std::string(RecordTypeName(type)) +
                          " does not match its on-chain SM3 digest");
    }
    return content;
}

Result<std::string> OffchainVault::ExportJson(RecordType type, std::string_view record_id,
                                              ByteView onchain_digest) const {
    auto content = LoadVerified(type, record_id, onchain_digest);
    if (!content.ok()) return content.status();
    return RecordToJson(type, *content);
}

Result<v1::EncryptedDelivery> BuildDelivery(const v1::AccessDecision& grant, ByteView content) {
    if (!grant.granted()) return FailedPrecondition("the request was not granted");
    if (!crypto::ConstantTimeEqual(crypto::Sm3(content), AsBytes(grant.record_digest()))) {
        return Corruption("tampering detected: the record does not match the granted digest");
    }
    auto otk = crypto::Sm2PublicKey::FromRaw(AsBytes(grant.one_time_public_key()));
    if (!otk.ok()) return otk.status();
    Bytes key = crypto::RandomBytes(crypto::kSealKeySize);
    auto wrapped = otk->Encrypt(key);
    if (!wrapped.ok()) return wrapped.status();
    v1::EncryptedDelivery out;
    out.set_wrapped_key(ToString(*wrapped));
    out.set_sealed(ToString(crypto::Seal(
        key, content, DeliveryAad(grant.request_id(), AsBytes(grant.record_digest())))));
    return out;
}

Result<v1::DeliverArgs> PrepareDelivery(std::string_view chain_id, const v1::AccessDecision& grant,
                                        const v1::StoredRecord& stored, const OffchainVault& vault,
                                        std::string_view owner_org,
                                        const crypto::Sm2PrivateKey& owner_key) {
    if (grant.owner() != owner_org || stored.owner() != owner_org) {
        return FailedPrecondition("the grant is not for records of " + std::string(owner_org));
    }
    Result<Bytes> content =
        stored.storage_class() == v1::STORAGE_PUBLIC_ENCRYPTED
            ? OpenPublicRecord(chain_id, stored, grant.record_id(), owner_org, owner_key)
            : vault.LoadVerified(grant.record_type(), grant.record_id(), AsBytes(stored.digest()));
    if (!content.ok()) return content.status();
    auto delivery = BuildDelivery(grant, *content);
    if (!delivery.ok()) return delivery.status();
    v1::DeliverArgs args;
    args.set_request_id(grant.request_id());
    *args.mutable_delivery() = std::move(*delivery);
    return args;
}

Result<Bytes> OpenDelivery(const v1::AccessDecision& decision,
                           const v1::EncryptedDelivery& delivery,
                           const crypto::Sm2PrivateKey& one_time_key) {
    if (!decision.granted()) return FailedPrecondition("the request was not granted");
    if (one_time_key.PublicKey().Raw() != ToBytes(decision.one_time_public_key())) {
        return InvalidArgument("this is not the request's one-time key");
    }
    auto key = one_time_key.Decrypt(AsBytes(delivery.wrapped_key()));
    if (!key.ok()) return Unauthenticated("delivery key: " + key.status().message());
    if (key->size() != crypto::kSealKeySize) return Unauthenticated("delivery key has a bad size");
    auto content =
        crypto::Open(*key, AsBytes(delivery.sealed()),
                     DeliveryAad(decision.request_id(), AsBytes(decision.record_digest())));
    if (!content.ok()) return content.status();
    if (!crypto::ConstantTimeEqual(crypto::Sm3(*content), AsBytes(decision.record_digest()))) {
        return Corruption(
            "tampering detected: the delivered record does not match its on-chain digest");
    }
    return content;
}

}  // namespace meterchain::contracts
