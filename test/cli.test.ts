// The `canopy` entry as a user meets it: --version, help per verb with examples, one-line errors
// with a hint instead of the whole usage, one JSON error shape, and a closed pipe that ends quietly.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { otaSpecs } from '../cli/commands/ota-specs.ts';
import { main } from '../cli/main.ts';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'bin/canopy.js');
const VERBS = ['session', 'broker', 'sim', 'monitor', 'build', 'flash', 'serial', 'ota', 'ca', 'provision', 'devices', 'history', 'bridge', 'export', 'console', 'acl', 'new'];

async function canopy(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('canopy', () => {
  it('--version prints the package version, exit 0', async () => {
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
    expect(await canopy('--version')).toEqual({ code: 0, out: `canopy ${version}`, err: '' });
  });

  it('with no command: the command list on stderr, exit 2; --help: on stdout, exit 0', async () => {
    const none = await canopy();
    expect(none.code).toBe(2);
    expect(none.err).toContain('Usage: npx canopy <command>');
    for (const v of VERBS) expect(none.err).toContain(`  ${v} `);
    expect(await canopy('--help')).toMatchObject({ code: 0, out: none.err });
  });

  it('an unknown command: one line naming the commands, a hint, exit 2', async () => {
    const r = await canopy('frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toBe(`canopy: unknown command "frobnicate" (commands: ${VERBS.join(', ')})\nRun \`npx canopy --help\` for the list.`);
  });

  it.each([...VERBS.map((v) => [v]), ...Object.keys(otaSpecs).map((v) => ['ota', v])].map((w) => w.join(' ')))('%s --help: forms, flags and examples, exit 0', async (command) => {
    const words = command.split(' ');
    const r = await canopy(...words, '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^Usage: canopy ${words.join(' ')} `));
    expect(r.out).toContain('\nExamples:\n  npx canopy ');
  });

  it.each(VERBS.filter((v) => v !== 'ota'))('%s with an unknown flag: one line and a hint to its --help, exit 2', async (v) => {
    const r = await canopy(v, '--no-such-flag');
    expect(r.code).toBe(2);
    const [line, hint] = r.err.split('\n');
    expect(line).toMatch(new RegExp(`^canopy ${v}: Unknown option '--no-such-flag'`));
    expect(hint).toBe(`Run \`npx canopy ${v} --help\` for its flags and examples.`);
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err).not.toContain('Usage:');
  });

  it('ota: an unknown or missing verb names the verbs; a sub-verb mistake points at that verb\'s help', async () => {
    const unknown = await canopy('ota', 'frob');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(`canopy ota: unknown verb "frob" (verbs: ${Object.keys(otaSpecs).join(', ')})\nRun \`npx canopy ota --help\` for its flags and examples.`);
    const none = await canopy('ota');
    expect(none).toMatchObject({ code: 2, err: expect.stringMatching(/^canopy ota: give a verb: keygen, /) });
    const push = await canopy('ota', 'push', 'x.canopy', '--broker', 'mqtt://127.0.0.1:1', '--frob');
    expect(push.code).toBe(2);
    expect(push.err).toMatch(/^canopy ota push: Unknown option '--frob'.*\nRun `npx canopy ota push --help` for its flags and examples\.$/s);
    const missing = await canopy('ota', 'keygen');
    expect(missing.err).toBe('canopy ota keygen: --out is required\nRun `npx canopy ota keygen --help` for its flags and examples.');
  });

  it('with --json, errors are one JSON line on stdout in the shape of docs/cli-json.md', async () => {
    const usage = await canopy('monitor', '--json');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.out)).toEqual({
      ok: false,
      command: 'monitor',
      error: { reason: 'usage', code: 2, message: '--broker URL is required, e.g. --broker mqtt://127.0.0.1:1883', hint: 'npx canopy monitor --help' },
    });
    const failed = await canopy('ota', 'inspect', join(root, 'no-such-file.bin'), '--json');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.out)).toMatchObject({ ok: false, command: 'ota inspect', error: { reason: 'error', code: 1 } });
    expect(failed.err).toBe('');
  });

  it('a failure that is not a usage mistake is one line, exit 1, no stack trace', async () => {
    const r = await canopy('ota', 'inspect', join(root, 'no-such-file.bin'));
    expect(r.code).toBe(1);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^canopy ota inspect: .*no-such-file\.bin/);
  });

  it('loads only the verb asked for: no verb module is imported statically by the entry', () => {
    const entry = readFileSync(join(root, 'cli/main.ts'), 'utf8');
    expect(entry).not.toMatch(/^import .*['"]\.\/commands\//m);
    expect(entry.match(/import\('\.\/commands\/[a-z]+\.ts'\)/g)).toHaveLength(VERBS.length);
  });

  it('a closed pipe (`--json | head`) ends quietly with exit 0', async () => {
    const child = spawn(process.execPath, [cli, 'sim', '--engine', 'node', '--devices', '3', '--interval', '1000', '--virtual-time', '--duration', '86400', '--json', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    // Like `head -1`: read the first chunk, then go away.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, err).toBe(0);
    expect(err).not.toMatch(/EPIPE|\n\s+at /);
  }, 60_000);

  it('Ctrl-C at a terminal (SIGINT to the process group) stops a sim cleanly, exit 0: the XS workers are not killed under it', async () => {
    const child = spawn(process.execPath, [cli, 'sim', '--devices', '2', '--port', '0'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    let sent = false;
    child.stderr.on('data', (c) => {
      err += c;
      if (!sent && err.includes('devices on the XS engine')) {
        sent = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, err).toBe(0);
    expect(err).toContain('stopping devices cleanly');
    expect(err).not.toContain('killed by SIGINT');
  }, 60_000);

  it('the bin runs as `npx canopy` does', () => {
    const r = spawnSync('npx', ['--no-install', 'canopy', '--version'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^canopy \d+\.\d+\.\d+$/);
  });
});
