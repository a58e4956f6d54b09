// A scenario's assertions, checked against what the firmware says it produced and what the
// observer saw arrive at the broker. Each result names what failed in a sentence a person can act on.
import type { Observation } from './observer.ts';
import type { Assertion } from './scenario.ts';

export interface Produced {
  seq: number;
  qos: number;
}

export interface PartitionWindow {
  devices: string[];
  startMs: number;
  endMs: number;
}

export interface RunRecord {
  devices: string[];
  produced: Map<string, Produced[]>;
  observations: Observation[];
  partitions: PartitionWindow[];
}

export interface AssertionResult {
  name: string;
  passed: boolean;
  /** One line on success, the failures otherwise. */
  detail: string;
}

const MAX_LISTED = 5;

export function checkAssertions(assertions: Assertion[], run: RunRecord): AssertionResult[] {
  return assertions.map((a) => check(a, run));
}

function check(a: Assertion, run: RunRecord): AssertionResult {
  switch (a.type) {
    case 'delivered':
      return delivered(run);
    case 'offline-after-partition':
      return statusAround(run, 'offline', a.withinMs, (p) => p.startMs, 'the partition began');
    case 'online-after-partition':
      return statusAround(run, 'online', a.withinMs, (p) => p.endMs, 'the partition healed');
    case 'motion-seen': {
      const n = run.observations.filter((o) => o.kind === 'motion').length;
      return result(`motion events seen (at least ${a.min})`, n >= a.min ? [] : [`only ${n} motion events arrived`], `${n} motion events`);
    }
    case 'samples-at-least': {
      const failures = run.devices
        .map((d) => [d, run.observations.filter((o) => o.kind === 'telemetry' && o.device === d).length] as const)
        .filter(([, n]) => n < a.min)
        .map(([d, n]) => `${d}: ${n} samples arrived`);
      return result(`every device delivers at least ${a.min} samples`, failures, `${run.devices.length} devices`);
    }
    case 'no-decode-errors': {
      const errors = run.observations.filter((o) => o.kind === 'decode-error');
      return result('no decode errors', errors.map((e) => (e.kind === 'decode-error' ? `${e.device} ${e.topic}: ${e.message}` : '')), 'none');
    }
  }
}

/** QoS 1: every produced sample arrives at least once. QoS 2: exactly once. */
function delivered(run: RunRecord): AssertionResult {
  const failures: string[] = [];
  let checked = 0;
  for (const device of run.devices) {
    const seen = new Map<number, number>();
    for (const o of run.observations) if (o.kind === 'telemetry' && o.device === device) seen.set(o.sample.seq, (seen.get(o.sample.seq) ?? 0) + 1);
    const missing: number[] = [];
    const duplicated: number[] = [];
    for (const p of run.produced.get(device) ?? []) {
      if (p.qos === 0) continue;
      checked++;
      const n = seen.get(p.seq) ?? 0;
      if (n === 0) missing.push(p.seq);
      else if (p.qos === 2 && n > 1) duplicated.push(p.seq);
    }
    if (missing.length) failures.push(`${device}: ${missing.length} QoS 1/2 samples never arrived (seq ${list(missing)})`);
    if (duplicated.length) failures.push(`${device}: ${duplicated.length} QoS 2 samples arrived more than once (seq ${list(duplicated)})`);
  }
  return result('QoS 1 samples arrive at least once, QoS 2 exactly once', failures, `${checked} samples checked`);
}

function statusAround(run: RunRecord, status: string, withinMs: number, from: (p: PartitionWindow) => number, what: string): AssertionResult {
  const failures: string[] = [];
  let checked = 0;
  for (const p of run.partitions) {
    const t0 = from(p);
    for (const device of p.devices) {
      checked++;
      const hit = run.observations.find((o) => o.kind === 'status' && o.device === device && o.status === status && o.at >= t0 && o.at <= t0 + withinMs);
      if (!hit) failures.push(`${device}: no "${status}" within ${withinMs / 1000} s after ${what} at ${t0 / 1000} s`);
    }
  }
  return result(`"${status}" within ${withinMs / 1000} s after ${what}`, failures, `${checked} device partitions`);
}

function result(name: string, failures: string[], ok: string): AssertionResult {
  return { name, passed: failures.length === 0, detail: failures.length ? failures.join('\n') : ok };
}

function list(seqs: number[]): string {
  const shown = seqs.slice(0, MAX_LISTED).join(', ');
  return seqs.length > MAX_LISTED ? `${shown}, … ${seqs.length - MAX_LISTED} more` : shown;
}

/** The human report printed at the end of a scenario run. */
export function formatReport(name: string, results: AssertionResult[]): string {
  const lines = [`scenario "${name}": ${results.every((r) => r.passed) ? 'PASSED' : 'FAILED'}`];
  for (const r of results) {
    lines.push(`  ${r.passed ? 'ok  ' : 'FAIL'} ${r.name}`);
    for (const d of r.detail.split('\n')) lines.push(`         ${d}`);
  }
  return lines.join('\n');
}

/** JUnit XML, one test case per assertion, for CI systems. */
export function junitXml(name: string, results: AssertionResult[], seconds: number): string {
  const failures = results.filter((r) => !r.passed).length;
  const cases = results.map((r) => {
    const head = `    <testcase classname="canopy.sim.${xml(name)}" name="${xml(r.name)}" time="0">`;
    return r.passed ? `${head}</testcase>` : `${head}\n      <failure message="${xml(r.detail.split('\n')[0])}">${xml(r.detail)}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${results.length}" failures="${failures}" time="${seconds.toFixed(3)}">`,
    `  <testsuite name="${xml(name)}" tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${seconds.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}
