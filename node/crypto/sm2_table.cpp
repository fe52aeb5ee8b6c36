// SM2 verification with precomputed tables for G and one public key (see sm2_table.h).
// Built on OpenSSL's EC_POINT arithmetic (not its deprecated precomputation API): the tables
// hold affine points, so every addition is OpenSSL's cheaper mixed addition.
#include "node/crypto/sm2_table.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <array>
#include <cstring>
#include <vector>

#include "node/crypto/openssl_util.h"
#include "node/crypto/sm.h"

namespace meterchain::crypto {

using namespace detail;

namespace {

// Scalars are split into 4-bit digits: 64 positions, 15 non-zero digits each.
constexpr int kDigitBits = 4;
constexpr int kPositions = 256 / kDigitBits;
constexpr int kDigits = (1 << kDigitBits) - 1;

using GroupPtr = Owned<EC_GROUP, EC_GROUP_free>;
using PointPtr = Owned<EC_POINT, EC_POINT_free>;
using BnCtxPtr = Owned<BN_CTX, BN_CTX_free>;
using SigPtr = Owned<ECDSA_SIG, ECDSA_SIG_free>;

// d * 16^i * P for every position i and digit d, in affine coordinates.
class PointTable {
public:
    PointTable(const EC_GROUP* group, const EC_POINT* point, BN_CTX* ctx) {
        m_points.reserve(kPositions * kDigits);
        PointPtr base(EC_POINT_dup(point, group));
        BnPtr x(BN_new());
        BnPtr y(BN_new());
        if (!base || !x || !y) Fatal("cannot allocate an SM2 table");
        for (int i = 0; i < kPositions; ++i) {
            for (int d = 1; d <= kDigits; ++d) {
                PointPtr p(EC_POINT_new(group));
                const bool ok = p && (d == 1 ? EC_POINT_copy(p.get(), base.get()) == 1
                                             : EC_POINT_add(group, p.get(), m_points.back().get(),
                                                            base.get(), ctx) == 1);
                if (!ok) Fatal("cannot compute an SM2 table point");
                m_points.push_back(std::move(p));
            }
            for (int k = 0; k < kDigitBits; ++k) {
                if (EC_POINT_dbl(group, base.get(), base.get(), ctx) != 1) {
                    Fatal("cannot compute an SM2 table point");
                }
            }
        }
        // Affine (Z = 1) points make each addition of the walk a mixed addition. A multiple
        // of a point of prime order n below n is never the point at infinity.
        for (auto& p : m_points) {
            if (EC_POINT_get_affine_coordinates(group, p.get(), x.get(), y.get(), ctx) != 1 ||
                EC_POINT_set_affine_coordinates(group, p.get(), x.get(), y.get(), ctx) != 1) {
                Fatal("cannot normalise an SM2 table point");
            }
        }
    }

    // The point for `digit` (1..15) at `position`.
    const EC_POINT* At(int position, int digit) const {
        return m_points[static_cast<size_t>(position * kDigits + digit - 1)].get();
    }

private:
    std::vector<PointPtr> m_points;
};

// The SM2 group and the table for its generator, shared by every key (built on first use).
struct Curve {
    GroupPtr group;
    std::unique_ptr<PointTable> g_table;
    BnPtr order;
    // a, b, xG, yG: the curve's part of Z_A.
    std::array<uint8_t, 4 * kCoordinateSize> z_params{};

    Curve() {
        group.reset(EC_GROUP_new_by_curve_name(NID_sm2));
        order.reset(BN_new());
        BnCtxPtr ctx(BN_CTX_new());
        BnPtr p(BN_new()), a(BN_new()), b(BN_new()), gx(BN_new()), gy(BN_new());
        if (!group || !order || !ctx || !p || !a || !b || !gx || !gy ||
            EC_GROUP_get_order(group.get(), order.get(), ctx.get()) != 1 ||
            EC_GROUP_get_curve(group.get(), p.get(), a.get(), b.get(), ctx.get()) != 1 ||
            EC_POINT_get_affine_coordinates(group.get(), EC_GROUP_get0_generator(group.get()),
                                            gx.get(), gy.get(), ctx.get()) != 1) {
            Fatal("the SM2 curve is not available");
        }
        const BIGNUM* parts[] = {a.get(), b.get(), gx.get(), gy.get()};
        for (size_t i = 0; i < 4; ++i) {
            if (BN_bn2binpad(parts[i], z_params.data() + i * kCoordinateSize, kCoordinateSize) !=
                static_cast<int>(kCoordinateSize)) {
                Fatal("cannot encode the SM2 curve parameters");
            }
        }
        g_table = std::make_unique<PointTable>(group.get(), EC_GROUP_get0_generator(group.get()),
                                               ctx.get());
    }
};

const Curve& SharedCurve() {
    static const Curve curve;  // thread-safe initialisation
    return curve;
}

// One BN_CTX per thread: allocating one per verification costs more than some of its steps.
BN_CTX* ThreadBnCtx() {
    thread_local BnCtxPtr ctx(BN_CTX_new());
    if (!ctx) Fatal("cannot allocate a BN_CTX");
    return ctx.get();
}

// The 4-bit digit of a 32-byte big-endian scalar at `position` (0 = least significant).
int Digit(const uint8_t* scalar, int position) {
    const uint8_t byte = scalar[31 - position / 2];
    return (position & 1) != 0 ? byte >> 4 : byte & 0x0f;
}

}  // namespace

struct Sm2KeyTable::Impl {
    PointTable table;
    Hash256 z{};  // Z_A of this key and ID

