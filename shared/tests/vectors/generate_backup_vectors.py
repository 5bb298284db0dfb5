"""Known-answer vectors for the backup envelope, from implementations independent of Sigil's:
argon2-cffi (the reference C Argon2) and PyNaCl (libsodium's XChaCha20-Poly1305). Secret keys are
BIP-340 test vectors, whose public keys are published there. docs/protocol.md defines both versions.

    pip install argon2-cffi pynacl
    python3 generate_backup_vectors.py 1 > backup-v1.json
    python3 generate_backup_vectors.py 2 > backup-v2.json
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
assert VERSION in (1, 2), "version 1 or 2"

for case in CASES:
    kdf = case["kdf"]
    password = unicodedata.normalize("NFKC", case["password"]).encode()
    entropy, pubkey = bytes.fromhex(case["entropy"]), bytes.fromhex(case["pubkey"])
    if VERSION == 1:
        salt = hashlib.sha256(b"sigil/kdf-salt/v1" + entropy).digest()
    else:
        salt = hashlib.sha256(b"sigil/kdf-salt/v2" + entropy + pubkey).digest()
    case["salt"] = salt.hex()
    key = hash_secret_raw(password, salt, kdf["t"], kdf["m_kib"], kdf["p"], 32, Type.ID, 19)
    domain = b"sigil/backup/v%d" % VERSION
    aad = domain + pubkey + struct.pack("<III", kdf["m_kib"], kdf["t"], kdf["p"])
    case["aad"] = aad.hex()
    ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(
        bytes.fromhex(case["secret_key"]), aad, bytes.fromhex(case["nonce"]), key
    )
    case["derived_key"] = key.hex()
    case["envelope"] = {
        "v": VERSION,
        "pubkey": case["pubkey"],
        "kdf": kdf,
        "nonce": case["nonce"],
        "ciphertext": ciphertext.hex(),
    }

print(json.dumps(CASES, indent=2, ensure_ascii=False))
