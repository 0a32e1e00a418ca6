#include "identity/identity.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <memory>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usbhop_config.h"
#include "util/base32.hpp"
#include "util/files.hpp"

namespace usbhop::identity {

namespace {

constexpr std::string_view kChecksumDomain = "usbhop-node-id";
constexpr size_t kChecksumSize = 3;

// One owner per GnuTLS object, freed on every path out.
struct X509KeyFree { void operator()(gnutls_x509_privkey_t k) const { gnutls_x509_privkey_deinit(k); } };
struct PrivKeyFree { void operator()(gnutls_privkey_t k) const { gnutls_privkey_deinit(k); } };
struct PubKeyFree { void operator()(gnutls_pubkey_t k) const { gnutls_pubkey_deinit(k); } };
using X509Key = std::unique_ptr<std::remove_pointer_t<gnutls_x509_privkey_t>, X509KeyFree>;
using PrivKey = std::unique_ptr<std::remove_pointer_t<gnutls_privkey_t>, PrivKeyFree>;
using PubKey = std::unique_ptr<std::remove_pointer_t<gnutls_pubkey_t>, PubKeyFree>;

struct Datum {
    gnutls_datum_t d{nullptr, 0};
    Datum() = default;
    Datum(const Datum&) = delete;
    Datum& operator=(const Datum&) = delete;
    ~Datum() { gnutls_free(d.data); }
    std::string str() const { return std::string(reinterpret_cast<const char*>(d.data), d.size); }
};

gnutls_datum_t view(std::string_view s) {
    return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())), static_cast<unsigned>(s.size())};
}
gnutls_datum_t view(ByteSpan s) {
    return {reinterpret_cast<unsigned char*>(const_cast<std::byte*>(s.data())), static_cast<unsigned>(s.size())};
}

Error gnutls_error(const std::string& what, int rc) {
    return make_error(what + ": " + gnutls_strerror(rc), rc);
}

std::array<std::byte, kChecksumSize> checksum(std::span<const std::byte, kPublicKeySize> key) {
    std::string input(kChecksumDomain);
    input.append(as_chars(key));
    unsigned char digest[32];
    gnutls_hash_fast(GNUTLS_DIG_SHA256, input.data(), input.size(), digest);
    std::array<std::byte, kChecksumSize> out;
    for (size_t i = 0; i < kChecksumSize; ++i) out[i] = static_cast<std::byte>(digest[i]);
    return out;
}

Result<PrivKey> import_private(const std::string& pem) {
    gnutls_x509_privkey_t raw;
    if (int rc = gnutls_x509_privkey_init(&raw); rc < 0) return gnutls_error("key init", rc);
    X509Key x509(raw);
    gnutls_datum_t d = view(pem);
    if (int rc = gnutls_x509_privkey_import2(x509.get(), &d, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN); rc < 0)
        return gnutls_error("not a PKCS#8 PEM private key", rc);
    if (gnutls_x509_privkey_get_pk_algorithm2(x509.get(), nullptr) != GNUTLS_PK_EDDSA_ED25519)
        return make_error("not an Ed25519 key");
    gnutls_privkey_t pk;
    if (int rc = gnutls_privkey_init(&pk); rc < 0) return gnutls_error("key init", rc);
    PrivKey priv(pk);
    if (int rc = gnutls_privkey_import_x509(priv.get(), x509.get(), GNUTLS_PRIVKEY_IMPORT_COPY); rc < 0)
        return gnutls_error("key import", rc);
    return priv;
}

Result<PubKey> public_of(gnutls_privkey_t priv) {
    gnutls_pubkey_t raw;
    if (int rc = gnutls_pubkey_init(&raw); rc < 0) return gnutls_error("key init", rc);
    PubKey pub(raw);
    if (int rc = gnutls_pubkey_import_privkey(pub.get(), priv, 0, 0); rc < 0)
        return gnutls_error("public key", rc);
    return pub;
}

Result<NodeId> node_id_of(gnutls_pubkey_t pub) {
    gnutls_ecc_curve_t curve;
    Datum x;
    if (int rc = gnutls_pubkey_export_ecc_raw2(pub, &curve, &x.d, nullptr, GNUTLS_EXPORT_FLAG_NO_LZ); rc < 0)
        return gnutls_error("public key export", rc);
    if (curve != GNUTLS_ECC_CURVE_ED25519 || x.d.size != kPublicKeySize) return make_error("not an Ed25519 key");
    std::span<const std::byte, kPublicKeySize> key(reinterpret_cast<const std::byte*>(x.d.data), kPublicKeySize);
    return NodeId::from_public_key(key);
}

// Creates missing directories of path's parent with mode 0700.
Result<void> make_parent_dirs(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return {};
    std::string dir = path.substr(0, slash);
    for (size_t pos = 1; pos <= dir.size(); ++pos) {
        if (pos != dir.size() && dir[pos] != '/') continue;
        std::string part = dir.substr(0, pos);
        if (mkdir(part.c_str(), 0700) == 0) {
            chmod(part.c_str(), 0700);  // umask-proof
        } else if (errno != EEXIST) {
            return make_error("cannot create directory " + part + ": " + std::strerror(errno), -errno);
        }
    }
    return {};
}

}  // namespace

NodeId NodeId::from_public_key(std::span<const std::byte, kPublicKeySize> key) {
    NodeId id;
    std::copy(key.begin(), key.end(), id.key_.begin());
    return id;
}

