// The metrology record types (DATA-1..4): names, key fields, field views for the rule engine,
// state keys, and the client-side builders of the two storage classes (SEC-3):
//   - public structured data: SM4 (Seal) ciphertext under a fresh per-record key, the key
//     SM2-wrapped for every authorised reader organisation;
//   - non-public structured data: only the SM3 digest and the disclosed index fields.
//
// The builders use randomness and run off chain (client / owner node); the contracts only check
// and store what they produce. Thread-safety: free functions, safe to call concurrently.
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/validation_key.h"
#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/crypto/sm.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

using v1::RecordType;

// All record types in number order (RECORD_TYPE_UNSPECIFIED excluded).
const std::vector<RecordType>& AllRecordTypes();

// "RECORD_METER_ASSET" (the proto enum name), or "" for an unknown value.
std::string_view RecordTypeName(RecordType type);
bool IsKnownRecordType(int type);

// The typed message of a record type; nullptr for an unknown type.
const google::protobuf::Descriptor* RecordDescriptor(RecordType type);
std::unique_ptr<google::protobuf::Message> NewRecord(RecordType type);

// True when `json_name` names a field of the type's message (e.g. "barCode").
bool HasRecordField(RecordType type, std::string_view json_name);

// The JSON names of the fields that make the record id, in order (e.g. barCode, veriTaskNo).
const std::vector<std::string>& KeyFields(RecordType type);

// Field values of one record as the rule engine sees them: JSON field name -> text value
// (integers in decimal, booleans "true"/"false"; empty means absent). `complete` is false when
// only the disclosed index of a digest-only record is known.
class RecordFields {
public:
    static RecordFields FromMessage(const google::protobuf::Message& record);
    static RecordFields FromIndex(const google::protobuf::RepeatedPtrField<v1::Field>& index);

    // nullptr when the field is absent (not disclosed, or not set).
    const std::string* Find(std::string_view name) const;
    bool complete() const { return m_message != nullptr; }
    // The full record when complete; its lifetime is the caller's.
    const google::protobuf::Message* message() const { return m_message; }

private:
    std::vector<std::pair<std::string, std::string>> m_fields;  // sorted by name
    const google::protobuf::Message* m_message = nullptr;
};

// The record id: the key fields joined with '|'. kInvalidArgument naming the first missing key
// field.
Result<std::string> RecordId(RecordType type, const RecordFields& fields);

// State key of a stored record: "validity/rec/<type:02>/<hex SM3(record id)>".
std::string RecordStateKey(RecordType type, std::string_view record_id);
Hash256 RecordKeyHash(std::string_view record_id);

// Additional data authenticated with a public record's ciphertext.
Bytes RecordAad(std::string_view chain_id, RecordType type, std::string_view record_id);

// Parses a record in its JSON form (sample data, Appendix B). Unknown fields are an error.
Result<std::unique_ptr<google::protobuf::Message>> ParseRecordJson(RecordType type,
                                                                   std::string_view json);
// The JSON form of a serialized record (for display after a digest check).
Result<std::string> RecordToJson(RecordType type, ByteView content);

// An organisation that must be able to read a public record.
struct ReaderKey {
    std::string org;
    Bytes public_key;  // raw SM2 (65 bytes)
};

// Client side, public class: serialises `record`, seals it under a fresh record key, wraps the
// key for every reader, and seals the record key and id under the chain validation key K
// (`validation_envelope`) so that the Validity contract can check the record on every node.
// Nothing travels in clear: `content` stays empty (CON-3, docs/CONTRACTS.md).
// Errors: kInvalidArgument (type/record mismatch, missing key field, bad reader key).
Result<v1::RecordSubmission> BuildPublicSubmission(std::string_view chain_id, RecordType type,
                                                   const google::protobuf::Message& record,
                                                   const std::vector<ReaderKey>& readers,
                                                   const ValidationKey& validation_key);

// Client side, digest-only class: SM3 of the serialised record plus the disclosed index (the
// key fields, barCode when the type has one, and `extra_fields`). The serialised bytes are
// returned in `content_out` for the owner's off-chain store.
Result<v1::RecordSubmission> BuildDigestOnlySubmission(
    RecordType type, const google::protobuf::Message& record, Bytes* content_out,
    const std::vector<std::string>& extra_fields = {});

// Reader side, public class: unwraps the record key with `org`'s private key, opens the
// ciphertext and checks it against the on-chain digest. Errors: kPermissionDenied (no key for
// `org`), kUnauthenticated (wrong key / tampered ciphertext), kCorruption (digest mismatch).
Result<Bytes> OpenPublicRecord(std::string_view chain_id, const v1::StoredRecord& stored,
                               std::string_view record_id, std::string_view org,
                               const crypto::Sm2PrivateKey& key);

}  // namespace meterchain::contracts
