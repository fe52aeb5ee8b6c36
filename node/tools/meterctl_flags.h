// Command-line flags of one meterctl subcommand: "--name value", "--name=value" and boolean
// "--name". Parsing happens once, against the flags the subcommand declares, so that a typo
// is an error rather than silently ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/base/status.h"

namespace meterchain::tools {

struct FlagSpec {
    std::string name;  // without the leading "--"
    std::string value_name;  // "FILE"; empty for a boolean flag
    std::string help;        // one line
};

class Flags {
public:
    // kInvalidArgument naming the problem: an unknown flag, a missing value, a flag given
    // twice, or a positional argument.
    static Result<Flags> Parse(const std::vector<std::string>& args,
                               const std::vector<FlagSpec>& specs);

    bool Has(const std::string& name) const { return m_values.count(name) != 0; }
    std::optional<std::string> Get(const std::string& name) const;
    // The value, or kInvalidArgument "--name is required".
    Result<std::string> Required(const std::string& name) const;
    // Parses a decimal unsigned integer in [min, max]; `fallback` when the flag is absent.
    Result<uint64_t> Number(const std::string& name, uint64_t fallback, uint64_t min,
                            uint64_t max) const;

    const std::vector<FlagSpec>& specs() const { return m_specs; }

private:
    std::vector<FlagSpec> m_specs;
    std::map<std::string, std::string> m_values;
};

}  // namespace meterchain::tools
