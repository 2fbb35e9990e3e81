#!/usr/bin/env python3
"""Checks the audit log in a Bearing evidence bundle.

Run it from the bundle's folder:

    python3 audit/verify_chain.py

Needs Python 3.8 or later (standard library only) and OpenSSL 3.0 or later (`openssl`).

What it checks, row by row in audit/audit_log.jsonl:
  1. the row's body, serialized by RFC 8785 (JSON Canonicalization Scheme), is exactly the
     `canonical` text stored with it;
  2. its hash is SHA-256(prev_hash || canonical);
  3. its prev_hash is the hash of the row before it, and seqs follow each other without gaps.
     The bundle covers a period, so the first row links to a row that is not in it: that
     prev_hash is printed as the anchor, to compare with the head of the previous period.
     If the first row is row 1, it must link to 64 zeros (the genesis hash).
And for each checkpoint in audit/checkpoints.jsonl: it names a row of this bundle, it was signed
by the key in signing-key.pub.pem (checked with `openssl pkeyutl -verify -rawin`), and the hash
it signed is that row's hash.

Exit status: 0 if everything holds, 1 if something does not (the first problem is printed,
naming the row), 2 if the check could not run (a file is missing, openssl is not there).
"""

import base64
import decimal
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
AUDIT_LOG = os.path.join(HERE, "audit_log.jsonl")
CHECKPOINTS = os.path.join(HERE, "checkpoints.jsonl")
PUBLIC_KEY = os.path.join(ROOT, "signing-key.pub.pem")

GENESIS = "0" * 64
CHECKPOINT_DOMAIN = b"bearing-audit-checkpoint-v1\n"
# DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
HEX128 = re.compile(r"[0-9a-f]{128}\Z")
KEY_ID = re.compile(r"[0-9a-f]{16}\Z")
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")


class Problem(Exception):
    """The bundle fails a check. The message names the row."""


class CannotRun(Exception):
    """The check itself could not be done."""


# --- RFC 8785: JSON Canonicalization Scheme -------------------------------------------------


