#!/usr/bin/python3
"""add-crl.py SIG.der CRL.der... > OUT.der

Adds CRLs to the `crls [1] IMPLICIT RevocationInfoChoices` field of a DER
CMS ContentInfo/SignedData (RFC 5652 5.1), which `openssl cms -sign` cannot
do. The field is not covered by the signature, so the signature stays valid.
Any existing crls field is replaced. Only definite-length DER is handled
(what `openssl cms -sign -outform DER` writes).
Failure modes: exits 1 with a message if the input is not a DER
ContentInfo holding SignedData.
"""
import sys


def read_tlv(b, i):
    """Returns (tag, start_of_value, end_of_value) for the TLV at b[i]."""
    tag = b[i]
    n = b[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise ValueError("unsupported length form")
        n = int.from_bytes(b[j:j + k], "big")
        j += k
    return tag, j, j + n


def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        head = bytes([tag, n])
    else:
        lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([tag, 0x80 | len(lb)]) + lb
    return head + value


def children(b, start, end):
    out = []
    i = start
    while i < end:
        _, vs, ve = read_tlv(b, i)
        out.append(b[i:ve])
        i = ve
    return out


def main():
    sig = open(sys.argv[1], "rb").read()
    crls = b"".join(open(p, "rb").read() for p in sys.argv[2:])
    tag, vs, ve = read_tlv(sig, 0)
    if tag != 0x30:
        raise ValueError("not a ContentInfo")
    oid, explicit = children(sig, vs, ve)
    if oid != bytes.fromhex("06092a864886f70d010702"):
        raise ValueError("not signed-data")
    _, evs, eve = read_tlv(explicit, 0)
    _, svs, sve = read_tlv(explicit, evs)
    parts = children(explicit, svs, sve)
    parts = [p for p in parts if p[0] != 0xA1]  # drop existing crls
    # SignedData: version, digestAlgorithms, encapContentInfo, [0] certs?, signerInfos
    parts.insert(len(parts) - 1, tlv(0xA1, crls))
    signed = tlv(0x30, b"".join(parts))
    sys.stdout.buffer.write(tlv(0x30, oid + tlv(0xA0, signed)))


try:
    main()
except (ValueError, IndexError, OSError) as e:
    print(f"add-crl.py: {e}", file=sys.stderr)
    sys.exit(1)
