#include "contracts/records.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>

#include "contracts/common.h"
#include "node/base/codec.h"

namespace meterchain::contracts {

namespace pb = google::protobuf;

const std::vector<RecordType>& AllRecordTypes() {
    static const std::vector<RecordType> kAll = [] {
        std::vector<RecordType> all;
        const pb::EnumDescriptor* e = v1::RecordType_descriptor();
        for (int i = 0; i < e->value_count(); ++i) {
            int n = e->value(i)->number();
            if (n != v1::RECORD_TYPE_UNSPECIFIED) all.push_back(static_cast<RecordType>(n));
        }
        std::sort(all.begin(), all.end());
        return all;
    }();
    return kAll;
}

bool IsKnownRecordType(int type) {
    return type != v1::RECORD_TYPE_UNSPECIFIED && v1::RecordType_IsValid(type);
}

std::string_view RecordTypeName(RecordType type) {
    if (!IsKnownRecordType(type)) return {};
    return v1::RecordType_Name(type);
}

const pb::Descriptor* RecordDescriptor(RecordType type) {
    switch (type) {
        case v1::RECORD_ARRIVAL_BATCH:
            return v1::ArrivalBatch::descriptor();
        case v1::RECORD_METER_ASSET:
            return v1::MeterAsset::descriptor();
        case v1::RECORD_VERIFICATION_RESULT:
            return v1::VerificationResult::descriptor();
        case v1::RECORD_CALIBRATION_REQUEST:
            return v1::CalibrationRequest::descriptor();
        case v1::RECORD_CALIBRATION_ACCEPTANCE:
            return v1::CalibrationAcceptance::descriptor();
        case v1::RECORD_CALIBRATION_HANDLING:
            return v1::CalibrationHandling::descriptor();
        case v1::RECORD_CALIBRATION_EVALUATION:
            return v1::CalibrationEvaluation::descriptor();
        case v1::RECORD_STATE_EVALUATION:
            return v1::StateEvaluation::descriptor();
        case v1::RECORD_RUNNING_QUALITY:
            return v1::RunningQuality::descriptor();
        case v1::RECORD_OUT_OF_TOLERANCE:
            return v1::OutOfTolerance::descriptor();
        case v1::RECORD_REPLACEMENT_ORDER:
            return v1::ReplacementOrder::descriptor();
        case v1::RECORD_SAMPLING:
            return v1::SamplingRecord::descriptor();
        default:
            return nullptr;
    }
}

std::unique_ptr<pb::Message> NewRecord(RecordType type) {
    const pb::Descriptor* d = RecordDescriptor(type);
    if (d == nullptr) return nullptr;
    return std::unique_ptr<pb::Message>(
        pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
}

namespace {

const pb::FieldDescriptor* FieldByJsonName(const pb::Descriptor* d, std::string_view name) {
    for (int i = 0; i < d->field_count(); ++i) {
        if (d->field(i)->json_name() == name) return d->field(i);
    }
    return nullptr;
}

// Text form of a singular scalar field, or nullopt when it holds its default (proto3: absent).
std::optional<std::string> ScalarText(const pb::Message& m, const pb::FieldDescriptor* f) {
    const pb::Reflection* r = m.GetReflection();
    if (f->is_repeated() || f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        return std::nullopt;
    }
    if (!r->HasField(m, f)) return std::nullopt;
    switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_STRING:
            return r->GetString(m, f);
        case pb::FieldDescriptor::CPPTYPE_INT32:
            return std::to_string(r->GetInt32(m, f));
        case pb::FieldDescriptor::CPPTYPE_UINT32:
            return std::to_string(r->GetUInt32(m, f));
        case pb::FieldDescriptor::CPPTYPE_INT64:
            return std::to_string(r->GetInt64(m, f));
        case pb::FieldDescriptor::CPPTYPE_UINT64:
            return std::to_string(r->GetUInt64(m, f));
        case pb::FieldDescriptor::CPPTYPE_BOOL:
            return std::string(r->GetBool(m, f) ? "true" : "false");
        case pb::FieldDescriptor::CPPTYPE_ENUM:
            return std::to_string(r->GetEnumValue(m, f));
        default:
            return std::nullopt;  // no floating point fields in records
    }
}

}  // namespace

bool HasRecordField(RecordType type, std::string_view json_name) {
    const pb::Descriptor* d = RecordDescriptor(type);
    return d != nullptr && FieldByJsonName(d, json_name) != nullptr;
}

const std::vector<std::string>& KeyFields(RecordType type) {
    static const std::map<int, std::vector<std::string>> kKeys = {
        {v1::RECORD_ARRIVAL_BATCH, {"arrivalBatchNo"}},
        {v1::RECORD_METER_ASSET, {"barCode"}},
        {v1::RECORD_VERIFICATION_RESULT, {"barCode", "veriTaskNo"}},
        {v1::RECORD_CALIBRATION_REQUEST, {"requestNo"}},
        {v1::RECORD_CALIBRATION_ACCEPTANCE, {"workOrderNo"}},
        {v1::RECORD_CALIBRATION_HANDLING, {"workOrderNo"}},
        {v1::RECORD_CALIBRATION_EVALUATION, {"workOrderNo"}},
        {v1::RECORD_STATE_EVALUATION, {"barCode", "runId"}},
        {v1::RECORD_RUNNING_QUALITY, {"barCode", "reportDate"}},
        {v1::RECORD_OUT_OF_TOLERANCE, {"barCode", "detectTime"}},
        {v1::RECORD_REPLACEMENT_ORDER, {"workOrderNo"}},
        {v1::RECORD_SAMPLING, {"taskNo", "barCode"}},
    };
    static const std::vector<std::string> kNone;
    auto it = kKeys.find(type);
    return it == kKeys.end() ? kNone : it->second;
}

RecordFields RecordFields::FromMessage(const pb::Message& record) {
    RecordFields out;
    out.m_message = &record;
    const pb::Descriptor* d = record.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
        auto text = ScalarText(record, d->field(i));
        if (text) out.m_fields.emplace_back(d->field(i)->json_name(), std::move(*text));
    }
    std::sort(out.m_fields.begin(), out.m_fields.end());
    return out;
}