def jcs(value):
    """The RFC 8785 text of a value parsed by json.loads."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return jcs_string(value)
    if isinstance(value, (int, float)):
        return jcs_number(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        # Keys are sorted by their UTF-16 code units, not by code points: "\U0001F600" (a
        # surrogate pair, 0xD83D...) sorts before "\uFB01".
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(jcs_string(k) + ":" + jcs(value[k]) for k in keys) + "}"
    raise ValueError("unexpected JSON value of type " + type(value).__name__)


_ESCAPE = re.compile(r'[\x00-\x1f"\\]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def jcs_string(text):
    """Quotes and backslashes escaped, control characters as \\b \\f \\n \\r \\t or \\u00xx,
    everything else (all non-ASCII included) as itself."""
    escaped = _ESCAPE.sub(lambda m: _SHORT_ESCAPES.get(m.group(), "\\u%04x" % ord(m.group())), text)
    return '"' + escaped + '"'


def jcs_number(number):
    """ECMAScript's Number.prototype.toString, which RFC 8785 prescribes. Every JSON number is
    an IEEE 754 double there, integers included: a big integer is rounded like JavaScript would."""
    value = float(number)  # OverflowError for integers beyond the double range
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("a number that is not finite")
    if value == 0:
        return "0"  # negative zero too
    if value < 0:
        return "-" + jcs_number(-value)
    # repr() gives the shortest digits that read back as the same double, like ECMAScript.
    _, digit_tuple, exponent = decimal.Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple))
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    n = k + exponent  # value = 0.DIGITS * 10**n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return mantissa + "e" + ("+" if e >= 0 else "-") + str(abs(e))


# --- reading the files ----------------------------------------------------------------------


def _no_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("the key %s appears twice in one object" % json.dumps(key))
        result[key] = value
    return result


def _no_constants(name):
    raise ValueError("%s is not JSON" % name)


def parse_json(raw):
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


def json_lines(path):
    """(line number, parsed object) for each non-empty line of a JSON Lines file."""
    try:
        handle = open(path, "rb")
    except OSError as e:
        raise CannotRun("cannot read %s: %s" % (os.path.relpath(path, ROOT), e.strerror))
    with handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                value = parse_json(raw)
            except (ValueError, UnicodeDecodeError) as e:
                raise Problem("%s line %d is not valid JSON: %s" % (os.path.relpath(path, ROOT), number, e))
            if not isinstance(value, dict):
                raise Problem("%s line %d is not a JSON object" % (os.path.relpath(path, ROOT), number))
            yield number, value


def field(obj, name, pattern, where):
    value = obj.get(name)
    if pattern is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise Problem("%s: `%s` is missing or not an integer" % (where, name))
    elif pattern is str:
        if not isinstance(value, str):
            raise Problem("%s: `%s` is missing or not a string" % (where, name))
    elif pattern is dict:
        if not isinstance(value, dict):
            raise Problem("%s: `%s` is missing or not an object" % (where, name))
    elif not isinstance(value, str) or not pattern.match(value):
        raise Problem("%s: `%s` is missing or malformed" % (where, name))
    return value


def public_key_fingerprint():
    """SHA-256 of the raw 32-byte key in signing-key.pub.pem, in hex."""
    try:
        with open(PUBLIC_KEY, "r", encoding="ascii") as handle:
            pem = handle.read()
    except (OSError, UnicodeDecodeError) as e:
        raise CannotRun("cannot read signing-key.pub.pem: %s" % e)
    body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
    try:
        der = base64.b64decode(body, validate=True)
    except ValueError:
        der = b""
    if len(der) != 44 or not der.startswith(ED25519_SPKI_PREFIX):
        raise CannotRun("signing-key.pub.pem is not an Ed25519 public key in PEM form")
    return hashlib.sha256(der[12:]).hexdigest()


# --- signatures -----------------------------------------------------------------------------


class OpenSSL:
    """Checks Ed25519 signatures with `openssl pkeyutl -verify -rawin`, one file pair at a time."""

    def __init__(self, workdir):
        self.message = os.path.join(workdir, "checkpoint.msg")
        self.signature = os.path.join(workdir, "checkpoint.sig")
        try:
            out = subprocess.run(["openssl", "version"], capture_output=True, text=True)
        except OSError as e:
            raise CannotRun("cannot run openssl (%s): install OpenSSL 3.0 or later" % e)
        self.version = out.stdout.strip()
        match = re.match(r"OpenSSL (\d+)\.", self.version)
        if out.returncode != 0 or not match or int(match.group(1)) < 3:
            raise CannotRun("need OpenSSL 3.0 or later for `pkeyutl -rawin`, found: %s" % (self.version or out.stderr.strip()))

    def verifies(self, message, signature):
        with open(self.message, "wb") as handle:
            handle.write(message)
        with open(self.signature, "wb") as handle:
            handle.write(signature)
        args = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", PUBLIC_KEY, "-rawin",
                "-in", self.message, "-sigfile", self.signature]
        out = subprocess.run(args, capture_output=True, text=True)
        if out.returncode == 0 and "Signature Verified Successfully" in out.stdout:
            return True
        if "Signature Verification Failure" in out.stdout + out.stderr:
            return False
        raise CannotRun("openssl could not check a signature: %s" % (out.stderr.strip() or out.stdout.strip()))


# --- the checks -----------------------------------------------------------------------------


def read_checkpoints(key_id):
    by_seq = {}
    for number, obj in json_lines(CHECKPOINTS):
        where = "audit/checkpoints.jsonl line %d" % number
        checkpoint = {
            "seq": field(obj, "seq", int, where),
            "head_hash": field(obj, "head_hash", HEX64, where),
            "at": field(obj, "at", TIMESTAMP, where),
            "key_id": field(obj, "key_id", KEY_ID, where),
            "signature": field(obj, "signature", HEX128, where),
        }
        if checkpoint["key_id"] != key_id:
            raise Problem("checkpoint at row %d: signed by key %s, but signing-key.pub.pem is key %s"
                          % (checkpoint["seq"], checkpoint["key_id"], key_id))
        by_seq.setdefault(checkpoint["seq"], []).append(checkpoint)
    return by_seq


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_row(obj, number, prev):
    """Checks one row line against the previous row (seq, hash), or None for the first row.
    Returns (seq, prev_hash, hash)."""
    where = "audit/audit_log.jsonl line %d" % number
    seq = field(obj, "seq", int, where)
    where = "row %d" % seq
    prev_hash = field(obj, "prev_hash", HEX64, where)
    stored_hash = field(obj, "hash", HEX64, where)
    canonical = field(obj, "canonical", str, where)
    body = field(obj, "body", dict, where)

    if prev is None:
        if seq < 1:
            raise Problem("row %d: seqs start at 1" % seq)
        if seq == 1 and prev_hash != GENESIS:
            raise Problem("row 1: prev_hash is %s, but the first row must link to the genesis hash (64 zeros)"
                          % prev_hash)
    else:
        prev_seq, prev_row_hash = prev
        if seq != prev_seq + 1:
            raise Problem("row %d: follows row %d, expected row %d (rows missing, repeated or out of order)"
                          % (seq, prev_seq, prev_seq + 1))
        if prev_hash != prev_row_hash:
            raise Problem("row %d: prev_hash %s is not the hash of row %d (%s): the chain is broken here"
                          % (seq, prev_hash, prev_seq, prev_row_hash))

    if body.get("seq") != seq:
        raise Problem("row %d: its body says seq %s" % (seq, json.dumps(body.get("seq"))))
    try:
        recomputed = jcs(body)
        hashed = bytes.fromhex(prev_hash) + canonical.encode("utf-8")
    except (ValueError, OverflowError, UnicodeError) as e:
        raise Problem("row %d: body cannot be canonicalized: %s" % (seq, e))
    if recomputed != canonical:
        at = first_difference(recomputed, canonical)
        raise Problem("row %d: body does not match its canonical text, first difference at character %d: "
                      "the body gives %s, the canonical text has %s"
                      % (seq, at, json.dumps(recomputed[at:at + 40]), json.dumps(canonical[at:at + 40])))
    computed = hashlib.sha256(hashed).hexdigest()
    if computed != stored_hash:
        raise Problem("row %d: stored hash %s does not match its content, which hashes to %s"
                      % (seq, stored_hash, computed))
    return seq, prev_hash, stored_hash


def check_checkpoint(checkpoint, seq, row_hash, openssl):
    message = CHECKPOINT_DOMAIN + ("%d\n%s\n%s" % (checkpoint["seq"], checkpoint["head_hash"], checkpoint["at"])).encode()
    if not openssl.verifies(message, bytes.fromhex(checkpoint["signature"])):
        raise Problem("row %d: the checkpoint signed at %s does not verify with signing-key.pub.pem (forged or altered)"
                      % (seq, checkpoint["at"]))
    if checkpoint["head_hash"] != row_hash:
        raise Problem("row %d: hash %s differs from %s, signed by the checkpoint at %s (the chain up to here was rewritten)"
                      % (seq, row_hash, checkpoint["head_hash"], checkpoint["at"]))


def verify(openssl):
    fingerprint = public_key_fingerprint()
    key_id = fingerprint[:16]
    checkpoints = read_checkpoints(key_id)
    first = last = anchor = None
    rows = verified_checkpoints = 0
    last_checkpoint = None
    prev = None
    try:
        for number, obj in json_lines(AUDIT_LOG):
            seq, prev_hash, row_hash = check_row(obj, number, prev)
            if prev is None:
                first, anchor = seq, prev_hash
            for checkpoint in checkpoints.pop(seq, []):
                check_checkpoint(checkpoint, seq, row_hash, openssl)
                verified_checkpoints += 1
                last_checkpoint = checkpoint
            prev = (seq, row_hash)
            last = seq
            rows += 1
    except Problem:
        if rows:
            print("rows %d to %d checked out before the problem" % (first, last))
        raise
    if checkpoints:
        seq = min(checkpoints)
        if last is None:
            raise Problem("row %d: a checkpoint covers it, but the bundle has no audit rows" % seq)
        if seq > last:
            raise Problem("row %d: a checkpoint covers it, but the bundle's rows end at row %d (rows missing from the end)"
                          % (seq, last))
        raise Problem("row %d: a checkpoint covers it, but the bundle's rows start at row %d" % (seq, first))

    print("signing key: signing-key.pub.pem, fingerprint %s (key id %s)" % (fingerprint, key_id))
    if rows == 0:
        print("audit/audit_log.jsonl: no audit rows in this period")
    else:
        print("audit/audit_log.jsonl: %d rows, row %d to row %d" % (rows, first, last))
        if first == 1:
            print("  anchor: row 1 links to the genesis hash: the chain is complete from its start")
        else:
            print("  anchor: row %d links to prev_hash %s, the hash of row %d, which is not in this bundle:"
                  % (first, anchor, first - 1))
            print("          compare it with the head of the previous period's bundle")
        print("  head:   %d:%s" % (last, prev[1]))
        print("  every body matches its canonical text, every hash its content, every row links to the one before")
    print("audit/checkpoints.jsonl: %d checkpoints verified with %s" % (verified_checkpoints, openssl.version))
    if last_checkpoint is None:
        if rows:
            print("  no checkpoint in this period: its rows are protected by the hash chain alone")
    elif last_checkpoint["seq"] < last:
        print("  last checkpoint: row %d, signed at %s; rows %d to %d are protected by the hash chain alone"
              % (last_checkpoint["seq"], last_checkpoint["at"], last_checkpoint["seq"] + 1, last))
    else:
        print("  last checkpoint: row %d, signed at %s" % (last_checkpoint["seq"], last_checkpoint["at"]))


def main():
    try:
        with tempfile.TemporaryDirectory() as workdir:
            verify(OpenSSL(workdir))
    except Problem as e:
        print("FAILED: %s" % e)
        return 1
    except CannotRun as e:
        print("CANNOT CHECK: %s" % e, file=sys.stderr)
        return 2
    print("OK: the audit log in this bundle is intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