Result<NodeId> NodeId::parse(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    if (text.size() != kNodeIdLength)
        return make_error("node ID '" + std::string(text) + "' has " + std::to_string(text.size()) +
                          " characters, expected " + std::to_string(kNodeIdLength));
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
        if (!ok)
            return make_error("node ID has invalid character '" + std::string(1, c) + "' at position " +
                              std::to_string(i + 1) + " (only a-z and 2-7 are used)");
    }
    auto raw = base32::decode(text);
    if (!raw || raw->size() != kPublicKeySize + kChecksumSize) return make_error("node ID is not valid base32");
    std::span<const std::byte, kPublicKeySize> key(raw->data(), kPublicKeySize);
    auto want = checksum(key);
    if (!std::equal(want.begin(), want.end(), raw->begin() + kPublicKeySize))
        return make_error("node ID '" + std::string(text) + "' has a bad checksum (typo?)");
    return from_public_key(key);
}

std::string NodeId::to_string() const {
    Bytes raw(key_.begin(), key_.end());
    auto sum = checksum(key_);
    raw.insert(raw.end(), sum.begin(), sum.end());
    return base32::encode(raw);
}

bool NodeId::valid() const {
    return std::any_of(key_.begin(), key_.end(), [](std::byte b) { return b != std::byte{0}; });
}

Result<NodeKey> NodeKey::generate() {
    gnutls_x509_privkey_t raw;
    if (int rc = gnutls_x509_privkey_init(&raw); rc < 0) return gnutls_error("key init", rc);
    X509Key x509(raw);
    if (int rc = gnutls_x509_privkey_generate(x509.get(), GNUTLS_PK_EDDSA_ED25519, 0, 0); rc < 0)
        return gnutls_error("cannot generate an Ed25519 key", rc);
    // export2 would write "BEGIN UNKNOWN", which GnuTLS cannot read back.
    Datum pem;
    if (int rc = gnutls_x509_privkey_export2_pkcs8(x509.get(), GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN, &pem.d);
        rc < 0)
        return gnutls_error("key export", rc);
    NodeKey key;
    key.private_pem_ = pem.str();
    auto priv = import_private(key.private_pem_);
    if (!priv) return priv.error();
    auto pub = public_of(priv->get());
    if (!pub) return pub.error();
    auto id = node_id_of(pub->get());
    if (!id) return id.error();
    key.id_ = *id;
    return key;
}

Result<NodeKey> NodeKey::load(const std::string& path) {
    // A private key: ours or root's, nobody else may read it, no link, FIFO or device.
    auto read = read_file(path, {.max_size = 64 * 1024, .private_only = true});
    if (!read) return read.error();
    std::string text = std::move(*read);
    auto priv = import_private(text);
    if (!priv) return make_error(path + ": " + priv.error().message, priv.error().code);
    auto pub = public_of(priv->get());
    if (!pub) return make_error(path + ": " + pub.error().message);
    auto id = node_id_of(pub->get());
    if (!id) return make_error(path + ": " + id.error().message);
    NodeKey key;
    key.private_pem_ = std::move(text);
    key.id_ = *id;
    return key;
}

Result<NodeKey> NodeKey::load_or_create(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 || errno != ENOENT) return load(path);
    auto key = generate();
    if (!key) return key;
    if (auto dirs = make_parent_dirs(path); !dirs) return dirs.error();
    // create_only: if another process created the key in the meantime,
    // keep theirs and load it, so both agree on one identity.
    auto written = write_file_atomically(path, key->private_pem_, 0600, WriteMode::create_only);
    if (!written && written.error().code == -EEXIST) return load(path);
    if (!written) return written.error();
    return key;
}

Result<void> NodeKey::save(const std::string& path) const {
    if (auto dirs = make_parent_dirs(path); !dirs) return dirs;
    return write_file_atomically(path, private_pem_, 0600);
}

std::string NodeKey::public_key_pem() const {
    auto priv = import_private(private_pem_);
    if (!priv) return {};
    auto pub = public_of(priv->get());
    if (!pub) return {};
    Datum pem;
    if (gnutls_pubkey_export2(pub->get(), GNUTLS_X509_FMT_PEM, &pem.d) < 0) return {};
    return pem.str();
}

Result<Bytes> NodeKey::sign(ByteSpan msg) const {
    auto priv = import_private(private_pem_);
    if (!priv) return priv.error();
    gnutls_datum_t data = view(msg);
    Datum sig;
    if (int rc = gnutls_privkey_sign_data2(priv->get(), GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig.d); rc < 0)
        return gnutls_error("signing failed", rc);
    auto b = reinterpret_cast<const std::byte*>(sig.d.data);
    return Bytes(b, b + sig.d.size);
}

bool verify(const NodeId& node, ByteSpan msg, ByteSpan sig) {
    if (!node.valid() || sig.size() != kSignatureSize) return false;
    gnutls_pubkey_t raw;
    if (gnutls_pubkey_init(&raw) < 0) return false;
    PubKey pub(raw);
    gnutls_datum_t x = view(ByteSpan(node.public_key()));
    if (gnutls_pubkey_import_ecc_raw(pub.get(), GNUTLS_ECC_CURVE_ED25519, &x, nullptr) < 0) return false;
    gnutls_datum_t data = view(msg);
    gnutls_datum_t s = view(sig);
    return gnutls_pubkey_verify_data2(pub.get(), GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &s) >= 0;
}

std::string default_identity_path() {
    // Not serve's key: the user usbhop owns that one, and root's attach would
    // (rightly) refuse a key file another user owns.
    if (geteuid() == 0) return USBHOP_ATTACH_STATEDIR "/identity.key";
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    if (xdg && xdg[0] == '/') return std::string(xdg) + "/usbhop/identity.key";
    std::string home;
    if (const char* h = std::getenv("HOME"); h && h[0] == '/') {
        home = h;
    } else if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_dir) {
        home = pw->pw_dir;
    }
    return home + "/.config/usbhop/identity.key";
}

}  // namespace usbhop::identity