RecordFields RecordFields::FromIndex(const pb::RepeatedPtrField<v1::Field>& index) {
    RecordFields out;
    for (const auto& f : index) {
        if (!f.value().empty()) out.m_fields.emplace_back(f.name(), f.value());
    }
    std::sort(out.m_fields.begin(), out.m_fields.end());
    return out;
}

const std::string* RecordFields::Find(std::string_view name) const {
    auto it = std::lower_bound(m_fields.begin(), m_fields.end(), name,
                               [](const std::pair<std::string, std::string>& e,
                                  std::string_view n) { return e.first < n; });
    if (it == m_fields.end() || it->first != name) return nullptr;
    return &it->second;
}

Result<std::string> RecordId(RecordType type, const RecordFields& fields) {
    const auto& keys = KeyFields(type);
    if (keys.empty()) return InvalidArgument("unknown record type " + std::to_string(type));
    std::string id;
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string* v = fields.Find(keys[i]);
        if (v == nullptr) return InvalidArgument("key field " + keys[i] + " is missing");
        if (v->find('|') != std::string::npos) {
            return InvalidArgument("key field " + keys[i] + " contains '|'");
        }
        if (i > 0) id += '|';
        id += *v;
    }
    if (id.size() > kMaxIdLength) return InvalidArgument("record id is too long");
    return id;
}

Hash256 RecordKeyHash(std::string_view record_id) { return crypto::Sm3(record_id); }

std::string RecordStateKey(RecordType type, std::string_view record_id) {
    return std::string(kValidityContract) + "/rec/" + TypeKey(type) + "/" +
           ToHex(RecordKeyHash(record_id));
}

Bytes RecordAad(std::string_view chain_id, RecordType type, std::string_view record_id) {
    codec::Writer w;
    w.Text("meterchain/record/v1").Text(chain_id).U32(static_cast<uint32_t>(type)).Text(record_id);
    return std::move(w).Take();
}

Result<std::unique_ptr<pb::Message>> ParseRecordJson(RecordType type, std::string_view json) {
    auto record = NewRecord(type);
    if (!record) return InvalidArgument("unknown record type " + std::to_string(type));
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto st = pb::util::JsonStringToMessage(std::string(json), record.get(), options);
    if (!st.ok()) {
        return InvalidArgument(std::string(RecordTypeName(type)) +
                               " JSON: " + std::string(st.message()));
    }
    return record;
}

Result<std::string> RecordToJson(RecordType type, ByteView content) {
    auto record = NewRecord(type);
    if (!record) return InvalidArgument("unknown record type " + std::to_string(type));
    MC_RETURN_IF_ERROR(ParseProto(content, record.get(), RecordTypeName(type)));
    std::string out;
    pb::util::JsonPrintOptions options;
    options.preserve_proto_field_names = false;
    auto st = pb::util::MessageToJsonString(*record, &out, options);
    if (!st.ok()) return Internal("record to JSON: " + std::string(st.message()));
    return out;
}

namespace {

Status CheckRecordMatchesType(RecordType type, const pb::Message& record) {
    const pb::Descriptor* d = RecordDescriptor(type);
    if (d == nullptr) return InvalidArgument("unknown record type " + std::to_string(type));
    if (record.GetDescriptor() != d) {
        return InvalidArgument(std::string(RecordTypeName(type)) + " expects " + d->full_name() +
                               ", got " + record.GetDescriptor()->full_name());
    }
    return Status::Ok();
}

}  // namespace

