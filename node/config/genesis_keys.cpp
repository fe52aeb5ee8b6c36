#include "node/config/genesis_keys.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

namespace meterchain::config {
namespace {

// Nesting deeper than this is refused rather than risking the stack on hostile input.
constexpr int kMaxDepth = 256;

struct Span {
    size_t begin = 0;
    size_t end = 0;  // one past the last byte
};

struct Member {
    std::string key;  // decoded
    size_t key_begin = 0;
    Span value;
};

// A validating recursive-descent JSON (RFC 8259) scanner that records where things are
// instead of building a document, so that edits can be spliced into the original text.
class Scanner {
public:
    Scanner(std::string_view text, size_t pos) : m_text(text), m_pos(pos) {}

    size_t pos() const { return m_pos; }
    const std::string& error() const { return m_error; }

    void SkipSpace() {
        while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' ||
                                         m_text[m_pos] == '\n' || m_text[m_pos] == '\r')) {
            ++m_pos;
        }
    }

    // Parses one value after optional whitespace; its span excludes the whitespace.
    bool Value(Span* span, int depth = 0) {
        SkipSpace();
        const size_t begin = m_pos;
        if (depth > kMaxDepth) return Fail("nesting too deep");
        if (m_pos >= m_text.size()) return Fail("unexpected end of input");
        bool ok = false;
        switch (m_text[m_pos]) {
            case '{': ok = Object(nullptr, nullptr, depth); break;
            case '[': ok = Array(nullptr, depth); break;
            case '"': ok = String(nullptr); break;
            case 't': ok = Literal("true"); break;
            case 'f': ok = Literal("false"); break;
            case 'n': ok = Literal("null"); break;
            default: ok = Number(); break;
        }
        if (ok && span) *span = {begin, m_pos};
        return ok;
    }

    // At '{'. `close` receives the offset of the closing brace.
    bool Object(std::vector<Member>* members, size_t* close, int depth = 0) {
        ++m_pos;
        SkipSpace();
        if (Peek('}')) return Close(close);
        while (true) {
            SkipSpace();
            Member member;
            member.key_begin = m_pos;
            if (!Peek('"')) return Fail("expected a member name");
            if (!String(&member.key)) return false;
            SkipSpace();
            if (!Peek(':')) return Fail("expected ':'");
            ++m_pos;
            if (!Value(&member.value, depth + 1)) return false;
            if (members) members->push_back(std::move(member));
            SkipSpace();
            if (Peek('}')) return Close(close);
            if (!Peek(',')) return Fail("expected ',' or '}'");
            ++m_pos;
        }
    }

    // At '['.
    bool Array(std::vector<Span>* elements, int depth = 0) {
        ++m_pos;
        SkipSpace();
        if (Peek(']')) return Close(nullptr);
        while (true) {
            Span element;
            if (!Value(&element, depth + 1)) return false;
            if (elements) elements->push_back(element);
            SkipSpace();
            if (Peek(']')) return Close(nullptr);
            if (!Peek(',')) return Fail("expected ',' or ']'");
            ++m_pos;
        }
    }

