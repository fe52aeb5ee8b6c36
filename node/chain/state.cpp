#include "node/chain/state.h"

#include "node/base/codec.h"
#include "node/crypto/sm.h"

namespace meterchain::chain {

Hash256 WriteSetDigest(const WriteSet& writes) {
    codec::Writer w;
    w.Text("meterchain/writeset/v1").U32(static_cast<uint32_t>(writes.size()));
    for (const auto& [key, value] : writes) {
        w.Text(key).U8(value ? 1 : 0);
        if (value) w.Blob(*value);
    }
    return crypto::Sm3(w.bytes());
}

namespace {

Hash256 ChainRoot(const Hash256& previous_root, const Hash256& writes_digest) {
    return crypto::Sm3(codec::Writer()
                           .Text("meterchain/state/v1")
                           .Digest(previous_root)
                           .Digest(writes_digest)
                           .bytes());
}

}  // namespace

Hash256 NextStateRoot(const Hash256& previous_root, const WriteSet& writes) {
    return ChainRoot(previous_root, WriteSetDigest(writes));
}

Hash256 NextStateRoot(const Hash256& previous_root, const SealedWriteSet& writes) {
    return ChainRoot(previous_root, writes.digest());
}

}  // namespace meterchain::chain
