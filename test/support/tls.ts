// Throwaway certificates for the TLS tests: a CA, a server certificate it signs for 127.0.0.1 and localhost (valid, or
// expired yesterday), written as PEM files. Keys come from Node's own crypto (fast, native); node-forge signs the
// X.509 certificates, because it can set any validity dates (an expired certificate) and runs the same everywhere,
// with no system tool to install.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

export interface Pem {
  cert: string;
  key: string;
}

function keyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return {
    privateKey: forge.pki.privateKeyFromPem(pem),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    pem,
  };
}

const DAY = 24 * 60 * 60 * 1000;

function certificate(options: {
  subject: string;
  publicKey: forge.pki.rsa.PublicKey;
  issuer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
  selfKey?: forge.pki.rsa.PrivateKey;
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = options.publicKey;
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  const subject = [{ name: 'commonName', value: options.subject }, { name: 'organizationName', value: 'lync-exo tests' }];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : subject);
  cert.setExtensions(
    options.ca
      ? [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
          { name: 'subjectKeyIdentifier' },
        ]
      : [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
        ],
  );
  cert.sign(options.issuer?.key ?? options.selfKey!, forge.md.sha256.create());
  return cert;
}

export interface TestCa {
  /** the CA's certificate, PEM */
  cert: string;
  /** a server certificate for 127.0.0.1 and localhost, signed by this CA */
  server(options?: { expired?: boolean }): Pem;
}

export function createTestCa(name = 'lync-exo test CA'): TestCa {
  const keys = keyPair();
  const now = Date.now();
  const caCert = certificate({ subject: name, publicKey: keys.publicKey, selfKey: keys.privateKey, ca: true, notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) });
  return {
    cert: forge.pki.certificateToPem(caCert),
    server(options = {}) {
      const k = keyPair();
      const notBefore = options.expired ? new Date(now - 10 * DAY) : new Date(now - DAY);
      const notAfter = options.expired ? new Date(now - DAY) : new Date(now + 7 * DAY);
      const cert = certificate({ subject: '127.0.0.1', publicKey: k.publicKey, issuer: { cert: caCert, key: keys.privateKey }, ca: false, notBefore, notAfter });
      return { cert: forge.pki.certificateToPem(cert), key: k.pem };
    },
  };
}

/** Writes PEM text to DIR/NAME and returns the path. */
export function writePem(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}