    // At '"'. Decodes escapes into `out` (UTF-8) when given.
    bool String(std::string* out) {
        ++m_pos;
        while (m_pos < m_text.size()) {
            const char c = m_text[m_pos++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in string");
            if (c != '\\') {
                if (out) out->push_back(c);
                continue;
            }
            if (m_pos >= m_text.size()) break;
            const char e = m_text[m_pos++];
            char simple = 0;
            switch (e) {
                case '"': simple = '"'; break;
                case '\\': simple = '\\'; break;
                case '/': simple = '/'; break;
                case 'b': simple = '\b'; break;
                case 'f': simple = '\f'; break;
                case 'n': simple = '\n'; break;
                case 'r': simple = '\r'; break;
                case 't': simple = '\t'; break;
                case 'u': break;
                default: return Fail("invalid escape in string");
            }
            if (simple) {
                if (out) out->push_back(simple);
                continue;
            }
            auto unit = Hex4();
            if (!unit) return false;
            uint32_t code = *unit;
            if (code >= 0xD800 && code <= 0xDBFF) {
                if (m_text.substr(m_pos, 2) != "\\u") return Fail("unpaired surrogate");
                m_pos += 2;
                auto low = Hex4();
                if (!low) return false;
                if (*low < 0xDC00 || *low > 0xDFFF) return Fail("unpaired surrogate");
                code = 0x10000 + ((code - 0xD800) << 10) + (*low - 0xDC00);
            } else if (code >= 0xDC00 && code <= 0xDFFF) {
                return Fail("unpaired surrogate");
            }
            if (out) AppendUtf8(out, code);
        }
        return Fail("unterminated string");
    }

private:
    bool Peek(char c) const { return m_pos < m_text.size() && m_text[m_pos] == c; }

    bool Close(size_t* close) {
        if (close) *close = m_pos;
        ++m_pos;
        return true;
    }

    bool Fail(const std::string& what) {
        if (m_error.empty()) m_error = what + " at offset " + std::to_string(m_pos);
        return false;
    }

    bool Literal(std::string_view word) {
        if (m_text.substr(m_pos, word.size()) != word) return Fail("invalid literal");
        m_pos += word.size();
        return true;
    }

    bool Digits() {
        const size_t start = m_pos;
        while (m_pos < m_text.size() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') ++m_pos;
        return m_pos > start;
    }

    bool Number() {
        if (Peek('-')) ++m_pos;
        if (Peek('0')) {
            ++m_pos;
        } else if (!Digits()) {
            return Fail("invalid value");
        }
        if (Peek('.')) {
            ++m_pos;
            if (!Digits()) return Fail("invalid number");
        }
        if (Peek('e') || Peek('E')) {
            ++m_pos;
            if (Peek('+') || Peek('-')) ++m_pos;
            if (!Digits()) return Fail("invalid number");
        }
        return true;
    }

    std::optional<uint32_t> Hex4() {
        if (m_pos + 4 > m_text.size()) {
            Fail("truncated \\u escape");
            return std::nullopt;
        }
        uint32_t value = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = m_text[m_pos++];
            value <<= 4;
            if (c >= '0' && c <= '9') value |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') value |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') value |= static_cast<uint32_t>(c - 'A' + 10);
            else {
                Fail("invalid \\u escape");
                return std::nullopt;
            }
        }
        return value;
    }

