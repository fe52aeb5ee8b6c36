// meterctl keygen: a new SM2 signing key.
#include <cstdio>

#include "node/base/bytes.h"
#include "node/config/config.h"
#include "node/crypto/sm.h"
#include "node/tools/meterctl_commands.h"

namespace meterchain::tools {

int RunKeygen(const Flags& flags) {
    const auto out = flags.Required("out");
    if (!out.ok()) {
        std::fprintf(stderr, "meterctl keygen: %s\n", out.status().message().c_str());
        return kExitUsage;
    }
    const crypto::Sm2PrivateKey key = crypto::Sm2PrivateKey::Generate();
    // WriteSm2KeyFile refuses an existing file, so a key is never replaced by accident.
    const Status written = config::WriteSm2KeyFile(*out, key);
    if (!written.ok()) {
        std::fprintf(stderr, "meterctl keygen: %s\n", written.message().c_str());
        return kExitFailure;
    }
    // Only the public half is ever printed.
    std::printf("%s\n", ToHex(key.PublicKey().Raw()).c_str());
    std::fprintf(stderr, "wrote SM2 private key to %s (mode 0600)\n", out->c_str());
    return kExitOk;
}

}  // namespace meterchain::tools
