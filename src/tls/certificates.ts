/**
 * Throwaway certificates: a cluster CA and the server, peer and client certificates it
 * signs. `keel cluster up --tls`, `--auto-tls`, `--peer-auto-tls` and the tests use
 * them; production clusters bring certificates from their own CA.
 *
 * Keys are ECDSA P-256 (fast to make, accepted by grpc-js, Node's TLS, curl and
 * etcdctl). Every PEM string here is ready for `tls.createSecureContext`.
 */
// The certificate library resolves its algorithms through tsyringe, which needs the
// Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { Extension } from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const dayMs = 24 * 60 * 60 * 1000;
/** Clock skew between machines tolerated at the start of a certificate's life. */
const notBeforeSkewMs = 60 * 60 * 1000;

export interface PemPair {
  /** The certificate, PEM. */
  readonly cert: string;
  /** Its private key, PKCS#8 PEM. */
  readonly key: string;
}

export interface CertificateAuthority extends PemPair {
  readonly keys: CryptoKeyPair;
  readonly subject: string;
}

export interface IssueOptions {
  /** The certificate's common name; for a client certificate, the user it stands for. */
  readonly commonName: string;
  /** DNS names and IP addresses the certificate is valid for (server and peer certificates). */
  readonly hosts?: readonly string[];
  /** What the certificate may be used for: a server, a client, or both (peers are both). */
  readonly usage: 'server' | 'client' | 'peer';
  readonly validDays?: number;
}

/** A new self-signed certificate authority. */
export async function createCertificateAuthority(commonName: string, validDays = 3650): Promise<CertificateAuthority> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const subject = `CN=${escapeDnValue(commonName)}`;
  const now = Date.now();
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: subject,
    notBefore: new Date(now - notBeforeSkewMs),
    notAfter: new Date(now + validDays * dayMs),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, subject, cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/** A certificate signed by `ca`, with a fresh key. */
export async function issueCertificate(ca: CertificateAuthority, options: IssueOptions): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const usages =
    options.usage === 'server'
      ? [ExtendedKeyUsage.serverAuth]
      : options.usage === 'client'
        ? [ExtendedKeyUsage.clientAuth]
        : [ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth];
  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment, true),
    new ExtendedKeyUsageExtension(usages),
    await SubjectKeyIdentifierExtension.create(keys.publicKey),
    await AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  const hosts = options.hosts ?? [];
  if (hosts.length > 0) {
    extensions.push(
      new SubjectAlternativeNameExtension(
        hosts.map((host) => (isIP(host) !== 0 ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host })),
      ),
    );
  }
  const cert = await X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${escapeDnValue(options.commonName)}`,
    issuer: ca.subject,
    notBefore: new Date(now - notBeforeSkewMs),
    notAfter: new Date(now + (options.validDays ?? 365) * dayMs),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/** The hosts a certificate for a server listening on `host` should name: it, and loopback when it is a loopback or wildcard address. */
export function hostsFor(host: string): string[] {
  const hosts = new Set<string>([host]);
  const loopbackOrAny = host === 'localhost' || host === '0.0.0.0' || host === '::' || host.startsWith('127.') || host === '::1';
  if (loopbackOrAny) for (const h of ['localhost', '127.0.0.1', '::1']) hosts.add(h);
  return [...hosts].filter((h) => h !== '0.0.0.0' && h !== '::' && (isIPv4(h) || isIPv6(h) || /^[A-Za-z0-9.-]+$/.test(h)));
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return PemConverter.encode(der, 'PRIVATE KEY');
}

/** A positive 128-bit serial number, hex (RFC 5280 §4.1.2.2: unique per CA, at most 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

/** RFC 4514 escaping of an attribute value, so a user name with a comma stays one name. */
function escapeDnValue(value: string): string {
  return value
    .replace(/([,+"\\<>;=])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}
