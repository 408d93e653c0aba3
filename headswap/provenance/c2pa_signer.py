"""C2PA Content Credentials for headswap outputs (PNG, JPEG, MP4) through ``c2pa-python``.

Signing needs an X.509 certificate. Honest default: headswap creates, once per machine, a
*local* certificate authority and a signing certificate whose organisation reads
``headswap (unverified local signer)`` and keeps them in ``$HEADSWAP_CACHE/c2pa`` (default
``~/.cache/headswap/c2pa``). Validators then report the manifest as well-formed and bound to
the file, with ``signingCredential.untrusted``: the credential says *what* the file is
(synthetic, made by headswap) but proves nothing about *who* made it. Users and services with
a certificate from a C2PA trust list pass their own (``Provenance(c2pa_cert=..., c2pa_key=...)``
or the inferencer's options). ``c2pa-python`` is optional: without it, files still carry XMP /
text / container metadata and the watermark.
"""
import datetime
import json
import logging
import os
import os.path as osp
import shutil
import tempfile
from typing import Optional, Tuple

from .info import DIGITAL_SOURCE_TYPE, Provenance

__all__ = ['c2pa_available', 'sign_file', 'read_c2pa', 'local_signer_paths', 'MIME_TYPES',
           'warn_no_c2pa']

logger = logging.getLogger('headswap.provenance')
_warned = []

MIME_TYPES = {'.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
              '.mp4': 'video/mp4', '.m4v': 'video/mp4', '.mov': 'video/quicktime'}
ASSERTION_LABEL = 'org.headswap.provenance'


def c2pa_available() -> bool:
    """Whether ``c2pa-python`` imports."""
    try:
        import c2pa  # noqa: F401
    except ImportError:
        return False
    return True


def _cache_dir() -> str:
    root = os.environ.get('HEADSWAP_CACHE') or osp.join(osp.expanduser('~'), '.cache', 'headswap')
    return osp.join(root, 'c2pa')


