import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClientCert {
  cert: string;
  key: string;
}

export interface SandboxPki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  admin: ClientCert;
  controllerManager: ClientCert;
  scheduler: ClientCert;
}

/** Client identities of the sandbox; names and groups are what kube-apiserver authorizes. */
const clients = {
  admin: { cn: 'pipeops-sandbox-admin', org: 'system:masters' },
  controllerManager: { cn: 'system:kube-controller-manager', org: '' },
  scheduler: { cn: 'system:kube-scheduler', org: '' },
} as const;

// 10.0.0.1 is the first address of the service range, i.e. the in-cluster `kubernetes` Service.
const servingSans = [
  'IP:127.0.0.1',
  'IP:10.0.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

export function pkiPaths(dir: string): SandboxPki {
  const file = (name: string): string => path.join(dir, name);
  const client = (name: string): ClientCert => ({ cert: file(`${name}.crt`), key: file(`${name}.key`) });
  return {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    servingCert: file('apiserver.crt'),
    servingKey: file('apiserver.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPub: file('sa.pub'),
    admin: client('admin'),
    controllerManager: client('kube-controller-manager'),
    scheduler: client('kube-scheduler'),
  };
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

interface CertRequest {
  target: ClientCert;
  subject: string;
  extensions: string;
}

async function signCert(pki: SandboxPki, dir: string, { target, subject, extensions }: CertRequest): Promise<void> {
  const csr = `${target.cert}.csr`;
  const ext = `${target.cert}.ext`;
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', target.key, '-out', csr]);
  await writeFile(ext, extensions);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    pki.caCert,
    '-CAkey',
    pki.caKey,
    '-CAcreateserial',
    '-CAserial',
    path.join(dir, 'ca.srl'),
    '-days',
    '3650',
    '-extfile',
    ext,
    '-out',
    target.cert,
  ]);
}

/** Creates the CA, the API server's serving cert, the service-account key pair and client certs once. */
export async function ensurePki(dir: string): Promise<SandboxPki> {
  const pki = pkiPaths(dir);
  if (existsSync(pki.scheduler.cert)) return pki;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '3650',
    '-subj',
    '/CN=pipeops-sandbox-ca',
    '-keyout',
    pki.caKey,
    '-out',
    pki.caCert,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  await signCert(pki, dir, {
    target: { cert: pki.servingCert, key: pki.servingKey },
    subject: '/CN=kube-apiserver',
    extensions: `subjectAltName=${servingSans.join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`,
  });
  await openssl(['genrsa', '-out', pki.serviceAccountKey, '2048']);
  await openssl(['rsa', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  for (const [name, id] of Object.entries(clients) as [
    keyof typeof clients,
    (typeof clients)[keyof typeof clients],
  ][]) {
    const subject = id.org ? `/O=${id.org}/CN=${id.cn}` : `/CN=${id.cn}`;
    await signCert(pki, dir, {
      target: pki[name],
      subject,
      extensions: 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
    });
  }
  return pki;
}
