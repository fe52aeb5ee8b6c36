#include "node/tools/meterctl_flags.h"

#include <algorithm>
#include <charconv>

namespace meterchain::tools {

Result<Flags> Flags::Parse(const std::vector<std::string>& args,
                           const std::vector<FlagSpec>& specs) {
    Flags flags;
    flags.m_specs = specs;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
            return InvalidArgument("unexpected argument \"" + arg + "\"");
        }
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (const size_t eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        const auto spec = std::find_if(specs.begin(), specs.end(),
                                       [&](const FlagSpec& s) { return s.name == name; });
        if (spec == specs.end()) return InvalidArgument("unknown flag --" + name);
        if (flags.Has(name)) return InvalidArgument("--" + name + " given twice");
        if (!spec->value_name.empty()) {
            if (!value) {
                if (i + 1 >= args.size()) return InvalidArgument("--" + name + " needs a value");
                value = args[++i];
            }
        } else if (value) {
            return InvalidArgument("--" + name + " takes no value");
        }
        flags.m_values[name] = value.value_or("");
    }
    return flags;
}

std::optional<std::string> Flags::Get(const std::string& name) const {
    const auto it = m_values.find(name);
    if (it == m_values.end()) return std::nullopt;
    return it->second;
}

Result<std::string> Flags::Required(const std::string& name) const {
    auto value = Get(name);
    if (!value || value->empty()) return InvalidArgument("--" + name + " is required");
    return *value;
}

Result<uint64_t> Flags::Number(const std::string& name, uint64_t fallback, uint64_t min,
                               uint64_t max) const {
    const auto text = Get(name);
    if (!text) return fallback;
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (text->empty() || ec != std::errc() || end != text->data() + text->size() ||
        value < min || value > max) {
        return InvalidArgument("--" + name + " must be a number from " + std::to_string(min) +
                               " to " + std::to_string(max) + ", got \"" + *text + "\"");
    }
    return value;
}

}  // namespace meterchain::tools
