"""Known-answer vectors for the backup envelope, from implementations independent of Sigil's:
argon2-cffi (the reference C Argon2) and PyNaCl (libsodium's XChaCha20-Poly1305). Secret keys are
BIP-340 test vectors, whose public keys are published there. docs/protocol.md defines every
version; the recovery code's bech32m checksum follows BIP-350's reference code.

    pip install argon2-cffi pynacl
    python3 generate_backup_vectors.py 1 > backup-v1.json
    python3 generate_backup_vectors.py 2 > backup-v2.json
    python3 generate_backup_vectors.py 3 > backup-v3.json
"""
import hashlib
import json
import struct
import sys
import unicodedata

from argon2.low_level import Type, hash_secret_raw
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

CASES = [
    {
        "name": "floor parameters, ASCII password",
        "password": "correct horse battery staple",
        "entropy": "00" * 31 + "01",
        "secret_key": "00" * 31 + "03",
        "pubkey": "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",
        "kdf": {"alg": "argon2id", "m_kib": 19456, "t": 2, "p": 1},
        "nonce": "".join(f"{i:02x}" for i in range(24)),
    },
    {
        "name": "default parameters, password that NFKC changes",
        # U+FB01 (fi ligature) and a decomposed A with ring: NFKC gives "fi" and U+00C5.
        "password": "\ufb01sh A\u030a 🦀",
        "entropy": "a5" * 32,
        "secret_key": "b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef",
        "pubkey": "dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659",
        "kdf": {"alg": "argon2id", "m_kib": 65536, "t": 3, "p": 4},
        "nonce": "ff" * 24,
    },
]

VERSION = int(sys.argv[1])
assert VERSION in (1, 2, 3), "version 1, 2 or 3"


