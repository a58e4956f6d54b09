// A real mosquitto on a loopback port for integration tests. Persistence is on (saved when the
// broker stops), so a restart keeps sessions and in-flight QoS state like a production broker.
// There is no skip: without mosquitto these tests fail and say how to install it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, watch, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './loopback.ts';

const BINARIES = ['mosquitto', '/usr/sbin/mosquitto'];

export function findMosquitto(): string {
  for (const bin of BINARIES) {
    const r = spawnSync(bin, ['-h'], { encoding: 'utf8' });
    if (!r.error) return bin;
  }
  throw new Error('mosquitto is not installed, and the integration tests need a real one: `apt-get install -y mosquitto` (.ci/run does this)');
}

export interface MosquittoTls {
  /** PEM paths: the CA client certificates must chain to, and the broker's own certificate and key. */
  cafile: string;
  certfile: string;
  keyfile: string;
  /** Clients without a certificate signed by cafile are refused at the handshake. */
  requireCertificate?: boolean;
  /** The client certificate's CN becomes the MQTT user name (what ACL `%u` and `user` match). */
  useIdentityAsUsername?: boolean;
}

export interface MosquittoOptions {
  /** Errors and warnings only, for load runs where logging every packet would be the bottleneck. */
  quiet?: boolean;
  /** A TLS-only listener (mqtts://); anonymous clients are then refused. */
  tls?: MosquittoTls;
  /** An ACL file (mosquitto's acl_file). */
  aclFile?: string;
  /** name → password; anonymous clients are then refused (mosquitto_passwd writes the file). */
  users?: Record<string, string>;
}

export class Mosquitto {
  port = 0;
  readonly dir = mkdtempSync(join(tmpdir(), 'canopy-mosquitto-'));
  private child: ChildProcess | undefined;
  private readonly bin = findMosquitto();

  constructor(private readonly options: MosquittoOptions = {}) {
    // Started as root, mosquitto drops to its own user; it must still write its log and db here.
    chmodSync(this.dir, 0o777);
  }

  get url(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  get logPath(): string {
    return join(this.dir, 'mosquitto.log');
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Resolves when the log matches: mosquitto reports some events (a client's departure) only
   * there. Watches the log directory rather than polling it.
   */
  whenLogged(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (pattern.test(this.log())) return resolve();
      const watcher = watch(this.dir, () => {
        if (!pattern.test(this.log())) return;
        clearTimeout(timer);
        watcher.close();
        resolve();
      });
      const timer = setTimeout(() => {
        watcher.close();
        reject(new Error(`mosquitto never logged ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  async start(): Promise<this> {
    if (!this.port) this.port = await freePort();
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        ...this.securityLines(),
        'persistence true',
        `persistence_location ${this.dir}/`,
        'autosave_interval 0',
        ...(this.options.quiet ? ['log_type error', 'log_type warning'] : ['log_type all']),
        `log_dest file ${this.logPath}`,
        'max_queued_messages 10000',
        '',
      ].join('\n'),
    );
    const child = spawn(this.bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code} on start: ${stderr}${this.log().slice(-2000)}`))),
    );
    await Promise.race([waitForPort(this.port), exited]);
    child.removeAllListeners('exit');
    return this;
  }

  /** Copies of the TLS and ACL files in the broker's directory, readable by the user mosquitto drops to. */
  private securityLines(): string[] {
    const own = (path: string, name: string) => {
      const to = join(this.dir, name);
      copyFileSync(path, to);
      chmodSync(to, 0o644);
      return to;
    };
    const lines: string[] = [];
    const t = this.options.tls;
    if (t) {
      lines.push(`cafile ${own(t.cafile, 'ca.pem')}`, `certfile ${own(t.certfile, 'server.pem')}`, `keyfile ${own(t.keyfile, 'server.key')}`);
      if (t.requireCertificate) lines.push('require_certificate true');
      if (t.useIdentityAsUsername) lines.push('use_identity_as_username true');
    }
    if (this.options.users) {
      const file = join(this.dir, 'passwords');
      writeFileSync(file, '');
      for (const [user, password] of Object.entries(this.options.users)) {
        const r = spawnSync('mosquitto_passwd', ['-b', file, user, password], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mosquitto_passwd failed (${r.error?.message ?? r.stderr}); it comes with the mosquitto package`);
      }
      chmodSync(file, 0o644);
      lines.push(`password_file ${file}`);
    }
    lines.push(`allow_anonymous ${t || this.options.users ? 'false' : 'true'}`);
    if (this.options.aclFile) lines.push(`acl_file ${own(this.options.aclFile, 'acl.conf')}`);
    return lines;
  }

  /** SIGTERM: mosquitto saves its persistence file on a clean exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** SIGSTOP: the broker stays connected but answers nothing (keepalive tests). */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async dispose(): Promise<void> {
    this.thaw();
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
