// A throwaway PostgreSQL cluster on a loopback port, for the history tests and benchmarks: initdb
// into a temp folder, postgres on a free port, the folder removed on dispose. PostgreSQL refuses
// to run as root, so as root (the test machines) both run as the `postgres` user through setpriv,
// which execs in place: the child is postgres itself, and a signal to it reaches the server.
// There is no skip: without the binaries this fails and names the Debian package.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './loopback.ts';

const BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

export function findPostgres(): string {
  for (const dir of BIN_DIRS) if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  throw new Error(
    'PostgreSQL is not installed (no initdb/postgres in /usr/lib/postgresql/*/bin), and the history tests need a real one: `apt-get install -y postgresql` (.ci/run does this)',
  );
}

/** uid/gid to run as: ourselves, or the `postgres` user when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('running as root, PostgreSQL needs the `postgres` user to run as; the Debian `postgresql` package creates it');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export class Postgres {
  port = 0;
  private folder: string | undefined;
  private child: ChildProcess | undefined;
  private readonly bin = findPostgres();
  private readonly user = runAs();

  /** The cluster's folder, made on first use: a suite whose tests are all filtered out leaves nothing behind. */
  get dir(): string {
    return (this.folder ??= mkdtempSync(join(tmpdir(), 'canopy-postgres-')));
  }

  /** The database URL (user `canopy`, trust auth on loopback, database `canopy`). */
  get url(): string {
    return `postgres://canopy@127.0.0.1:${this.port}/canopy`;
  }

  private command(name: string, args: string[]): [string, string[]] {
    const exe = join(this.bin, name);
    if (!this.user) return [exe, args];
    return ['setpriv', [`--reuid=${this.user.uid}`, `--regid=${this.user.gid}`, '--clear-groups', exe, ...args]];
  }

  async start(): Promise<this> {
    const data = join(this.dir, 'data');
    if (this.user) chownSync(this.dir, this.user.uid, this.user.gid);
    if (!existsSync(data)) {
      const [cmd, args] = this.command('initdb', ['-D', data, '-U', 'canopy', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
      const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: this.dir });
      if (r.status !== 0) throw new Error(`initdb failed (${r.error?.message ?? r.status}): ${r.stderr}`);
    }
    if (!this.port) this.port = await freePort();
    const [cmd, args] = this.command('postgres', [
      '-D', data, '-p', String(this.port), '-k', this.dir,
      '-c', 'listen_addresses=127.0.0.1',
      // A test cluster: losing it on a crash costs nothing, and fsync would measure the disk.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: this.dir });
    this.child = child;
    let log = '';
    // Ready when the server says so on stderr: a TCP accept comes earlier, while it still refuses
    // connections with "the database system is starting up".
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`postgres did not become ready within 30 s: ${log}`)), 30_000);
      child.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (/database system is ready to accept connections/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited with ${code} on start: ${log}`));
      });
    });
    child.removeAllListeners('exit');
    // Keep draining stderr so the server never blocks on a full pipe.
    child.stderr!.removeAllListeners('data');
    child.stderr!.resume();
    await this.createDatabase();
    return this;
  }

  private async createDatabase(name = 'canopy'): Promise<void> {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: `postgres://canopy@127.0.0.1:${this.port}/postgres` });
    await c.connect();
    try {
      const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (r.rowCount === 0) await c.query(`CREATE DATABASE "${name}"`);
    } finally {
      await c.end();
    }
  }

  /** A fresh database of its own (one per test), as a URL. */
  async database(name: string): Promise<string> {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name}: lower-case letters, digits and _ only`);
    await this.createDatabase(name);
    return `postgres://canopy@127.0.0.1:${this.port}/${name}`;
  }

  /** Fast shutdown (SIGINT): active connections are cut, as when a database server goes away. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    if (this.folder) rmSync(this.folder, { recursive: true, force: true });
  }
}
