#include "contracts/rules.h"

#include <algorithm>

#include "contracts/governance.h"
#include "contracts/supervision.h"

namespace meterchain::contracts {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

bool InCharset(std::string_view value, v1::Charset charset) {
    for (char c : value) {
        switch (charset) {
            case v1::CHARSET_DIGITS:
                if (!IsDigit(c)) return false;
                break;
            case v1::CHARSET_ALNUM:
                if (!IsDigit(c) && !IsUpper(c) && !IsLower(c)) return false;
                break;
            case v1::CHARSET_UPPER_ALNUM:
                if (!IsDigit(c) && !IsUpper(c)) return false;
                break;
            default:
                break;
        }
    }
    return true;
}

std::string_view CharsetName(v1::Charset charset) {
    switch (charset) {
        case v1::CHARSET_DIGITS:
            return "digits";
        case v1::CHARSET_ALNUM:
            return "letters and digits";
        case v1::CHARSET_UPPER_ALNUM:
            return "upper-case letters and digits";
        default:
            return "any characters";
    }
}

RuleViolation Violation(const v1::ValidityRule& rule, std::string reason) {
    return RuleViolation{rule.id(), std::move(reason)};
}

// Reads the digits of `value` at the positions where `layout` has `token`; -1 if absent.
int Component(std::string_view value, std::string_view layout, std::string_view token) {
    size_t pos = layout.find(token);
    if (pos == std::string_view::npos) return -1;
    int n = 0;
    for (size_t i = pos; i < pos + token.size(); ++i) n = n * 10 + (value[i] - '0');
    return n;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

bool MatchesDateLayout(std::string_view value, std::string_view layout) {
    if (value.size() != layout.size() || layout.empty()) return false;
    for (size_t i = 0; i < layout.size(); ++i) {
        char l = layout[i];
        bool placeholder = l == 'Y' || l == 'M' || l == 'D' || l == 'h' || l == 'm' || l == 's';
        if (placeholder ? !IsDigit(value[i]) : value[i] != l) return false;
    }
    int year = Component(value, layout, "YYYY");
    int month = Component(value, layout, "MM");
    int day = Component(value, layout, "DD");
    int hour = Component(value, layout, "hh");
    int minute = Component(value, layout, "mm");
    int second = Component(value, layout, "ss");
    if (month != -1 && (month < 1 || month > 12)) return false;
    if (day != -1) {
        static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int max_day = 31;
        if (month != -1) {
            max_day = kDays[month - 1];
            if (month == 2 && (year == -1 || IsLeap(year))) max_day = 29;
        }
        if (day < 1 || day > max_day) return false;
    }
    if (hour > 23 || minute > 59 || second > 59) return false;
    return true;
}

std::optional<uint64_t> LocalDateToEpochMs(std::string_view value, std::string_view layout) {
    if (!MatchesDateLayout(value, layout)) return std::nullopt;
    int64_t y = Component(value, layout, "YYYY");
    int64_t m = Component(value, layout, "MM");
    int64_t d = Component(value, layout, "DD");
    if (y < 1970 || m < 1 || d < 1) return std::nullopt;
    int64_t hh = std::max(Component(value, layout, "hh"), 0);
    int64_t mi = std::max(Component(value, layout, "mm"), 0);
    int64_t ss = std::max(Component(value, layout, "ss"), 0);
    // days_from_civil (H. Hinnant's algorithm), integers only
    y -= m <= 2 ? 1 : 0;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    int64_t seconds = days * 86400 + hh * 3600 + mi * 60 + ss - 8 * 3600;  // UTC+8
    if (seconds < 0) return std::nullopt;
    return static_cast<uint64_t>(seconds) * 1000;
}

// ---- StateRuleEnvironment ----

Result<std::optional<std::string>> StateRuleEnvironment::MeterArrivalDate(
    std::string_view bar_code) {
    return contracts::MeterArrivalDate(m_state, bar_code);
}

Result<bool> StateRuleEnvironment::RecordExists(RecordType type, std::string_view record_id) {
    if (m_batch.count(std::make_pair(static_cast<int>(type), std::string(record_id))) != 0) {
        return true;
    }
    return m_state.Get(RecordStateKey(type, record_id)).has_value();
}

Result<std::optional<v1::Institution>> StateRuleEnvironment::FindInstitution(
    std::string_view inst_id) {
    auto it = m_institutions.find(inst_id);
    if (it != m_institutions.end()) return it->second;
    auto found = contracts::FindInstitution(m_state, inst_id);
    if (!found.ok()) return found.status();
    m_institutions.emplace(std::string(inst_id), *found);
    return *found;
}

void StateRuleEnvironment::Accept(RecordType type, std::string_view record_id) {
    m_batch.emplace(static_cast<int>(type), std::string(record_id));
}

// ---- CompiledRules ----

Result<CompiledRules> CompiledRules::Compile(const v1::RuleSet& rules) {
    if (rules.version() == 0) return InvalidArgument("rule set: version must be at least 1");
    CompiledRules out;
    out.m_version = rules.version();
    std::set<std::string, std::less<>> ids;
    for (int i = 0; i < rules.rules_size(); ++i) {
        const v1::ValidityRule& rule = rules.rules(i);
        std::string where = "rules[" + std::to_string(i) + "] (" + rule.id() + ")";
        if (rule.id().empty())
            return InvalidArgument("rules[" + std::to_string(i) + "].id is empty");
        if (!ids.insert(rule.id()).second) return InvalidArgument(where + ": duplicate rule id");
        if (!IsKnownRecordType(rule.record_type())) {
            return InvalidArgument(where + ".record_type: unknown record type");
        }
        auto check_field = [&](const std::string& name, const char* what) -> Status {
            if (name.empty()) return InvalidArgument(where + "." + what + " is empty");
            if (!HasRecordField(rule.record_type(), name)) {
                return InvalidArgument(where + "." + what + ": " +
                                       std::string(RecordTypeName(rule.record_type())) +
                                       " has no field '" + name + "'");
            }
            return Status::Ok();
        };
        switch (rule.kind()) {
            case v1::RULE_REQUIRED:
            case v1::RULE_INSTITUTION_AUTHORISED:
                MC_RETURN_IF_ERROR(check_field(rule.field(), "field"));
                break;
            case v1::RULE_FORMAT:
                MC_RETURN_IF_ERROR(check_field(rule.field(), "field"));
                if (rule.max_length() != 0 && rule.max_length() < rule.min_length()) {
                    return InvalidArgument(where + ": max_length is below min_length");
                }
                break;
            case v1::RULE_DATE:
                MC_RETURN_IF_ERROR(check_field(rule.field(), "field"));
                if (rule.layout().empty()) return InvalidArgument(where + ".layout is empty");
                break;
            case v1::RULE_ENUM:
                MC_RETURN_IF_ERROR(check_field(rule.field(), "field"));
                for (const auto& f : rule.fields()) MC_RETURN_IF_ERROR(check_field(f, "fields"));
                if (rule.allowed().empty()) return InvalidArgument(where + ".allowed is empty");
                break;
            case v1::RULE_OVERALL_CONSISTENT:
                MC_RETURN_IF_ERROR(check_field(rule.field(), "field"));
                if (rule.fields().empty()) return InvalidArgument(where + ".fields is empty");
                for (const auto& f : rule.fields()) MC_RETURN_IF_ERROR(check_field(f, "fields"));
                if (rule.qualified().empty() || rule.unqualified().empty()) {
                    return InvalidArgument(where + ": qualified and unqualified must be set");
                }
                break;
            case v1::RULE_TABLE_NAMES:
                if (rule.record_type() != v1::RECORD_VERIFICATION_RESULT) {
                    return InvalidArgument(where + ": TABLE_NAMES applies to verification results");
                }
                for (const auto& f : rule.fields()) MC_RETURN_IF_ERROR(check_field(f, "fields"));
                break;
            case v1::RULE_REFERENCE:
                MC_RETURN_IF_ERROR(check_field(rule.field(), "field"));
                if (!IsKnownRecordType(rule.target_type())) {
                    return InvalidArgument(where + ".target_type: unknown record type");
                }
                if (KeyFields(rule.target_type()).size() != 1) {
                    return InvalidArgument(where +
                                           ".target_type: references need a single-field id");
                }
                break;
            case v1::RULE_NO_DUPLICATE:
                break;
            case v1::RULE_CODE_NAME:
                MC_RETURN_IF_ERROR(check_field(rule.field(), "field"));
                if (rule.fields_size() != 1) {
                    return InvalidArgument(where + ".fields must name the one name field");
                }
                MC_RETURN_IF_ERROR(check_field(rule.fields(0), "fields"));
                if (rule.code_names().empty()) {
                    return InvalidArgument(where + ".code_names is empty");
                }
                break;
            case v1::RULE_DATE_PLAUSIBLE:
                MC_RETURN_IF_ERROR(check_field(rule.field(), "field"));
                if (rule.layout().find("YYYY") == std::string::npos ||
                    rule.layout().find("MM") == std::string::npos ||
                    rule.layout().find("DD") == std::string::npos) {
                    return InvalidArgument(where + ".layout must hold YYYY, MM and DD");
                }
                if (rule.fields_size() != 1) {
                    return InvalidArgument(where + ".fields must name the one bar code field");
                }
                MC_RETURN_IF_ERROR(check_field(rule.fields(0), "fields"));
                break;
            default:
                return InvalidArgument(where + ".kind: unknown rule kind");
        }
        out.m_by_type[rule.record_type()].push_back(rule);
        ++out.m_count;
    }
    return out;
}

namespace {

// One rule kind each: the violation, if the rule is broken (`value` is the rule's field, null
// when absent), or an error reading the environment.
using Verdict = Result<std::optional<RuleViolation>>;
constexpr std::nullopt_t kKept = std::nullopt;

std::optional<RuleViolation> CheckRequired(const v1::ValidityRule& rule, const std::string* value,
                                           const RecordFields& fields) {
    // Absent from a digest-only index means "not disclosed", not "missing".
    if (value == nullptr && fields.complete()) return Violation(rule, rule.field() + " is required");
    return kKept;
}

std::optional<RuleViolation> CheckFormat(const v1::ValidityRule& rule, const std::string* value) {
    if (value == nullptr) return kKept;
    if (!InCharset(*value, rule.charset())) {
        return Violation(rule, rule.field() + " must consist of " +
                                   std::string(CharsetName(rule.charset())));
    }
    size_t n = value->size();
    if (n < rule.min_length() || (rule.max_length() != 0 && n > rule.max_length())) {
        return Violation(rule, rule.field() + " has " + std::to_string(n) +
                                   " characters, expected " + std::to_string(rule.min_length()) +
                                   ".." +
                                   (rule.max_length() == 0 ? std::string("any")
                                                           : std::to_string(rule.max_length())));
    }
    if (value->compare(0, rule.prefix().size(), rule.prefix()) != 0) {
        return Violation(rule, rule.field() + " must start with '" + rule.prefix() + "'");
    }
    return kKept;
}

std::optional<RuleViolation> CheckDate(const v1::ValidityRule& rule, const std::string* value) {
    if (value != nullptr && !MatchesDateLayout(*value, rule.layout())) {
        return Violation(rule,
                         rule.field() + " is not a valid date in the layout " + rule.layout());
    }
    return kKept;
}

std::optional<RuleViolation> CheckEnum(const v1::ValidityRule& rule, const std::string* value,
                                       const RecordFields& fields) {
    auto allowed = [&](const std::string& v) {
        return std::find(rule.allowed().begin(), rule.allowed().end(), v) != rule.allowed().end();
    };
    if (value != nullptr && !allowed(*value)) {
        return Violation(rule, rule.field() + " is not an allowed value");
    }
    for (const auto& name : rule.fields()) {
        const std::string* v = fields.Find(name);
        if (v != nullptr && !allowed(*v)) return Violation(rule, name + " is not an allowed value");
    }
    return kKept;
}

std::optional<RuleViolation> CheckOverallConsistent(const v1::ValidityRule& rule,
                                                    const std::string* value,
                                                    const RecordFields& fields) {
    if (value == nullptr) return kKept;
    std::vector<const std::string*> items;
    bool all_known = true;
    for (const auto& name : rule.fields()) {
        items.push_back(fields.Find(name));
        if (items.back() == nullptr) all_known = false;
    }
    if (!fields.complete() && !all_known) return kKept;  // attested by the validators
    size_t unqualified = 0, qualified = 0;
    for (const std::string* v : items) {
        if (v == nullptr) continue;
        if (*v == rule.unqualified()) ++unqualified;
        if (*v == rule.qualified()) ++qualified;
    }
    if (*value == rule.qualified()) {
        if (unqualified != 0) {
            return Violation(rule, rule.field() + " is qualified but " +
                                       std::to_string(unqualified) +
                                       " tested item(s) are unqualified");
        }
        if (qualified == 0) {
            return Violation(rule, rule.field() + " is qualified but no item was tested");
        }
    } else if (*value == rule.unqualified() && unqualified == 0) {
        return Violation(rule,
                         rule.field() + " is unqualified but no tested item is unqualified");
    }
    return kKept;
}

std::optional<RuleViolation> CheckTableNames(const v1::ValidityRule& rule, RecordType type,
                                             const RecordFields& fields) {
    const auto* result = dynamic_cast<const v1::VerificationResult*>(fields.message());
    if (result == nullptr) return kKept;  // digest-only: attested by the validators
    std::set<std::string, std::less<>> seen;
    for (int i = 0; i < result->table_names_size(); ++i) {
        const std::string& f = result->table_names(i).table_field();
        std::string where = "tableNames[" + std::to_string(i) + "].tableField";
        bool known = rule.fields().empty()
                         ? HasRecordField(type, f)
                         : std::find(rule.fields().begin(), rule.fields().end(), f) !=
                               rule.fields().end();
        if (f.empty() || !known) return Violation(rule, where + " names no conclusion field");
        if (!seen.insert(f).second) return Violation(rule, where + " is listed twice");
        if (fields.Find(f) == nullptr) return Violation(rule, where + " lists an empty conclusion");
    }
    if (result->table_names_size() == 0) return Violation(rule, "tableNames is empty");
    return kKept;
}

Verdict CheckReference(const v1::ValidityRule& rule, const std::string* value,
                       RuleEnvironment& env) {
    if (value == nullptr) return std::optional<RuleViolation>();
    auto exists = env.RecordExists(rule.target_type(), *value);
    if (!exists.ok()) return exists.status();
    if (!*exists) {
        return std::optional(Violation(rule, rule.field() + " refers to no registered " +
                                                 std::string(RecordTypeName(rule.target_type()))));
    }
    return std::optional<RuleViolation>();
}

Verdict CheckInstitutionAuthorised(const v1::ValidityRule& rule, const std::string* value,
                                   RuleEnvironment& env) {
    if (value == nullptr) return std::optional<RuleViolation>();
    auto inst = env.FindInstitution(*value);
    if (!inst.ok()) return inst.status();
    if (!inst->has_value()) {
        return std::optional(Violation(rule, rule.field() + " is not a registered institution"));
    }
    if ((*inst)->org() != env.Uploader()) {
        return std::optional(Violation(rule, "organisation " + env.Uploader() +
                                                 " does not operate the institution in " +
                                                 rule.field()));
    }
    return std::optional<RuleViolation>();
}

Verdict CheckNoDuplicate(const v1::ValidityRule& rule, RecordType type,
                         std::string_view record_id, RuleEnvironment& env) {
    auto exists = env.RecordExists(type, record_id);
    if (!exists.ok()) return exists.status();
    if (*exists) return std::optional(Violation(rule, "the record was already uploaded"));
    return std::optional<RuleViolation>();
}

Verdict CheckCodeName(const v1::ValidityRule& rule, const std::string* value,
                      const RecordFields& fields) {
    const std::string* name = fields.Find(rule.fields(0));
    if (value == nullptr || name == nullptr) return std::optional<RuleViolation>();
    for (const auto& pair : rule.code_names()) {
        if (pair.code() == *value && pair.name() == *name) return std::optional<RuleViolation>();
    }
    return std::optional(
        Violation(rule, rule.fields(0) + " does not name the code in " + rule.field()));
}

// A date may not lie after the block time, nor before the arrival date of the meter's batch.
Verdict CheckDatePlausible(const v1::ValidityRule& rule, const std::string* value,
                           const RecordFields& fields, RuleEnvironment& env) {
    if (value == nullptr) return std::optional<RuleViolation>();
    auto ms = LocalDateToEpochMs(*value, rule.layout());
    if (!ms) return std::optional<RuleViolation>();  // the layout itself is RULE_DATE's concern
    auto now = env.BlockTimeMs();
    if (now && *ms > *now) {
        return std::optional(Violation(rule, rule.field() + " is after the block time"));
    }
    const std::string* bar_code = fields.Find(rule.fields(0));
    if (bar_code == nullptr) return std::optional<RuleViolation>();
    auto arrival = env.MeterArrivalDate(*bar_code);
    if (!arrival.ok()) return arrival.status();
    size_t day_end = rule.layout().find("DD") + 2;
    if (arrival->has_value() && value->size() >= day_end &&
        rule.layout().compare(0, day_end, "YYYY-MM-DD") == 0 &&
        value->substr(0, day_end) < **arrival) {
        return std::optional(
            Violation(rule, rule.field() + " is before the arrival date of the meter's batch"));
    }
    return std::optional<RuleViolation>();
}

// The verdict of one rule on a record.
Verdict CheckRule(const v1::ValidityRule& rule, RecordType type, std::string_view record_id,
                  const RecordFields& fields, RuleEnvironment& env) {
    const std::string* value = rule.field().empty() ? nullptr : fields.Find(rule.field());
    switch (rule.kind()) {
        case v1::RULE_REQUIRED:
            return CheckRequired(rule, value, fields);
        case v1::RULE_FORMAT:
            return CheckFormat(rule, value);
        case v1::RULE_DATE:
            return CheckDate(rule, value);
        case v1::RULE_ENUM:
            return CheckEnum(rule, value, fields);
        case v1::RULE_OVERALL_CONSISTENT:
            return CheckOverallConsistent(rule, value, fields);
        case v1::RULE_TABLE_NAMES:
            return CheckTableNames(rule, type, fields);
        case v1::RULE_REFERENCE:
            return CheckReference(rule, value, env);
        case v1::RULE_INSTITUTION_AUTHORISED:
            return CheckInstitutionAuthorised(rule, value, env);
        case v1::RULE_NO_DUPLICATE:
            return CheckNoDuplicate(rule, type, record_id, env);
        case v1::RULE_CODE_NAME:
            return CheckCodeName(rule, value, fields);
        case v1::RULE_DATE_PLAUSIBLE:
            return CheckDatePlausible(rule, value, fields, env);
        default:
            return std::optional<RuleViolation>();
    }
}

}  // namespace

Result<std::optional<RuleViolation>> CompiledRules::Check(RecordType type,
                                                          std::string_view record_id,
                                                          const RecordFields& fields,
                                                          RuleEnvironment& env) const {
    auto it = m_by_type.find(type);
    if (it == m_by_type.end()) return std::optional<RuleViolation>();
    // In the rules' order: the first broken one is the answer.
    for (const v1::ValidityRule& rule : it->second) {
        auto verdict = CheckRule(rule, type, record_id, fields, env);
        if (!verdict.ok() || verdict->has_value()) return verdict;
    }
    return std::optional<RuleViolation>();
}

}  // namespace meterchain::contracts
