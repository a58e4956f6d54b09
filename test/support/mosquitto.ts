// A real mosquitto on a loopback port for integration tests. Persistence is on (saved when the
// broker stops), so a restart keeps sessions and in-flight QoS state like a production broker.
// There is no skip: without mosquitto these tests fail and say how to install it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, watch, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './net.ts';

const BINARIES = ['mosquitto', '/usr/sbin/mosquitto'];

export function findMosquitto(): string {
  for (const bin of BINARIES) {
    const r = spawnSync(bin, ['-h'], { encoding: 'utf8' });
    if (!r.error) return bin;
  }
  throw new Error('mosquitto is not installed, and the integration tests need a real one: `apt-get install -y mosquitto` (.ci/run does this)');
}

export class Mosquitto {
  port = 0;
  readonly dir = mkdtempSync(join(tmpdir(), 'canopy-mosquitto-'));
  private child: ChildProcess | undefined;
  private readonly bin = findMosquitto();

  /**
   * `quiet`: errors and warnings only, for load runs where logging every packet would be the bottleneck.
   * `users`: name → password; anonymous clients are then refused (mosquitto_passwd writes the file).
   */
  constructor(private readonly options: { quiet?: boolean; users?: Record<string, string> } = {}) {
    // Started as root, mosquitto drops to its own user; it must still write its log and db here.
    chmodSync(this.dir, 0o777);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
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
    const auth = ['allow_anonymous true'];
    if (this.options.users) {
      const file = join(this.dir, 'passwords');
      writeFileSync(file, '');
      for (const [user, password] of Object.entries(this.options.users)) {
        const r = spawnSync('mosquitto_passwd', ['-b', file, user, password], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`mosquitto_passwd failed (${r.error?.message ?? r.stderr}); it comes with the mosquitto package`);
      }
      chmodSync(file, 0o644);
      auth.splice(0, 1, 'allow_anonymous false', `password_file ${file}`);
    }
    writeFileSync(
      conf,
      [
        `listener ${this.port} 127.0.0.1`,
        ...auth,
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
