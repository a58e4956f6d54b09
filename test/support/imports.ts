// Reads the repository's import graph from source text (TypeScript's own pre-processor and parser,
// so `import type`, re-exports and dynamic `import()` all count), for test/layers.test.ts: which
// folder may import which, cycles, and platform APIs where the layer rules forbid them.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Lowest first; a file may import its own layer or one with a lower rank. sim, ota, ident and fleet share a rank but not each other; examples/ (apps on the device SDK) sits beside host/, importing neither way. */
export const LAYERS: Record<string, number> = { protocol: 0, device: 1, examples: 2, host: 2, sim: 3, ota: 3, ident: 3, fleet: 3, console: 4, cli: 5, bench: 6, test: 6, bin: 7 };

export interface ImportEdge {
  from: string;
  /** Repository path of the imported file, or undefined for a bare specifier. */
  to: string | undefined;
  specifier: string;
  line: number;
}

const SOURCE = /\.(ts|js|mjs)$/;

function walk(root: string, dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(root, p, out);
    else if (SOURCE.test(name)) out.push(relative(root, p));
  }
}

/** Every source file under the layer folders, as repository paths. */
export function sourceFiles(root = ROOT): string[] {
  const out: string[] = [];
  for (const layer of Object.keys(LAYERS)) if (existsSync(join(root, layer))) walk(root, join(root, layer), out);
  return out.sort();
}

function resolveRelative(root: string, from: string, spec: string): string {
  const base = join(dirname(from), spec);
  for (const p of [base, `${base}.ts`, `${base}.js`, `${base}.d.ts`, join(base, 'index.ts')]) {
    if (existsSync(join(root, p)) && statSync(join(root, p)).isFile()) return p;
  }
  return base; // unresolved: still counted by folder
}

export function importsOf(file: string, root = ROOT): ImportEdge[] {
  const text = readFileSync(join(root, file), 'utf8');
  const info = ts.preProcessFile(text, true, true);
  const lineOf = (pos: number) => text.slice(0, pos).split('\n').length;
  return info.importedFiles.map((f) => ({
    from: file,
    to: f.fileName.startsWith('.') ? resolveRelative(root, file, f.fileName) : undefined,
    specifier: f.fileName,
    line: lineOf(f.pos),
  }));
}

export function layerOf(path: string): string {
  return path.split('/')[0];
}

/** Why this import breaks the layer order, or undefined when it is allowed. */
export function layerViolation(e: ImportEdge): string | undefined {
  if (!e.to) return undefined;
  const a = layerOf(e.from);
  const b = layerOf(e.to);
  if (a === b) return undefined;
  if (a === 'bench' && b === 'test') return 'bench/ never imports test/';
  if (a === 'test') return undefined;
  // dist/ is cli/ and the exported libraries compiled (bin/dist.js): what bin/canopy.js runs.
  if (a === 'bin' && b === 'dist') return undefined;
  if (!(b in LAYERS)) return `${b}/ is no layer`;
  if (LAYERS[b] < LAYERS[a]) return undefined;
  return LAYERS[b] === LAYERS[a] ? `sideways: ${a}/ and ${b}/ are separate libraries` : `upward: ${a}/ is below ${b}/`;
}

/** Strongly connected components with more than one file (or a file importing itself). */
export function cycles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) if (e.to) (next.get(e.from) ?? next.set(e.from, new Set()).get(e.from)!).add(e.to);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next.get(v)?.has(v)) out.push(scc.sort());
    }
  };
  for (const v of next.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Node globals that XS lacks; a file that declares or imports the same name is using its own. */
export const NODE_GLOBALS = ['Buffer', 'process', 'require', 'module', '__dirname', '__filename', 'global', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'NodeJS'];
const NODE_MODULES = new Set(builtinModules);

export interface PlatformUse {
  file: string;
  line: number;
  what: string;
}

/** Node APIs in a protocol/ or device/ file, and in protocol/ any module that is not a relative one (Moddable's or a package). */
export function platformUses(file: string, root = ROOT): PlatformUse[] {
  const layer = layerOf(file);
  const uses: PlatformUse[] = [];
  for (const e of importsOf(file, root)) {
    if (e.to) continue;
    if (e.specifier.startsWith('node:')) uses.push({ file, line: e.line, what: `imports ${e.specifier}` });
    else if (layer === 'protocol') uses.push({ file, line: e.line, what: `imports ${e.specifier}${NODE_MODULES.has(e.specifier) ? ' (Node)' : ' (a platform module: protocol/ imports only protocol/)'}` });
  }
  const text = readFileSync(join(root, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const own = new Set<string>();
  const found: { name: string; pos: number }[] = [];
  const declName = (n: ts.Node) =>
    (ts.isFunctionDeclaration(n) || ts.isVariableDeclaration(n) || ts.isParameter(n) || ts.isImportSpecifier(n) || ts.isClassDeclaration(n) || ts.isNamespaceImport(n) || ts.isImportClause(n)) && n.name && ts.isIdentifier(n.name) ? n.name.text : undefined;
  const visit = (n: ts.Node): void => {
    const d = declName(n);
    if (d) own.add(d);
    if (ts.isIdentifier(n) && NODE_GLOBALS.includes(n.text)) {
      const p = n.parent;
      const isMember = (ts.isPropertyAccessExpression(p) && p.name === n) || (ts.isPropertyAssignment(p) && p.name === n) || (ts.isPropertySignature(p) && p.name === n) || (ts.isMethodDeclaration(p) && p.name === n) || (ts.isPropertyDeclaration(p) && p.name === n) || (ts.isQualifiedName(p) && p.right === n);
      const isGlobalAugment = ts.isModuleDeclaration(p);
      if (!isMember && !isGlobalAugment && declName(p) !== n.text) found.push({ name: n.text, pos: n.getStart(sf) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const f of found) if (!own.has(f.name)) uses.push({ file, line: sf.getLineAndCharacterOfPosition(f.pos).line + 1, what: `uses Node's ${f.name}` });
  return uses;
}
