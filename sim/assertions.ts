// A scenario's assertions, checked against what the firmware says it produced and what the
// observer saw arrive at the broker. Each result names what failed in a sentence a person can act on.
import type { Assertion } from './scenario.ts';
import { MAX_LISTED, type RunSummary } from './summary.ts';

export type { PartitionWindow } from './summary.ts';

export interface AssertionResult {
  name: string;
  passed: boolean;
  /** One line on success, the failures otherwise. */
  detail: string;
}

/** Checks the assertions against the run's summary; `devices` are the fleet's ids. */
export function checkAssertions(assertions: Assertion[], devices: string[], summary: RunSummary): AssertionResult[] {
  return assertions.map((a) => check(a, devices, summary));
}

function check(a: Assertion, devices: string[], run: RunSummary): AssertionResult {
  switch (a.type) {
    case 'delivered':
      return delivered(devices, run);
    case 'offline-after-partition':
      return statusAround(run, 'offline', a.withinMs, 'start', 'the partition began');
    case 'online-after-partition':
      return statusAround(run, 'online', a.withinMs, 'end', 'the partition healed');
    case 'motion-seen': {
      const n = run.motionEvents;
      return result(`motion events seen (at least ${a.min})`, n >= a.min ? [] : [`only ${n} motion events arrived`], `${n} motion events`);
    }
    case 'samples-at-least': {
      const failures = devices
        .map((d) => [d, run.devices.get(d)?.telemetry ?? 0] as const)
        .filter(([, n]) => n < a.min)
        .map(([d, n]) => `${d}: ${n} samples arrived`);
      return result(`every device delivers at least ${a.min} samples`, failures, `${devices.length} devices`);
    }
    case 'field-range': {
      const f = run.fields.get(a.field);
      const name = `${a.field} within ${a.min ?? '-∞'}..${a.max ?? '∞'}`;
      if (!f || f.readings === 0) return result(name, [`no reading of field "${a.field}" arrived (${fieldsSeen(run)})`], '');
      const out = f.first.filter((r) => typeof r.value === 'number' && ((a.min !== undefined && r.value < a.min) || (a.max !== undefined && r.value > a.max)));
      const failures = (a.min !== undefined && f.min < a.min) || (a.max !== undefined && f.max > a.max)
        ? [`${a.field} ranged ${f.min}..${f.max} over ${f.readings} readings${out.length ? ` (first: ${out.slice(0, MAX_LISTED).map((r) => `${r.device} seq ${r.seq}: ${r.value}`).join(', ')})` : ''}`]
        : [];
      return result(name, failures, `${f.readings} readings, ${f.min}..${f.max}`);
    }
    case 'field-seen': {
      const f = run.fields.get(a.field);
      const name = a.value === undefined ? `${a.field} has a reading` : `${a.field} is ${a.value} at least once`;
      if (!f || f.readings === 0) return result(name, [`no reading of field "${a.field}" arrived (${fieldsSeen(run)})`], '');
      const ok = a.value === undefined || f.values.has(a.value);
      return result(name, ok ? [] : [`${a.field} was never ${a.value} in ${f.readings} readings (seen: ${[...f.values].slice(0, 8).join(', ')})`], `${f.readings} readings`);
    }
    case 'no-decode-errors': {
      const more = run.decodeErrors - run.firstDecodeErrors.length;
      return result('no decode errors', more > 0 ? [...run.firstDecodeErrors, `… ${more} more`] : run.firstDecodeErrors, 'none');
    }
  }
}

function fieldsSeen(run: RunSummary): string {
  return run.fields.size ? `fields seen: ${[...run.fields.keys()].join(', ')}` : 'no app telemetry arrived: is this run the app (--app DIR)?';
}

/** QoS 1: every produced sample arrives at least once. QoS 2: exactly once. */
function delivered(devices: string[], run: RunSummary): AssertionResult {
  const failures: string[] = [];
  let checked = 0;
  for (const device of devices) {
    const t = run.devices.get(device);
    if (!t) continue;
    checked += t.producedQos12.size;
    const missing = t.producedQos12.minus(t.seen, MAX_LISTED);
    const duplicated = t.producedQos2.and(t.seenAgain, MAX_LISTED);
    if (missing.count) failures.push(`${device}: ${missing.count} QoS 1/2 samples never arrived (seq ${list(missing)})`);
    if (duplicated.count) failures.push(`${device}: ${duplicated.count} QoS 2 samples arrived more than once (seq ${list(duplicated)})`);
  }
  return result('QoS 1 samples arrive at least once, QoS 2 exactly once', failures, `${checked} samples checked`);
}

function statusAround(run: RunSummary, status: string, withinMs: number, edge: 'start' | 'end', what: string): AssertionResult {
  const failures: string[] = [];
  let checked = 0;
  for (const w of run.windows) {
    const t0 = edge === 'start' ? w.window.startMs : w.window.endMs;
    for (const device of w.window.devices) {
      checked++;
      const at = run.firstStatus(w, edge, device, status);
      if (at === undefined || at > t0 + withinMs) failures.push(`${device}: no "${status}" within ${withinMs / 1000} s after ${what} at ${t0 / 1000} s`);
    }
  }
  return result(`"${status}" within ${withinMs / 1000} s after ${what}`, failures, `${checked} device partitions`);
}

function result(name: string, failures: string[], ok: string): AssertionResult {
  return { name, passed: failures.length === 0, detail: failures.length ? failures.join('\n') : ok };
}

function list(seqs: { count: number; first: number[] }): string {
  const shown = seqs.first.join(', ');
  return seqs.count > seqs.first.length ? `${shown}, … ${seqs.count - seqs.first.length} more` : shown;
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
