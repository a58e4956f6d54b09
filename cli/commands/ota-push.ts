// `canopy ota push`: flags, a local check of the package, then the push over MQTT. Everything that
// can be refused on this machine is refused before the broker is contacted, so a bad package, a
// bad file or a bad flag exits at once with its code instead of waiting on the network.
import { Session } from '../../protocol/session/session.ts';
import { Topics } from '../../protocol/topics.ts';
import { describeReason, reasonFromCode, type OtaError } from '../../protocol/ota/reasons.ts';
import { errorLine } from '../output.ts';
import { SessionDriver } from '../../host/transport.ts';
import { intFlag, UsageError } from '../../host/flags.ts';
import { parse } from '../flags.ts';
import { otaSpecs } from './ota-specs.ts';
import { OtaPusher, TIMEOUT_CODE, type DeviceResult } from '../../ota/push.ts';
import { checkedPackage } from '../../ota/preflight.ts';
import { brokerConnection, reportConnectionTrouble } from '../broker-flags.ts';

function bar(done: number, total: number, width = 24): string {
  const f = total ? Math.round((done / total) * width) : 0;
  return '[' + '#'.repeat(f) + '-'.repeat(width - f) + `] ${total ? Math.floor((done / total) * 100) : 0}%`;
}

/** One line per device for people: what happened and, when it was not a success, why. */
export function describeResult(r: DeviceResult): string {
  if (r.state === 'confirmed') return `${r.deviceId}: confirmed`;
  if (r.reason === TIMEOUT_CODE) return `${r.deviceId}: timeout: ${r.detail}`;
  const known = reasonFromCode(r.reason);
  const why = known && known !== 'ok' ? ` (${describeReason(known)})` : '';
  return `${r.deviceId}: ${r.state}: ${r.reasonName}${why}${r.detail ? ': ' + r.detail : ''}`;
}

/**
 * A package refused on this machine, before any device is contacted: with --json the one error line
 * of docs/cli-json.md, with `ota verify`'s reason, code and message; returns the exit code.
 */
export function reportLocalRefusal(verb: 'push' | 'rollout', e: OtaError, json: boolean | undefined): number {
  if (json) console.log(errorLine(`ota ${verb}`, { reason: e.reason, code: e.code, message: `package refused before connecting: ${e.detail}; ${describeReason(e.reason)}` }));
  else console.error(`canopy ota ${verb}: package refused before connecting: ${e.reason} (exit ${e.code}): ${e.detail}\n  ${describeReason(e.reason)}`);
  return e.code;
}

/** 0 when every device confirmed; the shared OTA reason when all failures share one; else 1. */
export function exitCodeOf(results: DeviceResult[]): number {
  const failed = results.filter((r) => r.state !== 'confirmed');
  if (failed.length === 0) return 0;
  const codes = new Set(failed.map((r) => r.reason));
  const [only] = codes;
  return codes.size === 1 && only >= 10 ? only : 1;
}

export async function pushCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(otaSpecs.push, args);
  if (positionals.length !== 1) throw new UsageError('give exactly one PKG');
  if (!values.broker) throw new UsageError('--broker is required');
  if (!values.device?.length) throw new UsageError('--device is required');
  const idleTimeoutMs = intFlag('timeout', values.timeout, 60, 1) * 1000;
  const topics = new Topics(values.prefix ?? 'canopy');
  const conn = brokerConnection('ota push', values.broker, values);
  const checked = checkedPackage(positionals[0], values.trust);
  if ('refused' in checked) return reportLocalRefusal('push', checked.refused, values.json);
  const { pkg } = checked;
  if (!checked.trusted && !values.json) console.error('note: no --trust given, so signatures are checked by the devices only');

  const session = new Session({ clientId: values['client-id'] ?? `canopy-push-${Math.random().toString(36).slice(2, 10)}`, cleanSession: false, keepalive: 30 });
  const driver = new SessionDriver(session, conn.address, { tls: conn.tls });
  reportConnectionTrouble('ota push', driver);
  driver.start();
  const shown = new Map<string, string>();
  const pusher = new OtaPusher(driver, pkg, values.device, {
    topics,
    idleTimeoutMs,
    onStatus(d, s) {
      if (values.json) {
        console.log(JSON.stringify({ device: d, state: s.state, reason: s.reason, done: s.done, total: s.total, seq: s.seq, detail: s.detail }));
        return;
      }
      const line = `${d.padEnd(16)} ${bar(s.done, s.total)} ${s.state}`;
      if (shown.get(d) !== line) console.error(line);
      shown.set(d, line);
    },
  });
  let results: DeviceResult[];
  try {
    results = await pusher.run();
  } finally {
    await driver.stop();
  }
  for (const r of results) {
    if (values.json) console.log(JSON.stringify({ device: r.deviceId, final: r.state, reason: r.reasonName, code: r.reason, detail: r.detail }));
    else console.log(describeResult(r));
  }
  if (!values.json) console.error(`${pusher.stats.bytesSent} bytes in ${pusher.stats.blocksSent} blocks, ${pusher.stats.resentBytes} bytes re-sent`);
  return exitCodeOf(results);
}