    static void AppendUtf8(std::string* out, uint32_t code) {
        auto put = [out](uint32_t byte) { out->push_back(static_cast<char>(byte)); };
        if (code < 0x80) {
            put(code);
        } else if (code < 0x800) {
            put(0xC0 | (code >> 6));
            put(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            put(0xE0 | (code >> 12));
            put(0x80 | ((code >> 6) & 0x3F));
            put(0x80 | (code & 0x3F));
        } else {
            put(0xF0 | (code >> 18));
            put(0x80 | ((code >> 12) & 0x3F));
            put(0x80 | ((code >> 6) & 0x3F));
            put(0x80 | (code & 0x3F));
        }
    }

    std::string_view m_text;
    size_t m_pos;
    std::string m_error;
};

std::string JsonQuote(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

struct Edit {
    size_t pos;
    size_t length;  // bytes replaced
    std::string text;
};

// The decoded string value of `member` if it is a string.
std::optional<std::string> StringValue(std::string_view text, const Member& member) {
    if (text[member.value.begin] != '"') return std::nullopt;
    Scanner s(text, member.value.begin);
    std::string value;
    if (!s.String(&value)) return std::nullopt;
    return value;
}

// Whitespace from the start of the line holding `pos` up to `pos`, or nullopt if something
// else precedes it on that line.
std::optional<std::string> LineIndent(std::string_view text, size_t pos) {
    size_t start = pos;
    while (start > 0 && text[start - 1] != '\n') --start;
    const std::string_view indent = text.substr(start, pos - start);
    if (indent.find_first_not_of(" \t") != std::string_view::npos) return std::nullopt;
    return std::string(indent);
}

Status Invalid(const std::string& what) { return InvalidArgument("genesis JSON: " + what); }

}  // namespace

Result<std::string> FillGenesisKeys(std::string_view json_text,
                                    const std::map<std::string, std::string>& public_keys,
                                    size_t* filled) {
    if (filled) *filled = 0;
    Scanner top(json_text, 0);
    top.SkipSpace();
    if (top.pos() >= json_text.size() || json_text[top.pos()] != '{') {
        return Invalid("the top level must be an object");
    }
    std::vector<Member> members;
    if (!top.Object(&members, nullptr)) return Invalid(top.error());
    top.SkipSpace();
    if (top.pos() != json_text.size()) {
        return Invalid("unexpected text after the document at offset " +
                       std::to_string(top.pos()));
    }

    const Member* organisations = nullptr;
    for (const Member& m : members) {
        if (m.key != "organisations") continue;
        if (organisations) return Invalid("\"organisations\" appears twice");
        organisations = &m;
    }
    if (!organisations) return std::string(json_text);
    if (json_text[organisations->value.begin] != '[') {
        return Invalid("\"organisations\" must be an array");
    }

    std::vector<Span> elements;
    Scanner array(json_text, organisations->value.begin);
    if (!array.Array(&elements)) return Invalid(array.error());

    std::vector<Edit> edits;
    for (const Span& element : elements) {
        if (json_text[element.begin] != '{') continue;
        std::vector<Member> fields;
        size_t close = 0;
        Scanner object(json_text, element.begin);
        if (!object.Object(&fields, &close)) return Invalid(object.error());

        std::optional<std::string> name, role;
        const Member* existing = nullptr;
        for (const Member& f : fields) {
            if (f.key == "name") name = StringValue(json_text, f);
            if (f.key == "role") role = StringValue(json_text, f);
            if (f.key == "publicKey" || f.key == "public_key") existing = &f;
        }
        auto match = public_keys.end();
        if (name) match = public_keys.find(*name);
        if (match == public_keys.end() && role) match = public_keys.find(*role);
        if (match == public_keys.end()) continue;

        const std::string value = JsonQuote(match->second);
        if (existing) {
            edits.push_back({existing->value.begin,
                             existing->value.end - existing->value.begin, value});
        } else if (fields.empty()) {
            edits.push_back({element.begin + 1, 0, "\"publicKey\": " + value});
        } else {
            // Follow the layout of the last member: on its own indented line, or inline.
            const Member& last = fields.back();
            const auto indent = LineIndent(json_text, last.key_begin);
            const std::string separator = indent ? ",\n" + *indent : ", ";
            edits.push_back({last.value.end, 0, separator + "\"publicKey\": " + value});
        }
        if (filled) ++*filled;
    }

    std::string out(json_text);
    std::sort(edits.begin(), edits.end(),
              [](const Edit& a, const Edit& b) { return a.pos > b.pos; });
    for (const Edit& e : edits) out.replace(e.pos, e.length, e.text);
    return out;
}

namespace {

// The members of the JSON object `text` (which must be the whole document) and the offset of
// its closing brace.
Status TopLevelObject(std::string_view text, std::vector<Member>* members, size_t* close) {
    Scanner top(text, 0);
    top.SkipSpace();
    if (top.pos() >= text.size() || text[top.pos()] != '{') {
        return Invalid("the top level must be an object");
    }
    if (!top.Object(members, close)) return Invalid(top.error());
    top.SkipSpace();
    if (top.pos() != text.size()) {
        return Invalid("unexpected text after the document at offset " + std::to_string(top.pos()));
    }
    return Status::Ok();
}

}  // namespace

Result<std::string> SetTopLevelMembers(std::string_view json_text, std::string_view members_json) {
    std::vector<Member> members;
    size_t close = 0;
    MC_RETURN_IF_ERROR(TopLevelObject(json_text, &members, &close));
    std::vector<Member> updates;
    size_t updates_close = 0;
    MC_RETURN_IF_ERROR(TopLevelObject(members_json, &updates, &updates_close));

    std::vector<Edit> edits;
    std::string appended;
    std::optional<std::string> indent;
    if (!members.empty()) indent = LineIndent(json_text, members.back().key_begin);
    for (const Member& u : updates) {
        const std::string value(members_json.substr(u.value.begin, u.value.end - u.value.begin));
        auto existing = std::find_if(members.begin(), members.end(),
                                     [&](const Member& m) { return m.key == u.key; });
        if (existing != members.end()) {
            edits.push_back(
                {existing->value.begin, existing->value.end - existing->value.begin, value});
            continue;
        }
        const bool first = members.empty() && appended.empty();
        appended += (first ? "" : (indent ? ",\n" + *indent : std::string(", "))) +
                    JsonQuote(u.key) + ": " + value;
    }
    if (!appended.empty()) {
        edits.push_back({members.empty() ? close : members.back().value.end, 0, appended});
    }
    std::string out(json_text);
    std::sort(edits.begin(), edits.end(),
              [](const Edit& a, const Edit& b) { return a.pos > b.pos; });
    for (const Edit& e : edits) out.replace(e.pos, e.length, e.text);
    return out;
}

}  // namespace meterchain::config