def local_signer_paths(directory: Optional[str] = None) -> Tuple[str, str]:
    """Paths of the local (untrusted) certificate chain and key, created on first use."""
    directory = directory or _cache_dir()
    chain_path, key_path = osp.join(directory, 'chain.pem'), osp.join(directory, 'key.pem')
    if osp.isfile(chain_path) and osp.isfile(key_path):
        return chain_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'headswap (unverified local signer)')])

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                 key_agreement=False, encipher_only=False, decipher_only=False)
    ca = (x509.CertificateBuilder().subject_name(name('headswap local CA (untrusted)'))
          .issuer_name(name('headswap local CA (untrusted)')).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True,
                                       **usage), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name('headswap local signer (untrusted)'))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False,
                                         crl_sign=False, **usage), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    # write everything into a private folder, then rename it into place in one step, so two
    # processes starting at once never pair one's certificate with the other's key
    parent = osp.dirname(osp.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.c2pa-', dir=parent)
    pem = serialization.Encoding.PEM
    with open(osp.join(staging, 'chain.pem'), 'wb') as f:
        f.write(leaf.public_bytes(pem) + ca.public_bytes(pem))
    fd = os.open(osp.join(staging, 'key.pem'), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(osp.join(staging, 'README.txt'), 'w') as f:
        f.write('Local, self-issued C2PA signing certificate made by headswap. It is NOT on any\n'
                'C2PA trust list: validators report signingCredential.untrusted. It labels\n'
                'files as synthetic; it proves nothing about who made them.\n')
    try:
        os.rename(staging, directory)
    except OSError:  # another process got there first (or an empty folder exists)
        if not (osp.isfile(chain_path) and osp.isfile(key_path)):
            if osp.isdir(directory) and not os.listdir(directory):
                os.rmdir(directory)
                os.rename(staging, directory)
                return chain_path, key_path
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return chain_path, key_path


def _signer(prov: Provenance):
    import c2pa
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    if bool(prov.c2pa_cert) != bool(prov.c2pa_key):
        raise ValueError('C2PA signing needs both a certificate chain and its private key')
    cert_path, key_path = ((prov.c2pa_cert, prov.c2pa_key) if prov.c2pa_cert
                           else local_signer_paths())
    for path in (cert_path, key_path):
        if not osp.isfile(path):
            raise FileNotFoundError(f'C2PA certificate/key file not found: {path}')
    with open(cert_path, 'rb') as f:
        chain = f.read()
    with open(key_path, 'rb') as f:
        key_pem = f.read()
    key = serialization.load_pem_private_key(key_pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {256: c2pa.C2paSigningAlg.ES256, 384: c2pa.C2paSigningAlg.ES384,
               521: c2pa.C2paSigningAlg.ES512}[key.curve.key_size]
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        alg = c2pa.C2paSigningAlg.ED25519
    elif isinstance(key, rsa.RSAPrivateKey):
        alg = c2pa.C2paSigningAlg.PS256
    else:
        raise ValueError(f'unsupported C2PA key type in {key_path}')
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg, chain, key_pem, None))


def _manifest(prov: Provenance, title: str) -> dict:
    agent = {'name': prov.generator, 'version': prov.version}
    return {
        'claim_generator_info': [agent],
        'title': title,
        'assertions': [
            {'label': 'c2pa.actions',
             'data': {'actions': [{'action': 'c2pa.created', 'softwareAgent': agent,
                                   'digitalSourceType': DIGITAL_SOURCE_TYPE,
                                   'description': prov.description}]}},
            {'label': ASSERTION_LABEL, 'data': prov.fields()},
        ],
    }


def sign_file(path: str, prov: Provenance) -> None:
    """Embed a signed C2PA manifest into ``path`` in place (PNG, JPEG, MP4, MOV)."""
    import c2pa
    mime = MIME_TYPES.get(osp.splitext(path)[1].lower())
    if mime is None:
        raise ValueError(f'C2PA signing does not support {path}')
    builder = c2pa.Builder(_manifest(prov, osp.basename(path)))
    signer = _signer(prov)
    fd, tmp = tempfile.mkstemp(suffix=osp.splitext(path)[1], dir=osp.dirname(osp.abspath(path)))
    os.close(fd)
    try:
        with open(path, 'rb') as src, open(tmp, 'w+b') as dst:
            builder.sign(signer, mime, src, dst)
        shutil.copymode(path, tmp)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
        signer.close()


def read_c2pa(path: str) -> Optional[dict]:
    """Summary of the active C2PA manifest of ``path``, or None when there is none."""
    try:
        import c2pa
    except ImportError:
        return None
    if osp.splitext(path)[1].lower() not in MIME_TYPES:
        return None
    try:
        with c2pa.Reader(path) as reader:
            data = json.loads(reader.json())
    except Exception:  # c2pa raises its own error types for "no manifest" and bad files
        return None
    manifest = data.get('manifests', {}).get(data.get('active_manifest', ''), {})
    if not manifest:
        return None
    out = {'validation_state': data.get('validation_state'),
           'status': [s.get('code') for s in data.get('validation_status', []) or []],
           'signer': (manifest.get('signature_info') or {}).get('issuer'),
           'claim_generator': [g.get('name') + ' ' + str(g.get('version', ''))
                               for g in manifest.get('claim_generator_info', [])]}
    for assertion in manifest.get('assertions', []):
        label = assertion.get('label', '')
        if label.startswith('c2pa.actions'):
            for action in assertion.get('data', {}).get('actions', []):
                if action.get('digitalSourceType'):
                    out['digital_source_type'] = action['digitalSourceType']
        elif label == ASSERTION_LABEL:
            out['fields'] = assertion.get('data', {})
    out['trusted'] = 'signingCredential.untrusted' not in out['status']
    return out


def warn_no_c2pa() -> None:
    """Log once that C2PA signing is skipped because c2pa-python is missing."""
    if not _warned:
        logger.warning('c2pa-python is not installed: writing XMP/text provenance only '
                       '(pip install c2pa-python for C2PA Content Credentials)')
        _warned.append(True)