Result<v1::RecordSubmission> BuildPublicSubmission(std::string_view chain_id, RecordType type,
                                                   const pb::Message& record,
                                                   const std::vector<ReaderKey>& readers,
                                                   const ValidationKey& validation_key) {
    MC_RETURN_IF_ERROR(CheckRecordMatchesType(type, record));
    auto id = RecordId(type, RecordFields::FromMessage(record));
    if (!id.ok()) return id.status();
    Bytes content = SerializeProto(record);
    Bytes record_key = crypto::RandomBytes(crypto::kSealKeySize);

    v1::RecordSubmission out;
    out.set_type(type);
    out.set_storage_class(v1::STORAGE_PUBLIC_ENCRYPTED);
    out.set_sealed(ToString(crypto::Seal(record_key, content, RecordAad(chain_id, type, *id))));
    out.set_validation_envelope(ToString(validation_key.Seal(
        EncodeValidationEnvelope(record_key, *id), ValidationAad(chain_id, type))));

    std::vector<ReaderKey> sorted = readers;
    std::sort(sorted.begin(), sorted.end(),
              [](const ReaderKey& a, const ReaderKey& b) { return a.org < b.org; });
    for (const auto& reader : sorted) {
        auto pub = crypto::Sm2PublicKey::FromRaw(reader.public_key);
        if (!pub.ok())
            return InvalidArgument("reader " + reader.org + ": " + pub.status().message());
        auto wrapped = pub->Encrypt(record_key);
        if (!wrapped.ok()) return wrapped.status();
        auto* w = out.add_wrapped_keys();
        w->set_org(reader.org);
        w->set_wrapped(ToString(*wrapped));
    }
    return out;
}

Result<v1::RecordSubmission> BuildDigestOnlySubmission(
    RecordType type, const pb::Message& record, Bytes* content_out,
    const std::vector<std::string>& extra_fields) {
    MC_RETURN_IF_ERROR(CheckRecordMatchesType(type, record));
    RecordFields fields = RecordFields::FromMessage(record);
    auto id = RecordId(type, fields);
    if (!id.ok()) return id.status();

    std::vector<std::string> disclose = KeyFields(type);
    if (HasRecordField(type, "barCode")) disclose.push_back("barCode");
    disclose.insert(disclose.end(), extra_fields.begin(), extra_fields.end());

    Bytes content = SerializeProto(record);
    v1::RecordSubmission out;
    out.set_type(type);
    out.set_storage_class(v1::STORAGE_DIGEST_ONLY);
    out.set_digest(ToString(ToBytes(crypto::Sm3(content))));
    std::vector<std::string> done;
    for (const auto& name : disclose) {
        if (std::find(done.begin(), done.end(), name) != done.end()) continue;
        if (!HasRecordField(type, name)) {
            return InvalidArgument(std::string(RecordTypeName(type)) + " has no field " + name);
        }
        done.push_back(name);
        const std::string* v = fields.Find(name);
        auto* f = out.add_index();
        f->set_name(name);
        if (v != nullptr) f->set_value(*v);
    }
    if (content_out != nullptr) *content_out = std::move(content);
    return out;
}

Result<Bytes> OpenPublicRecord(std::string_view chain_id, const v1::StoredRecord& stored,
                               std::string_view record_id, std::string_view org,
                               const crypto::Sm2PrivateKey& key) {
    if (stored.storage_class() != v1::STORAGE_PUBLIC_ENCRYPTED) {
        return FailedPrecondition("record is not stored encrypted on chain");
    }
    if (!crypto::ConstantTimeEqual(AsBytes(stored.record_key()), RecordKeyHash(record_id))) {
        return InvalidArgument("record id does not match the stored record");
    }
    const v1::WrappedKey* wrapped = nullptr;
    for (const auto& w : stored.wrapped_keys()) {
        if (w.org() == org) wrapped = &w;
    }
    if (wrapped == nullptr) {
        return Status(StatusCode::kPermissionDenied,
                      "no record key is wrapped for organisation " + std::string(org));
    }
    auto record_key = key.Decrypt(AsBytes(wrapped->wrapped()));
    if (!record_key.ok()) return Unauthenticated("record key: " + record_key.status().message());
    if (record_key->size() != crypto::kSealKeySize)
        return Unauthenticated("record key has a bad size");
    auto content = crypto::Open(*record_key, AsBytes(stored.sealed()),
                                RecordAad(chain_id, stored.type(), record_id));
    if (!content.ok()) return content.status();
    if (!crypto::ConstantTimeEqual(crypto::Sm3(*content), AsBytes(stored.digest()))) {
        return Corruption("tampering: the decrypted record does not match its on-chain SM3 digest");
    }
    return content;
}

}  // namespace meterchain::contracts