    Impl(const EC_GROUP* group, const EC_POINT* point, BN_CTX* ctx) : table(group, point, ctx) {}
};

Sm2KeyTable::Sm2KeyTable(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Sm2KeyTable::~Sm2KeyTable() = default;

Result<std::shared_ptr<const Sm2KeyTable>> Sm2KeyTable::Build(ByteView raw_public,
                                                              std::string_view id) {
    if (raw_public.size() != kRawPublicKeySize || raw_public[0] != 0x04) {
        return InvalidArgument("an SM2 public key must be 65 bytes (0x04 || X || Y)");
    }
    // GB/T 32918.2: ENTL is the ID's length in bits, in two bytes.
    if (id.size() >= 0xffff / 8) return InvalidArgument("the SM2 distinguishing ID is too long");
    const Curve& curve = SharedCurve();
    BN_CTX* ctx = ThreadBnCtx();
    PointPtr point(EC_POINT_new(curve.group.get()));
    if (!point) Fatal("cannot allocate an EC_POINT");
    // oct2point refuses points that are not on the curve; the cofactor is 1, so any point on
    // it other than infinity (which has no 65-byte encoding) has the group's prime order.
    if (EC_POINT_oct2point(curve.group.get(), point.get(), raw_public.data(), raw_public.size(),
                           ctx) != 1) {
        ERR_clear_error();
        return InvalidArgument("the SM2 public key is not a valid curve point");
    }
    auto impl = std::make_unique<Impl>(curve.group.get(), point.get(), ctx);
    const uint16_t entl = static_cast<uint16_t>(id.size() * 8);
    const uint8_t entl_bytes[2] = {static_cast<uint8_t>(entl >> 8), static_cast<uint8_t>(entl)};
    Sm3Hasher z;
    z.Update(ByteView(entl_bytes, 2))
        .Update(id)
        .Update(ByteView(curve.z_params.data(), curve.z_params.size()))
        .Update(raw_public.subspan(1));
    impl->z = z.Final();
    return std::shared_ptr<const Sm2KeyTable>(new Sm2KeyTable(std::move(impl)));
}

bool Sm2KeyTable::Verify(ByteView msg, ByteView signature) const {
    if (signature.empty() || signature.size() > kMaxSignatureSize) return false;
    // Strict DER, as OpenSSL's SM2 verification demands: what decodes must re-encode to the
    // very same bytes (no long-form lengths, no padding, nothing trailing).
    const unsigned char* p = signature.data();
    SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
    if (!sig) {
        ERR_clear_error();
        return false;
    }
    unsigned char* der = nullptr;
    const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
    const bool canonical = der_len == static_cast<int>(signature.size()) &&
                           std::memcmp(der, signature.data(), signature.size()) == 0;
    OPENSSL_free(der);
    if (!canonical) return false;

    const Curve& curve = SharedCurve();
    const BIGNUM* order = curve.order.get();
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    // r and s in [1, n-1].
    if (BN_cmp(r, BN_value_one()) < 0 || BN_cmp(s, BN_value_one()) < 0 ||
        BN_cmp(order, r) <= 0 || BN_cmp(order, s) <= 0) {
        return false;
    }
    BN_CTX* ctx = ThreadBnCtx();
    BN_CTX_start(ctx);
    BIGNUM* t = BN_CTX_get(ctx);
    BIGNUM* e = BN_CTX_get(ctx);
    BIGNUM* x1 = BN_CTX_get(ctx);
    PointPtr sum(EC_POINT_new(curve.group.get()));
    uint8_t s_bytes[32];
    uint8_t t_bytes[32];
    bool ok = x1 != nullptr && sum && BN_mod_add(t, r, s, order, ctx) == 1 && !BN_is_zero(t) &&
              BN_bn2binpad(s, s_bytes, 32) == 32 && BN_bn2binpad(t, t_bytes, 32) == 32;
    if (ok) {
        // (x1, y1) = s*G + t*P, one table addition per non-zero digit.
        ok = EC_POINT_set_to_infinity(curve.group.get(), sum.get()) == 1;
        for (int i = 0; ok && i < kPositions; ++i) {
            if (const int d = Digit(s_bytes, i); d != 0) {
                ok = EC_POINT_add(curve.group.get(), sum.get(), sum.get(),
                                  curve.g_table->At(i, d), ctx) == 1;
            }
            if (const int d = Digit(t_bytes, i); ok && d != 0) {
                ok = EC_POINT_add(curve.group.get(), sum.get(), sum.get(),
                                  m_impl->table.At(i, d), ctx) == 1;
            }
        }
    }
    if (ok) {
        // e = SM3(Z_A || msg); valid when (e + x1) mod n == r. Infinity has no affine x.
        const Hash256 digest = Sm3Hasher().Update(ByteView(m_impl->z.data(), m_impl->z.size()))
                                   .Update(msg)
                                   .Final();
        ok = EC_POINT_get_affine_coordinates(curve.group.get(), sum.get(), x1, nullptr, ctx) ==
                 1 &&
             BN_bin2bn(digest.data(), static_cast<int>(digest.size()), e) != nullptr &&
             BN_mod_add(t, e, x1, order, ctx) == 1 && BN_cmp(t, r) == 0;
    }
    BN_CTX_end(ctx);
    if (!ok) ERR_clear_error();
    return ok;
}

}  // namespace meterchain::crypto
