/**
 * Throwaway certificates for local clusters (the examples' `--secure` mode and the security tests), made with
 * `openssl` at run time in a temp directory (no private key is ever committed; nothing here is fit for production):
 * a cluster CA, node certificates naming their node id (CN and DNS SAN) and 127.0.0.1 (IP SAN), and a foreign CA
 * for certificates the cluster must not trust. EC P-256 keys: fast to make and to use.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** `openssl req` arguments for a new unencrypted EC P-256 key, written to the file that follows. */
const NEW_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout'];

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export class LocalPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'ck-pki-'));
  #serial = 1;

  /** A self-signed CA named `name`; returns the path of its certificate. */
  ca(name: string): string {
    openssl(
      ['req', '-x509', ...NEW_P256_KEY, `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`],
      this.dir,
    );
    return join(this.dir, `${name}.pem`);
  }

  /**
   * A certificate for `cn` signed by CA `ca` (see ca()), also naming `cn` as a DNS SAN and 127.0.0.1 as an IP SAN.
   * `file` names the output files (default: cn); writing over existing files is how tests rotate certificates.
   */
  cert(ca: string, cn: string, file = cn): CertFiles {
    const ext = join(this.dir, `${file}.ext`);
    writeFileSync(
      ext,
      `subjectAltName=DNS:${cn},IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    const tmpKey = `${file}.key.tmp`;
    const tmpPem = `${file}.pem.tmp`;
    openssl(['req', ...NEW_P256_KEY, tmpKey, '-out', `${file}.csr`, '-subj', `/CN=${cn}`], this.dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${file}.csr`,
        '-CA',
        `${ca}.pem`,
        '-CAkey',
        `${ca}.key`,
        '-set_serial',
        String(this.#serial++),
        '-out',
        tmpPem,
        '-days',
        '2',
        '-extfile',
        ext,
      ],
      this.dir,
    );
    // Renamed into place only once both exist, as a certificate rotation tool would.
    renameSync(join(this.dir, tmpKey), join(this.dir, `${file}.key`));
    renameSync(join(this.dir, tmpPem), join(this.dir, `${file}.pem`));
    return { certFile: join(this.dir, `${file}.pem`), keyFile: join(this.dir, `${file}.key`) };
  }

  read(file: string): Buffer {
    return readFileSync(file);
  }

  /** Replaces a key file with a fresh key that matches no certificate (a botched rotation). */
  breakKey(keyFile: string): void {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', keyFile], this.dir);
  }

  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