def sha256(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def seal(key, nonce, message, aad):
    return crypto_aead_xchacha20poly1305_ietf_encrypt(message, aad, nonce, key)


# Version 3: what each case adds to the password (fixed randomness, so the vectors are exact).
SLOTTED = [
    {
        "data_key": "d0" * 32,
        "id": "".join(f"{i:02x}" for i in range(16)),
        "rev": 1,
        "vault_nonce": "01" * 24,
        "password_nonce": "02" * 24,
        "recovery_code_bytes": "".join(f"{i * 17 % 256:02x}" for i in range(16)),
        "recovery_nonce": "03" * 24,
    },
    {
        "data_key": "".join(f"{255 - i:02x}" for i in range(32)),
        "id": "ee" * 16,
        "rev": 7,
        "vault_nonce": "0a" * 24,
        "password_nonce": "0b" * 24,
        "recovery_code_bytes": "ff" * 16,
        "recovery_nonce": "0c" * 24,
        "passkey": {
            "credential": "c1" * 16,
            "name": "Laptop — Chromium 🦀",
            "created": 1764950400,
            "prf_salt": "5a" * 32,
            "prf_output": "".join(f"{i * 3 % 256:02x}" for i in range(32)),
            "nonce": "0d" * 24,
        },
    },
]

BECH32_ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= gen[i] if ((top >> i) & 1) else 0
    return chk


def recovery_code_text(code):
    """BIP-350 bech32m of the 16 bytes with the human-readable part "sigil", without the
    "sigil1" prefix, in eight groups of four."""
    bits, acc, data = 0, 0, []
    for byte in code:
        acc = acc << 8 | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append(acc >> bits & 31)
    if bits:
        data.append(acc << (5 - bits) & 31)
    hrp = "sigil"
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = bech32_polymod(expanded + data + [0] * 6) ^ 0x2BC830A3
    data += [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    text = "".join(BECH32_ALPHABET[d] for d in data)
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def slotted(case, extra, password_key, pubkey):
    kdf = case["kdf"]
    data_key, envelope_id = bytes.fromhex(extra["data_key"]), bytes.fromhex(extra["id"])
    slots = []  # (kind byte, header, JSON member without nonce and wrapped, slot key, nonce)
    slots.append((1, struct.pack("<III", kdf["m_kib"], kdf["t"], kdf["p"]),
                  {"kind": "password", "kdf": kdf}, password_key, extra["password_nonce"]))
    code = bytes.fromhex(extra["recovery_code_bytes"])
    case["recovery_code"] = recovery_code_text(code)
    recovery_key = sha256(b"sigil/recovery-key/v3", pubkey, code)
    case["recovery_key"] = recovery_key.hex()
    slots.append((2, b"", {"kind": "recovery"}, recovery_key, extra["recovery_nonce"]))
    passkey = extra.get("passkey")
    if passkey:
        passkey_key = sha256(b"sigil/passkey-key/v3", pubkey, bytes.fromhex(passkey["prf_output"]))
        case["passkey_key"] = passkey_key.hex()
        credential, name = bytes.fromhex(passkey["credential"]), passkey["name"].encode()
        header = (bytes.fromhex(passkey["prf_salt"]) + struct.pack("<Q", passkey["created"])
                  + bytes([len(credential)]) + credential + bytes([len(name)]) + name)
        member = {"kind": "passkey", "credential": passkey["credential"], "name": passkey["name"],
                  "created": passkey["created"], "prf_salt": passkey["prf_salt"]}
        slots.append((3, header, member, passkey_key, passkey["nonce"]))
    digest_input = b"sigil/slots/v3"
    members, slot_aads = [], []
    for kind, header, member, slot_key, nonce in slots:
        aad = b"sigil/slot/v3" + pubkey + envelope_id + bytes([kind]) + header
        slot_aads.append(aad.hex())
        wrapped = seal(slot_key, bytes.fromhex(nonce), data_key, aad)
        digest_input += bytes([kind]) + struct.pack("<H", len(header)) + header
        digest_input += bytes.fromhex(nonce) + wrapped
        members.append({**member, "nonce": nonce, "wrapped": wrapped.hex()})
    case["slot_aads"] = slot_aads
    digest = sha256(digest_input)
    case["slots_digest"] = digest.hex()
    aad = b"sigil/vault/v3" + pubkey + envelope_id + struct.pack("<Q", extra["rev"]) + digest
    case["aad"] = aad.hex()
    ciphertext = seal(data_key, bytes.fromhex(extra["vault_nonce"]),
                      bytes.fromhex(case["secret_key"]), aad)
    return {
        "v": 3,
        "pubkey": case["pubkey"],
        "id": extra["id"],
        "rev": extra["rev"],
        "nonce": extra["vault_nonce"],
        "ciphertext": ciphertext.hex(),
        "slots": members,
    }


for index, case in enumerate(CASES):
    kdf = case["kdf"]
    password = unicodedata.normalize("NFKC", case["password"]).encode()
    entropy, pubkey = bytes.fromhex(case["entropy"]), bytes.fromhex(case["pubkey"])
    if VERSION == 1:
        salt = hashlib.sha256(b"sigil/kdf-salt/v1" + entropy).digest()
    else:
        salt = sha256(b"sigil/kdf-salt/v%d" % VERSION, entropy, pubkey)
    case["salt"] = salt.hex()
    key = hash_secret_raw(password, salt, kdf["t"], kdf["m_kib"], kdf["p"], 32, Type.ID, 19)
    if VERSION == 3:
        case["derived_key"] = key.hex()
        extra = SLOTTED[index]
        case.update(extra)
        del case["nonce"]
        case["envelope"] = slotted(case, extra, key, pubkey)
        continue
    domain = b"sigil/backup/v%d" % VERSION
    aad = domain + pubkey + struct.pack("<III", kdf["m_kib"], kdf["t"], kdf["p"])
    case["aad"] = aad.hex()
    case["derived_key"] = key.hex()
    ciphertext = seal(key, bytes.fromhex(case["nonce"]), bytes.fromhex(case["secret_key"]), aad)
    case["envelope"] = {
        "v": VERSION,
        "pubkey": case["pubkey"],
        "kdf": kdf,
        "nonce": case["nonce"],
        "ciphertext": ciphertext.hex(),
    }

print(json.dumps(CASES, indent=2, ensure_ascii=False))
