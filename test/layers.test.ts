// The layer rule of the developers' guide, checked on every import in the tree:
// protocol <- device <- host <- {sim, ota} <- cli; test/ and bench/ on top, bench/ never importing test/.
// Also no import cycles, and no Node API in protocol/ or device/ (they run on XS), and no platform
// module at all in protocol/ (it runs on XS and on Node alike).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cycles, importsOf, layerViolation, platformUses, sourceFiles } from './support/imports.ts';

function check(root?: string) {
  const files = sourceFiles(root);
  const edges = files.flatMap((f) => importsOf(f, root));
  return {
    files,
    edges,
    violations: edges.flatMap((e) => {
      const why = layerViolation(e);
      return why ? [`${e.from}:${e.line} imports ${e.specifier} (${why})`] : [];
    }),
    cycles: cycles(edges).map((c) => c.join(' -> ')),
    platform: files.filter((f) => /^(protocol|device|examples)\//.test(f)).flatMap((f) => platformUses(f, root).map((u) => `${u.file}:${u.line} ${u.what}`)),
  };
}

describe('layers', () => {
  const tree = check();

  it('reads the whole tree', () => {
    for (const layer of ['protocol', 'device', 'host', 'sim', 'ota', 'ident', 'cli', 'test', 'bench']) {
      expect(tree.files.some((f) => f.startsWith(`${layer}/`)), layer).toBe(true);
    }
    expect(tree.edges.filter((e) => e.to).length).toBeGreaterThan(300);
  });

  it('every import points down the layers (or stays in its own)', () => {
    expect(tree.violations).toEqual([]);
  });

  it('no import cycles', () => {
    expect(tree.cycles).toEqual([]);
  });

  it('protocol/ and device/ use no Node API; protocol/ imports no platform module', () => {
    expect(tree.platform).toEqual([]);
  });

  // The checker itself, on a small planted tree: each rule must catch what it is for.
  it('catches an upward and a sideways import, bench -> test, a cycle and platform use', () => {
    const root = mkdtempSync(join(tmpdir(), 'canopy-layers-'));
    const put = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    put('protocol/a.ts', "import { b } from './b.ts';\nimport { x } from '../host/x.ts';\nexport const a = () => Buffer.from(b);\n");
    put('protocol/b.ts', "import { a } from './a.ts';\nimport Timer from 'timer';\nexport const b = [a, Timer];\n");
    put('protocol/own.ts', 'function setTimeout() {}\nexport const t = { setTimeout: 1, process: 2 };\nsetTimeout();\n');
    put('device/d.ts', "import { readFileSync } from 'node:fs';\nimport Digital from 'embedded:io/digital';\nexport const d = () => process.env;\n");
    put('host/x.ts', 'export const x = 1;\n');
    put('sim/s.ts', "export { k } from '../ota/k.ts';\n");
    put('ota/k.ts', 'export const k = 1;\n');
    put('cli/c.ts', "import { s } from '../sim/s.ts';\nimport { k } from '../ota/k.ts';\n");
    put('test/t.ts', 'export const t = 1;\n');
    put('bench/b.ts', "import { t } from '../test/t.ts';\nimport { c } from '../cli/c.ts';\n");
    const planted = check(root);
    expect(planted.violations).toEqual([
      'bench/b.ts:1 imports ../test/t.ts (bench/ never imports test/)',
      'protocol/a.ts:2 imports ../host/x.ts (upward: protocol/ is below host/)',
      'sim/s.ts:1 imports ../ota/k.ts (sideways: sim/ and ota/ are separate libraries)',
    ]);
    expect(planted.cycles).toEqual(['protocol/a.ts -> protocol/b.ts']);
    expect(planted.platform).toEqual([
      'device/d.ts:1 imports node:fs',
      "device/d.ts:3 uses Node's process",
      "protocol/a.ts:3 uses Node's Buffer",
      'protocol/b.ts:2 imports timer (a platform module: protocol/ imports only protocol/)',
    ]);
  });
});
